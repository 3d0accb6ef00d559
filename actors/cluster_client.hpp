// The cluster client actor (docs/cluster.md, "Placement"): places requests on
// the nodes of a cluster by the rule of core/placement.hpp, holds the grants,
// and when a node is lost turns its grants into node_lost notices so that a
// late release of one is refused instead of credited anywhere. When a later
// run of that node (restarted from its data directory) is reached, the
// client takes those grants back with their reattach tokens.
#pragma once

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <caf/all.hpp>

#include "messages/cluster_messages.hpp"

namespace rros {

/// What the client learns of a node besides its ClusterNode: the bundle
/// coordinator and predictor (asked for once), and the latest forecasts.
struct ClusterNodeExtras {
  bundle_actor bundles;
  predictor_actor predictor;
  // Forecast utilization per type (0..1), refreshed at most once per
  // forecast period by a placement; empty until the first answer.
  std::vector<std::pair<ResourceType, double>> forecast;
  caf::actor_clock::time_point forecast_at{};
  bool forecast_known = false;
};

/// A grant the client holds and the node's run that granted it: a grant
/// taken back from a later run keeps the run its holder was told of.
struct HeldGrant {
  ResourceAllocation allocation;
  std::uint64_t incarnation = 0;
};

/// A bundle the client holds. One taken back from a later run of its node
/// is unknown to that run's coordinator: its legs are returned one by one.
struct HeldBundle {
  BundleGrant bundle;
  std::uint64_t incarnation = 0;
  bool reattached = false;
};

/// What lost runs of a node left that a later run may give back (grants and
/// bundles whose legs carry a reattach_token), until released by the user.
struct AwaitedRun {
  std::uint64_t incarnation = 0; // the latest run lost
  std::uint64_t wait = 0; // the give-up timer in force (the latest armed)
  std::map<GrantId, HeldGrant> grants;
  std::map<BundleId, HeldBundle> bundles;
};

struct cluster_client_state {
  std::map<std::string, ClusterNode> nodes; // usable ones, by name
  std::map<std::string, ClusterNodeExtras> extras;
  std::map<caf::actor_addr, std::string> by_manager;
  // Grants placed and not returned: node -> grant id -> the grant.
  std::map<std::string, std::map<GrantId, HeldGrant>> grants;
  // Grants that lived on a lost node's run: (node, incarnation, id).
  std::set<std::tuple<std::string, std::uint64_t, GrantId>> lost;
  // Bundles placed and not returned: node -> bundle id -> its grant; and
  // those of a lost node's run.
  std::map<std::string, std::map<BundleId, HeldBundle>> bundles;
  std::set<std::tuple<std::string, std::uint64_t, BundleId>> lost_bundles;
  // Lost node -> what its next run may give back.
  std::map<std::string, AwaitedRun> awaited;
  // Lost grants and bundles being asked back from a later run, and those of
  // them the user released (gave up on) meanwhile: what comes back of these
  // is returned to the pool.
  std::set<std::tuple<std::string, std::uint64_t, GrantId>> asking;
  std::set<std::tuple<std::string, std::uint64_t, BundleId>> asking_bundles;
  std::set<std::tuple<std::string, std::uint64_t, GrantId>> given_up;
  std::set<std::tuple<std::string, std::uint64_t, BundleId>> given_up_bundles;
  std::vector<ClusterNotice> notices;
  // How long a lost run's grants are awaited before they are given up, and
  // the number of the last give-up timer armed.
  caf::timespan give_up_after = default_give_up_after;
  std::uint64_t waits = 0;

  static inline const char* name = "rros.cluster_client";
};

cluster_client_actor::behavior_type cluster_client(
    cluster_client_actor::stateful_pointer<cluster_client_state> self);

} // namespace rros
