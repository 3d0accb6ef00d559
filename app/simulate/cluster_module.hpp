// A simulated module of `rros simulate --nodes N`: it places each task the
// driver hands it through its own cluster client (the client holds the
// grants, as a module process's client would), holds the grant for the
// task's duration and returns it, and reads its client's notices once a
// virtual second: a preempted or shed grant is given back at once, an
// expired one is gone, and one on a lost node is recorded as lost with it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "app/simulate/module_actors.hpp"
#include "messages/cluster_messages.hpp"

namespace rros::app::sim {

/// What the cluster driver shares with its module actors (on the test
/// coordinator every actor runs on the driver's thread: no locks).
struct ClusterShared {
  std::vector<TaskRecord> tasks;
  std::vector<std::string> module_names;
  std::vector<std::string> node_names; // TaskRecord::node indexes these
  time_point t0;

  caf::timespan since_start(time_point t) const {
    return t - t0;
  }
};

struct cluster_module_state {
  cluster_client_actor client;
  std::map<std::uint64_t, ClusterGrant> grants;   // held single-type tasks
  std::map<std::uint64_t, ClusterBundle> bundles; // held bundles
  // (node, grant id) of every held leg -> its task, to route notices.
  std::map<std::pair<std::string, GrantId>, std::uint64_t> legs;
  static inline const char* name = "rros.sim.cluster_module";
};

using cluster_module_actor = caf::stateful_actor<cluster_module_state>;

/// Reads the client's notices now; `true`: again every notice_poll.
using sim_poll_atom = caf::atom_constant<caf::atom("simpoll")>;

/// How often a module reads its client's notices.
inline constexpr caf::timespan notice_poll = std::chrono::seconds(1);

caf::behavior sim_cluster_module(cluster_module_actor* self,
                                 ClusterShared* shared, std::size_t index,
                                 cluster_client_actor client);

} // namespace rros::app::sim
