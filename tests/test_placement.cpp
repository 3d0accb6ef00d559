// The placement order of core/placement.hpp: only nodes that fit, lower
// utilization after placement first, then forecast headroom, then name.
#include <gtest/gtest.h>

#include "core/placement.hpp"

using namespace rros;

namespace {

PoolStatus pool(ResourceType type, units capacity, units held,
                units reserved = 0) {
  PoolStatus p;
  p.type = type;
  p.capacity = capacity;
  p.held = held;
  p.reserved = reserved;
  p.available = capacity - held - reserved;
  return p;
}

constexpr auto cpu = ResourceType::COMPUTATIONAL;
constexpr auto io = ResourceType::IO;

std::vector<std::string> names(const std::vector<PlacementCandidate>& c) {
  std::vector<std::string> result;
  for (const auto& x : c)
    result.push_back(x.name);
  return result;
}

} // namespace

TEST(Placement, OnlyNodesThatFitLeastUtilizedAfterPlacementFirst) {
  std::vector<PlacementNode> nodes{
      {"a", {pool(cpu, 100, 50)}, {}},
      {"b", {pool(cpu, 100, 95)}, {}},    // 5 left: does not fit 10
      {"c", {pool(cpu, 200, 60)}, {}},    // (60+10)/200 = 0.35
      {"d", {pool(cpu, 100, 0, 20)}, {}}, // reserved counts: 0.30
      {"e", {pool(io, 100, 0)}, {}},      // no computational pool reported
  };
  auto ranked = rank_nodes(nodes, {{cpu, 10}});
  EXPECT_EQ(names(ranked), (std::vector<std::string>{"d", "c", "a"}));
  EXPECT_DOUBLE_EQ(ranked[0].utilization_after, 0.30);
  EXPECT_DOUBLE_EQ(ranked[2].utilization_after, 0.60);
}

TEST(Placement, ForecastHeadroomBreaksEqualUtilizationThenTheName) {
  std::vector<PlacementNode> nodes{
      {"z", {pool(cpu, 100, 10)}, {}},           // headroom 0.8
      {"y", {pool(cpu, 100, 10)}, {{cpu, 0.9}}}, // forecast 90%: 0.1
      {"x", {pool(cpu, 100, 10)}, {}},           // headroom 0.8, name first
      {"w", {pool(cpu, 100, 10)}, {{cpu, 0.1}}}, // forecast below: 0.8
  };
  auto ranked = rank_nodes(nodes, {{cpu, 10}});
  EXPECT_EQ(names(ranked), (std::vector<std::string>{"w", "x", "z", "y"}));
  EXPECT_NEAR(ranked[3].headroom, 0.1, 1e-12);
}

TEST(Placement, ABundleFitsOnlyWhereEveryItemFitsAndRanksByItsWorstType) {
  std::vector<PlacementNode> nodes{
      {"a", {pool(cpu, 100, 0), pool(io, 100, 85)}, {}},  // io 0.95 after
      {"b", {pool(cpu, 100, 40), pool(io, 100, 40)}, {}}, // 0.5 both
      {"c", {pool(cpu, 100, 0), pool(io, 100, 95)}, {}},  // io does not fit
  };
  auto ranked = rank_nodes(nodes, {{cpu, 10}, {io, 10}});
  EXPECT_EQ(names(ranked), (std::vector<std::string>{"b", "a"}));
  EXPECT_DOUBLE_EQ(ranked[1].utilization_after, 0.95);
  EXPECT_TRUE(rank_nodes(nodes, {}).empty());
}
