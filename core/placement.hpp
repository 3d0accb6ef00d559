// Where in a cluster a request should go (docs/cluster.md, "Placement"):
// the nodes that can fit it now, best first. Pure bookkeeping on the
// members' latest capacity reports, so that the order is tested alone and
// is the same on every client that has the same reports.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace rros {

/// One node as the cluster view shows it.
struct PlacementNode {
  std::string name;
  std::vector<PoolStatus> pools; // its latest report, any order
  /// Forecast utilization (0..1) per type where the node has one; a type
  /// without it counts as its current utilization.
  std::vector<std::pair<ResourceType, double>> forecast;
};

/// What is to be placed: one amount per type (a bundle has several).
struct PlacementItem {
  ResourceType type = ResourceType::COMPUTATIONAL;
  units amount = 0;
};

/// A node that fits, with the figures it was ranked by.
struct PlacementCandidate {
  std::string name;
  double utilization_after = 0; // highest over the items' types, 0..1
  double headroom = 0;          // lowest over the items' types of
                                // 1 - max(forecast, utilization after)
};

/// The nodes whose every item's type has at least the item's amount
/// available, ranked by: lower utilization after placement (the highest
/// over the items' types), then more forecast headroom, then name. Nodes
/// without a report for one of the types do not fit.
std::vector<PlacementCandidate>
rank_nodes(const std::vector<PlacementNode>& nodes,
           const std::vector<PlacementItem>& items);

} // namespace rros
