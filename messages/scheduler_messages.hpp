// Messages, atoms and typed interfaces of the task scheduler actor, with their
// own CAF type-ID block (offset 250 past rros's first block so the blocks
// never collide). Include it where these messages are used;
// messages/type_ids.cpp registers the block. docs/scheduler.md describes the
// behaviour.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>
#include <caf/timestamp.hpp>
#include <caf/type_id.hpp>

#include "messages/actors.hpp"

#include "messages/atoms.hpp"
#include "messages/monitor_messages.hpp"
#include "messages/predictor_messages.hpp"
#include "messages/types.hpp"

namespace rros {

// -- atoms
// ---------------------------------------------------------------------

// Shared: stats_atom, reset_atom, pools_atom, bundles_atom, usage_atom,
// revoke_atom (atoms.hpp); settings_atom, subscribe_atom, monitor_event_atom
// (monitor_messages.hpp).
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
using execute_atom = caf::atom_constant<caf::atom("execnext")>;
using pending_atom = caf::atom_constant<caf::atom("pending")>;
using set_monitor_atom = caf::atom_constant<caf::atom("setmonitor")>;
// Scheduler -> subscribers and submitters: what became of a task.
using task_event_atom = caf::atom_constant<caf::atom("taskevent")>;
// A task's runner -> the scheduler: the body has finished.
using task_done_atom = caf::atom_constant<caf::atom("taskdone")>;
// The scheduler's own timer: a queued task's deadline.
using task_due_atom = caf::atom_constant<caf::atom("taskdue")>;

// -- cooperative cancellation
// --------------------------------------------------

/// A shared flag a running task may check to stop early (cooperative
/// preemption). Copies share the flag.
class CancellationToken {
public:
  CancellationToken()
    : flag_(std::make_shared<std::atomic<bool>>(false)) {}

  bool cancelled() const noexcept {
    return flag_->load(std::memory_order_acquire);
  }

