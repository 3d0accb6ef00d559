// The driver actor of `rros bench --scale` (see scale_driver.hpp). Phases:
// block (one grant takes the capacity), queue (N waiting requests, sent in
// windows, each window confirmed by a sync before the next), settle (the
// queue has finished its own work), rounds of measured events, drain (the
// blocking grant is returned and all N are granted). A watchdog ends the
// case when it runs out of its time budget.
//
// Why an actor and not a scoped_actor: a scoped_actor's receive parks the
// calling thread on a condition variable, and on these virtual machines each
// wake-up costs about 170 us (docs/architecture.md), more than a whole
// event of the queue at N = 100. The driver reacts to replies on CAF's
// workers like the actors under test, so an event costs the queue's own
// work plus the message hops, and the ratio between N = 100 and larger N
// shows how that work grows. The main thread waits once per case, on a
// future.
#include "app/bench/scale_driver.hpp"

#include <algorithm>
#include <future>
#include <utility>

#include "app/bench/parameters.hpp"
#include "app/bench/statistics.hpp"

namespace rros::app::benchmark {

double ScaleCase::us_per_event() const {
  return median(round_us);
}

namespace {

using scale_tick_atom = caf::atom_constant<caf::atom("sctick")>;
using scale_poll_atom = caf::atom_constant<caf::atom("scpoll")>;

/// The watchdog's period.
constexpr auto tick_period = std::chrono::seconds(1);

/// While settling, the queue's activity is polled this often and must stay
/// unchanged for this many polls in a row.
constexpr auto poll_period = std::chrono::milliseconds(1);
constexpr int quiet_polls = 10;

double seconds_between(steady::time_point from, steady::time_point to) {
  return ns_between(from, to) / 1e9;
}

enum class Phase { block, queue, settle, rounds, drain, done };

const char* to_string(Phase x) {
  switch (x) {
    case Phase::block:
      return "taking the capacity";
    case Phase::queue:
      return "queueing";
    case Phase::settle:
      return "waiting for the queue to settle";
    case Phase::rounds:
      return "measuring events";
    case Phase::drain:
      return "draining";
    case Phase::done:
      return "done";
  }
  return "unknown";
}

struct DriverState {
  std::shared_ptr<ScaleQueue> queue;
  ScaleSettings settings;
  ScaleCase result;
  std::promise<ScaleCase> promise;
  bool reported = false;
  Phase phase = Phase::block;
  steady::time_point started;
  steady::time_point phase_started;
  std::size_t sent = 0;
  std::size_t drained = 0;
  // Settling.
  std::uint64_t activity = 0;
  int unchanged = 0;
  steady::time_point last_change;
  // Rounds.
  std::uint64_t next_event = 0;
  std::size_t round_events = 0;
  steady::time_point round_started;
};

using state_ptr = std::shared_ptr<DriverState>;
using self_ptr = caf::event_based_actor*;

void report(const state_ptr& st) {
  if (st->reported)
    return;
  st->reported = true;
  st->result.case_s = seconds_between(st->started, steady::now());
  st->promise.set_value(st->result);
}

/// Ends the case with an error. Queues may keep it (and the grant callback)
/// for a long time, so it holds the state weakly: the driver's behavior owns
/// it, and ending the driver frees it.
ScaleFail failer(const state_ptr& st) {
  return [weak = std::weak_ptr<DriverState>{st}](std::string what) {
    auto st = weak.lock();
    if (!st || st->reported)
      return;
    st->result.error = std::string{to_string(st->phase)} + " " +
                       std::to_string(st->result.n) + ": " + what;
    report(st);
  };
}

/// True (and the case reported as stopped) once the time budget is spent.
bool out_of_time(const state_ptr& st) {
  if (st->reported)
    return true;
  auto spent = seconds_between(st->started, steady::now());
  if (spent <= static_cast<double>(st->settings.give_up.count()))
    return false;
  std::string what =
      "gave up after " + fixed(spent, 1) + " s " + to_string(st->phase);
  if (st->phase == Phase::queue)
    what += " (" + std::to_string(st->sent) + " of " +
            std::to_string(st->settings.n) + " sent)";
  else if (st->phase == Phase::drain)
    what += " (" + std::to_string(st->drained) + " of " +
            std::to_string(st->settings.n) + " granted)";
  st->result.stopped = what;
  report(st);
  return true;
}

void start_rounds(self_ptr self, const state_ptr& st);
void next_event(self_ptr self, const state_ptr& st);
void start_drain(self_ptr self, const state_ptr& st);

/// A waiting request was granted: only the drain may do that.
void on_granted(const state_ptr& st) {
  if (st->reported)
    return;
  if (st->phase != Phase::drain) {
    failer(st)("a waiting request was granted before the capacity returned");
    return;
  }
  if (++st->drained < st->settings.n)
    return;
  st->result.drain_s = seconds_between(st->phase_started, steady::now());
  st->result.complete = true;
  st->phase = Phase::done;
  report(st);
}

/// Sends the next window of waiting requests, then syncs.
void send_window(self_ptr self, const state_ptr& st) {
  if (out_of_time(st))
    return;
  auto n = st->settings.n;
  auto end = std::min(n, st->sent + st->settings.window);
  for (; st->sent < end; ++st->sent)
    st->queue->enqueue(
        self, st->sent,
        [weak = std::weak_ptr<DriverState>{st}] {
          if (auto st = weak.lock())
            on_granted(st);
        },
        failer(st));
  st->queue->sync(
      self,
      [self, st](std::uint64_t waiting) {
        if (st->reported)
          return;
        if (waiting != st->sent) {
          failer(st)(std::to_string(st->sent) + " requests sent, but " +
                     std::to_string(waiting) + " wait");
          return;
        }
        if (st->sent < st->settings.n) {
          send_window(self, st);
          return;
        }
        auto now = steady::now();
        st->result.queue_s = seconds_between(st->phase_started, now);
        if (!st->queue->has_activity()) {
          start_rounds(self, st);
          return;
        }
        st->phase = Phase::settle;
        st->last_change = now;
        self->send(self, scale_poll_atom::value);
      },
      failer(st));
}

/// One poll of the queue's activity while settling.
void poll(self_ptr self, const state_ptr& st) {
  if (st->phase != Phase::settle || out_of_time(st))
    return;
  st->queue->activity(
      self,
      [self, st](std::uint64_t activity) {
        if (st->reported)
          return;
        auto now = steady::now();
        if (activity != st->activity) {
          st->activity = activity;
          st->unchanged = 0;
          st->last_change = now;
        } else if (++st->unchanged >= quiet_polls) {
          // Queued when the queue last made progress.
          st->result.queue_s =
              seconds_between(st->phase_started, st->last_change);
          start_rounds(self, st);
          return;
        }
        self->delayed_send(self, poll_period, scale_poll_atom::value);
      },
      failer(st));
}

void start_rounds(self_ptr self, const state_ptr& st) {
  st->phase = Phase::rounds;
  st->round_events = 0;
  st->round_started = steady::now();
  next_event(self, st);
}

void next_event(self_ptr self, const state_ptr& st) {
  if (out_of_time(st))
    return;
  st->queue->event(
      self, st->next_event++,
      [self, st] {
        if (st->reported)
          return;
        ++st->round_events;
        ++st->result.events;
        auto now = steady::now();
        auto spent = now - st->round_started;
        if (spent < st->settings.round_time ||
            st->round_events < st->settings.min_events) {
          next_event(self, st);
          return;
        }
        st->result.round_us.push_back(ns_between(st->round_started, now) /
                                      1000.0 /
                                      static_cast<double>(st->round_events));
        if (static_cast<int>(st->result.round_us.size()) <
            st->settings.rounds) {
          st->round_events = 0;
          st->round_started = steady::now();
          next_event(self, st);
          return;
        }
        start_drain(self, st);
      },
      failer(st));
}

void start_drain(self_ptr self, const state_ptr& st) {
  st->phase = Phase::drain;
  st->phase_started = steady::now();
  st->queue->unblock(self, failer(st));
}

caf::behavior scale_driver(caf::event_based_actor* self, state_ptr st) {
  st->started = steady::now();
  st->phase_started = st->started;
  self->delayed_send(self, tick_period, scale_tick_atom::value);
  st->queue->block(
      self,
      [self, st] {
        st->phase = Phase::queue;
        st->phase_started = steady::now();
        send_window(self, st);
      },
      failer(st));
  return {
      [=](scale_tick_atom) {
        if (!out_of_time(st))
          self->delayed_send(self, tick_period, scale_tick_atom::value);
      },
      [=](scale_poll_atom) { poll(self, st); },
      [=](scale_reply_atom, std::uint64_t i, const std::string& problem) {
        if (!st->reported)
          st->queue->on_reply(i, problem);
      },
      [=](task_event_atom, const TaskEvent& ev) {
        if (!st->reported)
          st->queue->on_task_event(ev);
      },
      // No grant here is preemptable or has a time-to-live: nothing is ever
      // revoked, and a notice would change no figure.
      [=](revoke_atom, const GrantNotice&) {},
  };
}

} // namespace

ScaleCase run_scale_case(caf::actor_system& sys,
                         std::shared_ptr<ScaleQueue> queue,
                         const ScaleSettings& settings,
                         const std::function<void()>& teardown) {
  auto st = std::make_shared<DriverState>();
  st->queue = std::move(queue);
  st->settings = settings;
  st->result.n = settings.n;
  auto future = st->promise.get_future();
  auto driver = sys.spawn(scale_driver, st);
  st.reset(); // the driver owns the state now
  ScaleCase result;
  // The driver's watchdog reports at the budget; the margin covers a
  // handler of the queue that runs long before the next tick.
  auto limit = settings.give_up + std::chrono::seconds(60);
  if (future.wait_for(limit) == std::future_status::ready) {
    result = future.get();
  } else {
    result.n = settings.n;
    result.error = "the driver did not report within " +
                   std::to_string(limit.count()) + " s";
  }
  teardown();
  caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
  return result;
}

} // namespace rros::app::benchmark
