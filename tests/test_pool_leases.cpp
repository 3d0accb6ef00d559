// Deterministic message scripts for grants that cannot leak or starve:
// leases tied to their holder, time-to-live, release by id, waiting with
// deadlines, aging, backfilling, expiring reservations and preemption with
// notice. The virtual clock stands in for time; nothing sleeps.
#include <memory>

#include "fixture.hpp"

#include "actors/manager.hpp"
#include "actors/pool.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;

/// What a holder actor saw.
struct HolderLog {
  std::vector<ResourceAllocation> grants;
  std::vector<caf::error> errors;
  std::vector<GrantNotice> notices;
};

/// An actor that asks `pool` for `req` and records the answer and every
/// revoke notice; with `release_on_notice` it gives a preempted grant back
/// at once.
caf::behavior holder(caf::event_based_actor* self, pool_actor pool,
                     ResourceRequest req, std::shared_ptr<HolderLog> log,
                     bool release_on_notice) {
  self->request(pool, caf::infinite, allocate_atom::value, req)
      .then([=](ResourceAllocation& a) { log->grants.push_back(a); },
            [=](caf::error& e) { log->errors.push_back(e); });
  return {
      [=](revoke_atom, const GrantNotice& notice) {
        log->notices.push_back(notice);
        if (release_on_notice)
          self->request(pool, caf::infinite, release_atom::value,
                        notice.grant_id)
              .then([](const ReleaseReceipt&) {});
      },
  };
}

class LeaseTest : public DeterministicFixture {
public:
  LeaseTest() {
    PoolPolicy policy;
    policy.aging_interval = 1s;
    policy.preemption_grace = 200ms;
    policy.max_preemptions_per_round = 3;
    pool_ = sys.spawn(rros::pool, compute, 100.0, policy);
    run();
  }

  ~LeaseTest() override {
    caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
    run();
  }

  ResourceRequest req(const std::string& who, float amount,
                      Priority prio = Priority::NORMAL) {
    return request(who, compute, amount, prio);
  }

  caf::expected<ResourceAllocation> allocate(const ResourceRequest& r) {
    return ask<ResourceAllocation>(pool_, allocate_atom::value, r);
  }

  /// Spawns a holder actor that asks for `r`; runs until it is answered.
  std::pair<caf::actor, std::shared_ptr<HolderLog>>
  spawn_holder(const ResourceRequest& r, bool release_on_notice = false) {
    auto log = std::make_shared<HolderLog>();
    auto a = sys.spawn(holder, pool_, r, log, release_on_notice);
    run();
    return {a, log};
  }

  PoolStatus status() {
    return ask_ok<PoolStatus>(pool_, status_atom::value);
  }

  void expect_held(units held, units reserved = 0) {
    auto s = status();
    EXPECT_EQ(s.held, held);
    EXPECT_EQ(s.reserved, reserved);
    EXPECT_EQ(s.capacity, s.held + s.reserved + s.available);
  }

  static constexpr units u(double amount) {
    return static_cast<units>(amount * units_per_amount);
  }

  pool_actor pool_;
};

} // namespace

// -- leases tied to the holder's life ----------------------------------------

TEST_F(LeaseTest, AHolderThatTerminatesLosesEveryGrant) {
  auto [a, log] = spawn_holder(req("vision", 30));
  ASSERT_EQ(log->grants.size(), 1u);
  EXPECT_NE(log->grants[0].grant_id, 0u);
  expect_held(u(30));
  // The holder dies: its grant returns in the same round of messages.
  caf::anon_send_exit(a, caf::exit_reason::kill);
  run();
  expect_held(0);
  EXPECT_TRUE(fails_with(
      ask<ReleaseReceipt>(pool_, release_atom::value, log->grants[0].grant_id),
      ec::unknown_grant));
}