  void cancel() noexcept {
    flag_->store(true, std::memory_order_release);
  }

private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

/// Thrown by a task body (throw_if_cancelled does it) to say it stopped on
/// request before finishing: the scheduler counts it as preempted, not
/// failed, and queues the task again (SchedulerSettings::requeue_preempted).
class TaskCancelled : public std::runtime_error {
public:
  TaskCancelled()
    : std::runtime_error("the task stopped on request") {}
};

/// Inside a task body: true once the scheduler asked the task to stop. False
/// outside a task body. Defined in actors/scheduler.cpp.
bool current_task_cancelled() noexcept;

/// Inside a task body: throws TaskCancelled when asked to stop.
void throw_if_cancelled();

/// Inside a task body: the task's token (to hand to helper threads); outside
/// a task body, a token nobody cancels.
CancellationToken current_cancellation_token();

// -- submission
// ----------------------------------------------------------------

/// A task as submitted to the scheduler: the seed's ScheduledTask with the
/// deadline relative to the moment the scheduler receives it, so that it is
/// computed on the scheduler's own clock (virtual in tests). Carries code:
/// local only (CAF_ALLOW_UNSAFE_MESSAGE_TYPE below, no type ID, never
/// serialized).
struct TaskSubmission {
  std::string task_id;
  Priority priority = Priority::NORMAL;
  std::function<void()> body;
  // has_deadline = false: no deadline (`deadline` ignored). Otherwise the
  // time left; 0 or negative means the deadline has passed already.
  bool has_deadline = false;
  caf::timespan deadline{0};
  std::unordered_map<ResourceType, float> requirements; // 0 = not needed
  bool preemptable = false;
  // Told what became of the task (task_event_atom, TaskEvent) besides the
  // subscribers; null: nobody.
  caf::actor notify;
};

/// The facade's conversion of a seed task: the wall-clock deadline becomes
/// the time left from now. A default-constructed deadline (the clock's epoch)
/// means "no deadline".
inline TaskSubmission to_submission(const ScheduledTask& task) {
  using hrc = std::chrono::high_resolution_clock;
  TaskSubmission result;
  result.task_id = task.task_id;
  result.priority = task.priority;
  result.body = task.task_function;
  result.has_deadline = task.deadline != hrc::time_point{};
  if (result.has_deadline) {
    // A deadline in the past is 0 time left: subtracting a far past (the
    // clock's minimum) from now would wrap.
    auto now = hrc::now();
    result.deadline =
        task.deadline > now
            ? std::chrono::duration_cast<caf::timespan>(task.deadline - now)
            : caf::timespan{0};
  }
  result.requirements = task.resource_requirements;
  result.preemptable = task.is_preemptable;
  return result;
}

/// The reply to an admitted task.
struct TaskReceipt {
  std::string task_id;
  std::uint64_t seq = 0;     // the scheduler's number for it (arrival order)
  std::uint64_t pending = 0; // queued tasks after admission
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, TaskReceipt& x) {
  return f(caf::meta::type_name("TaskReceipt"), x.task_id, x.seq, x.pending);
}

// -- results and events
// --------------------------------------------------------

enum class TaskOutcome : std::uint8_t {
  nothing,   // execute_next found no task it may run (empty, or deferred)
  blocked,   // the best task's bundle was refused now; it stays queued
  completed, // the body returned
  failed,    // the body threw, its runner died, or its bundle can never be
             // granted
  preempted, // the body stopped on request (TaskCancelled)
};

inline const char* to_string(TaskOutcome x) {
  switch (x) {
    case TaskOutcome::nothing:
      return "nothing";
    case TaskOutcome::blocked:
      return "blocked";
    case TaskOutcome::completed:
      return "completed";
    case TaskOutcome::failed:
      return "failed";
    case TaskOutcome::preempted:
      return "preempted";
  }
  return "unknown";
}

/// The reply to execute_next: whether a task ran and how it ended.
struct TaskResult {
  bool executed = false;  // a body ran (outcome completed, failed, preempted)
  bool succeeded = false; // outcome == completed
  TaskOutcome outcome = TaskOutcome::nothing;
  std::string task_id; // empty when nothing was picked
  Priority priority = Priority::NORMAL;
  bool deadline_missed = false; // ended after its deadline
  std::string detail;           // the exception's text, or why nothing ran
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, TaskResult& x) {
  return f(caf::meta::type_name("TaskResult"), x.executed, x.succeeded,
           x.outcome, x.task_id, x.priority, x.deadline_missed, x.detail);
}

enum class TaskEventKind : std::uint8_t {
  completed, // the body returned
  failed,    // the body threw, its runner died or its bundle never fits
  preempted, // stopped on request; queued again unless `detail` says not
  dropped,   // its deadline passed while queued (drop mode)
  missed,    // its deadline passed while queued (kept, counted)
  cancelled, // dropped from the queue by reset
};

inline const char* to_string(TaskEventKind x) {
  switch (x) {
    case TaskEventKind::completed:
      return "completed";
    case TaskEventKind::failed:
      return "failed";
    case TaskEventKind::preempted:
      return "preempted";
    case TaskEventKind::dropped:
      return "dropped";
    case TaskEventKind::missed:
      return "missed";
    case TaskEventKind::cancelled:
      return "cancelled";
  }
  return "unknown";
}

/// What subscribers and a task's `notify` actor receive (task_event_atom).
struct TaskEvent {
  TaskEventKind kind = TaskEventKind::completed;
  std::string task_id;
  std::uint64_t seq = 0;
  Priority priority = Priority::NORMAL;
  bool deadline_missed = false;
  std::string detail;
  caf::timestamp at; // the scheduler's clock (virtual in tests)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, TaskEvent& x) {
  return f(caf::meta::type_name("TaskEvent"), x.kind, x.task_id, x.seq,
           x.priority, x.deadline_missed, x.detail, x.at);
}

/// A runner's report to the scheduler when the body has finished.
struct TaskRunReport {
  std::uint64_t seq = 0;
  TaskOutcome outcome = TaskOutcome::completed; // completed/failed/preempted
  std::string error;                            // what the body threw
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, TaskRunReport& x) {
  return f(caf::meta::type_name("TaskRunReport"), x.seq, x.outcome, x.error);
}

// -- settings and counts
// -------------------------------------------------------

struct SchedulerSettings {
  // Automatic dispatch: queued tasks start as soon as their bundle is
  // granted, at most this many running at once. 0 = off: only execute_next
  // runs tasks.
  std::uint32_t max_concurrent = 0;
  // Task bodies run in detached actors (their own thread), so a long body
  // blocks neither the scheduler nor CAF's workers. False: normal actors
  // (deterministic tests).
  bool detached = true;
  // A queued task whose deadline passes is dropped (true) or kept and counted
  // as missed once (false). CRITICAL tasks are always kept.
  bool drop_expired = true;
  // A task that stops on request is queued again (true) or counted failed.
  bool requeue_preempted = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SchedulerSettings& x) {
  return f(caf::meta::type_name("SchedulerSettings"), x.max_concurrent,
           x.detached, x.drop_expired, x.requeue_preempted);
}

/// The scheduler's figures. Vectors are indexed by Priority (5 entries).
/// Counts are since start or the last reset.
struct SchedulerStats {
  std::uint64_t pending_tasks = 0; // queued (waiting to run)
  std::vector<std::uint64_t> pending_by_priority;
  std::uint64_t deferred = 0; // queued tasks held back by degradation
  std::uint64_t running = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t missed = 0; // deadline misses, every priority
  std::vector<std::uint64_t> missed_by_priority;
  std::uint64_t dropped = 0;   // dropped at their deadline while queued
  std::uint64_t refused = 0;   // admission refusals (not bad input)
  std::uint64_t preempted = 0; // running tasks asked to stop
  bool degraded = false;       // some type is degraded (monitor)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SchedulerStats& x) {
  return f(caf::meta::type_name("SchedulerStats"), x.pending_tasks,
           x.pending_by_priority, x.deferred, x.running, x.completed, x.failed,
           x.missed, x.missed_by_priority, x.dropped, x.refused, x.preempted,
           x.degraded);
}

// -- typed interface
// -----------------------------------------------------------

/// Queues tasks by priority and deadline and runs each with its resources
/// held as one atomic bundle (docs/scheduler.md). Local only: tasks carry
/// code.
using scheduler_actor = caf::typed_actor<
    // Admits a task (the seed's schedule_task). Refusals: deadline_expired
    // (deadline already past), exceeds_capacity (a requirement above its
    // pool's capacity); CRITICAL tasks skip both. Bad input, which changes
    // nothing: empty_requester (empty id), duplicate_id (an id already
    // queued), invalid_argument (no body), invalid_priority,
    // unknown_resource_type, invalid_amount (NaN, infinite, negative, below one
    // unit), amount_too_large. pool_unavailable when a pool cannot be asked
    // (framework_error for another error of CAF's while asking it).
    caf::replies_to<schedule_atom, TaskSubmission>::with<TaskReceipt>,
    // Runs the best queued task that may run (the seed's execute_next_task);
    // replies when its body has ended and its resources are back.
    caf::replies_to<execute_atom>::with<TaskResult>,
    // Queued tasks in dispatch order, for the load balancer.
    caf::replies_to<pending_atom>::with<std::vector<PendingTask>>,
    // Counts (pending per priority, running, completed, failed, missed, ...).
    caf::replies_to<stats_atom>::with<SchedulerStats>,
    // Replaces the settings (max_concurrent takes effect at once); replies
    // with them.
    caf::replies_to<settings_atom, SchedulerSettings>::with<SchedulerSettings>,
    // The settings in force.
    caf::replies_to<settings_atom>::with<SchedulerSettings>,
    // Adds (true) or removes (false) a subscriber of task events; replies
    // with the new state. invalid_argument for a null handle.
    caf::replies_to<subscribe_atom, caf::actor, bool>::with<bool>,
    // Drops queued tasks (cancelled), clears the counts and asks running
    // tasks to stop; replies with the counts afterwards.
    caf::replies_to<reset_atom>::with<SchedulerStats>,
    // New pool handles (from the manager after a pool was replaced).
    caf::reacts_to<pools_atom, PoolDirectory>,
    // A new bundle coordinator (after it was replaced).
    caf::reacts_to<bundles_atom, bundle_actor>,
    // The monitor to follow for degradation (null: none); the scheduler
    // subscribes to its state changes.
    caf::reacts_to<set_monitor_atom, monitor_actor>,
    // From the monitor: a type's state changed.
    caf::reacts_to<monitor_event_atom, MonitorEvent>,
    // From the pools while tasks wait for capacity: a ledger changed.
    caf::reacts_to<usage_atom, PoolStatus>,
    // From a pool: a leg of a running task's bundle is taken back.
    caf::reacts_to<revoke_atom, GrantNotice>,
    // Internal (not for clients): a runner's report and a deadline timer.
    caf::reacts_to<task_done_atom, TaskRunReport>,
    caf::reacts_to<task_due_atom, std::uint64_t>>;

} // namespace rros

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rros::TaskSubmission)

CAF_BEGIN_TYPE_ID_BLOCK(rros_scheduler, caf::first_custom_type_id + 250)

CAF_ADD_TYPE_ID(rros_scheduler, (rros::TaskReceipt))
CAF_ADD_TYPE_ID(rros_scheduler, (rros::TaskResult))
CAF_ADD_TYPE_ID(rros_scheduler, (rros::TaskEvent))
CAF_ADD_TYPE_ID(rros_scheduler, (rros::TaskRunReport))
CAF_ADD_TYPE_ID(rros_scheduler, (rros::SchedulerSettings))
CAF_ADD_TYPE_ID(rros_scheduler, (rros::SchedulerStats))
CAF_ADD_TYPE_ID(rros_scheduler, (rros::scheduler_actor))

CAF_END_TYPE_ID_BLOCK(rros_scheduler)
