// Trust (docs/security.md): what a client may not do to a node. Each test
// plays one forged or foreign message from a second actor, "mallory", against
// what the test itself (the victim) holds or waits for, and checks that
// nothing changed: waiting requests still wait, grants are still held, the
// ledger is unchanged. Ids are sequential per pool, so mallory learns the
// range from a grant of its own and forges every id around it.
#include <chrono>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fixture.hpp"

#include "actors/manager.hpp"
#include "actors/pool.hpp"
#include "messages/limits.hpp"
#include "messages/validate.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;
constexpr auto memory = ResourceType::MEMORY;
constexpr auto io = ResourceType::IO;

/// How far around a known id mallory forges.
constexpr std::uint64_t forge_span = 64;

/// An actor that takes one grant and records the notices it receives.
caf::behavior grant_keeper(caf::event_based_actor* self, pool_actor pool,
                           ResourceRequest req,
                           std::shared_ptr<std::vector<GrantNotice>> notices) {
  self->request(pool, caf::infinite, allocate_atom::value, req)
      .then([](ResourceAllocation&) {},
            [](caf::error& err) { ADD_FAILURE() << describe(err); });
  return {
      [=](revoke_atom, const GrantNotice& notice) {
        notices->push_back(notice);
      },
  };
}

class TrustTest : public DeterministicFixture {
public:
  TrustTest()
    : mallory(sys, true) {
    manager_ = spawn_manager(sys, Config{});
    run();
    pools_ = ask_ok<PoolDirectory>(manager_, pools_atom::value);
    bundles_ = ask_ok<bundle_actor>(manager_, bundles_atom::value);
    subsystems_ = ask_ok<Subsystems>(manager_, subsystems_atom::value);
  }

