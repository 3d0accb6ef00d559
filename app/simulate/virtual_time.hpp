// What both drivers of `rros simulate` (one node: driver.cpp; a cluster:
// cluster_driver.cpp) run on: a seeded generator that repeats a run on every
// standard library, independent streams per module, a module's arrival rate
// at a time (start, stop, bursts), its next task, and the test coordinator with
// a request helper that never blocks on a reply that has not arrived.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "app/simulate/module_actors.hpp"
#include "app/simulate/simulation.hpp"
#include "app/simulate/text.hpp"
#include "app/simulate/workload.hpp"

namespace rros::app::sim {

/// A seeded generator with its own distributions: std:: distributions differ
/// across standard libraries, and a seed must repeat a run everywhere.
class Rng {
public:
  explicit Rng(std::uint64_t seed)
    : gen_(seed) {}

  double uniform() { // [0, 1) with 53 random bits
    return static_cast<double>(gen_() >> 11) * 0x1.0p-53;
  }

  double between(const Range& r) {
    return r.lo + (r.hi - r.lo) * uniform();
  }

  double exponential(double rate) {
    return -std::log1p(-uniform()) / rate;
  }

private:
  std::mt19937_64 gen_;
};

/// splitmix64: independent streams per module from one seed, so adding a
/// module leaves the others' draws unchanged.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// One module's arrival process.
struct ModuleRun {
  const ModuleSpec* spec = nullptr;
  Rng rng{0};
  caf::actor actor;
  bool alive = true;
  std::uint64_t generation = 0; // arrivals of an older one are stale
  std::size_t next_death = 0;