TEST_F(LeaseTest, AHolderThatTerminatesTakesOnlyItsOwnWaitingRequests) {
  // The pool finds a holder's waiting requests through a per-holder index:
  // another holder's waiting request must stay queued and be served.
  auto [blocker, blocker_log] = spawn_holder(req("blocker", 100));
  ASSERT_EQ(blocker_log->grants.size(), 1u);
  auto waiting = [&](const std::string& who, float amount) {
    auto r = req(who, amount);
    r.deadline = std::chrono::milliseconds{10000};
    return spawn_holder(r);
  };
  auto [a, log_a] = waiting("a", 40);
  auto [b, log_b] = waiting("b", 30);
  auto [c, log_c] = waiting("c", 20);
  EXPECT_EQ(status().waiting, 3u);
  caf::anon_send_exit(a, caf::exit_reason::kill);
  caf::anon_send_exit(c, caf::exit_reason::kill);
  run();
  EXPECT_EQ(status().waiting, 1u);
  EXPECT_TRUE(log_b->grants.empty());
  caf::anon_send_exit(blocker, caf::exit_reason::kill);
  run();
  ASSERT_EQ(log_b->grants.size(), 1u);
  EXPECT_EQ(log_b->grants[0].allocated_amount, 30.0f);
  expect_held(u(30));
  EXPECT_EQ(status().waiting, 0u);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(LeaseTest, AHolderLosesItsGrantsInEveryPool) {
  auto manager = spawn_manager(sys, Config{});
  run();
  auto pools = ask_ok<PoolDirectory>(manager, pools_atom::value);
  auto log = std::make_shared<HolderLog>();
  auto grab = [&](caf::event_based_actor* self) -> caf::behavior {
    for (auto type : {ResourceType::COMPUTATIONAL, ResourceType::MEMORY,
                      ResourceType::NETWORK})
      self->request(pools[type], caf::infinite, allocate_atom::value,
                    request("module", type, 10))
          .then([=](ResourceAllocation& a) { log->grants.push_back(a); });
    return {[](revoke_atom, const GrantNotice&) {}};
  };
  auto module = sys.spawn(grab);
  run();
  ASSERT_EQ(log->grants.size(), 3u);
  caf::anon_send_exit(module, caf::exit_reason::user_shutdown);
  run();
  for (const auto& pool :
       ask_ok<std::vector<PoolStatus>>(manager, status_atom::value))
    EXPECT_EQ(pool.held, 0) << to_string(pool.type);
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
}

TEST_F(LeaseTest, ReleasingByIdTwiceIsRefusedAndNeverCreditedTwice) {
  auto first = allocate(req("audio", 20));
  auto second = allocate(req("audio", 5));
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->grant_id, second->grant_id);
  auto receipt =
      ask<ReleaseReceipt>(pool_, release_atom::value, first->grant_id);
  ASSERT_TRUE(receipt);
  EXPECT_FLOAT_EQ(receipt->released_amount, 20.0f);
  EXPECT_FLOAT_EQ(receipt->still_held, 5.0f);
  EXPECT_TRUE(fails_with(
      ask<ReleaseReceipt>(pool_, release_atom::value, first->grant_id),
      ec::unknown_grant));
  EXPECT_TRUE(
      fails_with(ask<ReleaseReceipt>(pool_, release_atom::value, GrantId{999}),
                 ec::unknown_grant));
  expect_held(u(5));
}

TEST_F(LeaseTest, ReleaseByRequesterTakesTheNewestGrantsFirst) {
  auto older = allocate(req("audio", 20));
  auto newer = allocate(req("audio", 10));
  ASSERT_TRUE(older && newer);
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"audio"}, 15.0f,
                                  ReleaseMode::exact));
  // The newer grant (10) is gone, the older one has 15 left.
  EXPECT_TRUE(fails_with(
      ask<ReleaseReceipt>(pool_, release_atom::value, newer->grant_id),
      ec::unknown_grant));
  auto rest = ask<ReleaseReceipt>(pool_, release_atom::value, older->grant_id);
  ASSERT_TRUE(rest);
  EXPECT_FLOAT_EQ(rest->released_amount, 15.0f);
  expect_held(0);
}

// -- time-to-live
// ---------------------------------------------------------------

