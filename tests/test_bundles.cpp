// Deterministic message scripts for atomic bundles: several types granted all
// or nothing through the bundle coordinator, racing bundles, waiting with
// deadlines, release as one or per type, holder death, dominant resource
// fairness, bad input; and the pool features the bundles and the monitor
// rely on (listeners, shedding under degradation).
#include <memory>

#include "fixture.hpp"

#include "actors/manager.hpp"
#include "actors/pool.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;
constexpr auto io = ResourceType::IO;
constexpr auto network = ResourceType::NETWORK;

constexpr units u(double amount) {
  return static_cast<units>(amount * units_per_amount);
}

/// What a bundle holder actor saw.
struct BundleLog {
  std::vector<BundleGrant> grants;
  std::vector<caf::error> errors;
  std::vector<GrantNotice> notices;
};

/// An actor that asks the coordinator for `req` and records the answer.
caf::behavior bundle_holder(caf::event_based_actor* self, bundle_actor bundles,
                            BundleRequest req, std::shared_ptr<BundleLog> log) {
  self->request(bundles, caf::infinite, allocate_atom::value, req)
      .then([=](BundleGrant& g) { log->grants.push_back(std::move(g)); },
            [=](caf::error& e) { log->errors.push_back(std::move(e)); });
  return {
      [=](revoke_atom, const GrantNotice& notice) {
        log->notices.push_back(notice);
      },
      // On the test's behalf: only the bundle's holder may cancel or release
      // it (docs/security.md).
      [=](cancel_atom, const std::string& requester,
          std::uint64_t request_id) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        self->request(bundles, caf::infinite, cancel_atom::value, requester,
                      request_id)
            .then(
                [=](bool x) mutable { promise.deliver(x); },
                [=](caf::error& e) mutable { promise.deliver(std::move(e)); });
        return promise;
      },
      [=](release_atom,
          BundleId id) -> caf::result<std::vector<ReleaseReceipt>> {
        auto promise =
            self->make_response_promise<std::vector<ReleaseReceipt>>();
        self->request(bundles, caf::infinite, release_atom::value, id)
            .then(
                [=](std::vector<ReleaseReceipt>& x) mutable {
                  promise.deliver(std::move(x));
                },
                [=](caf::error& e) mutable { promise.deliver(std::move(e)); });
        return promise;
      },
  };
}

BundleRequest bundle(std::string who, std::vector<BundleItem> items,
                     Priority priority = Priority::NORMAL,
                     std::chrono::nanoseconds deadline = 0ns) {
  BundleRequest r;
  r.requester_id = std::move(who);
  r.items = std::move(items);
  r.priority = priority;
  r.deadline = deadline;
  return r;
}

class BundleTest : public DeterministicFixture {
public:
  BundleTest() {
    manager_ = spawn_manager(sys, Config{});
    run();
    pools_ = ask_ok<PoolDirectory>(manager_, pools_atom::value);
    bundles_ = ask_ok<bundle_actor>(manager_, bundles_atom::value);
  }

  ~BundleTest() override {
    caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
    run();
  }

  caf::expected<BundleGrant> allocate(const BundleRequest& r) {
    return ask<BundleGrant>(bundles_, allocate_atom::value, r);
  }

  std::pair<caf::actor, std::shared_ptr<BundleLog>>
  spawn_holder(const BundleRequest& r) {
    auto log = std::make_shared<BundleLog>();
    auto a = sys.spawn(bundle_holder, bundles_, r, log);
    run();
    return {a, log};
  }

  PoolStatus status(ResourceType type) {
    return ask_ok<PoolStatus>(pools_[type], status_atom::value);
  }

  units held(ResourceType type) {
    auto s = status(type);
    EXPECT_EQ(s.capacity, s.held + s.reserved + s.available);
    return s.held;
  }

  float holding(const std::string& who, ResourceType type) {
    return ask_ok<float>(pools_[type], holding_atom::value, who);
  }

  BundleStats stats() {
    return ask_ok<BundleStats>(bundles_, stats_atom::value);
  }

  caf::expected<ResourceAllocation> single(const std::string& who,
                                           ResourceType type, float amount) {
    return ask<ResourceAllocation>(pools_[type], allocate_atom::value,
                                   request(who, type, amount));
  }