  double rate_at(double t, double end) const {
    double stop = spec->stop < 0 ? end : spec->stop;
    if (!alive || t < spec->start || t >= stop)
      return 0;
    double rate = spec->rate;
    for (const auto& b : spec->bursts)
      if (t >= b.at && t < b.at + b.length)
        rate *= b.factor;
    return rate;
  }
};

/// The next task of a module: its demand, hold time, deadline and lease
/// drawn from the module's stream.
inline TaskRecord draw_task(ModuleRun& run, std::size_t module) {
  TaskRecord task;
  task.module = module;
  task.priority = run.spec->priority;
  for (const auto& [type, amount] : run.spec->demand)
    task.items.push_back(
        BundleItem{type, static_cast<float>(run.rng.between(amount))});
  task.hold = span_of(run.rng.between(run.spec->hold));
  task.deadline = span_of(run.spec->deadline);
  task.ttl = span_of(run.spec->ttl);
  task.preemptable = run.spec->preemptable;
  return task;
}

/// The test coordinator plus a blocking request helper that never blocks on
/// a reply that has not arrived.
class Driver {
public:
  explicit Driver(caf::actor_system& sys)
    : sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler()))
    , self(sys, true) {}

  template <class Result, class Handle, class... Ts>
  caf::expected<Result> ask(const Handle& dest, Ts&&... xs) {
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    sched.run();
    if (self->mailbox().empty())
      return caf::make_error(caf::sec::request_timeout);
    caf::expected<Result> result{caf::sec::unexpected_response};
    handle.receive([&](Result& reply) { result = std::move(reply); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Moves virtual time to `target` (from the clock's start), firing every
  /// timer on its own due time, and runs what became ready.
  void advance_to(caf::actor_clock::time_point target) {
    sched.run();
    auto& clock = sched.clock();
    for (;;) {
      const auto& schedule = clock.schedule();
      if (schedule.empty() || schedule.begin()->first > target)
        break;
      auto due = std::max(schedule.begin()->first, clock.now());
      sched.advance_time(due - clock.now());
      sched.run();
    }
    if (target > clock.now())
      sched.advance_time(target - clock.now());
    sched.run();
  }

  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
};

/// Stops every actor a driver spawned on every way out of it, early returns
/// included: the actor system's destructor waits for all of them.
struct StopAll {
  std::vector<caf::actor>& actors;
  Driver& drv;
  ~StopAll() {
    for (auto& actor : actors)
      caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    drv.sched.run();
  }
};

/// What happens at a point of virtual time. A driver handles the kinds it
/// schedules (a one-node run forecasts; a cluster run samples its nodes and
/// loses one).
enum class EventKind : std::uint8_t {
  arrival,
  rate_change,
  death,
  restart,
  forecast,
  sample,
  node_loss,
};

struct Event {
  caf::timespan at;
  std::uint64_t seq; // ties in time go in the order they were scheduled
  EventKind kind;
  std::size_t module;       // or the node, for node_loss
  std::uint64_t generation; // arrivals of an older generation are stale

  bool operator>(const Event& other) const {
    return at != other.at ? at > other.at : seq > other.seq;
  }
};

/// The workload's events in time order, and each module's arrival process:
/// arrivals, rate changes (start, stop, bursts) and deaths come from the
/// workload; a driver adds its own events.
class Timeline {
public:
  Timeline(const Workload& workload, std::uint64_t seed, double duration)
    : duration_(duration)
    , end_(span_of(duration)) {
    runs.resize(workload.modules.size());
    for (std::size_t i = 0; i < runs.size(); ++i) {
      auto& run = runs[i];
      run.spec = &workload.modules[i];
      run.rng = Rng{mix(seed ^ mix(i + 1))};
      push(span_of(run.spec->start), EventKind::rate_change, i);
      if (run.spec->stop >= 0)
        push(span_of(run.spec->stop), EventKind::rate_change, i);
      for (const auto& b : run.spec->bursts) {
        push(span_of(b.at), EventKind::rate_change, i);
        push(span_of(b.at + b.length), EventKind::rate_change, i);
      }
      for (const auto& d : run.spec->deaths)
        push(span_of(d.at), EventKind::death, i);
    }
  }

  /// Schedules an event (ignored past the end of the run).
  void push(caf::timespan at, EventKind kind, std::size_t module,
            std::uint64_t generation = 0) {
    if (at <= end_)
      queue_.push(Event{at, seq_++, kind, module, generation});
  }

  /// Draws module `i`'s next arrival at its rate at `now_s`; arrivals drawn
  /// before are stale from now on. Poisson arrivals are memoryless: redrawing
  /// at a rate change is exact.
  void schedule_arrival(std::size_t i, double now_s) {
    auto& run = runs[i];
    ++run.generation;
    auto rate = run.rate_at(now_s, duration_);
    if (rate > 0)
      push(span_of(now_s + run.rng.exponential(rate)), EventKind::arrival, i,
           run.generation);
  }

  /// An arrival event: when still due (its module alive, not redrawn
  /// since) the module's next task is drawn into `tasks` and the next
  /// arrival scheduled; returns the task's index for the module's actor.
  std::optional<std::uint64_t> arrive(const Event& ev,
                                      std::vector<TaskRecord>& tasks) {
    auto& run = runs[ev.module];
    if (ev.generation != run.generation || !run.alive)
      return std::nullopt;
    tasks.push_back(draw_task(run, ev.module));
    schedule_arrival(ev.module, seconds_of(ev.at));
    return static_cast<std::uint64_t>(tasks.size() - 1);
  }

  /// Runs every event in time order, moving the virtual clock to each one
  /// (and firing actor timers on their own due times), then to the end;
  /// `progress` hears about every tenth of the run.
  void run(Driver& drv, time_point t0, const ProgressFn& progress,
           const std::function<void(const Event&)>& handle) {
    double next_report = duration_ / 10;
    while (!queue_.empty() && queue_.top().at <= end_) {
      auto ev = queue_.top();
      queue_.pop();
      drv.advance_to(t0 + ev.at);
      handle(ev);
      drv.sched.run();
      if (progress && seconds_of(ev.at) >= next_report) {
        progress(seconds_of(ev.at), duration_);
        while (next_report <= seconds_of(ev.at))
          next_report += duration_ / 10;
      }
    }
    drv.advance_to(t0 + end_);
    if (progress)
      progress(duration_, duration_);
  }

  std::vector<ModuleRun> runs;

private:
  double duration_;
  caf::timespan end_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  std::uint64_t seq_ = 0;
};

/// What a driver counts of module deaths.
struct DeathCounts {
  std::uint64_t& deaths;
  std::uint64_t& restarts;
  std::uint64_t& held_at_death; // tasks holding grants when killed
};

/// A module's death event: its tasks holding grants are killed, those asked
/// and not answered lost, its arrivals stop, the timeline gets a line and
/// its restart is scheduled. False when it was dead already; else the
/// driver kills its actors (their grants return to `returned_to`).
inline bool die(Timeline& timeline, const Event& ev,
                std::vector<TaskRecord>& tasks, std::vector<SimEvent>& events,
                const std::string& returned_to, DeathCounts counts) {
  auto& run = timeline.runs[ev.module];
  const auto& death = run.spec->deaths[run.next_death++];
  if (!run.alive)
    return false;
  run.alive = false;
  ++counts.deaths;
  for (auto& task : tasks) {
    if (task.module != ev.module)
      continue;
    if (task.outcome == Outcome::held) {
      task.outcome = Outcome::killed;
      ++counts.held_at_death;
    } else if (task.outcome == Outcome::pending) {
      task.outcome = Outcome::lost;
    }
  }
  auto now_s = seconds_of(ev.at);
  timeline.schedule_arrival(ev.module, now_s);
  std::ostringstream text;
  text << run.spec->name << " died, its grants return to " << returned_to;
  if (death.restart_after >= 0)
    text << " (restart in " << death.restart_after << " s)";
  events.push_back(
      {now_s, text.str(), false, -1, {}, run.spec->name + " died"});
  if (death.restart_after >= 0)
    timeline.push(span_of(now_s + death.restart_after), EventKind::restart,
                  ev.module);
  return true;
}

/// A module's restart event, after the driver spawned its actors again.
inline void restarted(Timeline& timeline, const Event& ev,
                      std::vector<SimEvent>& events, DeathCounts counts) {
  auto& run = timeline.runs[ev.module];
  run.alive = true;
  ++counts.restarts;
  auto now_s = seconds_of(ev.at);
  events.push_back({now_s,
                    run.spec->name + " restarted",
                    false,
                    -1,
                    {},
                    run.spec->name + " restarted"});
  timeline.schedule_arrival(ev.module, now_s);
}

/// Counts each task in its priority's request outcomes and in the run's
/// totals (completed, taken back, running at the end). `Result` is a
/// one-node or a cluster run's result.
template <class Result>
void tally_tasks(const std::vector<TaskRecord>& tasks, Result& result) {
  for (const auto& task : tasks) {
    tally_request(task,
                  result.by_priority[static_cast<std::size_t>(task.priority)]);
    switch (task.outcome) {
      case Outcome::completed:
        ++result.completed;
        break;
      case Outcome::preempted:
        ++result.preempted;
        break;
      case Outcome::shed_revoked:
        ++result.shed_revoked;
        break;
      case Outcome::expired:
        ++result.expired;
        break;
      case Outcome::held:
        ++result.running_at_end;
        break;
      default:
        break;
    }
  }
}

/// The timeline's lines for the workload's bursts.
inline void add_bursts(const Workload& workload, double duration,
                       std::vector<SimEvent>& events) {
  for (const auto& m : workload.modules)
    for (const auto& b : m.bursts)
      if (b.at < duration)
        events.push_back({b.at,
                          m.name + " bursts: arrivals x" +
                              number_text(b.factor) + " for " +
                              number_text(b.length) + " s",
                          false,
                          -1,
                          {},
                          m.name + " burst x" + number_text(b.factor)});
}

} // namespace rros::app::sim