TEST_F(LeaseTest, AnExpiredGrantIsReclaimedAndItsHolderTold) {
  auto r = req("planner", 40);
  r.ttl = 2s;
  auto [a, log] = spawn_holder(r);
  ASSERT_EQ(log->grants.size(), 1u);
  advance(1999ms);
  expect_held(u(40));
  advance(1ms);
  expect_held(0);
  ASSERT_EQ(log->notices.size(), 1u);
  EXPECT_EQ(log->notices[0].reason, RevokeReason::expired);
  EXPECT_EQ(log->notices[0].grant_id, log->grants[0].grant_id);
  EXPECT_FLOAT_EQ(log->notices[0].amount, 40.0f);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_F(LeaseTest, RenewingRestartsTheTimeToLive) {
  auto r = req("planner", 40);
  r.ttl = 2s;
  auto grant = allocate(r);
  ASSERT_TRUE(grant);
  advance(1500ms);
  ASSERT_TRUE(ask<ResourceAllocation>(pool_, renew_atom::value, grant->grant_id,
                                      std::chrono::nanoseconds{3s}));
  advance(1s); // the first deadline passes: still held
  expect_held(u(40));
  advance(2s); // 3 s after the renewal
  expect_held(0);
}

// -- waiting with deadlines
// ----------------------------------------------------------

TEST_F(LeaseTest, AWaitingRequestIsGrantedAsSoonAsCapacityFrees) {
  ASSERT_TRUE(allocate(req("bulk", 90)));
  auto r = req("vision", 30, Priority::HIGH);
  r.deadline = 500ms;
  auto waiting = send_request(pool_, allocate_atom::value, r);
  EXPECT_FALSE(has_reply()); // it waits
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"bulk"}, 25.0f,
                                  ReleaseMode::exact));
  ASSERT_TRUE(has_reply());
  auto grant = reply_of<ResourceAllocation>(waiting);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_TRUE(grant->fully_satisfied);
  expect_held(u(95));
}

TEST_F(LeaseTest, AWaitingRequestFailsAtItsDeadline) {
  ASSERT_TRUE(allocate(req("bulk", 90)));
  auto r = req("vision", 30);
  r.deadline = 500ms;
  auto waiting = send_request(pool_, allocate_atom::value, r);
  advance(499ms);
  EXPECT_FALSE(has_reply());
  advance(1ms);
  ASSERT_TRUE(has_reply());
  EXPECT_TRUE(
      fails_with(reply_of<ResourceAllocation>(waiting), ec::deadline_expired));
  expect_held(u(90));
  EXPECT_EQ(ask_ok<ResourceStats>(pool_, stats_atom::value).rejection_count,
            1u);
}

TEST_F(LeaseTest, ARequestThatCanNeverFitFailsAtOnceWithADifferentError) {
  auto r = req("greedy", 150);
  r.deadline = 10s;
  EXPECT_TRUE(fails_with(allocate(r), ec::exceeds_capacity));
}

TEST_F(LeaseTest, AWaitingRequestCanBeCancelled) {
  ASSERT_TRUE(allocate(req("bulk", 90)));
  auto r = req("vision", 30);
  r.deadline = 5s;
  r.request_id = 7;
  auto waiting = send_request(pool_, allocate_atom::value, r);
  EXPECT_EQ(ask_ok<bool>(pool_, cancel_atom::value, std::string{"vision"},
                         std::uint64_t{7}),
            true);
  EXPECT_TRUE(fails_with(reply_of<ResourceAllocation>(waiting), ec::cancelled));
  EXPECT_TRUE(fails_with(ask<bool>(pool_, cancel_atom::value,
                                   std::string{"vision"}, std::uint64_t{7}),
                         ec::unknown_request));
  // Capacity freed later goes to nobody.
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"bulk"}, 90.0f,
                                  ReleaseMode::exact));
  expect_held(0);
}

