// The cluster client actor on the deterministic coordinator, with three
// managers of one actor system standing in for three nodes: placement order
// (least utilized after placement, then name), a node that refuses passes
// the request to the next, bad input is refused once, and a lost node's
// grants become node_lost notices whose late release is refused without
// crediting anything, unless a later run of the node, started from the same
// data directory, gives them back (the client reattaches by itself).
#include <gtest/gtest.h>

#include <filesystem>

#include "actors/cluster_client.hpp"
#include "actors/manager.hpp"
#include "core/pool_journal.hpp"
#include "fixture.hpp"
#include "messages/validate.hpp"
#include "process.hpp"

using namespace rros;
using rros::test::fails_with;

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

namespace {

BundleRequest two_types(const std::string& requester, float computational,
                        float io) {
  BundleRequest req;
  req.requester_id = requester;
  req.items = {BundleItem{ResourceType::COMPUTATIONAL, computational},
               BundleItem{ResourceType::IO, io}};
  return req;
}

} // namespace

TEST_F(ClusterClient, ABundleGoesWholeToTheNodeWhoseWorstTypeIsLeastUsed) {
  // a is the name-order favourite, but its I/O is half used: the
  // bundle's worst type ranks it after b and c.
  auto pools = ask_ok<PoolDirectory>(managers["a"], pools_atom::value);
  auto busy = ask<ResourceAllocation>(
      pools[ResourceType::IO], allocate_atom::value,
      ResourceRequest{"other", ResourceType::IO, Priority::NORMAL, 50});
  ASSERT_TRUE(busy) << describe(busy.error());
  auto placed = ask<ClusterBundle>(client, allocate_atom::value,
                                   two_types("job", 10, 10));
  ASSERT_TRUE(placed) << describe(placed.error());
  EXPECT_EQ(placed->node, "b");
  EXPECT_EQ(placed->incarnation, 1u);
  ASSERT_EQ(placed->bundle.legs.size(), 2u);
  EXPECT_EQ(held_on("b"), 10 * units_per_amount);
  EXPECT_EQ(held_on("a"), 0);
  EXPECT_EQ(held_on("c"), 0);
  // Released once, exactly; a second release is refused.
  auto receipts =
      ask<std::vector<ReleaseReceipt>>(client, release_atom::value, *placed);
  ASSERT_TRUE(receipts) << describe(receipts.error());
  EXPECT_EQ(receipts->size(), 2u);
  EXPECT_EQ(held_on("b"), 0);
  auto twice =
      ask<std::vector<ReleaseReceipt>>(client, release_atom::value, *placed);
  ASSERT_FALSE(twice);
  EXPECT_TRUE(is(twice.error(), ec::unknown_bundle));
  // Bad input is refused at once, for every node alike.
  BundleRequest same_type_twice = two_types("bad", 1, 1);
  same_type_twice.items[1].type = ResourceType::COMPUTATIONAL;
  auto bad = ask<ClusterBundle>(client, allocate_atom::value, same_type_twice);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(is(bad.error(), ec::invalid_bundle)) << describe(bad.error());
  // A bundle no single node can hold is refused, though the cluster as a
  // whole has room for it (all-or-nothing on one node).
  auto split = ask<ClusterBundle>(client, allocate_atom::value,
                                  two_types("split", 10, 60));
  ASSERT_TRUE(split) << describe(split.error());
  EXPECT_NE(split->node, "a");
  auto none = ask<ClusterBundle>(client, allocate_atom::value,
                                 two_types("none", 10, 60));
  ASSERT_TRUE(none) << describe(none.error()); // the third node still fits
  auto nowhere = ask<ClusterBundle>(client, allocate_atom::value,
                                    two_types("nowhere", 10, 60));
  ASSERT_FALSE(nowhere);
  EXPECT_TRUE(is(nowhere.error(), ec::insufficient_resources))
      << describe(nowhere.error());
  EXPECT_EQ(held_on("a"), 0);
}