  ~TrustTest() override {
    for (auto& a : actors_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
    run();
  }

  /// Like ask(), sent by `who`.
  template <class Result, class Handle, class... Ts>
  caf::expected<Result> ask_as(caf::scoped_actor& who, const Handle& dest,
                               Ts&&... xs) {
    auto handle = who->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    caf::expected<Result> result{caf::sec::unexpected_response};
    handle.receive([&](Result& reply) { result = std::move(reply); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// A bundle leg asked for by `who`.
  caf::expected<ResourceAllocation> prepare_as(caf::scoped_actor& who,
                                               ResourceType type,
                                               const ResourceRequest& req) {
    auto handle =
        who->request(pools_[type], caf::infinite, prepare_atom::value, req);
    run();
    caf::expected<ResourceAllocation> result{caf::sec::unexpected_response};
    handle.receive(
        [&](ResourceAllocation& leg, PoolStatus&) { result = std::move(leg); },
        [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  PoolStatus status(ResourceType type) {
    return ask_ok<PoolStatus>(pools_[type], status_atom::value);
  }

  double capacity(ResourceType type) {
    return to_amount(status(type).capacity);
  }

  /// A grant of mallory's own at `type`: the id it forges around.
  GrantId mallorys_grant(ResourceType type) {
    auto grant =
        ask_as<ResourceAllocation>(mallory, pools_[type], allocate_atom::value,
                                   request("mallory", type, 1));
    EXPECT_TRUE(grant) << describe(grant.error());
    return grant ? grant->grant_id : 0;
  }

  /// Mallory sends `atom, id` for every id within forge_span of `around`,
  /// as itself and anonymously.
  template <class Handle, class Atom>
  void forge_ids(const Handle& dest, Atom atom, std::uint64_t around) {
    auto from = around > forge_span ? around - forge_span : 1;
    for (auto id = from; id <= around + forge_span; ++id) {
      mallory->send(dest, atom, id);
      caf::anon_send(dest, atom, id);
    }
  }

  caf::actor spawn_keeper(const ResourceRequest& req,
                          std::shared_ptr<std::vector<GrantNotice>> notices) {
    auto a = sys.spawn(grant_keeper, pools_[req.resource_type], req, notices);
    actors_.push_back(a);
    run();
    return a;
  }

  caf::scoped_actor mallory;
  manager_actor manager_;
  PoolDirectory pools_;
  bundle_actor bundles_;
  Subsystems subsystems_;
  std::vector<caf::actor> actors_;
};

BundleRequest bundle(const std::string& who, std::vector<BundleItem> items) {
  BundleRequest result;
  result.requester_id = who;
  result.items = std::move(items);
  return result;
}

} // namespace

// -- 1. timers are the actor's own
// ---------------------------------------------

TEST_F(TrustTest, AForgedDeadlineLeavesAnotherRequestWaitingAtThePool) {
  auto g = mallorys_grant(compute);
  auto rest = ask_ok<ResourceAllocation>(
      pools_[compute], allocate_atom::value,
      request("victim", compute, capacity(compute) - 1));
  auto waiting = request("victim", compute, 10);
  waiting.deadline = 10s;
  auto handle = send_request(pools_[compute], allocate_atom::value, waiting);
  forge_ids(pools_[compute], deadline_atom::value, g);
  run();
  EXPECT_FALSE(has_reply()) << "the forged deadline failed the request";
  EXPECT_EQ(status(compute).waiting, 1u);
  // It is still served when capacity returns.
  ask_ok<ReleaseReceipt>(pools_[compute], release_atom::value, rest.grant_id);
  auto grant = reply_of<ResourceAllocation>(handle);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_EQ(grant->allocated_amount, 10.0f);
}

TEST_F(TrustTest, AForgedDeadlineLeavesAWaitingBundleWaiting) {
  auto rest =
      ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                 request("victim", compute, capacity(compute)));
  // Mallory learns the coordinator's ids from a bundle of its own.
  auto own = ask_as<BundleGrant>(mallory, bundles_, allocate_atom::value,
                                 bundle("mallory", {{io, 1}}));
  ASSERT_TRUE(own) << describe(own.error());
  auto waiting = bundle("victim", {{compute, 10}, {io, 10}});
  waiting.deadline = 10s;
  auto handle = send_request(bundles_, allocate_atom::value, waiting);
  forge_ids(bundles_, deadline_atom::value, own->bundle_id);
  run();
  EXPECT_FALSE(has_reply()) << "the forged deadline failed the bundle";
  EXPECT_EQ(ask_ok<BundleStats>(bundles_, stats_atom::value).waiting, 1u);
  ask_ok<ReleaseReceipt>(pools_[compute], release_atom::value, rest.grant_id);
  auto grant = reply_of<BundleGrant>(handle);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_EQ(grant->legs.size(), 2u);
}

TEST_F(TrustTest, AForgedExpiryNeitherReturnsAGrantNorAReservation) {
  auto g = mallorys_grant(compute);
  auto req = request("victim", compute, 10);
  req.ttl = 10s;
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value, req);
  // A reservation without a time-to-live never expires.
  ask_ok<PoolStatus>(pools_[compute], reserve_atom::value,
                     std::string{"victim"}, 5.0f);
  forge_ids(pools_[compute], expire_atom::value, g);
  forge_ids(pools_[compute], resexpire_atom::value, g);
  run();
  EXPECT_EQ(status(compute).held, to_units(11));
  EXPECT_EQ(status(compute).reserved, to_units(5));
  // The real timer still works.
  advance(10s);
  EXPECT_EQ(status(compute).held, to_units(1));
  EXPECT_EQ(status(compute).reserved, to_units(5));
}

TEST_F(TrustTest, AForgedReclaimTakesNothingBeforeTheGracePeriodEnds) {
  auto g = mallorys_grant(compute);
  auto notices = std::make_shared<std::vector<GrantNotice>>();
  auto low = request("low", compute, 60, Priority::LOW);
  low.preemptable = true;
  spawn_keeper(low, notices);
  auto high = request("victim", compute, 80, Priority::HIGH);
  high.deadline = 5s;
  auto handle = send_request(pools_[compute], allocate_atom::value, high);
  ASSERT_EQ(notices->size(), 1u); // preemption with notice started
  forge_ids(pools_[compute], reclaim_atom::value, g);
  run();
  // The preempted grant is still held by its owner during the grace period.
  EXPECT_EQ(status(compute).held, to_units(61));
  EXPECT_FALSE(has_reply());
  advance(Config{}.pool_policy().preemption_grace);
  auto grant = reply_of<ResourceAllocation>(handle);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_EQ(status(compute).held, to_units(81));
}

TEST_F(TrustTest, AForgedPublishSendsNoReport) {
  // Mallory listens to the pool (itself: that is allowed) ...
  mallory->send(pools_[compute], listen_atom::value,
                caf::actor_cast<caf::actor>(mallory), true);
  run();
  ASSERT_FALSE(mallory->mailbox().empty());
  mallory->receive([](usage_atom, const PoolStatus&) {});
  ASSERT_TRUE(mallory->mailbox().empty());
  // ... but cannot make the pool report when nothing changed.
  mallory->send(pools_[compute], publish_atom::value);
  caf::anon_send(pools_[compute], publish_atom::value);
  run();
  EXPECT_TRUE(mallory->mailbox().empty());
}

TEST_F(TrustTest, NobodyPointsAPoolsReportsAtAThirdParty) {
  mallory->send(pools_[compute], listen_atom::value,
                caf::actor_cast<caf::actor>(self), true);
  run();
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("victim", compute, 1));
  EXPECT_FALSE(has_reply()) << "the pool reported to an actor that never "
                               "asked for it";
}

// -- 1. bundle legs come from the coordinator ---------------------------------

TEST_F(TrustTest, AForgedAbortDuringAnAttemptLeavesTheBundleWhole) {
  auto gc = mallorys_grant(compute);
  auto gi = mallorys_grant(io);
  auto handle = self->request(bundles_, caf::infinite, allocate_atom::value,
                              bundle("victim", {{compute, 20}, {io, 10}}));
  // One step: the coordinator sends its legs. Mallory's aborts land at the
  // pools right behind them, before the coordinator commits.
  ASSERT_TRUE(sched.try_run_once());
  for (auto id = gc; id <= gc + forge_span; ++id)
    mallory->send(pools_[compute], abort_atom::value, id);
  for (auto id = gi; id <= gi + forge_span; ++id)
    mallory->send(pools_[io], abort_atom::value, id);
  run();
  auto grant = reply_of<BundleGrant>(handle);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_EQ(ask_ok<float>(pools_[compute], holding_atom::value, "victim"),
            20.0f);
  EXPECT_EQ(ask_ok<float>(pools_[io], holding_atom::value, "victim"), 10.0f);
  EXPECT_EQ(status(compute).held, to_units(21));
}

TEST_F(TrustTest, AForgedCommitCannotKeepLegsPastTheirHoldersEnd) {
  auto gc = mallorys_grant(compute);
  auto gi = mallorys_grant(io);
  auto victim = std::make_unique<caf::scoped_actor>(sys, true);
  auto handle =
      (*victim)->request(bundles_, caf::infinite, allocate_atom::value,
                         bundle("victim", {{compute, 20}, {io, 10}}));
  ASSERT_TRUE(sched.try_run_once());
  // Commits to nobody, ahead of the coordinator's own.
  for (auto id = gc; id <= gc + forge_span; ++id)
    mallory->send(pools_[compute], commit_atom::value, id, caf::actor{});
  for (auto id = gi; id <= gi + forge_span; ++id)
    mallory->send(pools_[io], commit_atom::value, id, caf::actor{});
  run();
  BundleGrant grant;
  handle.receive([&](BundleGrant& g) { grant = std::move(g); },
                 [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  ASSERT_NE(grant.bundle_id, 0u);
  // The victim ends: its legs return (only mallory's own units stay).
  victim.reset();
  run();
  EXPECT_EQ(status(compute).held, to_units(1));
  EXPECT_EQ(status(io).held, to_units(1));
}

TEST_F(TrustTest, APoolRefusesLegsFromAnyoneButItsCoordinator) {
  auto before = status(compute);
  auto leg = prepare_as(mallory, compute, request("mallory", compute, 10));
  EXPECT_TRUE(fails_with(leg, ec::not_permitted));
  EXPECT_EQ(status(compute).held, before.held);
}

// -- 1. directories, reports and shedding come from their senders ------------

TEST_F(TrustTest, AForgedDirectoryDoesNotRedirectTheCoordinator) {
  // Empty (would be indexed out of range) and complete but wrong (every
  // entry the computational pool).
  mallory->send(bundles_, pools_atom::value, PoolDirectory{});
  PoolDirectory wrong;
  wrong.pools.assign(resource_type_count, pools_[compute]);
  mallory->send(bundles_, pools_atom::value, wrong);
  caf::anon_send(bundles_, pools_atom::value, wrong);
  run();
  auto grant = ask<BundleGrant>(bundles_, allocate_atom::value,
                                bundle("victim", {{io, 5}, {memory, 5}}));
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_EQ(ask_ok<float>(pools_[io], holding_atom::value, "victim"), 5.0f);
  EXPECT_EQ(status(compute).held, 0);
}

TEST_F(TrustTest, ForgedUsageReportsDoNotMakeTheCoordinatorRetry) {
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("victim", compute, capacity(compute)));
  auto waiting = bundle("victim", {{compute, 10}});
  waiting.deadline = 10s;
  send_request(bundles_, allocate_atom::value, waiting);
  auto before = ask_ok<BundleStats>(bundles_, stats_atom::value);
  ASSERT_EQ(before.waiting, 1u);
  for (int type = 0; type <= 6; ++type) {
    PoolStatus forged;
    forged.type = static_cast<ResourceType>(type);
    forged.capacity = to_units(100);
    forged.available = to_units(100);
    forged.returns = std::numeric_limits<std::uint64_t>::max();
    mallory->send(bundles_, usage_atom::value, forged);
    caf::anon_send(bundles_, usage_atom::value, forged);
  }
  run();
  auto after = ask_ok<BundleStats>(bundles_, stats_atom::value);
  EXPECT_EQ(after.attempts, before.attempts);
  EXPECT_EQ(after.waiting, 1u);
  EXPECT_FALSE(has_reply());
}

TEST_F(TrustTest, OnlyTheMonitorShedsAndOnlyTheManagerNamesIt) {
  // Mallory first names itself the pool's monitor, then degrades the pool.
  mallory->send(pools_[compute], peers_atom::value,
                caf::actor_cast<caf::actor>(mallory),
                caf::actor_cast<caf::actor>(mallory));
  run();
  ShedPolicy everything{true, Priority::CRITICAL, true};
  mallory->send(pools_[compute], shed_atom::value, everything);
  caf::anon_send(pools_[compute], shed_atom::value, everything);
  run();
  auto grant =
      ask<ResourceAllocation>(pools_[compute], allocate_atom::value,
                              request("victim", compute, 1, Priority::IDLE));
  EXPECT_TRUE(grant) << describe(grant.error());
  // Nor does it become the coordinator.
  EXPECT_TRUE(
      fails_with(prepare_as(mallory, compute, request("mallory", compute, 1)),
                 ec::not_permitted));
}

TEST_F(TrustTest, AForgedRevokeDoesNotStopChargingAMemoryBlock) {
  auto block = ask_ok<MemoryBlock>(subsystems_.memory, allocate_atom::value,
                                   MemoryRequest{"victim", 4096, false});
  ASSERT_NE(block.grant_id, 0u);
  auto charged = status(memory).held;
  ASSERT_GT(charged, 0);
  GrantNotice forged{block.grant_id,          "victim", memory, 4096.0f,
                     RevokeReason::preempted, 0ns};
  mallory->send(subsystems_.memory, revoke_atom::value, forged);
  caf::anon_send(subsystems_.memory, revoke_atom::value, forged);
  run();
  EXPECT_EQ(status(memory).held, charged);
  ask_ok<MemoryBlock>(subsystems_.memory, release_atom::value, block.address);
  EXPECT_EQ(status(memory).held, 0);
}

// -- 2. identity: a grant is its taker's
// ---------------------------------------

TEST_F(TrustTest, AnotherClientCannotReleaseRenewOrCancelWhatAClientHolds) {
  auto grant = ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                          request("victim", compute, 10));
  auto waiting = request("victim", compute, capacity(compute));
  waiting.deadline = 10s;
  waiting.request_id = 7;
  auto handle = send_request(pools_[compute], allocate_atom::value, waiting);
  EXPECT_TRUE(
      fails_with(ask_as<ReleaseReceipt>(mallory, pools_[compute],
                                        release_atom::value, grant.grant_id),
                 ec::unknown_grant));
  EXPECT_TRUE(fails_with(
      ask_as<ReleaseReceipt>(mallory, pools_[compute], release_atom::value,
                             std::string{"victim"}, 10.0f, ReleaseMode::exact),
      ec::nothing_held));
  EXPECT_TRUE(fails_with(
      ask_as<ResourceAllocation>(mallory, pools_[compute], renew_atom::value,
                                 grant.grant_id, std::chrono::nanoseconds{1}),
      ec::unknown_grant));
  EXPECT_TRUE(
      fails_with(ask_as<bool>(mallory, pools_[compute], cancel_atom::value,
                              std::string{"victim"}, std::uint64_t{7}),
                 ec::unknown_request));
  advance(1s); // a 1 ns renewal would have expired the grant by now
  EXPECT_EQ(status(compute).held, to_units(10));
  EXPECT_EQ(status(compute).waiting, 1u);
  EXPECT_FALSE(has_reply());
  // The victim itself may do each of them.
  EXPECT_TRUE(ask<bool>(pools_[compute], cancel_atom::value,
                        std::string{"victim"}, std::uint64_t{7}));
  EXPECT_TRUE(fails_with(reply_of<ResourceAllocation>(handle), ec::cancelled));
  EXPECT_TRUE(ask<ResourceAllocation>(pools_[compute], renew_atom::value,
                                      grant.grant_id,
                                      std::chrono::nanoseconds{1s}));
  EXPECT_TRUE(ask<ReleaseReceipt>(pools_[compute], release_atom::value,
                                  std::string{"victim"}, 4.0f,
                                  ReleaseMode::exact));
  EXPECT_TRUE(ask<ReleaseReceipt>(pools_[compute], release_atom::value,
                                  grant.grant_id));
  EXPECT_EQ(status(compute).held, 0);
}

TEST_F(TrustTest, AnEarlierEntryWithTheSameNamesDoesNotHideTheCallersOwn) {
  // Mallory queues first under the victim's requester name and request id;
  // the victim's own cancel must still find the victim's request (at the
  // pool and at the bundle coordinator), and mallory's stays queued.
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("filler", compute, capacity(compute)));
  auto waiting = request("victim", compute, 5);
  waiting.deadline = 10s;
  waiting.request_id = 7;
  auto decoy = mallory->request(pools_[compute], caf::infinite,
                                allocate_atom::value, waiting);
  run();
  auto handle = send_request(pools_[compute], allocate_atom::value, waiting);
  ASSERT_EQ(status(compute).waiting, 2u);
  EXPECT_TRUE(ask<bool>(pools_[compute], cancel_atom::value,
                        std::string{"victim"}, std::uint64_t{7}));
  EXPECT_TRUE(fails_with(reply_of<ResourceAllocation>(handle), ec::cancelled));
  EXPECT_EQ(status(compute).waiting, 1u);

  auto waiting_bundle = bundle("victim", {{compute, 5}});
  waiting_bundle.deadline = 10s;
  waiting_bundle.request_id = 9;
  auto bundle_decoy = mallory->request(bundles_, caf::infinite,
                                       allocate_atom::value, waiting_bundle);
  run();
  auto bundle_handle =
      send_request(bundles_, allocate_atom::value, waiting_bundle);
  ASSERT_EQ(ask_ok<BundleStats>(bundles_, stats_atom::value).waiting, 2u);
  EXPECT_TRUE(ask<bool>(bundles_, cancel_atom::value, std::string{"victim"},
                        std::uint64_t{9}));
  EXPECT_TRUE(fails_with(reply_of<BundleGrant>(bundle_handle), ec::cancelled));
  EXPECT_EQ(ask_ok<BundleStats>(bundles_, stats_atom::value).waiting, 1u);
  static_cast<void>(decoy);
  static_cast<void>(bundle_decoy);
}

TEST_F(TrustTest, AnotherClientCannotReturnAReservation) {
  ask_ok<PoolStatus>(pools_[compute], reserve_atom::value,
                     std::string{"planner"}, 30.0f);
  // Mallory names the requester: the same answer as no reservation at all.
  EXPECT_TRUE(
      fails_with(ask_as<float>(mallory, pools_[compute], unreserve_atom::value,
                               std::string{"planner"}),
                 ec::nothing_held));
  EXPECT_EQ(status(compute).reserved, to_units(30));
  // A reservation of mallory's own under the same name is its own to
  // return; the victim's stays.
  ASSERT_TRUE(ask_as<PoolStatus>(mallory, pools_[compute], reserve_atom::value,
                                 std::string{"planner"}, 5.0f));
  auto returned = ask_as<float>(mallory, pools_[compute], unreserve_atom::value,
                                std::string{"planner"});
  ASSERT_TRUE(returned) << describe(returned.error());
  EXPECT_EQ(*returned, 5.0f);
  EXPECT_EQ(status(compute).reserved, to_units(30));
  // The victim returns its own.
  EXPECT_EQ(ask_ok<float>(pools_[compute], unreserve_atom::value,
                          std::string{"planner"}),
            30.0f);
  EXPECT_EQ(status(compute).reserved, 0);
}

TEST_F(TrustTest, AReleaseByNameReturnsOnlyTheCallersOwnGrants) {
  // Both name the same requester: each returns only what it took.
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("shared", compute, 10));
  ASSERT_TRUE(ask_as<ResourceAllocation>(mallory, pools_[compute],
                                         allocate_atom::value,
                                         request("shared", compute, 3)));
  auto receipt = ask_as<ReleaseReceipt>(
      mallory, pools_[compute], release_atom::value, std::string{"shared"},
      100.0f, ReleaseMode::up_to_held);
  ASSERT_TRUE(receipt) << describe(receipt.error());
  EXPECT_EQ(receipt->released_amount, 3.0f);
  EXPECT_EQ(status(compute).held, to_units(10));
  EXPECT_TRUE(fails_with(
      ask_as<ReleaseReceipt>(mallory, pools_[compute], release_atom::value,
                             std::string{"shared"}, 1.0f, ReleaseMode::exact),
      ec::nothing_held));
}

TEST_F(TrustTest, AnotherClientCannotReleaseOrCancelABundle) {
  auto grant = ask_ok<BundleGrant>(bundles_, allocate_atom::value,
                                   bundle("victim", {{compute, 10}, {io, 5}}));
  EXPECT_TRUE(
      fails_with(ask_as<std::vector<ReleaseReceipt>>(
                     mallory, bundles_, release_atom::value, grant.bundle_id),
                 ec::unknown_bundle));
  EXPECT_TRUE(
      fails_with(ask_as<ReleaseReceipt>(mallory, bundles_, release_atom::value,
                                        grant.bundle_id, io),
                 ec::unknown_bundle));
  // Nor its legs at the pools.
  for (const auto& leg : grant.legs)
    EXPECT_TRUE(
        fails_with(ask_as<ReleaseReceipt>(mallory, pools_[leg.resource_type],
                                          release_atom::value, leg.grant_id),
                   ec::unknown_grant));
  EXPECT_EQ(status(compute).held, to_units(10));
  EXPECT_EQ(status(io).held, to_units(5));
  // A waiting bundle of the victim's.
  ask_ok<ResourceAllocation>(
      pools_[compute], allocate_atom::value,
      request("filler", compute, capacity(compute) - 10));
  auto waiting = bundle("victim", {{compute, 50}});
  waiting.deadline = 10s;
  waiting.request_id = 9;
  auto handle = send_request(bundles_, allocate_atom::value, waiting);
  EXPECT_TRUE(fails_with(ask_as<bool>(mallory, bundles_, cancel_atom::value,
                                      std::string{"victim"}, std::uint64_t{9}),
                         ec::unknown_request));
  EXPECT_EQ(ask_ok<BundleStats>(bundles_, stats_atom::value).waiting, 1u);
  EXPECT_TRUE(ask<bool>(bundles_, cancel_atom::value, std::string{"victim"},
                        std::uint64_t{9}));
  EXPECT_TRUE(fails_with(reply_of<BundleGrant>(handle), ec::cancelled));
  auto receipts = ask<std::vector<ReleaseReceipt>>(
      bundles_, release_atom::value, grant.bundle_id);
  ASSERT_TRUE(receipts) << describe(receipts.error());
  EXPECT_EQ(receipts->size(), 2u);
}

// -- 3. bounded input
// ----------------------------------------------------------

TEST_F(TrustTest, RequesterIdsAreBoundedInLength) {
  std::string longest(max_id_length, 'r');
  EXPECT_TRUE(ask<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                      request(longest, compute, 1)));
  auto too_long = longest + "r";
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                         request(too_long, compute, 1)),
                 ec::invalid_argument));
  EXPECT_TRUE(fails_with(ask<BundleGrant>(bundles_, allocate_atom::value,
                                          bundle(too_long, {{io, 1}})),
                         ec::invalid_argument));
  EXPECT_TRUE(fails_with(
      ask<PoolStatus>(pools_[compute], reserve_atom::value, too_long, 1.0f),
      ec::invalid_argument));
  EXPECT_EQ(status(compute).held, to_units(1));
  EXPECT_EQ(status(io).held, 0);
}