TEST_F(LeaseTest, WaitingRequestsAreServedByPriorityThenDeadline) {
  ASSERT_TRUE(allocate(req("bulk", 100)));
  auto low = req("low", 40, Priority::LOW);
  low.deadline = 5s;
  auto high_late = req("high-late", 40, Priority::HIGH);
  high_late.deadline = 9s;
  auto high_early = req("high-early", 40, Priority::HIGH);
  high_early.deadline = 3s;
  auto h_low = send_request(pool_, allocate_atom::value, low);
  auto h_late = send_request(pool_, allocate_atom::value, high_late);
  auto h_early = send_request(pool_, allocate_atom::value, high_early);
  // 40 frees: the HIGH request with the earlier deadline goes first.
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"bulk"}, 40.0f,
                                  ReleaseMode::exact));
  EXPECT_EQ(
      ask_ok<float>(pool_, holding_atom::value, std::string{"high-early"}),
      40.0f);
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, std::string{"high-late"}),
            0.0f);
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"bulk"}, 40.0f,
                                  ReleaseMode::exact));
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, std::string{"high-late"}),
            40.0f);
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, std::string{"low"}),
            0.0f);
  EXPECT_TRUE(reply_of<ResourceAllocation>(h_early));
  EXPECT_TRUE(reply_of<ResourceAllocation>(h_late));
  advance(5s);
  EXPECT_TRUE(
      fails_with(reply_of<ResourceAllocation>(h_low), ec::deadline_expired));
}

TEST_F(LeaseTest, AgingLetsAnIdleRequestOvertakeLaterHighOnesWithinTheBound) {
  ASSERT_TRUE(allocate(req("bulk", 100)));
  auto idle = req("indexer", 50, Priority::IDLE);
  idle.deadline = 20s;
  auto h_idle = send_request(pool_, allocate_atom::value, idle);
  // IDLE is four levels below CRITICAL: after 4 aging intervals (4 s) it
  // competes at the top level, where deadlines decide.
  advance(3s);
  auto high = req("reasoning", 50, Priority::HIGH);
  high.deadline = 30s; // later than the IDLE request's (t = 20 s)
  auto h_high = send_request(pool_, allocate_atom::value, high);
  advance(1500ms); // t = 4.5 s: IDLE at level 0, HIGH (waited 1.5 s) at 0
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"bulk"}, 50.0f,
                                  ReleaseMode::exact));
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, std::string{"indexer"}),
            50.0f);
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, std::string{"reasoning"}),
            0.0f);
  EXPECT_TRUE(reply_of<ResourceAllocation>(h_idle));
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"bulk"}, 50.0f,
                                  ReleaseMode::exact));
  EXPECT_TRUE(reply_of<ResourceAllocation>(h_high));
}

TEST_F(LeaseTest, WithoutAgingTheHighRequestWouldHaveGoneFirst) {
  // Control for the test above: before the IDLE request has aged, a HIGH one
  // with a later deadline still goes first.
  ASSERT_TRUE(allocate(req("bulk", 100)));
  auto idle = req("indexer", 50, Priority::IDLE);
  idle.deadline = 20s;
  auto h_idle = send_request(pool_, allocate_atom::value, idle);
  auto high = req("reasoning", 50, Priority::HIGH);
  high.deadline = 30s;
  auto h_high = send_request(pool_, allocate_atom::value, high);
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"bulk"}, 50.0f,
                                  ReleaseMode::exact));
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, std::string{"reasoning"}),
            50.0f);
  EXPECT_TRUE(reply_of<ResourceAllocation>(h_high));
  advance(20s);
  EXPECT_TRUE(
      fails_with(reply_of<ResourceAllocation>(h_idle), ec::deadline_expired));
}

TEST_F(LeaseTest,
       ASmallRequestPassesABlockedOneOnlyIfItsLeaseEndsBeforeThatDeadline) {
  ASSERT_TRUE(allocate(req("bulk", 70)));
  auto big = req("big", 60, Priority::HIGH);
  big.deadline = 1s;
  auto h_big = send_request(pool_, allocate_atom::value, big);
  // 30 are free but the big request waits: a small one without a
  // time-to-live could hold on past the big one's deadline, so it is refused.
  EXPECT_TRUE(
      fails_with(allocate(req("small", 10)), ec::insufficient_resources));
  // With a lease that ends before the big one's deadline it may pass.
  auto quick = req("quick", 10);
  quick.ttl = 500ms;
  auto passed = allocate(quick);
  ASSERT_TRUE(passed) << describe(passed.error());
  expect_held(u(80));
  // One that would end after the deadline may not.
  auto slow = req("slow", 10);
  slow.ttl = 2s;
  EXPECT_TRUE(fails_with(allocate(slow), ec::insufficient_resources));
  advance(500ms); // the quick lease expires
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"bulk"}, 40.0f,
                                  ReleaseMode::exact));
  EXPECT_TRUE(reply_of<ResourceAllocation>(h_big));
}