TEST_F(ClusterClient, ALostNodesBundleBecomesNoticesPerLegAndCannotBeReleased) {
  auto placed = ask<ClusterBundle>(client, allocate_atom::value,
                                   two_types("job", 10, 10));
  ASSERT_TRUE(placed) << describe(placed.error());
  ASSERT_EQ(placed->node, "a");
  caf::anon_send_exit(managers["a"], caf::exit_reason::kill);
  run();
  auto notices =
      ask_ok<std::vector<ClusterNotice>>(client, notices_atom::value);
  ASSERT_EQ(notices.size(), 2u);
  for (const auto& notice : notices) {
    EXPECT_EQ(notice.reason, "node_lost");
    EXPECT_EQ(notice.node, "a");
    EXPECT_EQ(notice.grant.requester_id, "job");
  }
  EXPECT_EQ(notices[0].grant.resource_type, ResourceType::COMPUTATIONAL);
  EXPECT_EQ(notices[1].grant.resource_type, ResourceType::IO);
  auto stale =
      ask<std::vector<ReleaseReceipt>>(client, release_atom::value, *placed);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is(stale.error(), ec::unknown_bundle));
  EXPECT_NE(describe(stale.error()).find("which was lost"), std::string::npos);
  EXPECT_EQ(held_on("b"), 0);
  EXPECT_EQ(held_on("c"), 0);
}

TEST_F(ClusterClient, ANodeThatExpectsToBeBusyRanksAfterOneThatDoesNot) {
  // Equal ledgers everywhere; a's predictor has seen its computational
  // utilization at 0.9, so a forecasts less headroom than b and c.
  auto subsystems = ask_ok<Subsystems>(managers["a"], subsystems_atom::value);
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(ask<std::uint64_t>(subsystems.predictor, observe_atom::value,
                                   ResourceType::COMPUTATIONAL, 0.9f));
  auto grant = place("r", 10);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_EQ(grant->node, "b");
  EXPECT_EQ(held_on("a"), 0);
}

namespace {

/// A node "d" that keeps its books in a data directory, placed on by a
/// client of its own: it is crashed and started again from its books.
class ClusterClientReattach : public rros::test::DeterministicFixture {
protected:
  ClusterClientReattach() {
    dir = rros::test::make_temp_dir("rros-cluster-reattach");
    StorageSettings settings;
    settings.dir = dir;
    settings.journal.sync = SyncMode::per_record;
    settings.reattach_grace = std::chrono::seconds(5);
    storage = std::make_shared<const StorageSettings>(settings);
    client = sys.spawn(cluster_client);
    start_node(1);
  }

  ~ClusterClientReattach() override {
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager, caf::exit_reason::kill);
    run();
    std::filesystem::remove_all(dir);
  }

  /// Starts run `incarnation` of the node from its directory and hands it
  /// to the client, without running what the client does next.
  void reach_node(std::uint64_t incarnation) {
    manager = spawn_manager(sys, Config{}, storage);
    run();
    auto pools = ask_ok<PoolDirectory>(manager, pools_atom::value);
    self->send(client, nodes_atom::value,
               std::vector<ClusterNode>{
                   ClusterNode{"d", incarnation, manager, pools}});
  }

  void start_node(std::uint64_t incarnation) {
    reach_node(incarnation);
    run();
  }

  void crash_node() {
    caf::anon_send_exit(manager, caf::exit_reason::kill);
    run();
  }

  /// A grant of 30 computational and a bundle (10 computational, 5 I/O)
  /// placed on the node, which then crashes.
  std::pair<caf::expected<ClusterGrant>, caf::expected<ClusterBundle>>
  hold_then_crash() {
    auto grant = place("r1", 30);
    auto bundle = ask<ClusterBundle>(client, allocate_atom::value,
                                     two_types("job", 10, 5));
    crash_node();
    return {std::move(grant), std::move(bundle)};
  }

  caf::expected<ClusterGrant> place(const std::string& requester,
                                    float amount) {
    return ask<ClusterGrant>(client, allocate_atom::value,
                             ResourceRequest{requester,
                                             ResourceType::COMPUTATIONAL,
                                             Priority::NORMAL, amount});
  }

  PoolStatus status_of(ResourceType type) {
    return ask_ok<std::vector<PoolStatus>>(manager, status_atom::value)
        .at(static_cast<std::size_t>(type));
  }

  std::vector<ClusterNotice> notices_with(const char* reason) {
    std::vector<ClusterNotice> matching;
    for (auto& notice :
         ask_ok<std::vector<ClusterNotice>>(client, notices_atom::value))
      if (notice.reason == reason)
        matching.push_back(notice);
    return matching;
  }

  std::string dir;
  std::shared_ptr<const StorageSettings> storage;
  cluster_client_actor client;
  manager_actor manager;
};

} // namespace