  manager_actor manager_;
  PoolDirectory pools_;
  bundle_actor bundles_;
};

} // namespace

// -- all or nothing ----------------------------------------------------------

TEST_F(BundleTest, GrantsEveryTypeAtOnceAndReleasesAsOne) {
  auto g = allocate(bundle("task", {{compute, 10}, {io, 40}, {network, 5}}));
  ASSERT_TRUE(g) << describe(g.error());
  ASSERT_EQ(g->legs.size(), 3u);
  EXPECT_EQ(g->legs[0].resource_type, compute);
  EXPECT_EQ(g->legs[1].resource_type, io);
  EXPECT_EQ(g->legs[2].resource_type, network);
  for (const auto& leg : g->legs) {
    EXPECT_TRUE(leg.fully_satisfied);
    EXPECT_NE(leg.grant_id, 0u);
  }
  EXPECT_EQ(held(compute), u(10));
  EXPECT_EQ(held(io), u(40));
  EXPECT_EQ(held(network), u(5));
  EXPECT_EQ(stats().held, 1u);

  auto receipts = ask_ok<std::vector<ReleaseReceipt>>(
      bundles_, release_atom::value, g->bundle_id);
  EXPECT_EQ(receipts.size(), 3u);
  EXPECT_EQ(held(compute), 0);
  EXPECT_EQ(held(io), 0);
  EXPECT_EQ(held(network), 0);
  EXPECT_EQ(stats().held, 0u);
  // Never credited twice.
  EXPECT_TRUE(fails_with(ask<std::vector<ReleaseReceipt>>(
                             bundles_, release_atom::value, g->bundle_id),
                         ec::unknown_bundle));
}

TEST_F(BundleTest, ReleasesPerType) {
  auto g = allocate(bundle("task", {{compute, 10}, {io, 40}}));
  ASSERT_TRUE(g);
  auto r =
      ask_ok<ReleaseReceipt>(bundles_, release_atom::value, g->bundle_id, io);
  EXPECT_FLOAT_EQ(r.released_amount, 40.0f);
  EXPECT_EQ(held(io), 0);
  EXPECT_EQ(held(compute), u(10));
  EXPECT_TRUE(fails_with(
      ask<ReleaseReceipt>(bundles_, release_atom::value, g->bundle_id, io),
      ec::unknown_grant));
  // The last leg ends the bundle.
  ask_ok<ReleaseReceipt>(bundles_, release_atom::value, g->bundle_id, compute);
  EXPECT_EQ(held(compute), 0);
  EXPECT_EQ(stats().held, 0u);
  EXPECT_TRUE(fails_with(
      ask<ReleaseReceipt>(bundles_, release_atom::value, g->bundle_id, compute),
      ec::unknown_bundle));
}

TEST_F(BundleTest, RefusedBundleHoldsNothingAndCountsNoGrant) {
  ASSERT_TRUE(single("other", io, 90));
  auto before = ask_ok<ResourceStats>(pools_[compute], stats_atom::value);
  // Computational fits, I/O does not: nothing of it may stay held.
  auto g = allocate(bundle("task", {{compute, 50}, {io, 20}}));
  EXPECT_TRUE(fails_with(g, ec::insufficient_resources));
  EXPECT_EQ(held(compute), 0);
  EXPECT_EQ(held(io), u(90));
  EXPECT_EQ(holding("task", compute), 0.0f);
  auto after = ask_ok<ResourceStats>(pools_[compute], stats_atom::value);
  EXPECT_EQ(after.allocation_count, before.allocation_count);
  EXPECT_EQ(stats().refused, 1u);
}

