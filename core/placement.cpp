#include "core/placement.hpp"

#include <algorithm>

namespace rros {

namespace {

const PoolStatus* pool_of(const PlacementNode& node, ResourceType type) {
  for (const auto& p : node.pools)
    if (p.type == type)
      return &p;
  return nullptr;
}

std::optional<double> forecast_of(const PlacementNode& node,
                                  ResourceType type) {
  for (const auto& [t, value] : node.forecast)
    if (t == type)
      return value;
  return std::nullopt;
}

} // namespace

std::vector<PlacementCandidate>
rank_nodes(const std::vector<PlacementNode>& nodes,
           const std::vector<PlacementItem>& items) {
  std::vector<PlacementCandidate> result;
  for (const auto& node : nodes) {
    PlacementCandidate c{node.name, 0.0, 1.0};
    bool fits = !items.empty();
    for (const auto& item : items) {
      const auto* pool = pool_of(node, item.type);
      if (pool == nullptr || pool->capacity <= 0 ||
          pool->available < item.amount) {
        fits = false;
        break;
      }
      auto after =
          static_cast<double>(pool->held + pool->reserved + item.amount) /
          static_cast<double>(pool->capacity);
      auto expected = std::max(after, forecast_of(node, item.type).value_or(0));
      c.utilization_after = std::max(c.utilization_after, after);
      c.headroom = std::min(c.headroom, 1.0 - expected);
    }
    if (fits)
      result.push_back(std::move(c));
  }
  std::sort(result.begin(), result.end(),
            [](const PlacementCandidate& x, const PlacementCandidate& y) {
              if (x.utilization_after != y.utilization_after)
                return x.utilization_after < y.utilization_after;
              if (x.headroom != y.headroom)
                return x.headroom > y.headroom;
              return x.name < y.name;
            });
  return result;
}

} // namespace rros