TEST_F(ClusterClientReattach, ALaterRunOfTheNodeGivesTheLostGrantsBack) {
  auto grant = place("r1", 30);
  auto given_up = place("r2", 20);
  auto bundle =
      ask<ClusterBundle>(client, allocate_atom::value, two_types("job", 10, 5));
  ASSERT_TRUE(grant && given_up && bundle);
  ASSERT_NE(grant->allocation.reattach_token, 0u);
  crash_node();
  EXPECT_EQ(notices_with("node_lost").size(), 4u);
  EXPECT_EQ(ask_ok<std::vector<std::string>>(client, reattach_atom::value),
            std::vector<std::string>{"d"});
  // Released while the node is down: refused, and no longer taken back.
  auto stale = ask<ReleaseReceipt>(client, release_atom::value, *given_up);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is(stale.error(), ec::unknown_grant));

  start_node(2);
  auto back = notices_with("reattached");
  ASSERT_EQ(back.size(), 3u); // the grant and the bundle's two legs
  for (const auto& notice : back)
    EXPECT_EQ(notice.incarnation, 1u); // the run its holder was told of
  EXPECT_TRUE(
      ask_ok<std::vector<std::string>>(client, reattach_atom::value).empty());
  // r2's 20 wait for the grace period; the rest is the client's again.
  EXPECT_EQ(status_of(ResourceType::COMPUTATIONAL).held, to_units(60));
  auto receipt = ask<ReleaseReceipt>(client, release_atom::value, *grant);
  ASSERT_TRUE(receipt) << describe(receipt.error());
  EXPECT_FLOAT_EQ(receipt->released_amount, 30.0f);
  auto legs =
      ask<std::vector<ReleaseReceipt>>(client, release_atom::value, *bundle);
  ASSERT_TRUE(legs) << describe(legs.error());
  EXPECT_EQ(legs->size(), 2u);
  // Exactly once.
  EXPECT_TRUE(
      fails_with(ask<ReleaseReceipt>(client, release_atom::value, *grant),
                 ec::unknown_grant));
  EXPECT_TRUE(fails_with(
      ask<std::vector<ReleaseReceipt>>(client, release_atom::value, *bundle),
      ec::unknown_bundle));
  EXPECT_EQ(status_of(ResourceType::IO).held, 0);
  EXPECT_EQ(status_of(ResourceType::COMPUTATIONAL).held, to_units(20));
  advance(storage->reattach_grace);
  auto computational = status_of(ResourceType::COMPUTATIONAL);
  EXPECT_EQ(computational.held, 0);
  EXPECT_EQ(computational.capacity, computational.available);
}

TEST_F(ClusterClientReattach, GrantsTheNextRunNoLongerKeepsStayLost) {
  auto grant = place("r1", 30);
  ASSERT_TRUE(grant);
  crash_node();
  // The node's books are gone (another data directory, or none).
  std::filesystem::remove_all(dir);
  start_node(2);
  auto gone = notices_with("not_reattached");
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].grant.grant_id, grant->allocation.grant_id);
  EXPECT_TRUE(
      fails_with(ask<ReleaseReceipt>(client, release_atom::value, *grant),
                 ec::unknown_grant));
  EXPECT_EQ(status_of(ResourceType::COMPUTATIONAL).held, 0);
  EXPECT_TRUE(
      ask_ok<std::vector<std::string>>(client, reattach_atom::value).empty());
}

TEST_F(ClusterClientReattach, TheSameRunReachedAgainTakesNothingBack) {
  auto grant = place("r1", 30);
  ASSERT_TRUE(grant);
  crash_node();
  // A stale view still naming run 1: the grants wait for a later run.
  start_node(1);
  EXPECT_TRUE(notices_with("reattached").empty());
  EXPECT_EQ(ask_ok<std::vector<std::string>>(client, reattach_atom::value),
            std::vector<std::string>{"d"});
  EXPECT_TRUE(
      fails_with(ask<ReleaseReceipt>(client, release_atom::value, *grant),
                 ec::unknown_grant));
}