// -- reservations
// ---------------------------------------------------------------------

TEST_F(LeaseTest, AnExpiringReservationIsUsedFirstAndReturnsAtExpiry) {
  ASSERT_TRUE(ask<PoolStatus>(pool_, reserve_atom::value,
                              std::string{"predictor"}, 30.0f,
                              std::chrono::nanoseconds{2s}));
  expect_held(0, u(30));
  EXPECT_TRUE(
      fails_with(allocate(req("other", 71)), ec::insufficient_resources));
  ASSERT_TRUE(allocate(req("predictor", 10))); // out of the reservation
  expect_held(u(10), u(20));
  advance(2s);
  expect_held(u(10), 0);
  ASSERT_TRUE(allocate(req("other", 90)));
}

// -- preemption with notice
// --------------------------------------------------------------

TEST_F(LeaseTest, PreemptionGoesNoticeGraceReclaimAndGrantToTheAsker) {
  auto victim_req = req("indexer", 60, Priority::LOW);
  victim_req.preemptable = true;
  auto [victim, vlog] = spawn_holder(victim_req);
  ASSERT_TRUE(allocate(req("steady", 30, Priority::LOW))); // not preemptable
  // HIGH needs 50, 10 are free: the LOW preemptable grant is the victim.
  auto urgent = req("safety", 50, Priority::HIGH);
  urgent.deadline = 2s;
  auto h = send_request(pool_, allocate_atom::value, urgent);
  // 1. notice
  ASSERT_EQ(vlog->notices.size(), 1u);
  EXPECT_EQ(vlog->notices[0].reason, RevokeReason::preempted);
  EXPECT_EQ(vlog->notices[0].grace, std::chrono::nanoseconds{200ms});
  EXPECT_FALSE(has_reply());
  // 2. grace: the victim still holds it; what was free is kept for the asker,
  // so a bystander cannot take it.
  advance(100ms);
  expect_held(u(90), u(10));
  EXPECT_TRUE(fails_with(allocate(req("bystander", 10, Priority::HIGH)),
                         ec::insufficient_resources));
  // 3. reclaim at the end of the grace period, 4. grant to the asker.
  advance(100ms);
  ASSERT_TRUE(has_reply());
  auto grant = reply_of<ResourceAllocation>(h);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_TRUE(grant->fully_satisfied);
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, std::string{"indexer"}),
            0.0f);
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, std::string{"safety"}),
            50.0f);
  // The rest of what was reclaimed (10 + 60 - 50 = 20) is free again.
  expect_held(u(80));
  caf::anon_send_exit(victim, caf::exit_reason::user_shutdown);
}

TEST_F(LeaseTest, AVictimThatReleasesEarlyHandsItsCapacityToTheAsker) {
  auto victim_req = req("indexer", 80, Priority::IDLE);
  victim_req.preemptable = true;
  auto [victim, vlog] = spawn_holder(victim_req, true); // releases on notice
  auto urgent = req("safety", 50, Priority::NORMAL);
  urgent.deadline = 2s;
  auto h = send_request(pool_, allocate_atom::value, urgent);
  // No time passed: the early release already served the asker.
  ASSERT_TRUE(has_reply());
  auto grant = reply_of<ResourceAllocation>(h);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, std::string{"safety"}),
            50.0f);
  expect_held(u(50));
  advance(200ms); // the reclaim finds nothing left to take
  expect_held(u(50));
  caf::anon_send_exit(victim, caf::exit_reason::user_shutdown);
}

