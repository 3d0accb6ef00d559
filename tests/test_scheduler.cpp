// Deterministic message scripts for the task scheduler: order by priority and
// earliest deadline, resources held as one bundle while a body runs and
// returned when it ends or throws, deadlines on the virtual clock, automatic
// dispatch within its concurrency limit, cooperative preemption, admission,
// deferral of IDLE work while degraded, bad input, reset. Task bodies run in
// normal (not detached) actors; a test holds their jobs back on the test
// coordinator to look at a task while it runs.
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fixture.hpp"

#include "actors/manager.hpp"
#include "actors/scheduler.hpp"
#include "messages/scheduler_messages.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;
constexpr auto io = ResourceType::IO;

constexpr units u(double amount) {
  return static_cast<units>(amount * units_per_amount);
}

struct EventLog {
  std::vector<TaskEvent> events;

  std::size_t count(TaskEventKind kind) const {
    std::size_t n = 0;
    for (const auto& ev : events)
      n += ev.kind == kind ? 1 : 0;
    return n;
  }
};

caf::behavior event_listener(caf::event_based_actor*,
                             std::shared_ptr<EventLog> log) {
  return {
      [=](task_event_atom, const TaskEvent& ev) { log->events.push_back(ev); },
  };
}

/// What the task bodies did, in order.
using Trace = std::shared_ptr<std::vector<std::string>>;

std::function<void()> records(Trace trace, std::string name) {
  return [trace, name] { trace->push_back(name); };
}

TaskSubmission task(std::string id, Priority priority,
                    std::unordered_map<ResourceType, float> requirements,
                    std::function<void()> body) {
  TaskSubmission t;
  t.task_id = std::move(id);
  t.priority = priority;
  t.requirements = std::move(requirements);
  t.body = std::move(body);
  return t;
}

TaskSubmission with_deadline(TaskSubmission t, caf::timespan deadline) {
  t.has_deadline = true;
  t.deadline = deadline;
  return t;
}

bool is_runner(caf::resumable* job) {
  auto* actor = dynamic_cast<caf::local_actor*>(job);
  return actor != nullptr && std::string{actor->name()} == task_runner_name;
}

class SchedulerTest : public DeterministicFixture {
public:
  SchedulerTest()
    : trace(std::make_shared<std::vector<std::string>>()) {
    manager_ = spawn_manager(sys, Config{});
    run();
    pools_ = ask_ok<PoolDirectory>(manager_, pools_atom::value);
    bundles_ = ask_ok<bundle_actor>(manager_, bundles_atom::value);
  }