TEST_F(ClusterClientReattach,
       AReleaseWhileTheNextRunIsAskedReturnsWhatComesBack) {
  auto [grant, bundle] = hold_then_crash();
  ASSERT_TRUE(grant && bundle);
  // The next run is reached and, before its pools answer the reattach
  // requests, the user releases both: refused (they are lost), and what the
  // pools give back is returned to them at once instead of held.
  reach_node(2);
  auto released =
      self->request(client, caf::infinite, release_atom::value, *grant);
  auto released_bundle =
      self->request(client, caf::infinite, release_atom::value, *bundle);
  run();
  bool refused = false;
  released.receive(
      [](ReleaseReceipt&) {},
      [&](caf::error& err) { refused = is(err, ec::unknown_grant); });
  EXPECT_TRUE(refused);
  refused = false;
  released_bundle.receive(
      [](std::vector<ReleaseReceipt>&) {},
      [&](caf::error& err) { refused = is(err, ec::unknown_bundle); });
  EXPECT_TRUE(refused);
  EXPECT_TRUE(notices_with("reattached").empty());
  EXPECT_EQ(status_of(ResourceType::COMPUTATIONAL).held, 0);
  EXPECT_EQ(status_of(ResourceType::IO).held, 0);
  // Nothing is left for the client to take back or to release.
  EXPECT_TRUE(
      ask_ok<std::vector<std::string>>(client, reattach_atom::value).empty());
  EXPECT_TRUE(
      fails_with(ask<ReleaseReceipt>(client, release_atom::value, *grant),
                 ec::unknown_grant));
}

TEST_F(ClusterClientReattach,
       ARunThatEndsBeforeAnsweringLeavesTheGrantsToTheNext) {
  auto [grant, bundle] = hold_then_crash();
  ASSERT_TRUE(grant && bundle);
  // Run 2 is reached and crashes before its answers count.
  reach_node(2);
  caf::anon_send_exit(manager, caf::exit_reason::kill);
  run();
  EXPECT_TRUE(notices_with("not_reattached").empty());
  EXPECT_EQ(ask_ok<std::vector<std::string>>(client, reattach_atom::value),
            std::vector<std::string>{"d"});
  // Run 3 restores them again from the same books and gives them back.
  start_node(3);
  EXPECT_EQ(notices_with("reattached").size(), 3u);
  auto receipt = ask<ReleaseReceipt>(client, release_atom::value, *grant);
  ASSERT_TRUE(receipt) << describe(receipt.error());
  EXPECT_FLOAT_EQ(receipt->released_amount, 30.0f);
  auto legs =
      ask<std::vector<ReleaseReceipt>>(client, release_atom::value, *bundle);
  ASSERT_TRUE(legs) << describe(legs.error());
  EXPECT_EQ(legs->size(), 2u);
  EXPECT_EQ(status_of(ResourceType::COMPUTATIONAL).held, 0);
  EXPECT_EQ(status_of(ResourceType::IO).held, 0);
}

namespace {

using answer_atom = caf::atom_constant<caf::atom("answer")>;

/// A node's manager that only reports five empty pools of 100.
caf::behavior reporting_manager(caf::event_based_actor*) {
  return {
      [](status_atom) {
        std::vector<PoolStatus> pools;
        for (auto type : all_resource_types) {
          PoolStatus status;
          status.type = type;
          status.capacity = status.available = to_units(100);
          pools.push_back(status);
        }
        return pools;
      },
  };
}

/// A pool that answers an allocation only when told (answer_atom), with a
/// grant that carries a reattach token.
caf::behavior slow_pool(caf::event_based_actor* self) {
  auto promise = std::make_shared<caf::response_promise>();
  auto grant = std::make_shared<ResourceAllocation>();
  return {
      [=](allocate_atom, const ResourceRequest& req) {
        *promise = self->make_response_promise();
        grant->requester_id = req.requester_id;
        grant->resource_type = req.resource_type;
        grant->allocated_amount = req.amount;
        grant->fully_satisfied = true;
        grant->grant_id = 5;
        grant->reattach_token = 7;
      },
      [=](answer_atom) { promise->deliver(*grant); },
  };
}

} // namespace

