// The orchestration of `rros bench --scale` (see scale.hpp): for each queue
// and each N, it starts the actors under test, runs the driver
// (scale_driver.hpp) against the queue's adapter (scale_queues.hpp), ends
// them again, and prints the figures with their ratio to N = 100. A case
// that takes longer than `skip_after` skips the larger N of its queue, and
// the driver gives a case up at `give_up`, so the command always ends.
#include "app/bench/scale.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/manager.hpp"
#include "actors/pool.hpp"
#include "app/bench/scale_driver.hpp"
#include "app/bench/scale_queues.hpp"
#include "app/bench/statistics.hpp"
#include "messages/error.hpp"
#include "messages/monitor_messages.hpp"
#include "messages/scheduler_messages.hpp"
#include "messages/type_ids.hpp"

namespace rros::app::benchmark {

namespace {

/// The sizes measured (those up to the maximum asked for).
constexpr std::size_t scale_sizes[] = {100, 1000, 10000, 100000};

/// A case that took longer than this skips the larger N of its queue.
constexpr double skip_after_s = 20;

/// The driver gives a case up after this long.
constexpr auto give_up = std::chrono::seconds(60);

/// Automatic dispatch of the scheduler: tasks running at once.
constexpr std::uint32_t task_concurrency = 8;

/// Idle workers keep polling for work this many times before they sleep,
/// as in the facade's own system (facade/resource_manager.cpp): otherwise
/// each message hop may pay a worker's wake-up, which would hide the
/// queue's own cost at small N.
constexpr std::size_t poll_attempts = 100000;

/// Ends `top` (a pool, or a manager that ends its subsystems with it) and
/// waits until `watched` (the queue under test) is gone, so that the next
/// case does not share the machine with the end of this one: a queue that
/// held 100,000 requests takes a while to answer them all with errors.
void end_and_wait(caf::actor_system& sys, const caf::actor& top,
                  const caf::actor& watched) {
  caf::scoped_actor self{sys};
  self->monitor(watched);
  caf::anon_send_exit(top, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {},
                caf::after(std::chrono::seconds(60)) >> [] {});
}

ScaleCase failed_case(std::size_t n, std::string error) {
  ScaleCase result;
  result.n = n;
  result.error = std::move(error);
  return result;
}

// -- pool waiters -------------------------------------------------------------

/// A pool alone (no manager): nothing else listens to it or polls it, so an
/// event costs the pool's own work and the message hops only.
ScaleCase run_pool_case(caf::actor_system& sys, const ScaleSettings& s) {
  auto target = sys.spawn(rros::pool, ResourceType::COMPUTATIONAL,
                          static_cast<double>(s.n), PoolPolicy{});
  return run_scale_case(sys, pool_waiters(target, s.n), s, [&] {
    auto pool = caf::actor_cast<caf::actor>(target);
    end_and_wait(sys, pool, pool);
  });
}

// -- a manager for bundles and tasks ------------------------------------------

struct ManagerCase {
  manager_actor manager;
  PoolDirectory pools;
  bundle_actor bundles;
  scheduler_actor scheduler;
};

/// A manager with COMPUTATIONAL and IO capacity n. Its monitor is told never
/// to degrade (the blocking grant keeps COMPUTATIONAL at 100% for the whole
/// case, and shedding would refuse the lower priorities) and to sample once
/// a second; its scheduler dispatches by itself, bodies in normal actors.
std::string start_manager(caf::actor_system& sys, std::size_t n,
                          ManagerCase& out) {
  auto capacity = static_cast<float>(n);
  auto config = Config{}.with(
      ConfigMap{{Config::capacity_key(ResourceType::COMPUTATIONAL), capacity},
                {Config::capacity_key(ResourceType::IO), capacity}});
  if (!config)
    return "bad configuration: " + describe(config.error());
  out.manager = spawn_manager(sys, *config);
  caf::scoped_actor self{sys};
  std::string err;
  auto on_error = [&](caf::error& e) {
    if (err.empty())
      err = describe(e);
  };
  auto timeout = std::chrono::seconds(10);
  Subsystems subsystems;
  self->request(out.manager, timeout, pools_atom::value)
      .receive([&](PoolDirectory& x) { out.pools = std::move(x); }, on_error);
  self->request(out.manager, timeout, bundles_atom::value)
      .receive([&](bundle_actor& x) { out.bundles = std::move(x); }, on_error);
  self->request(out.manager, timeout, subsystems_atom::value)
      .receive([&](Subsystems& x) { subsystems = std::move(x); }, on_error);
  if (!err.empty())
    return "cannot reach the manager's subsystems: " + err;
  if (out.pools.pools.size() != resource_type_count || !out.bundles ||
      !subsystems.monitor || !subsystems.scheduler)
    return "the manager lacks a pool, the bundle coordinator, the monitor "
           "or the scheduler";
  out.scheduler = subsystems.scheduler;
  MonitorSettings quiet;
  quiet.sample_interval = std::chrono::seconds(1);
  quiet.degrade_after = std::chrono::hours(24);
  quiet.escalate_after = caf::timespan{0}; // never
  self->request(subsystems.monitor, timeout, settings_atom::value, quiet)
      .receive([](MonitorSettings&) {}, on_error);
  SchedulerSettings dispatch;
  dispatch.max_concurrent = task_concurrency;
  dispatch.detached = false;
  self->request(out.scheduler, timeout, settings_atom::value, dispatch)
      .receive([](SchedulerSettings&) {}, on_error);
  if (!err.empty())
    return "cannot set up the monitor and the scheduler: " + err;
  return {};
}

ScaleCase run_bundles_case(caf::actor_system& sys, const ScaleSettings& s) {
  ManagerCase m;
  if (auto err = start_manager(sys, s.n, m); !err.empty()) {
    caf::anon_send_exit(m.manager, caf::exit_reason::user_shutdown);
    return failed_case(s.n, err);
  }
  auto queue =
      waiting_bundles(m.bundles, m.pools[ResourceType::COMPUTATIONAL], s.n);
  return run_scale_case(sys, queue, s, [&] {
    end_and_wait(sys, caf::actor_cast<caf::actor>(m.manager),
                 caf::actor_cast<caf::actor>(m.bundles));
  });
}

ScaleCase run_tasks_case(caf::actor_system& sys, const ScaleSettings& s) {
  ManagerCase m;
  if (auto err = start_manager(sys, s.n, m); !err.empty()) {
    caf::anon_send_exit(m.manager, caf::exit_reason::user_shutdown);
    return failed_case(s.n, err);
  }
  auto queue =
      pending_tasks(m.scheduler, m.pools[ResourceType::COMPUTATIONAL], s.n);
  return run_scale_case(sys, queue, s, [&] {
    end_and_wait(sys, caf::actor_cast<caf::actor>(m.manager),
                 caf::actor_cast<caf::actor>(m.scheduler));
  });
}

// -- the queues and the output ------------------------------------------------

struct QueueKind {
  const char* name;  // in the keys: scale.<name>.n<N>.<figure>
  std::string setup; // printed once, so that a figure says what it measures
  bool queued_and_drained_line;
  std::function<ScaleCase(caf::actor_system&, const ScaleSettings&)> run;
};

void print_case(const std::string& prefix, const ScaleCase& c, double base_us,
                bool queued_and_drained_line) {
  auto us = c.us_per_event();
  print(prefix + ".us_per_event", fixed(us, 2));
  print(prefix + ".ratio_vs_n100",
        base_us > 0 ? fixed(us / base_us, 2) : std::string{"n/a"});
  print(prefix + ".events", std::to_string(c.events));
  print(prefix + ".queue_s", fixed(c.queue_s, 3));
  print(prefix + ".drain_s", fixed(c.drain_s, 3));
  if (queued_and_drained_line)
    print(prefix + ".queued_and_drained",
          "queued and drained " + std::to_string(c.n) + " in " +
              fixed(c.queue_s + c.drain_s, 3) + " s");
  print(prefix + ".case_s", fixed(c.case_s, 1));
}

} // namespace

std::string bench_scale(int rounds, std::size_t max_n) {
  std::vector<std::size_t> sizes;
  for (auto n : scale_sizes)
    if (n <= max_n)
      sizes.push_back(n);
  std::string size_list;
  for (auto n : sizes)
    size_list += (size_list.empty() ? "" : ",") + std::to_string(n);
  std::cout << "rros bench --scale: cores="
            << std::thread::hardware_concurrency() << " sizes=" << size_list
            << " rounds=" << rounds
            << " (event = one more request while N wait; us_per_event = "
               "median over rounds of the mean cost per event; ratio = "
               "us_per_event(N) / us_per_event(100))\n";
  ScaleSettings base;
  base.rounds = rounds;
  base.give_up = give_up;
  print("settings.scale.requests",
        "requesters=" + std::to_string(scale_requesters) +
            " priorities=CRITICAL..IDLE_round_robin deadline_s=" +
            std::to_string(std::chrono::seconds(scale_deadline).count()) +
            " amount=1 window=" + std::to_string(base.window));
  print("settings.scale.rounds",
        "at_least_ms=" + std::to_string(base.round_time.count()) +
            " at_least_events=" + std::to_string(base.min_events));
  print("settings.scale.budget",
        "a case above " + fixed(skip_after_s, 0) +
            " s skips the larger N; a case gives up after " +
            std::to_string(give_up.count()) + " s");
  print("settings.scale.target",
        "ratio_vs_n100 <= 2 at N=100000; 100000 pool waiters queued and "
        "drained in under 5 s");

  const QueueKind kinds[] = {
      {"pool_waiters",
       "a pool alone, capacity N held by one grant; N requests of 1 wait; "
       "event = allocate 1 more (waits) + cancel_atom; drain = release the "
       "grant",
       true, run_pool_case},
      {"waiting_bundles",
       "a manager, computational and io capacity N, computational held by "
       "one grant; N bundles of computational 1 + io 1 wait; event = 1 more "
       "bundle + cancel_atom; drain = release the grant",
       false, run_bundles_case},
      {"pending_tasks",
       "a manager's scheduler, automatic dispatch " +
           std::to_string(task_concurrency) +
           " at once, bodies in normal actors; computational held by one "
           "grant; N tasks needing computational 1 pending; event = schedule "
           "1 more task needing io 1 (it fits and runs an empty body) until "
           "it completed; drain = release the grant, all N run",
       false, run_tasks_case},
  };
  for (const auto& kind : kinds)
    print(std::string{"settings.scale."} + kind.name, kind.setup);

  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("work-stealing.aggressive-poll-attempts", poll_attempts);
  cfg.set("scheduler.max-threads",
          std::max<std::size_t>(1, std::thread::hardware_concurrency()));
  caf::actor_system sys{cfg};

  for (const auto& kind : kinds) {
    std::string prefix = std::string{"scale."} + kind.name;
    double base_us = 0;
    std::string skip; // why the larger N are skipped
    for (auto n : sizes) {
      auto key = prefix + ".n" + std::to_string(n);
      if (!skip.empty()) {
        print(key, "skipped (" + skip + ")");
        continue;
      }
      auto settings = base;
      settings.n = n;
      auto c = kind.run(sys, settings);
      if (!c.error.empty())
        return std::string{"scale "} + kind.name + ": " + c.error;
      if (!c.complete) {
        print(key, c.stopped);
        skip = "the " + std::to_string(n) + " case " + c.stopped;
        continue;
      }
      if (n == scale_sizes[0])
        base_us = c.us_per_event();
      print_case(key, c, base_us, kind.queued_and_drained_line);
      std::cout.flush();
      if (c.case_s > skip_after_s)
        skip = "the " + std::to_string(n) + " case took " + fixed(c.case_s, 1) +
               " s";
    }
  }
  return {};
}

} // namespace rros::app::benchmark
