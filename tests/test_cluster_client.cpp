// The cluster client actor on the deterministic coordinator, with three
// managers of one actor system standing in for three nodes: placement order
// (least utilized after placement, then name), a node that refuses passes
// the request to the next, bad input is refused once, and a lost node's
// grants become node_lost notices whose late release is refused without
// crediting anything.
#include <gtest/gtest.h>

#include "actors/cluster_client.hpp"
#include "actors/manager.hpp"
#include "fixture.hpp"

using namespace rros;

namespace {

class ClusterClient : public rros::test::DeterministicFixture {
protected:
  ClusterClient() {
    client = sys.spawn(cluster_client);
    std::vector<ClusterNode> nodes;
    for (const char* name : {"c", "a", "b"}) {
      auto manager = spawn_manager(sys);
      run();
      managers[name] = manager;
      auto pools = ask_ok<PoolDirectory>(manager, pools_atom::value);
      nodes.push_back(ClusterNode{name, 1, manager, pools});
    }
    self->send(client, nodes_atom::value, std::move(nodes));
    run();
  }

  ~ClusterClient() override {
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
    for (auto& [name, manager] : managers)
      caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
    run();
  }

  caf::expected<ClusterGrant> place(const std::string& requester,
                                    float amount) {
    return ask<ClusterGrant>(client, allocate_atom::value,
                             ResourceRequest{requester,
                                             ResourceType::COMPUTATIONAL,
                                             Priority::NORMAL, amount});
  }

  units held_on(const std::string& node) {
    auto pools =
        ask_ok<std::vector<PoolStatus>>(managers[node], status_atom::value);
    return pools.at(0).held;
  }

  cluster_client_actor client;
  std::map<std::string, manager_actor> managers;
};

} // namespace

TEST_F(ClusterClient, PlacesOnTheLeastUtilizedNodeAfterPlacementTiesByName) {
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto grant = place("r" + std::to_string(i), 10);
    ASSERT_TRUE(grant) << describe(grant.error());
    order.push_back(grant->node);
    EXPECT_EQ(grant->incarnation, 1u);
    EXPECT_EQ(grant->allocation.allocated_amount, 10.0f);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "a"}));
  // a holds 20, b and c 10: 85 fits b and c only (0.95 after), b by name.
  auto big = place("big", 85);
  ASSERT_TRUE(big) << describe(big.error());
  EXPECT_EQ(big->node, "b");
  EXPECT_EQ(held_on("a"), 20 * units_per_amount);
  EXPECT_EQ(held_on("b"), 95 * units_per_amount);
  // Nothing fits 95 anywhere now: one error naming the cause.
  auto none = place("none", 95);
  ASSERT_FALSE(none);
  EXPECT_TRUE(is(none.error(), ec::insufficient_resources));
}

TEST_F(ClusterClient, ANodeThatRefusesPassesTheRequestToTheNext) {
  // a, the first choice, refuses group g above 5 (its own quota).
  auto pools = ask_ok<PoolDirectory>(managers["a"], pools_atom::value);
  ASSERT_TRUE(ask<Quota>(pools[ResourceType::COMPUTATIONAL], quota_atom::value,
                         Quota{"g", {}, 0.0f, 5.0f, 1.0f}));
  auto grant = place("g", 10);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_EQ(grant->node, "b");
  EXPECT_EQ(held_on("a"), 0);
  // Bad input is refused at once, by the first node, for all of them.
  auto bad = place("x", -1);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(is(bad.error(), ec::invalid_amount)) << describe(bad.error());
}

TEST_F(ClusterClient, ALostNodesGrantsBecomeNoticesAndTheirReleaseIsRefused) {
  auto on_a = place("r1", 10);
  auto on_b = place("r2", 10);
  ASSERT_TRUE(on_a && on_b);
  ASSERT_EQ(on_a->node, "a");
  ASSERT_EQ(on_b->node, "b");
  caf::anon_send_exit(managers["a"], caf::exit_reason::kill);
  run();
  auto notices =
      ask_ok<std::vector<ClusterNotice>>(client, notices_atom::value);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].reason, "node_lost");
  EXPECT_EQ(notices[0].node, "a");
  EXPECT_EQ(notices[0].incarnation, 1u);
  EXPECT_EQ(notices[0].grant.grant_id, on_a->allocation.grant_id);
  EXPECT_EQ(notices[0].grant.requester_id, "r1");
  EXPECT_EQ(notices[0].grant.amount, 10.0f);
  // The stale release: a clear error, nothing credited anywhere.
  auto stale = ask<ReleaseReceipt>(client, release_atom::value, *on_a);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is(stale.error(), ec::unknown_grant));
  EXPECT_NE(describe(stale.error()).find("which was lost"), std::string::npos);
  EXPECT_EQ(held_on("b"), 10 * units_per_amount);
  EXPECT_EQ(held_on("c"), 0);
  // The survivors keep placing; a is gone from the candidates.
  auto next = place("r3", 10);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->node, "c");
  auto nodes = ask_ok<std::vector<ClusterNode>>(client, nodes_atom::value);
  ASSERT_EQ(nodes.size(), 2u);
  // A release on a survivor returns exactly once.
  auto receipt = ask<ReleaseReceipt>(client, release_atom::value, *on_b);
  ASSERT_TRUE(receipt) << describe(receipt.error());
  EXPECT_EQ(receipt->released_amount, 10.0f);
  EXPECT_EQ(held_on("b"), 0);
  auto twice = ask<ReleaseReceipt>(client, release_atom::value, *on_b);
  ASSERT_FALSE(twice);
  EXPECT_TRUE(is(twice.error(), ec::unknown_grant));
}

TEST_F(ClusterClient, AnotherRunOfANodeLosesTheEarlierRunsGrants) {
  auto on_a = place("r1", 10);
  ASSERT_TRUE(on_a);
  ASSERT_EQ(on_a->node, "a");
  auto manager = spawn_manager(sys);
  run();
  auto pools = ask_ok<PoolDirectory>(manager, pools_atom::value);
  self->send(client, nodes_atom::value,
             std::vector<ClusterNode>{ClusterNode{"a", 2, manager, pools}});
  run();
  auto notices =
      ask_ok<std::vector<ClusterNotice>>(client, notices_atom::value);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].reason, "node_lost");
  EXPECT_EQ(notices[0].incarnation, 1u);
  auto stale = ask<ReleaseReceipt>(client, release_atom::value, *on_a);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is(stale.error(), ec::unknown_grant));
  auto fresh = place("r2", 10);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->node, "a");
  EXPECT_EQ(fresh->incarnation, 2u);
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(managers["a"], caf::exit_reason::user_shutdown);
  run();
}