TEST_F(BundleTest, BadInputIsRefusedAndChangesNothing) {
  EXPECT_TRUE(fails_with(allocate(bundle("task", {})), ec::invalid_bundle));
  EXPECT_TRUE(fails_with(allocate(bundle("task", {{io, 1}, {io, 2}})),
                         ec::invalid_bundle));
  EXPECT_TRUE(fails_with(allocate(bundle("", {{io, 1}})), ec::empty_requester));
  EXPECT_TRUE(
      fails_with(allocate(bundle("task", {{static_cast<ResourceType>(9), 1}})),
                 ec::unknown_resource_type));
  EXPECT_TRUE(
      fails_with(allocate(bundle("task", {{io, 1}}, static_cast<Priority>(7))),
                 ec::invalid_priority));
  auto negative = bundle("task", {{io, 1}});
  negative.deadline = -1ms;
  EXPECT_TRUE(fails_with(allocate(negative), ec::invalid_duration));
  negative.deadline = 0ns;
  negative.ttl = -1ms;
  EXPECT_TRUE(fails_with(allocate(negative), ec::invalid_duration));
  // A bad amount in one item: the other item's leg is taken back.
  EXPECT_TRUE(fails_with(allocate(bundle("task", {{compute, 5}, {io, -1}})),
                         ec::invalid_amount));
  EXPECT_TRUE(
      fails_with(allocate(bundle("task", {{compute, 5}, {io, std::nanf("")}})),
                 ec::invalid_amount));
  // Never fits: refused at once even with a deadline.
  EXPECT_TRUE(fails_with(
      allocate(bundle("task", {{compute, 5}, {io, 101}}, Priority::NORMAL, 1s)),
      ec::exceeds_capacity));
  for (auto type : all_resource_types)
    EXPECT_EQ(held(type), 0) << to_string(type);
  EXPECT_EQ(stats().held, 0u);
  EXPECT_EQ(stats().waiting, 0u);
}

// -- waiting -----------------------------------------------------------------