TEST_F(TrustTest, ABundleNamesAtMostOneItemPerType) {
  std::vector<BundleItem> items(resource_type_count + 1, BundleItem{io, 1});
  EXPECT_TRUE(fails_with(
      ask<BundleGrant>(bundles_, allocate_atom::value, bundle("victim", items)),
      ec::invalid_bundle));
  EXPECT_EQ(status(io).held, 0);
}

TEST_F(TrustTest, WaitingRequestsArePerHolderAndPerRequesterBounded) {
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("filler", compute, capacity(compute)));
  auto waiter = [](const std::string& who) {
    auto req = request(who, compute, 1);
    req.deadline = 60s;
    return req;
  };
  // Mallory fills its own allowance under many names ...
  for (std::size_t i = 0; i < max_waiting_per_holder; ++i)
    mallory->send(pools_[compute], allocate_atom::value,
                  waiter("m" + std::to_string(i % 100)));
  run();
  EXPECT_EQ(status(compute).waiting, max_waiting_per_holder);
  auto refused = ask_as<ResourceAllocation>(
      mallory, pools_[compute], allocate_atom::value, waiter("fresh"));
  EXPECT_TRUE(fails_with(refused, ec::limit_exceeded));
  // ... while another client still waits.
  send_request(pools_[compute], allocate_atom::value, waiter("victim"));
  EXPECT_FALSE(has_reply());
  EXPECT_EQ(status(compute).waiting, max_waiting_per_holder + 1);
  // One requester name is bounded too, whichever actors use it.
  caf::scoped_actor other{sys, true};
  for (std::size_t i = 1; i < max_waiting_per_requester; ++i)
    other->send(pools_[compute], allocate_atom::value, waiter("victim"));
  run();
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                         waiter("victim")),
                 ec::limit_exceeded));
}

TEST_F(TrustTest, WaitingBundlesArePerHolderBounded) {
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("filler", compute, capacity(compute)));
  auto waiter = [](const std::string& who) {
    auto req = bundle(who, {{compute, 1}});
    req.deadline = 60s;
    return req;
  };
  for (std::size_t i = 0; i < max_waiting_per_holder; ++i)
    mallory->send(bundles_, allocate_atom::value,
                  waiter("m" + std::to_string(i % 100)));
  run();
  EXPECT_EQ(ask_ok<BundleStats>(bundles_, stats_atom::value).waiting,
            max_waiting_per_holder);
  EXPECT_TRUE(
      fails_with(ask_as<BundleGrant>(mallory, bundles_, allocate_atom::value,
                                     waiter("fresh")),
                 ec::limit_exceeded));
  send_request(bundles_, allocate_atom::value, waiter("victim"));
  EXPECT_FALSE(has_reply());
  EXPECT_EQ(ask_ok<BundleStats>(bundles_, stats_atom::value).waiting,
            max_waiting_per_holder + 1);
}