  ~SchedulerTest() override {
    if (scheduler_)
      caf::anon_send_exit(scheduler_, caf::exit_reason::user_shutdown);
    if (listener_)
      caf::anon_send_exit(listener_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
    run();
  }

  void start(std::uint32_t max_concurrent, bool drop_expired = true) {
    SchedulerSettings s;
    s.max_concurrent = max_concurrent;
    s.detached = false; // deterministic: bodies run on the test coordinator
    s.drop_expired = drop_expired;
    scheduler_ = spawn_scheduler(sys, bundles_, pools_, s);
    run();
  }

  void subscribe() {
    events = std::make_shared<EventLog>();
    listener_ = sys.spawn(event_listener, events);
    EXPECT_TRUE(
        ask_ok<bool>(scheduler_, subscribe_atom::value, listener_, true));
  }

  /// Runs every pending message except the task bodies: their runners stay
  /// queued, so the tasks are "running" and their resources held.
  void run_except_tasks() {
    sched.run_jobs_filtered(
        [](caf::resumable* job) { return !is_runner(job); });
  }

  /// Runs the first task body waiting on the coordinator (and nothing else).
  void run_one_task() {
    auto& jobs = sched.jobs;
    auto i = std::find_if(jobs.begin(), jobs.end(), is_runner);
    ASSERT_NE(i, jobs.end());
    std::rotate(jobs.begin(), i, i + 1);
    sched.run_once();
  }

  std::size_t runner_jobs() const {
    std::size_t n = 0;
    for (auto* job : sched.jobs)
      n += is_runner(job) ? 1 : 0;
    return n;
  }

  /// Like ask(), without running task bodies.
  template <class Result, class Handle, class... Ts>
  caf::expected<Result> peek(const Handle& dest, Ts&&... xs) {
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run_except_tasks();
    caf::expected<Result> result{caf::sec::unexpected_response};
    handle.receive([&](Result& reply) { result = std::move(reply); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::expected<TaskReceipt> schedule(TaskSubmission t) {
    return ask<TaskReceipt>(scheduler_, schedule_atom::value, std::move(t));
  }

  caf::expected<TaskReceipt> schedule_held(TaskSubmission t) {
    return peek<TaskReceipt>(scheduler_, schedule_atom::value, std::move(t));
  }

  TaskResult execute() {
    return ask_ok<TaskResult>(scheduler_, execute_atom::value);
  }

  SchedulerStats stats() {
    auto result = peek<SchedulerStats>(scheduler_, stats_atom::value);
    if (!result) {
      ADD_FAILURE() << describe(result.error());
      return SchedulerStats{};
    }
    return *result;
  }

  units held(ResourceType type) {
    return peek<PoolStatus>(pools_[type], status_atom::value)->held;
  }

  Trace trace;
  std::shared_ptr<EventLog> events;
  manager_actor manager_;
  PoolDirectory pools_;
  bundle_actor bundles_;
  scheduler_actor scheduler_;
  caf::actor listener_;
};

std::uint64_t at(const std::vector<std::uint64_t>& xs, Priority p) {
  return xs.at(static_cast<std::size_t>(p));
}

} // namespace

// -- order
// ---------------------------------------------------------------------

TEST_F(SchedulerTest, RunsByPriorityThenEarliestDeadlineThenArrival) {
  start(0); // execute_next only
  auto r = execute();
  EXPECT_FALSE(r.executed);
  EXPECT_EQ(r.outcome, TaskOutcome::nothing);
  auto req = std::unordered_map<ResourceType, float>{{compute, 10}};
  ASSERT_TRUE(schedule(with_deadline(
      task("a", Priority::NORMAL, req, records(trace, "a")), 5s)));
  ASSERT_TRUE(schedule(with_deadline(
      task("b", Priority::NORMAL, req, records(trace, "b")), 1s)));
  ASSERT_TRUE(schedule(task("c", Priority::NORMAL, req, records(trace, "c"))));
  ASSERT_TRUE(schedule(
      with_deadline(task("d", Priority::HIGH, req, records(trace, "d")), 10s)));
  ASSERT_TRUE(schedule(with_deadline(
      task("e", Priority::LOW, req, records(trace, "e")), 100ms)));
  ASSERT_TRUE(schedule(with_deadline(
      task("f", Priority::NORMAL, req, records(trace, "f")), 1s)));
  auto s = stats();
  EXPECT_EQ(s.pending_tasks, 6u);
  EXPECT_EQ(at(s.pending_by_priority, Priority::NORMAL), 4u);
  EXPECT_EQ(at(s.pending_by_priority, Priority::HIGH), 1u);
  EXPECT_EQ(at(s.pending_by_priority, Priority::LOW), 1u);
  // The balancer's view: the same order, deadlines as time left.
  auto pending =
      ask_ok<std::vector<PendingTask>>(scheduler_, pending_atom::value);
  ASSERT_EQ(pending.size(), 6u);
  EXPECT_EQ(pending[0].task_id, "d");
  EXPECT_EQ(pending[0].deadline, 10s);
  EXPECT_EQ(pending[3].task_id, "a");
  EXPECT_FLOAT_EQ(pending[3].cost, 10.0f);
  EXPECT_EQ(pending[4].task_id, "c");
  EXPECT_EQ(pending[4].deadline, 0ns);
  for (int i = 0; i < 6; ++i) {
    auto x = execute();
    EXPECT_TRUE(x.executed);
    EXPECT_TRUE(x.succeeded);
    EXPECT_EQ(x.outcome, TaskOutcome::completed);
    EXPECT_EQ(held(compute), 0) << "released after " << x.task_id;
  }
  EXPECT_EQ(*trace, (std::vector<std::string>{"d", "b", "f", "a", "c", "e"}));
  s = stats();
  EXPECT_EQ(s.completed, 6u);
  EXPECT_EQ(s.pending_tasks, 0u);
  EXPECT_EQ(s.missed, 0u);
}

TEST_F(SchedulerTest, HoldsTheWholeBundleWhileTheBodyRuns) {
  start(0);
  ASSERT_TRUE(
      schedule(task("t", Priority::NORMAL,
                    {{compute, 30}, {io, 20}, {ResourceType::MEMORY, 0}},
                    records(trace, "t"))));
  auto handle = self->request(scheduler_, caf::infinite, execute_atom::value);
  run_except_tasks();
  EXPECT_FALSE(has_reply()); // the body has not run yet
  EXPECT_EQ(held(compute), u(30));
  EXPECT_EQ(held(io), u(20));
  EXPECT_EQ(held(ResourceType::MEMORY), 0);
  EXPECT_EQ(stats().running, 1u);
  EXPECT_EQ(runner_jobs(), 1u);
  run();
  auto r = reply_of<TaskResult>(handle);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->succeeded);
  EXPECT_EQ(r->task_id, "t");
  // The reply comes once the resources are back.
  EXPECT_EQ(held(compute), 0);
  EXPECT_EQ(held(io), 0);
  EXPECT_EQ(*trace, std::vector<std::string>{"t"});
}

// -- failures
// ------------------------------------------------------------------

TEST_F(SchedulerTest, ThrowingTaskReleasesItsResourcesAndCountsAsFailed) {
  start(0);
  ASSERT_TRUE(schedule(task("boom", Priority::HIGH, {{compute, 60}, {io, 60}},
                            [] { throw std::runtime_error("it broke"); })));
  auto r = execute();
  EXPECT_TRUE(r.executed);
  EXPECT_FALSE(r.succeeded);
  EXPECT_EQ(r.outcome, TaskOutcome::failed);
  EXPECT_EQ(r.detail, "it broke");
  EXPECT_EQ(held(compute), 0);
  EXPECT_EQ(held(io), 0);
  // Automatic dispatch: the same, and the capacity serves the next task.
  ask_ok<SchedulerSettings>(scheduler_, settings_atom::value,
                            SchedulerSettings{1, false, true, true});
  ASSERT_TRUE(schedule(
      task("boom2", Priority::HIGH, {{compute, 60}}, [] { throw 42; })));
  ASSERT_TRUE(schedule(
      task("next", Priority::LOW, {{compute, 60}}, records(trace, "next"))));
  run();
  EXPECT_EQ(*trace, std::vector<std::string>{"next"});
  auto s = stats();
  EXPECT_EQ(s.failed, 2u);
  EXPECT_EQ(s.completed, 1u);
  EXPECT_EQ(s.running, 0u);
  EXPECT_EQ(held(compute), 0);
}

// -- deadlines
// -----------------------------------------------------------------

TEST_F(SchedulerTest, QueuedTaskPastItsDeadlineIsDroppedWithNotice) {
  start(0);
  subscribe();
  auto t = with_deadline(
      task("late", Priority::NORMAL, {{compute, 1}}, records(trace, "late")),
      1s);
  ASSERT_TRUE(schedule(t));
  advance(999ms);
  EXPECT_EQ(stats().pending_tasks, 1u);
  EXPECT_TRUE(events->events.empty());
  advance(1ms);
  auto s = stats();
  EXPECT_EQ(s.pending_tasks, 0u);
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_EQ(s.missed, 1u);
  EXPECT_EQ(at(s.missed_by_priority, Priority::NORMAL), 1u);
  ASSERT_EQ(events->events.size(), 1u);
  EXPECT_EQ(events->events[0].kind, TaskEventKind::dropped);
  EXPECT_EQ(events->events[0].task_id, "late");
  EXPECT_FALSE(execute().executed);
  EXPECT_TRUE(trace->empty());
}

TEST_F(SchedulerTest, KeptTaskPastItsDeadlineCountsOneMiss) {
  start(0, /*drop_expired=*/false);
  subscribe();
  ASSERT_TRUE(schedule(with_deadline(
      task("late", Priority::LOW, {{compute, 1}}, records(trace, "late")),
      500ms)));
  advance(500ms);
  auto s = stats();
  EXPECT_EQ(s.pending_tasks, 1u);
  EXPECT_EQ(s.missed, 1u);
  EXPECT_EQ(at(s.missed_by_priority, Priority::LOW), 1u);
  EXPECT_EQ(events->count(TaskEventKind::missed), 1u);
  auto r = execute();
  EXPECT_TRUE(r.succeeded);
  EXPECT_TRUE(r.deadline_missed);
  s = stats();
  EXPECT_EQ(s.missed, 1u); // counted once
  EXPECT_EQ(s.completed, 1u);
}

TEST_F(SchedulerTest, TaskCompletingAfterItsDeadlineIsAMiss) {
  start(0);
  ASSERT_TRUE(schedule(with_deadline(
      task("slow", Priority::HIGH, {{compute, 5}}, records(trace, "slow")),
      1s)));
  auto handle = self->request(scheduler_, caf::infinite, execute_atom::value);
  run_except_tasks();
  // The body is running when its deadline passes.
  sched.advance_time(2s);
  run_except_tasks();
  EXPECT_EQ(stats().missed, 0u);
  run();
  auto r = reply_of<TaskResult>(handle);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->succeeded);
  EXPECT_TRUE(r->deadline_missed);
  auto s = stats();
  EXPECT_EQ(s.completed, 1u);
  EXPECT_EQ(s.missed, 1u);
  EXPECT_EQ(at(s.missed_by_priority, Priority::HIGH), 1u);
  EXPECT_EQ(s.dropped, 0u);
}

// -- automatic dispatch
// ----------------------------------------------------------

TEST_F(SchedulerTest, AutomaticDispatchRespectsTheConcurrencyLimit) {
  start(2);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(schedule_held(task("t" + std::to_string(i), Priority::NORMAL,
                                   {{compute, 10}},
                                   records(trace, "t" + std::to_string(i)))));
  std::size_t done = 0;
  while (runner_jobs() > 0) {
    auto s = stats();
    EXPECT_LE(s.running, 2u);
    EXPECT_EQ(s.running, runner_jobs());
    EXPECT_EQ(s.completed, done);
    EXPECT_EQ(s.pending_tasks + s.running + done, 5u);
    EXPECT_EQ(held(compute), u(10) * static_cast<units>(s.running));
    // Let exactly one body run.
    run_one_task();
    run_except_tasks();
    ++done;
  }
  EXPECT_EQ(done, 5u);
  EXPECT_EQ(*trace, (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4"}));
  EXPECT_EQ(stats().completed, 5u);
  EXPECT_EQ(held(compute), 0);
  // 0 turns automatic dispatch off: queued tasks wait for execute_next.
  ask_ok<SchedulerSettings>(scheduler_, settings_atom::value,
                            SchedulerSettings{0, false, true, true});
  ASSERT_TRUE(schedule(
      task("x", Priority::NORMAL, {{compute, 10}}, records(trace, "x"))));
  EXPECT_EQ(stats().pending_tasks, 1u);
  EXPECT_TRUE(execute().succeeded);
}

TEST_F(SchedulerTest, BlockedTaskStartsWhenCapacityReturns) {
  start(4);
  auto other = ask<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                       request("other", compute, 90));
  ASSERT_TRUE(other);
  ASSERT_TRUE(schedule(
      task("big", Priority::HIGH, {{compute, 50}}, records(trace, "big"))));
  // A smaller task of the same type does not pass the blocked one; a task
  // of another type does.
  ASSERT_TRUE(schedule(
      task("small", Priority::LOW, {{compute, 5}}, records(trace, "small"))));
  ASSERT_TRUE(
      schedule(task("io", Priority::LOW, {{io, 5}}, records(trace, "io"))));
  EXPECT_EQ(*trace, std::vector<std::string>{"io"});
  EXPECT_EQ(stats().pending_tasks, 2u);
  ask_ok<ReleaseReceipt>(pools_[compute], release_atom::value, other->grant_id);
  run();
  EXPECT_EQ(*trace, (std::vector<std::string>{"io", "big", "small"}));
  EXPECT_EQ(held(compute), 0);
}

// -- preemption
// ------------------------------------------------------------------

TEST_F(SchedulerTest, HigherPriorityTaskAsksAPreemptableOneToStop) {
  start(2);
  subscribe();
  int low_runs = 0;
  auto low = task("low", Priority::LOW, {{compute, 80}}, [&, t = trace] {
    ++low_runs;
    if (current_task_cancelled()) {
      t->push_back("low stopped");
      throw_if_cancelled();
    }
    t->push_back("low done");
  });
  low.preemptable = true;
  ASSERT_TRUE(schedule_held(low));
  EXPECT_EQ(stats().running, 1u);
  EXPECT_EQ(held(compute), u(80));
  // HIGH needs 50 of the 20 left: the preemptable LOW task is asked to stop.
  ASSERT_TRUE(schedule_held(
      task("high", Priority::HIGH, {{compute, 50}}, records(trace, "high"))));
  auto s = stats();
  EXPECT_EQ(s.preempted, 1u);
  EXPECT_EQ(s.running, 1u);
  EXPECT_EQ(s.pending_tasks, 1u);
  EXPECT_TRUE(trace->empty());
  // The body sees the request, stops; HIGH runs, then LOW again.
  run();
  EXPECT_EQ(*trace,
            (std::vector<std::string>{"low stopped", "high", "low done"}));
  EXPECT_EQ(low_runs, 2);
  s = stats();
  EXPECT_EQ(s.completed, 2u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.preempted, 1u);
  EXPECT_EQ(events->count(TaskEventKind::preempted), 1u);
  EXPECT_EQ(held(compute), 0);
}

TEST_F(SchedulerTest, NonPreemptableOrEqualPriorityTasksAreNotStopped) {
  start(3);
  auto keeper = task("keeper", Priority::LOW, {{compute, 60}}, [t = trace] {
    t->push_back(current_task_cancelled() ? "keeper stopped" : "keeper");
  });
  ASSERT_TRUE(schedule_held(keeper));
  auto peer = task("peer", Priority::HIGH, {{compute, 30}}, [t = trace] {
    t->push_back(current_task_cancelled() ? "peer stopped" : "peer");
  });
  peer.preemptable = true;
  ASSERT_TRUE(schedule_held(peer));
  ASSERT_TRUE(schedule_held(
      task("high", Priority::HIGH, {{compute, 50}}, records(trace, "high"))));
  EXPECT_EQ(stats().preempted, 0u);
  run();
  EXPECT_EQ(*trace, (std::vector<std::string>{"keeper", "peer", "high"}));
}

// -- admission
// -------------------------------------------------------------------

TEST_F(SchedulerTest, AdmissionRefusesPastDeadlinesAndOversizedTasks) {
  start(0);
  auto body = records(trace, "x");
  EXPECT_TRUE(
      fails_with(schedule(with_deadline(
                     task("a", Priority::HIGH, {{compute, 1}}, body), 0ns)),
                 ec::deadline_expired));
  EXPECT_TRUE(fails_with(
      schedule(with_deadline(task("b", Priority::HIGH, {}, body), -1s)),
      ec::deadline_expired));
  auto big = schedule(task("c", Priority::HIGH, {{compute, 150}}, body));
  EXPECT_TRUE(fails_with(big, ec::exceeds_capacity));
  EXPECT_NE(context_of(big.error()).find("c"), std::string::npos);
  auto s = stats();
  EXPECT_EQ(s.refused, 3u);
  EXPECT_EQ(s.pending_tasks, 0u);
  // CRITICAL is always admitted; one that can never fit fails when tried.
  ASSERT_TRUE(schedule(with_deadline(
      task("crit", Priority::CRITICAL, {{compute, 150}}, body), -1ms)));
  s = stats();
  EXPECT_EQ(s.pending_tasks, 1u);
  EXPECT_EQ(s.missed, 1u); // admitted past its deadline
  auto r = execute();
  EXPECT_FALSE(r.executed);
  EXPECT_EQ(r.outcome, TaskOutcome::failed);
  EXPECT_EQ(stats().failed, 1u);
  EXPECT_TRUE(trace->empty());
  // Capacity is the pool's current one.
  ask_ok<Config>(manager_, configure_atom::value,
                 ConfigMap{{"computational_capacity", 200.0f}});
  EXPECT_TRUE(schedule(task("c", Priority::HIGH, {{compute, 150}}, body)));
}

TEST_F(SchedulerTest, BadInputIsRefusedAndChangesNothing) {
  start(0);
  auto body = records(trace, "x");
  ASSERT_TRUE(schedule(task("dup", Priority::NORMAL, {{compute, 1}}, body)));
  EXPECT_TRUE(fails_with(schedule(task("", Priority::NORMAL, {}, body)),
                         ec::empty_requester));
  // Regression: these borrowed invalid_bundle; a null subscriber (below)
  // borrowed empty_requester.
  EXPECT_TRUE(fails_with(schedule(task("dup", Priority::NORMAL, {}, body)),
                         ec::duplicate_id));
  EXPECT_TRUE(fails_with(schedule(task("nobody", Priority::NORMAL, {}, {})),
                         ec::invalid_argument));
  EXPECT_TRUE(
      fails_with(schedule(task("p", static_cast<Priority>(9), {}, body)),
                 ec::invalid_priority));
  EXPECT_TRUE(
      fails_with(schedule(task("t", Priority::NORMAL,
                               {{static_cast<ResourceType>(9), 1}}, body)),
                 ec::unknown_resource_type));
  for (float bad : {std::nanf(""), -1.0f, INFINITY, 1e-9f})
    EXPECT_TRUE(fails_with(
        schedule(task("n", Priority::CRITICAL, {{compute, bad}}, body)),
        ec::invalid_amount))
        << bad;
  EXPECT_TRUE(fails_with(
      schedule(task("huge", Priority::NORMAL, {{compute, 1e13f}}, body)),
      ec::amount_too_large));
  EXPECT_TRUE(fails_with(
      ask<bool>(scheduler_, subscribe_atom::value, caf::actor{}, true),
      ec::invalid_argument));
  auto s = stats();
  EXPECT_EQ(s.pending_tasks, 1u);
  EXPECT_EQ(s.refused, 0u); // bad input is not a refusal
  EXPECT_EQ(held(compute), 0);
  EXPECT_TRUE(trace->empty());
  // The id is free again once the task has run.
  EXPECT_TRUE(execute().succeeded);
  EXPECT_TRUE(schedule(task("dup", Priority::NORMAL, {{compute, 1}}, body)));
}

// -- degradation
// -----------------------------------------------------------------

TEST_F(SchedulerTest, ForgedInternalMessagesChangeNothing) {
  // A client that knows the scheduler's handle sends what only a runner,
  // the scheduler's own timer, its pools or its monitor may send.
  start(0);
  auto running =
      task("running", Priority::HIGH, {{compute, 30}}, records(trace, "r"));
  running.preemptable = true; // a real revoke would ask it to stop
  ASSERT_TRUE(schedule(std::move(running)));
  ASSERT_TRUE(schedule(with_deadline(
      task("queued", Priority::LOW, {{compute, 5}}, records(trace, "q")),
      10s)));
  auto handle = self->request(scheduler_, caf::infinite, execute_atom::value);
  run_except_tasks();
  ASSERT_EQ(stats().running, 1u);
  MonitorEvent degraded;
  degraded.kind = MonitorEventKind::degraded_entered;
  degraded.type = ResourceType::ATTENTION;
  degraded.degraded = true;
  for (std::uint64_t seq = 0; seq < 16; ++seq) {
    // "The body ended": would release the running task's bundle early.
    self->send(scheduler_, task_done_atom::value,
               TaskRunReport{seq, TaskOutcome::completed, ""});
    // "The deadline passed": would drop the queued task.
    self->send(scheduler_, task_due_atom::value, seq);
    // "Your leg is revoked": would ask the running task to stop.
    GrantNotice notice;
    notice.grant_id = seq;
    notice.resource_type = compute;
    notice.reason = RevokeReason::preempted;
    self->send(scheduler_, revoke_atom::value, notice);
  }
  self->send(scheduler_, monitor_event_atom::value, degraded);
  run_except_tasks();
  auto s = stats();
  EXPECT_EQ(s.running, 1u);
  EXPECT_EQ(s.pending_tasks, 1u);
  EXPECT_EQ(s.completed, 0u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.preempted, 0u);
  EXPECT_FALSE(s.degraded);
  EXPECT_EQ(held(compute), u(30));
  EXPECT_TRUE(trace->empty());
  // The real runner still ends the task, and the bundle comes back once.
  run();
  ASSERT_TRUE(reply_of<TaskResult>(handle));
  EXPECT_EQ(held(compute), 0);
  EXPECT_EQ(stats().completed, 1u);
}

TEST_F(SchedulerTest, IdleTasksWaitWhileATypeIsDegraded) {
  start(4);
  auto subs = ask_ok<Subsystems>(manager_, subsystems_atom::value);
  auto monitor = caf::actor_cast<monitor_actor>(subs.monitor);
  ASSERT_TRUE(monitor);
  self->send(scheduler_, set_monitor_atom::value, monitor);
  run();
  ask_ok<TypeMonitorView>(monitor, degrade_atom::value, ResourceType::ATTENTION,
                          true);
  EXPECT_TRUE(stats().degraded);
  ASSERT_TRUE(schedule(
      task("idle", Priority::IDLE, {{compute, 5}}, records(trace, "idle"))));
  ASSERT_TRUE(schedule(
      task("high", Priority::HIGH, {{compute, 5}}, records(trace, "high"))));
  ASSERT_TRUE(schedule(task("crit", Priority::CRITICAL, {{compute, 5}},
                            records(trace, "crit"))));
  EXPECT_EQ(*trace, (std::vector<std::string>{"high", "crit"}));
  auto s = stats();
  EXPECT_EQ(s.pending_tasks, 1u);
  EXPECT_EQ(s.deferred, 1u);
  // execute_next does not run it either.
  EXPECT_EQ(execute().outcome, TaskOutcome::nothing);
  ask_ok<TypeMonitorView>(monitor, degrade_atom::value, ResourceType::ATTENTION,
                          false);
  EXPECT_EQ(*trace, (std::vector<std::string>{"high", "crit", "idle"}));
  s = stats();
  EXPECT_FALSE(s.degraded);
  EXPECT_EQ(s.completed, 3u);
  EXPECT_EQ(s.deferred, 0u);
}

TEST_F(SchedulerTest, LearnsOfDegradationThatBeganBeforeTheMonitorWasSet) {
  start(4);
  auto subs = ask_ok<Subsystems>(manager_, subsystems_atom::value);
  auto monitor = caf::actor_cast<monitor_actor>(subs.monitor);
  ask_ok<TypeMonitorView>(monitor, degrade_atom::value, io, true);
  self->send(scheduler_, set_monitor_atom::value, monitor);
  run();
  ASSERT_TRUE(schedule(
      task("idle", Priority::IDLE, {{compute, 5}}, records(trace, "idle"))));
  EXPECT_EQ(stats().deferred, 1u);
  ask_ok<TypeMonitorView>(monitor, degrade_atom::value, io, false);
  EXPECT_EQ(*trace, std::vector<std::string>{"idle"});
}

// -- reset
// -----------------------------------------------------------------------

TEST_F(SchedulerTest, ResetDropsQueuedTasksAndAsksRunningOnesToStop) {
  start(1);
  subscribe();
  ASSERT_TRUE(schedule_held(
      task("running", Priority::NORMAL, {{compute, 40}}, [t = trace] {
        t->push_back(current_task_cancelled() ? "asked to stop" : "not asked");
      })));
  ASSERT_TRUE(schedule_held(
      task("q1", Priority::NORMAL, {{compute, 1}}, records(trace, "q1"))));
  ASSERT_TRUE(schedule_held(
      task("q2", Priority::LOW, {{compute, 1}}, records(trace, "q2"))));
  auto s = peek<SchedulerStats>(scheduler_, reset_atom::value);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pending_tasks, 0u);
  EXPECT_EQ(s->running, 1u);
  EXPECT_EQ(s->completed, 0u);
  run();
  EXPECT_EQ(*trace, std::vector<std::string>{"asked to stop"});
  EXPECT_EQ(events->count(TaskEventKind::cancelled), 2u);
  auto after = stats();
  EXPECT_EQ(after.running, 0u);
  EXPECT_EQ(after.completed, 0u); // started before the reset: not counted
  EXPECT_EQ(held(compute), 0);
  // The ids are free again and the scheduler works on.
  ASSERT_TRUE(schedule(
      task("q1", Priority::NORMAL, {{compute, 1}}, records(trace, "q1"))));
  EXPECT_EQ(stats().completed, 1u);
}
