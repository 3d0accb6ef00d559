// The simulated modules of `rros simulate` and what the driver shares with
// them: each workload module is an actor that asks a pool (one type) or the
// bundle coordinator (several types) for each task the driver hands it, holds
// the grant for the task's duration and releases it, and gives a revoked
// grant back at once; an observer actor hears the monitor's samples, alerts
// and degradation. Every task's fate is recorded in the shared TaskRecords.
#pragma once

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "app/simulate/simulation.hpp"
#include "messages/actors.hpp"

namespace rros::app::sim {

using sim_task_atom = caf::atom_constant<caf::atom("simtask")>;
using sim_done_atom = caf::atom_constant<caf::atom("simdone")>;
using time_point = caf::actor_clock::time_point;

inline caf::timespan span_of(double seconds) {
  return caf::timespan{
      static_cast<caf::timespan::rep>(std::llround(seconds * 1e9))};
}

inline double seconds_of(caf::timespan x) {
  return std::chrono::duration<double>(x).count();
}

enum class Outcome : std::uint8_t {
  pending,         // asked, no reply yet
  held,            // granted and holding
  completed,       // held to the end of its work and released
  preempted,       // revoked for a higher priority
  shed_revoked,    // revoked because its type degraded
  expired,         // its lease's time-to-live ran out
  refused,         // refused at once
  deadline_missed, // waited and was not granted in time
  shed_refused,    // refused because its type was degraded
  lost,            // the module died before the reply
  killed,          // the module died while holding it
  node_lost,       // the cluster node holding it was lost (cluster runs)
  failed,          // any other error
};

struct TaskRecord {
  std::size_t module = 0;
  Priority priority = Priority::NORMAL;
  std::vector<BundleItem> items;
  caf::timespan deadline{0}, ttl{0}, hold{0};
  bool preemptable = false;
  // Filled in by the module actor:
  Outcome outcome = Outcome::pending;
  bool partial = false;
  caf::timespan issued{0}, granted{0};
  GrantId grant = 0;         // single-type tasks
  BundleId bundle = 0;       // bundles
  int node = -1;             // cluster runs: the node it was placed on
  std::vector<GrantId> legs; // cluster runs: a bundle's legs, item order
};

/// True when the task was granted at some point (whatever happened after).
inline bool was_granted(Outcome outcome) {
  switch (outcome) {
    case Outcome::held:
    case Outcome::completed:
    case Outcome::preempted:
    case Outcome::shed_revoked:
    case Outcome::expired:
    case Outcome::killed:
    case Outcome::node_lost:
      return true;
    default:
      return false;
  }
}

/// Counts a task in its priority's request outcomes.
inline void tally_request(const TaskRecord& task, PriorityCounts& counts) {
  ++counts.issued;
  if (was_granted(task.outcome)) {
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
    default:
      break;
  }
}

/// What the driver shares with the actors it spawns. Safe without locks: on
/// the test coordinator every actor runs on the driver's thread.
struct Shared {
  std::vector<TaskRecord> tasks;
  std::vector<std::string> module_names;
  PoolDirectory pools;
  bundle_actor bundles;
  time_point t0;
  SimResult* result = nullptr;

  caf::timespan since_start(time_point t) const {
    return t - t0;
  }
};

struct module_state {
  // Held tasks by (type, grant id) of each leg, to route revoke notices.
  std::map<std::pair<ResourceType, GrantId>, std::uint64_t> legs;
  static inline const char* name = "rros.sim.module";
};

using module_actor = caf::stateful_actor<module_state>;

/// A simulated module: asks for each task's demand when the driver says so
/// (sim_task_atom), holds it for the task's duration, releases it, and gives a
/// grant back early when a pool revokes it.
caf::behavior sim_module(module_actor* self, Shared* shared, std::size_t index);

/// Hears the monitor: utilization samples, alerts and degradation.
caf::behavior sim_observer(caf::event_based_actor* self, Shared* shared);

} // namespace rros::app::sim
