// The driver of `rros simulate` (simulate() in simulation.hpp): a
// discrete-event simulation on CAF's test coordinator. It starts a manager
// node in the process, spawns one actor per workload module
// (module_actors.hpp), and moves the virtual clock to the next workload event
// (a task's arrival, a rate change at a burst, a death, a restart, a
// forecast) or the next actor timer, whichever comes first, running every
// message due. At the end it gathers the monitor's, predictor's and bundle
// coordinator's figures and counts each task's outcome.
#include "app/simulate/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <queue>
#include <random>
#include <sstream>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/manager.hpp"
#include "app/simulate/module_actors.hpp"
#include "app/simulate/text.hpp"
#include "messages/error.hpp"

namespace rros::app {

using namespace sim;

namespace {

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
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

enum class EventKind : std::uint8_t {
  arrival,
  rate_change,
  death,
  restart,
  forecast
};

struct Event {
  caf::timespan at;
  std::uint64_t seq;
  EventKind kind;
  std::size_t module;
  std::uint64_t generation; // arrivals of an older generation are stale

  bool operator>(const Event& other) const {
    return at != other.at ? at > other.at : seq > other.seq;
  }
};

/// One module's arrival process.
struct ModuleRun {
  const ModuleSpec* spec = nullptr;
  Rng rng{0};
  caf::actor actor;
  bool alive = true;
  std::uint64_t generation = 0;
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
  void advance_to(time_point target) {
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

} // namespace

bool simulate(const Workload& workload, std::uint64_t seed, double duration,
              const ProgressFn& progress, SimResult& result,
              std::string& error) {
  result = SimResult{};
  result.workload = workload;
  result.seed = seed;
  result.duration = duration;
  result.degrade_enter = workload.monitor.degrade_enter;
  result.degrade_exit = workload.monitor.degrade_exit;

  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  Driver drv{sys};
  auto fail = [&](std::string message) {
    error = std::move(message);
    return false;
  };

  // Every actor spawned here is stopped on every way out, early returns
  // included: the actor system's destructor waits for all of them.
  Shared shared; // outlives stop_all: the actors point at it
  std::vector<caf::actor> spawned;
  struct StopAll {
    std::vector<caf::actor>& actors;
    Driver& drv;
    ~StopAll() {
      for (auto& actor : actors)
        caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
      drv.sched.run();
    }
  } stop_all{spawned, drv};

  auto manager = spawn_manager(sys, workload.config);
  spawned.push_back(caf::actor_cast<caf::actor>(manager));
  drv.sched.run();
  auto subsystems = drv.ask<Subsystems>(manager, subsystems_atom::value);
  auto pools = drv.ask<PoolDirectory>(manager, pools_atom::value);
  auto bundles = drv.ask<bundle_actor>(manager, bundles_atom::value);
  if (!subsystems || !pools || !bundles || !subsystems->monitor ||
      !subsystems->predictor)
    return fail("the embedded node did not start its subsystems");
  auto monitor = subsystems->monitor;
  auto predictor = subsystems->predictor;
  auto settings =
      drv.ask<MonitorSettings>(monitor, settings_atom::value, workload.monitor);
  if (!settings)
    return fail("workload " + workload.origin +
                ": monitor: " + describe(settings.error()));

  shared.result = &result;
  shared.pools = *pools;
  shared.bundles = *bundles;
  shared.t0 = drv.sched.clock().now();
  for (const auto& m : workload.modules)
    shared.module_names.push_back(m.name);

  auto observer = sys.spawn(sim_observer, &shared);
  spawned.push_back(observer);
  auto subscribed =
      drv.ask<MonitorTopics>(monitor, subscribe_atom::value, observer,
                             MonitorTopics{true, true, true});
  if (!subscribed)
    return fail("cannot subscribe to the monitor: " +
                describe(subscribed.error()));

  // -- the event queue
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue;
  std::uint64_t seq = 0;
  auto end = span_of(duration);
  auto push = [&](caf::timespan at, EventKind kind, std::size_t module,
                  std::uint64_t generation = 0) {
    if (at <= end)
      queue.push(Event{at, seq++, kind, module, generation});
  };
  std::vector<ModuleRun> runs(workload.modules.size());
  auto schedule_arrival = [&](std::size_t i, double now_s) {
    auto& run = runs[i];
    ++run.generation;
    auto rate = run.rate_at(now_s, duration);
    if (rate > 0)
      push(span_of(now_s + run.rng.exponential(rate)), EventKind::arrival, i,
           run.generation);
  };
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto& run = runs[i];
    run.spec = &workload.modules[i];
    run.rng = Rng{mix(seed ^ mix(i + 1))};
    run.actor = sys.spawn(sim_module, &shared, i);
    spawned.push_back(run.actor);
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
  for (double t = workload.forecast_every; t < duration;
       t += workload.forecast_every)
    push(span_of(t), EventKind::forecast, 0);

  auto handle = [&](const Event& ev) {
    double now_s = seconds_of(ev.at);
    auto& run = runs[ev.module];
    switch (ev.kind) {
      case EventKind::arrival: {
        if (ev.generation != run.generation || !run.alive)
          return;
        TaskRecord task;
        task.module = ev.module;
        task.priority = run.spec->priority;
        for (const auto& [type, amount] : run.spec->demand)
          task.items.push_back(
              BundleItem{type, static_cast<float>(run.rng.between(amount))});
        task.hold = span_of(run.rng.between(run.spec->hold));
        task.deadline = span_of(run.spec->deadline);
        task.ttl = span_of(run.spec->ttl);
        task.preemptable = run.spec->preemptable;
        shared.tasks.push_back(std::move(task));
        caf::anon_send(run.actor, sim_task_atom::value,
                       static_cast<std::uint64_t>(shared.tasks.size() - 1));
        schedule_arrival(ev.module, now_s);
        return;
      }
      case EventKind::rate_change:
        // Poisson arrivals are memoryless: redrawing at a change is exact.
        schedule_arrival(ev.module, now_s);
        return;
      case EventKind::death: {
        const auto& death = run.spec->deaths[run.next_death++];
        if (!run.alive)
          return;
        run.alive = false;
        ++result.deaths;
        for (auto& task : shared.tasks) {
          if (task.module != ev.module)
            continue;
          if (task.outcome == Outcome::held) {
            task.outcome = Outcome::killed;
            ++result.held_at_death;
          } else if (task.outcome == Outcome::pending) {
            task.outcome = Outcome::lost;
          }
        }
        caf::anon_send_exit(run.actor, caf::exit_reason::kill);
        schedule_arrival(ev.module, now_s);
        std::ostringstream text;
        text << run.spec->name << " died, its grants return to the pools";
        if (death.restart_after >= 0)
          text << " (restart in " << death.restart_after << " s)";
        result.events.push_back(
            {now_s, text.str(), false, -1, {}, run.spec->name + " died"});
        if (death.restart_after >= 0)
          push(span_of(now_s + death.restart_after), EventKind::restart,
               ev.module);
        return;
      }
      case EventKind::restart:
        run.alive = true;
        run.actor = sys.spawn(sim_module, &shared, ev.module);
        spawned.push_back(run.actor);
        ++result.restarts;
        result.events.push_back({now_s,
                                 run.spec->name + " restarted",
                                 false,
                                 -1,
                                 {},
                                 run.spec->name + " restarted"});
        schedule_arrival(ev.module, now_s);
        return;
      case EventKind::forecast:
        for (auto type : all_resource_types) {
          auto horizon = std::chrono::duration_cast<std::chrono::nanoseconds>(
              span_of(workload.forecast_horizon));
          auto fc = drv.ask<ResourceForecast>(predictor, predict_atom::value,
                                              type, horizon);
          if (!fc || fc->prediction.predicted_usage.empty())
            continue;
          ForecastTrace trace;
          trace.type = type;
          trace.at = now_s;
          trace.step = seconds_of(fc->step);
          trace.predicted = fc->prediction.predicted_usage;
          trace.lower = fc->lower;
          trace.upper = fc->upper;
          result.forecasts.push_back(std::move(trace));
        }
        return;
    }
  };

  for (const auto& m : workload.modules)
    for (const auto& b : m.bursts)
      if (b.at < duration)
        result.events.push_back({b.at,
                                 m.name + " bursts: arrivals x" +
                                     number_text(b.factor) + " for " +
                                     number_text(b.length) + " s",
                                 false,
                                 -1,
                                 {},
                                 m.name + " burst x" + number_text(b.factor)});

  double next_report = duration / 10;
  while (!queue.empty() && queue.top().at <= end) {
    auto ev = queue.top();
    queue.pop();
    drv.advance_to(shared.t0 + ev.at);
    handle(ev);
    drv.sched.run();
    if (progress && seconds_of(ev.at) >= next_report) {
      progress(seconds_of(ev.at), duration);
      while (next_report <= seconds_of(ev.at))
        next_report += duration / 10;
    }
  }
  drv.advance_to(shared.t0 + end);
  if (progress)
    progress(duration, duration);

  // -- figures at the end
  if (auto views =
          drv.ask<std::vector<TypeMonitorView>>(monitor, status_atom::value)) {
    for (const auto& view : *views) {
      if (!is_valid(view.type))
        continue;
      auto& series = result.types[static_cast<std::size_t>(view.type)];
      series.mean = view.average;
      series.peak = view.peak;
      series.alert_threshold = view.rule.threshold;
    }
  }
  if (auto stats = drv.ask<std::vector<ForecastErrorStats>>(
          predictor, fcstats_atom::value))
    for (const auto& s : *stats)
      if (s.module.empty())
        result.forecast_errors.push_back(s);
  if (auto stats = drv.ask<BundleStats>(*bundles, stats_atom::value)) {
    result.bundles_granted = stats->granted;
    result.bundles_refused = stats->refused;
    result.bundle_attempts = stats->attempts;
  }
  for (auto& series : result.types)
    if (!series.degraded.empty() && series.degraded.back().second < 0)
      series.degraded.back().second = duration;
  std::stable_sort(
      result.events.begin(), result.events.end(),
      [](const SimEvent& x, const SimEvent& y) { return x.at < y.at; });

  for (const auto& task : shared.tasks) {
    auto& counts = result.by_priority[static_cast<std::size_t>(task.priority)];
    ++counts.issued;
    bool granted =
        task.outcome == Outcome::held || task.outcome == Outcome::completed ||
        task.outcome == Outcome::preempted ||
        task.outcome == Outcome::shed_revoked ||
        task.outcome == Outcome::expired || task.outcome == Outcome::killed;
    if (granted) {
      if (task.partial)
        ++counts.partial;
      else
        ++counts.granted;
      auto wait = seconds_of(task.granted - task.issued);
      if (wait > 0) {
        ++counts.waited;
        counts.wait_total += wait;
      }
    }
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
      case Outcome::refused:
      case Outcome::failed:
        ++counts.refused;
        break;
      case Outcome::deadline_missed:
        ++counts.deadline_missed;
        break;
      case Outcome::shed_refused:
        ++counts.shed;
        break;
      case Outcome::lost:
        ++counts.lost;
        break;
      case Outcome::held:
        ++result.running_at_end;
        break;
      case Outcome::pending:
        ++result.waiting_at_end;
        break;
      case Outcome::killed:
        break;
    }
  }

  return true; // stop_all ends the actors
}

} // namespace rros::app