TEST_F(ClusterClient, AGrantFromARunLostWhileItWasAskedIsLostWithIt) {
  auto pool = sys.spawn(slow_pool);
  auto first = caf::actor_cast<manager_actor>(sys.spawn(reporting_manager));
  PoolDirectory directory;
  directory.pools.assign(resource_type_count,
                         caf::actor_cast<pool_actor>(pool));
  auto solo = sys.spawn(cluster_client);
  self->send(solo, nodes_atom::value,
             std::vector<ClusterNode>{ClusterNode{"f", 1, first, directory}});
  run();
  auto placing = self->request(
      solo, caf::infinite, allocate_atom::value,
      ResourceRequest{"r", ResourceType::COMPUTATIONAL, Priority::NORMAL, 10});
  run(); // run 1's pool holds the request
  // Run 2 of the node (without books) replaces run 1, then run 1 answers.
  auto second = spawn_manager(sys);
  run();
  auto pools = ask_ok<PoolDirectory>(second, pools_atom::value);
  self->send(solo, nodes_atom::value,
             std::vector<ClusterNode>{ClusterNode{"f", 2, second, pools}});
  run();
  self->send(pool, answer_atom::value);
  run();
  ClusterGrant placed;
  placing.receive([&](ClusterGrant& grant) { placed = grant; },
                  [&](caf::error& err) { FAIL() << describe(err); });
  // The grant belongs to run 1, which is lost: said so, asked back from run
  // 2 (which does not have it), and never releasable through run 2.
  EXPECT_EQ(placed.node, "f");
  EXPECT_EQ(placed.incarnation, 1u);
  auto notices = ask_ok<std::vector<ClusterNotice>>(solo, notices_atom::value);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[0].reason, "node_lost");
  EXPECT_EQ(notices[0].grant.grant_id, 5u);
  EXPECT_EQ(notices[1].reason, "not_reattached");
  EXPECT_TRUE(fails_with(ask<ReleaseReceipt>(solo, release_atom::value, placed),
                         ec::unknown_grant));
  EXPECT_EQ(
      ask_ok<std::vector<PoolStatus>>(second, status_atom::value).at(0).held,
      0);
  for (const auto& actor :
       {caf::actor_cast<caf::actor>(solo), caf::actor_cast<caf::actor>(first),
        pool, caf::actor_cast<caf::actor>(second)})
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  run();
}

namespace {

/// A later run's pool that answers a reattach only when told (answer_atom)
/// and notes the ids it is asked to release.
caf::behavior late_pool(caf::event_based_actor* self,
                        std::shared_ptr<std::vector<GrantId>> released) {
  auto promise = std::make_shared<caf::response_promise>();
  auto grant = std::make_shared<ResourceAllocation>();
  return {
      [=](reattach_atom, GrantId id, std::uint64_t token) {
        *promise = self->make_response_promise();
        grant->requester_id = "r";
        grant->resource_type = ResourceType::COMPUTATIONAL;
        grant->allocated_amount = 10;
        grant->fully_satisfied = true;
        grant->grant_id = id;
        grant->reattach_token = token;
      },
      [=](answer_atom) { promise->deliver(*grant); },
      [=](release_atom, GrantId id) {
        released->push_back(id);
        return ReleaseReceipt{"r", ResourceType::COMPUTATIONAL, 10.0f, 0.0f};
      },
  };
}

} // namespace