TEST_F(LeaseTest, OnlyLowerPriorityPreemptableGrantsAreTaken) {
  auto same = req("peer", 50, Priority::HIGH);
  same.preemptable = true;
  ASSERT_TRUE(allocate(same)); // same priority: safe
  ASSERT_TRUE(allocate(req("plain", 40, Priority::IDLE))); // not preemptable
  auto urgent = req("safety", 30, Priority::HIGH);
  urgent.deadline = 1s;
  auto h = send_request(pool_, allocate_atom::value, urgent);
  advance(300ms);
  EXPECT_FALSE(has_reply()); // nothing was preempted
  expect_held(u(90));
  advance(700ms);
  EXPECT_TRUE(
      fails_with(reply_of<ResourceAllocation>(h), ec::deadline_expired));
  expect_held(u(90));
}

TEST_F(LeaseTest, PreemptionTakesFewestLowestFirstAndIsCapped) {
  // Four IDLE grants of 10 and one LOW grant of 50, all preemptable.
  for (int i = 0; i < 4; ++i) {
    auto r = req("idle" + std::to_string(i), 10, Priority::IDLE);
    r.preemptable = true;
    ASSERT_TRUE(allocate(r));
  }
  auto low = req("low", 50, Priority::LOW);
  low.preemptable = true;
  ASSERT_TRUE(allocate(low));
  // 10 free; HIGH asks for 55: 45 lacking. Lowest priority first: the IDLE
  // grants (10 each); the cap of 3 victims stops at 30 < 45, so nothing is
  // preempted at all.
  auto urgent = req("safety", 55, Priority::HIGH);
  urgent.deadline = 1s;
  auto h = send_request(pool_, allocate_atom::value, urgent);
  advance(300ms);
  expect_held(u(90));
  EXPECT_FALSE(has_reply());
  advance(700ms);
  EXPECT_TRUE(
      fails_with(reply_of<ResourceAllocation>(h), ec::deadline_expired));
  // 15 lacking: two IDLE victims suffice, the LOW grant is spared.
  auto smaller = req("safety", 25, Priority::HIGH);
  smaller.deadline = 1s;
  auto h2 = send_request(pool_, allocate_atom::value, smaller);
  advance(200ms);
  auto grant = reply_of<ResourceAllocation>(h2);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, std::string{"low"}),
            50.0f);
  EXPECT_EQ(ask_ok<ResourceStats>(pool_, stats_atom::value).allocation_count,
            6u);
}

// -- bad input for the new calls
// ---------------------------------------------------------

TEST_F(LeaseTest, BadLeaseInputIsRefusedAndChangesNothing) {
  auto grant = allocate(req("vision", 10));
  ASSERT_TRUE(grant);
  auto negative_ttl = req("vision", 5);
  negative_ttl.ttl = -1s;
  EXPECT_TRUE(fails_with(allocate(negative_ttl), ec::invalid_duration));
  auto negative_deadline = req("vision", 5);
  negative_deadline.deadline = -1ms;
  EXPECT_TRUE(fails_with(allocate(negative_deadline), ec::invalid_duration));
  EXPECT_TRUE(fails_with(ask<ResourceAllocation>(pool_, renew_atom::value,
                                                 GrantId{4242},
                                                 std::chrono::nanoseconds{1s}),
                         ec::unknown_grant));
  EXPECT_TRUE(fails_with(ask<ResourceAllocation>(pool_, renew_atom::value,
                                                 grant->grant_id,
                                                 std::chrono::nanoseconds{0}),
                         ec::invalid_duration));
  EXPECT_TRUE(
      fails_with(ask<PoolStatus>(pool_, reserve_atom::value, std::string{"p"},
                                 5.0f, std::chrono::nanoseconds{-5}),
                 ec::invalid_duration));
  EXPECT_TRUE(fails_with(ask<bool>(pool_, cancel_atom::value,
                                   std::string{"nobody"}, std::uint64_t{1}),
                         ec::unknown_request));
  expect_held(u(10));
  EXPECT_EQ(ask_ok<ResourceStats>(pool_, stats_atom::value).allocation_count,
            1u);
}
