// The task scheduler: a queue ordered by priority, then earliest deadline,
// then arrival; each task's requirements are acquired as one atomic bundle
// from the bundle coordinator and its body runs in an actor of its own
// (detached in production), never in the scheduler's handlers. Explicit
// execute_next and automatic dispatch (up to max_concurrent at once),
// admission against pool capacity, deadlines on the actor clock, cooperative
// preemption and deferral of IDLE work while the monitor reports degradation.
// docs/scheduler.md has the rules.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/all.hpp>

#include "actors/pool_listening.hpp"
#include "core/wait_queue.hpp"
#include "messages/scheduler_messages.hpp"

namespace rros {

using sched_time = caf::actor_clock::time_point;

/// A queued task's rank: priority, deadline (max when none), arrival.
using task_rank = std::tuple<int, std::int64_t, std::uint64_t>;

/// The wait queues hold a task's rank only; the task lives in `queued`.
struct TaskSlot {};
using task_queue = WaitQueue<TaskSlot, sched_time>;
using result_promise_ptr =
    std::shared_ptr<caf::typed_response_promise<TaskResult>>;

/// A task in the queue.
struct QueuedTask {
  std::uint64_t seq = 0; // arrival order, timer key
  TaskSubmission task;
  std::vector<BundleItem> items; // non-zero requirements, in type order
  bool has_deadline = false;
  sched_time deadline;
  bool missed = false;    // its deadline miss is counted already
  bool acquiring = false; // its bundle request is out
  // Refused for lack of capacity: tried again once a pool of one of its types
  // returned capacity (returns counter above the one seen at the refusal).
  bool blocked = false;
  // Held back: automatic dispatch may not start it while a blocked
  // better-ranked task needs one of its types.
  bool held = false;
  std::map<ResourceType, std::uint64_t> blocked_at;
  bool shed = false; // refused by a degraded pool: tried again when
                     // degradation changes
};

/// A task whose body runs.
struct RunningTask {
  QueuedTask queued;   // kept so that a preempted task can be queued again
  BundleId bundle = 0; // 0: no requirements, nothing held
  std::vector<ResourceAllocation> legs;
  CancellationToken token;
  caf::actor runner;
  sched_time started;
  bool stop_requested = false;
  bool stale = false;         // started before a reset: not counted, not
                              // queued again
  result_promise_ptr promise; // execute_next's reply (null: automatic)
};

struct scheduler_state {
  bundle_actor bundles;
  PoolDirectory pools;
  SchedulerSettings settings;
  monitor_actor monitor;

  // Every queued task by rank (for listings), and the tasks themselves.
  std::set<task_rank> order;
  std::unordered_map<std::uint64_t, QueuedTask> queued;
  std::unordered_set<std::string> queued_ids; // queued or being admitted
  // Counts of the queued tasks per priority, all and shed, kept as they
  // change so that stats_atom costs O(1), not a walk of the queue.
  std::array<std::size_t, 5> queued_by_priority{};
  std::array<std::size_t, 5> shed_by_priority{};
  // The queued tasks by state, each in rank order: ready (worth an attempt)
  // and blocked (refused for capacity). Shed tasks and the one whose bundle
  // request is out are in neither.
  task_queue ready;
  task_queue blocked;
  // Per type, the ranks of the blocked tasks that need it (automatic
  // dispatch never passes a blocked task on a type it needs) and (returns
  // seen at the refusal, seq) to unblock exactly those a report concerns.
  std::array<std::multiset<task_rank>, resource_type_count> blocked_ranks;
  // Ready tasks held back by a blocked better-ranked task on one of their
  // types, kept out of `ready` so that dispatch does not walk past them
  // again; per type their ranks, to release them when the blocked tasks on
  // that type are gone (types whose blocked set shrank are `released`).
  task_queue held;
  std::array<std::set<task_rank>, resource_type_count> held_ranks;
  std::array<bool, resource_type_count> released{};
  std::array<std::multimap<std::uint64_t, std::uint64_t>, resource_type_count>
      blocked_at;

  std::map<std::uint64_t, RunningTask> running;
  std::unordered_map<caf::actor_addr, std::uint64_t> runners;

  bool acquiring = false; // one bundle request at a time keeps the order
  std::vector<result_promise_ptr> exec_waiters;

  std::vector<caf::actor> subscribers;
  std::array<bool, resource_type_count> degraded{};
  PoolListening listening; // registered with the pools while tasks block
  std::array<std::uint64_t, resource_type_count> returns_seen{};

  SchedulerStats counts; // completed, failed, missed, ... (not the gauges)
  std::uint64_t next_seq = 1;
  std::uint64_t generation = 0; // bumped by reset

  ~scheduler_state() {
    // Bodies still running are asked to stop when the scheduler ends.
    for (auto& entry : running)
      entry.second.token.cancel();
  }

  static inline const char* name = "rros.scheduler";
};

/// The scheduler's behavior.
scheduler_actor::behavior_type
task_scheduler(scheduler_actor::stateful_pointer<scheduler_state> self,
               bundle_actor bundles, PoolDirectory pools,
               SchedulerSettings settings);

/// Spawns the scheduler inside an existing actor system.
scheduler_actor spawn_scheduler(caf::actor_system& sys, bundle_actor bundles,
                                PoolDirectory pools,
                                SchedulerSettings settings = {});

/// The name of task runner actors ("rros.task"): tests hold their jobs back
/// on the test coordinator to observe a task while it runs.
extern const char* const task_runner_name;

} // namespace rros