TEST_F(BundleTest, WaitsUntilEveryTypeFitsThenGrants) {
  auto blocker = single("other", io, 80);
  ASSERT_TRUE(blocker);
  auto [a, log] = spawn_holder(
      bundle("task", {{compute, 30}, {io, 30}}, Priority::NORMAL, 2s));
  EXPECT_TRUE(log->grants.empty());
  EXPECT_EQ(stats().waiting, 1u);
  // Waiting holds nothing anywhere.
  EXPECT_EQ(held(compute), 0);
  advance(500ms);
  EXPECT_TRUE(log->grants.empty());
  ask_ok<ReleaseReceipt>(pools_[io], release_atom::value, blocker->grant_id);
  run();
  ASSERT_EQ(log->grants.size(), 1u);
  EXPECT_EQ(held(compute), u(30));
  EXPECT_EQ(held(io), u(30));
  EXPECT_EQ(stats().waiting, 0u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(BundleTest, FailsAtItsDeadlineHoldingNothing) {
  ASSERT_TRUE(single("other", io, 80));
  auto [a, log] = spawn_holder(
      bundle("task", {{compute, 30}, {io, 30}}, Priority::NORMAL, 1s));
  advance(999ms);
  EXPECT_TRUE(log->errors.empty());
  advance(1ms);
  ASSERT_EQ(log->errors.size(), 1u);
  EXPECT_TRUE(is(log->errors[0], ec::deadline_expired));
  EXPECT_EQ(held(compute), 0);
  EXPECT_EQ(stats().waiting, 0u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(BundleTest, WaitingBundleCanBeCancelled) {
  ASSERT_TRUE(single("other", io, 80));
  auto r = bundle("task", {{io, 30}}, Priority::NORMAL, 5s);
  r.request_id = 7;
  auto [a, log] = spawn_holder(r);
  EXPECT_TRUE(fails_with(ask<bool>(bundles_, cancel_atom::value,
                                   std::string{"task"}, std::uint64_t{8}),
                         ec::unknown_request));
  // Only its holder cancels it.
  EXPECT_TRUE(fails_with(ask<bool>(bundles_, cancel_atom::value,
                                   std::string{"task"}, std::uint64_t{7}),
                         ec::unknown_request));
  EXPECT_TRUE(ask_ok<bool>(a, cancel_atom::value, std::string{"task"},
                           std::uint64_t{7}));
  ASSERT_EQ(log->errors.size(), 1u);
  EXPECT_TRUE(is(log->errors[0], ec::cancelled));
  EXPECT_EQ(stats().waiting, 0u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(BundleTest, RacingBundlesNeitherDeadlockNorHoldPart) {
  // Two bundles over the same two pools, naming them in opposite orders;
  // each needs more than half of both. One is granted, the other waits
  // holding nothing, and gets both as soon as the first is returned.
  auto [a, alog] = spawn_holder(
      bundle("a", {{compute, 60}, {io, 60}}, Priority::NORMAL, 10s));
  auto [b, blog] = spawn_holder(
      bundle("b", {{io, 60}, {compute, 60}}, Priority::NORMAL, 10s));
  ASSERT_EQ(alog->grants.size() + blog->grants.size(), 1u);
  auto& winner = alog->grants.empty() ? blog : alog;
  auto winner_actor = alog->grants.empty() ? b : a;
  auto& loser = alog->grants.empty() ? alog : blog;
  auto loser_id = alog->grants.empty() ? "a" : "b";
  EXPECT_EQ(holding(loser_id, compute), 0.0f);
  EXPECT_EQ(holding(loser_id, io), 0.0f);
  EXPECT_EQ(held(compute), u(60));
  EXPECT_EQ(held(io), u(60));
  ask_ok<std::vector<ReleaseReceipt>>(winner_actor, release_atom::value,
                                      winner->grants[0].bundle_id);
  run();
  ASSERT_EQ(loser->grants.size(), 1u);
  EXPECT_EQ(holding(loser_id, compute), 60.0f);
  EXPECT_EQ(holding(loser_id, io), 60.0f);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  run();
  EXPECT_EQ(held(compute), 0);
  EXPECT_EQ(held(io), 0);
}

TEST_F(BundleTest, RespectsBetterRankedWaitingRequestsInAPool) {
  ASSERT_TRUE(single("other", io, 80));
  // A HIGH single request waits in the I/O pool for 50.
  auto high = request("urgent", io, 50, Priority::HIGH);
  high.deadline = 5000ms;
  auto handle = send_request(pools_[io], allocate_atom::value, high);
  EXPECT_FALSE(has_reply());
  // A NORMAL bundle that would fit in the 20 left must not pass it.
  auto g = allocate(bundle("task", {{compute, 5}, {io, 10}}));
  EXPECT_TRUE(fails_with(g, ec::insufficient_resources));
  EXPECT_EQ(held(compute), 0);
  EXPECT_TRUE(ask_ok<bool>(pools_[io], cancel_atom::value,
                           std::string{"urgent"}, std::uint64_t{0}));
  auto reply = reply_of<ResourceAllocation>(handle);
  EXPECT_TRUE(fails_with(reply, ec::cancelled));
}

// -- leases ------------------------------------------------------------------

TEST_F(BundleTest, HolderDeathReturnsEveryLeg) {
  auto [a, log] = spawn_holder(bundle("task", {{compute, 10}, {io, 20}}));
  ASSERT_EQ(log->grants.size(), 1u);
  EXPECT_EQ(held(compute), u(10));
  caf::anon_send_exit(a, caf::exit_reason::kill);
  run();
  EXPECT_EQ(held(compute), 0);
  EXPECT_EQ(held(io), 0);
  EXPECT_EQ(stats().held, 0u);
}

TEST_F(BundleTest, LegsCarryTheTimeToLive) {
  auto r = bundle("task", {{compute, 10}, {io, 20}});
  r.ttl = 1s;
  auto [a, log] = spawn_holder(r);
  ASSERT_EQ(log->grants.size(), 1u);
  advance(1s);
  EXPECT_EQ(held(compute), 0);
  EXPECT_EQ(held(io), 0);
  EXPECT_EQ(log->notices.size(), 2u); // one expiry notice per leg
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

// -- fairness
// ------------------------------------------------------------------

TEST_F(BundleTest, EqualPrioritiesAreServedByDominantShare) {
  // "big" already holds 40% of computational through a bundle; "small"
  // holds 10% of I/O. Both wait for the same freed capacity: the one with
  // the smaller dominant share goes first.
  auto big = allocate(bundle("big", {{compute, 40}}));
  auto small = allocate(bundle("small", {{io, 10}}));
  ASSERT_TRUE(big && small);
  auto blocker = single("other", network, 100);
  ASSERT_TRUE(blocker);
  auto [a, alog] =
      spawn_holder(bundle("big", {{network, 60}}, Priority::NORMAL, 10s));
  auto [b, blog] =
      spawn_holder(bundle("small", {{network, 60}}, Priority::NORMAL, 10s));
  EXPECT_EQ(stats().waiting, 2u);
  ask_ok<ReleaseReceipt>(pools_[network], release_atom::value,
                         blocker->grant_id);
  run();
  EXPECT_EQ(blog->grants.size(), 1u);
  EXPECT_TRUE(alog->grants.empty());
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(BundleTest, HigherPriorityBundleGoesFirst) {
  auto blocker = single("other", network, 100);
  ASSERT_TRUE(blocker);
  auto [a, alog] =
      spawn_holder(bundle("low", {{network, 60}}, Priority::LOW, 10s));
  auto [b, blog] =
      spawn_holder(bundle("high", {{network, 60}}, Priority::HIGH, 10s));
  ask_ok<ReleaseReceipt>(pools_[network], release_atom::value,
                         blocker->grant_id);
  run();
  EXPECT_EQ(blog->grants.size(), 1u);
  EXPECT_TRUE(alog->grants.empty());
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(BundleTest, ResetFailsWaitingBundlesAndForgetsHeldOnes) {
  ASSERT_TRUE(allocate(bundle("task", {{compute, 10}})));
  ASSERT_TRUE(single("other", io, 100));
  auto [a, log] = spawn_holder(bundle("w", {{io, 10}}, Priority::NORMAL, 10s));
  ask_ok<std::vector<PoolStatus>>(manager_, reset_atom::value);
  ASSERT_EQ(log->errors.size(), 1u);
  EXPECT_TRUE(is(log->errors[0], ec::cancelled));
  auto s = stats();
  EXPECT_EQ(s.held, 0u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(held(compute), 0);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

// -- pool features used by the coordinator and the monitor
// ---------------------

namespace {

struct UsageLog {
  std::vector<PoolStatus> reports;
};

/// Registers itself with `pool` on (listen_atom, bool): a pool takes only
/// its listeners' own registrations.
caf::behavior usage_listener(caf::event_based_actor* self, pool_actor pool,
                             std::shared_ptr<UsageLog> log) {
  return {
      [=](usage_atom, const PoolStatus& s) { log->reports.push_back(s); },
      [=](listen_atom, bool on) {
        self->send(pool, listen_atom::value, caf::actor_cast<caf::actor>(self),
                   on);
      },
  };
}

} // namespace

TEST_F(BundleTest, PoolReportsChangesToListenersOncePerBurst) {
  auto log = std::make_shared<UsageLog>();
  auto listener = sys.spawn(usage_listener, pools_[io], log);
  caf::anon_send(listener, listen_atom::value, true);
  run();
  log->reports.clear();
  auto g = single("x", io, 10);
  ASSERT_TRUE(g);
  ASSERT_EQ(log->reports.size(), 1u);
  EXPECT_EQ(log->reports.back().held, u(10));
  auto returns = log->reports.back().returns;
  ask_ok<ReleaseReceipt>(pools_[io], release_atom::value, g->grant_id);
  ASSERT_EQ(log->reports.size(), 2u);
  EXPECT_EQ(log->reports.back().held, 0);
  EXPECT_EQ(log->reports.back().returns, returns + 1);
  caf::anon_send(listener, listen_atom::value, false);
  run();
  ASSERT_TRUE(single("x", io, 10));
  EXPECT_EQ(log->reports.size(), 2u);
  caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
  run();
}

namespace {

struct NoticeLog {
  std::vector<ResourceAllocation> grants;
  std::vector<GrantNotice> notices;
};

caf::behavior single_holder(caf::event_based_actor* self, pool_actor pool,
                            ResourceRequest req,
                            std::shared_ptr<NoticeLog> log) {
  self->request(pool, caf::infinite, allocate_atom::value, req)
      .then([=](ResourceAllocation& a) { log->grants.push_back(a); },
            [=](caf::error&) {});
  return {
      [=](revoke_atom, const GrantNotice& n) { log->notices.push_back(n); },
  };
}

} // namespace

TEST_F(BundleTest, DegradedPoolShedsLowPrioritiesWithNotice) {
  // A standalone pool: the manager's pools take shedding from their monitor
  // only (tests/test_trust.cpp), this test plays the monitor.
  Config config;
  auto io_pool =
      sys.spawn(rros::pool, io, config.capacity_of(io), config.pool_policy());
  run();
  auto held_io = [&] {
    return ask_ok<PoolStatus>(io_pool, status_atom::value).held;
  };
  auto idle_req = request("indexer", io, 30, Priority::IDLE);
  idle_req.preemptable = true;
  auto log = std::make_shared<NoticeLog>();
  auto a = sys.spawn(single_holder, io_pool, idle_req, log);
  auto kept_req = request("keeper", io, 10, Priority::IDLE); // not preemptable
  ASSERT_TRUE(ask<ResourceAllocation>(io_pool, allocate_atom::value, kept_req));
  run();
  ASSERT_EQ(log->grants.size(), 1u);
  ShedPolicy shed{true, Priority::IDLE, true};
  caf::anon_send(io_pool, shed_atom::value, shed);
  run();
  // Notice first, reclaim after the grace period (0.25 s by default).
  ASSERT_EQ(log->notices.size(), 1u);
  EXPECT_EQ(log->notices[0].reason, RevokeReason::shed);
  EXPECT_EQ(held_io(), u(40));
  auto idle_again = request("late", io, 1, Priority::IDLE);
  EXPECT_TRUE(fails_with(
      ask<ResourceAllocation>(io_pool, allocate_atom::value, idle_again),
      ec::shed));
  // CRITICAL and HIGH work goes on.
  ASSERT_TRUE(ask<ResourceAllocation>(
      io_pool, allocate_atom::value, request("urgent", io, 5, Priority::HIGH)));
  advance(250ms);
  EXPECT_EQ(held_io(), u(15)); // the preemptable IDLE grant is reclaimed
  caf::anon_send(io_pool, shed_atom::value, ShedPolicy{});
  run();
  EXPECT_TRUE(
      ask<ResourceAllocation>(io_pool, allocate_atom::value, idle_again));
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(io_pool, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(BundleTest, AHolderEndingTouchesOnlyItsOwnBundles) {
  // The coordinator finds a holder's bundles through a per-holder index:
  // the other holders' held and waiting bundles must stay as they are.
  auto [a, log_a] = spawn_holder(bundle("a", {{compute, 10}, {io, 10}}));
  auto [b, log_b] = spawn_holder(bundle("b", {{compute, 20}, {io, 20}}));
  ASSERT_EQ(log_a->grants.size(), 1u);
  ASSERT_EQ(log_b->grants.size(), 1u);
  ASSERT_TRUE(single("other", io, 70));
  auto [c, log_c] = spawn_holder(bundle("c", {{io, 5}}, Priority::NORMAL, 10s));
  auto [d, log_d] = spawn_holder(bundle("d", {{io, 6}}, Priority::NORMAL, 10s));
  EXPECT_EQ(stats().waiting, 2u);
  EXPECT_EQ(stats().held, 2u);
  caf::anon_send_exit(a, caf::exit_reason::kill);
  caf::anon_send_exit(c, caf::exit_reason::kill);
  run();
  // a's io 10 came back and c is gone: d (6) fits and is granted.
  ASSERT_EQ(log_d->grants.size(), 1u);
  EXPECT_EQ(stats().waiting, 0u);
  EXPECT_EQ(stats().held, 2u); // b and d
  EXPECT_EQ(held(compute), u(20));
  EXPECT_TRUE(log_c->grants.empty());
  EXPECT_EQ(held(io), u(20 + 70 + 6));
  auto receipts = ask_ok<std::vector<ReleaseReceipt>>(
      b, release_atom::value, log_b->grants[0].bundle_id);
  EXPECT_EQ(receipts.size(), 2u);
  EXPECT_EQ(held(compute), 0);
  for (auto& x : {b, d})
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(BundleTest, AWaitingBundleEndsWithItsHolder) {
  // Found by the randomized test: the coordinator watched only holders of
  // granted bundles, so a dead holder's waiting bundle stayed queued.
  ASSERT_TRUE(single("other", io, 90));
  auto [a, log] =
      spawn_holder(bundle("task", {{io, 30}}, Priority::NORMAL, 10s));
  EXPECT_EQ(stats().waiting, 1u);
  caf::anon_send_exit(a, caf::exit_reason::kill);
  run();
  EXPECT_EQ(stats().waiting, 0u);
}