TEST_F(ClusterClient, AReattachAnsweredAfterTheTimeoutIsGivenUpAndReturned) {
  // Run 1 of node f grants 10 with a reattach token, then crashes.
  auto first_pool = sys.spawn(slow_pool);
  auto first = caf::actor_cast<manager_actor>(sys.spawn(reporting_manager));
  PoolDirectory run1;
  run1.pools.assign(resource_type_count,
                    caf::actor_cast<pool_actor>(first_pool));
  auto solo = sys.spawn(cluster_client);
  self->send(solo, nodes_atom::value,
             std::vector<ClusterNode>{ClusterNode{"f", 1, first, run1}});
  run();
  auto placing = self->request(
      solo, caf::infinite, allocate_atom::value,
      ResourceRequest{"r", ResourceType::COMPUTATIONAL, Priority::NORMAL, 10});
  run();
  self->send(first_pool, answer_atom::value);
  run();
  ClusterGrant placed;
  placing.receive([&](ClusterGrant& grant) { placed = grant; },
                  [&](caf::error& err) { FAIL() << describe(err); });
  ASSERT_EQ(placed.allocation.reattach_token, 7u);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  run();
  // Run 2's pool is asked for the grant and holds its answer past the
  // client's 5 s.
  auto released = std::make_shared<std::vector<GrantId>>();
  auto second_pool = sys.spawn(late_pool, released);
  auto second = caf::actor_cast<manager_actor>(sys.spawn(reporting_manager));
  PoolDirectory run2;
  run2.pools.assign(resource_type_count,
                    caf::actor_cast<pool_actor>(second_pool));
  self->send(solo, nodes_atom::value,
             std::vector<ClusterNode>{ClusterNode{"f", 2, second, run2}});
  run();
  EXPECT_TRUE(released->empty());
  advance(std::chrono::seconds(5));
  // Given up: said so, and released at the pool in case it handed the
  // grant over after all.
  auto notices = ask_ok<std::vector<ClusterNotice>>(solo, notices_atom::value);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[0].reason, "node_lost");
  EXPECT_EQ(notices[1].reason, "not_reattached");
  EXPECT_EQ(notices[1].grant.grant_id, 5u);
  EXPECT_EQ(*released, std::vector<GrantId>{5});
  // The late answer changes nothing: not held, not releasable, no notice.
  self->send(second_pool, answer_atom::value);
  run();
  EXPECT_TRUE(fails_with(ask<ReleaseReceipt>(solo, release_atom::value, placed),
                         ec::unknown_grant));
  EXPECT_TRUE(
      ask_ok<std::vector<ClusterNotice>>(solo, notices_atom::value).empty());
  EXPECT_EQ(*released, std::vector<GrantId>{5});
  for (const auto& actor : {caf::actor_cast<caf::actor>(solo), first_pool,
                            second_pool, caf::actor_cast<caf::actor>(second)})
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(ClusterClientReattach, GrantsOfANodeThatDoesNotComeBackAreGivenUp) {
  auto wait = ask<caf::timespan>(client, reattach_atom::value,
                                 caf::timespan{std::chrono::minutes(1)});
  ASSERT_TRUE(wait) << describe(wait.error());
  EXPECT_TRUE(fails_with(
      ask<caf::timespan>(client, reattach_atom::value, caf::timespan{0}),
      ec::invalid_duration));
  EXPECT_TRUE(
      fails_with(ask<caf::timespan>(client, reattach_atom::value,
                                    max_give_up_after + caf::timespan{1}),
                 ec::invalid_duration));
  auto [grant, bundle] = hold_then_crash();
  ASSERT_TRUE(grant && bundle);
  EXPECT_EQ(notices_with("node_lost").size(), 3u);
  // The client's timer, forged by another actor: ignored.
  self->send(client, reattach_atom::value, std::string{"d"}, std::uint64_t{1});
  advance(std::chrono::seconds(59));
  EXPECT_EQ(ask_ok<std::vector<std::string>>(client, reattach_atom::value),
            std::vector<std::string>{"d"});
  EXPECT_TRUE(notices_with("not_reattached").empty());
  advance(std::chrono::seconds(1));
  // The grant and both legs of the bundle are given up, and no longer
  // awaited: nothing keeps the facade's watcher polling.
  EXPECT_EQ(notices_with("not_reattached").size(), 3u);
  EXPECT_TRUE(
      ask_ok<std::vector<std::string>>(client, reattach_atom::value).empty());
  EXPECT_TRUE(
      fails_with(ask<ReleaseReceipt>(client, release_atom::value, *grant),
                 ec::unknown_grant));
  // A run that comes back later is not asked for them: its grace period
  // returns them to its pools.
  start_node(2);
  EXPECT_TRUE(notices_with("reattached").empty());
  EXPECT_EQ(status_of(ResourceType::COMPUTATIONAL).held, to_units(40));
  advance(storage->reattach_grace);
  EXPECT_EQ(status_of(ResourceType::COMPUTATIONAL).held, 0);
  EXPECT_EQ(status_of(ResourceType::IO).held, 0);
}

TEST_F(ClusterClientReattach,
       GrantsLeftByARunThatEndedWaitAgainForTheFullWait) {
  ASSERT_TRUE(ask<caf::timespan>(client, reattach_atom::value,
                                 caf::timespan{std::chrono::minutes(1)}));
  auto [grant, bundle] = hold_then_crash();
  ASSERT_TRUE(grant && bundle);
  advance(std::chrono::seconds(50));
  // Run 2 is reached and crashes before its answers count: the grants
  // wait for the next run again, a full minute from now.
  reach_node(2);
  caf::anon_send_exit(manager, caf::exit_reason::kill);
  run();
  advance(std::chrono::seconds(30)); // past the first loss's minute
  EXPECT_TRUE(notices_with("not_reattached").empty());
  EXPECT_EQ(ask_ok<std::vector<std::string>>(client, reattach_atom::value),
            std::vector<std::string>{"d"});
  advance(std::chrono::seconds(30));
  EXPECT_EQ(notices_with("not_reattached").size(), 3u);
  EXPECT_TRUE(
      ask_ok<std::vector<std::string>>(client, reattach_atom::value).empty());
}
