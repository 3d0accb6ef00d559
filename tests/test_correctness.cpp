// Regression tests for defects found by testing from outside (issue 10):
// ids that must never repeat across a pool's or coordinator's replacement,
// uncommitted bundle legs that are not their requester's to release or
// anybody's to preempt, durations at their limits, and reservations tied to
// the actor that made them. Each test failed before its fix.
#include <limits>
#include <memory>

#include "fixture.hpp"

#include "actors/manager.hpp"
#include "actors/pool.hpp"
#include "facade/resource_manager.hpp"
#include "messages/scheduler_messages.hpp"
#include "messages/validate.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;
constexpr auto io = ResourceType::IO;

constexpr units u(double amount) {
  return static_cast<units>(amount * units_per_amount);
}

/// What a holder actor saw.
struct Log {
  std::vector<ResourceAllocation> grants;
  std::vector<BundleGrant> bundles;
  std::vector<caf::error> errors;
  std::vector<GrantNotice> notices;
};

/// Records grants, errors and revoke notices; asks `pool` for `req` when
/// `req.amount` is above 0.
caf::behavior holder(caf::event_based_actor* self, pool_actor pool,
                     ResourceRequest req, std::shared_ptr<Log> log) {
  if (req.amount > 0)
    self->request(pool, caf::infinite, allocate_atom::value, req)
        .then([=](ResourceAllocation& a) { log->grants.push_back(a); },
              [=](caf::error& e) { log->errors.push_back(e); });
  return {
      [=](revoke_atom, const GrantNotice& notice) {
        log->notices.push_back(notice);
      },
  };
}

/// Reserves `amount` of `pool` for `who`, then ends when told (quit_atom).
caf::behavior reserver(caf::event_based_actor* self, pool_actor pool,
                       std::string who, float amount,
                       std::chrono::nanoseconds ttl, std::shared_ptr<Log> log) {
  self->request(pool, caf::infinite, reserve_atom::value, who, amount, ttl)
      .then([](const PoolStatus&) {},
            [=](caf::error& e) { log->errors.push_back(e); });
  return {
      [](revoke_atom, const GrantNotice&) {},
  };
}

/// A pool on its own, driven by the test (the test plays the coordinator).
class PoolFixture : public DeterministicFixture {
public:
  PoolFixture() {
    PoolPolicy policy;
    policy.aging_interval = 0ns;
    policy.preemption_grace = 200ms;
    pool_ = sys.spawn(rros::pool, compute, 100.0, policy);
    run();
  }

  ~PoolFixture() override {
    caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
    for (auto& a : actors_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  ResourceRequest req(const std::string& who, float amount,
                      Priority prio = Priority::NORMAL) {
    return request(who, compute, amount, prio);
  }

  caf::expected<ResourceAllocation> allocate(const ResourceRequest& r) {
    return ask<ResourceAllocation>(pool_, allocate_atom::value, r);
  }

  /// A prepared bundle leg, held by the test (as the coordinator would).
  ResourceAllocation prepare(const ResourceRequest& r) {
    ResourceAllocation result;
    auto handle = self->request(pool_, caf::infinite, prepare_atom::value, r);
    run();
    handle.receive(
        [&](ResourceAllocation& a, PoolStatus&) { result = std::move(a); },
        [&](caf::error& e) { ADD_FAILURE() << describe(e); });
    return result;
  }

  std::pair<caf::actor, std::shared_ptr<Log>>
  spawn_holder(const ResourceRequest& r) {
    auto log = std::make_shared<Log>();
    auto a = sys.spawn(holder, pool_, r, log);
    actors_.push_back(a);
    run();
    return {a, log};
  }

  PoolStatus status() {
    return ask_ok<PoolStatus>(pool_, status_atom::value);
  }

  void expect_ledger(units held, units reserved) {
    auto s = status();
    EXPECT_EQ(s.held, held);
    EXPECT_EQ(s.reserved, reserved);
    EXPECT_EQ(s.capacity, s.held + s.reserved + s.available);
  }

  pool_actor pool_;
  std::vector<caf::actor> actors_;
};

class ManagerFixture : public DeterministicFixture {
public:
  ManagerFixture() {
    manager_ = spawn_manager(sys, Config{});
    run();
    pools_ = ask_ok<PoolDirectory>(manager_, pools_atom::value);
    bundles_ = ask_ok<bundle_actor>(manager_, bundles_atom::value);
  }

  ~ManagerFixture() override {
    caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
    run();
  }

  manager_actor manager_;
  PoolDirectory pools_;
  bundle_actor bundles_;
};

} // namespace

// -- 1. ids never repeat
// -------------------------------------------------------

TEST(GrantIds, CarryTheirIncarnationAndNeverRepeatAcrossIncarnations) {
  auto a = next_incarnation();
  auto b = next_incarnation();
  EXPECT_GT(a, 0u);
  EXPECT_GT(b, a);
  EXPECT_EQ(incarnation_of(first_id_of(a)), a);
  EXPECT_EQ(incarnation_of(first_id_of(a) + 1'000'000), a);
  // The last id of one incarnation is below the first of the next.
  auto last_of_a =
      first_id_of(a) + ((std::uint64_t{1} << id_sequence_bits) - 2);
  EXPECT_EQ(incarnation_of(last_of_a), a);
  EXPECT_LT(last_of_a, first_id_of(a + 1));
}

TEST_F(ManagerFixture, AGrantIdFromBeforeAPoolsReplacementIsUnknownAfterIt) {
  auto old_pool = pools_[compute];
  auto before = ask_ok<ResourceAllocation>(old_pool, allocate_atom::value,
                                           request("a", compute, 10));
  ASSERT_NE(before.grant_id, 0u);
  caf::anon_send_exit(old_pool, caf::exit_reason::kill);
  run();
  auto fresh = ask_ok<PoolDirectory>(manager_, pools_atom::value);
  ASSERT_NE(fresh[compute], old_pool);
  // Somebody else takes a grant from the replacement: a different id.
  auto after = ask_ok<ResourceAllocation>(fresh[compute], allocate_atom::value,
                                          request("b", compute, 10));
  EXPECT_NE(after.grant_id, before.grant_id);
  EXPECT_NE(incarnation_of(after.grant_id), incarnation_of(before.grant_id));
  // The stale id releases nothing: b keeps its grant.
  EXPECT_TRUE(fails_with(
      ask<ReleaseReceipt>(fresh[compute], release_atom::value, before.grant_id),
      ec::unknown_grant));
  EXPECT_EQ(ask_ok<float>(fresh[compute], holding_atom::value, "b"), 10.0f);
  // Ids of different pools differ too.
  auto other = ask_ok<ResourceAllocation>(pools_[io], allocate_atom::value,
                                          request("c", io, 1));
  EXPECT_NE(incarnation_of(other.grant_id), incarnation_of(after.grant_id));
}

TEST_F(ManagerFixture, ABundleIdFromBeforeTheCoordinatorsReplacementIsUnknown) {
  BundleRequest r;
  r.requester_id = "a";
  r.items = {{compute, 10}, {io, 5}};
  auto before = ask_ok<BundleGrant>(bundles_, allocate_atom::value, r);
  caf::anon_send_exit(bundles_, caf::exit_reason::kill);
  run();
  auto fresh = ask_ok<bundle_actor>(manager_, bundles_atom::value);
  ASSERT_NE(fresh, bundles_);
  r.requester_id = "b";
  auto after = ask_ok<BundleGrant>(fresh, allocate_atom::value, r);
  EXPECT_NE(after.bundle_id, before.bundle_id);
  EXPECT_TRUE(fails_with(ask<std::vector<ReleaseReceipt>>(
                             fresh, release_atom::value, before.bundle_id),
                         ec::unknown_bundle));
  // b's bundle is intact.
  EXPECT_EQ(ask_ok<float>(pools_[compute], holding_atom::value, "b"), 10.0f);
  EXPECT_EQ(ask_ok<float>(pools_[io], holding_atom::value, "b"), 5.0f);
}

// -- 2. uncommitted legs are not the requester's
// -------------------------------

TEST_F(PoolFixture, ReleaseByNameLeavesAPreparedBundleLegAlone) {
  // "r" holds 5 of its own, and a bundle attempt has prepared a leg of 20.
  ASSERT_TRUE(allocate(req("r", 5)));
  auto leg = prepare(req("r", 20));
  ASSERT_NE(leg.grant_id, 0u);
  // r releases by name what it holds: only its own 5 can go.
  EXPECT_TRUE(fails_with(ask<ReleaseReceipt>(pool_, release_atom::value,
                                             std::string{"r"}, 20.0f,
                                             ReleaseMode::exact),
                         ec::release_exceeds_holding));
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, "r"), 5.0f);
  auto receipt =
      ask_ok<ReleaseReceipt>(pool_, release_atom::value, std::string{"r"},
                             20.0f, ReleaseMode::up_to_held);
  EXPECT_EQ(receipt.released_amount, 5.0f);
  // The leg is whole; with nothing else held, a release finds nothing.
  expect_ledger(u(20), 0);
  EXPECT_TRUE(fails_with(ask<ReleaseReceipt>(pool_, release_atom::value,
                                             std::string{"r"}, 1.0f,
                                             ReleaseMode::up_to_held),
                         ec::nothing_held));
  // Nor can it be released or renewed by its id before the commit.
  EXPECT_TRUE(
      fails_with(ask<ReleaseReceipt>(pool_, release_atom::value, leg.grant_id),
                 ec::unknown_grant));
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pool_, renew_atom::value, leg.grant_id,
                                         std::chrono::nanoseconds{1s}),
                 ec::unknown_grant));
  expect_ledger(u(20), 0);
  // Once committed it is r's like any grant (here the test is its holder).
  EXPECT_EQ(ask_ok<GrantId>(pool_, commit_atom::value, leg.grant_id,
                            caf::actor_cast<caf::actor>(self)),
            leg.grant_id);
  EXPECT_EQ(ask_ok<float>(pool_, holding_atom::value, "r"), 20.0f);
  auto back = ask_ok<ReleaseReceipt>(pool_, release_atom::value, leg.grant_id);
  EXPECT_EQ(back.released_amount, 20.0f);
  expect_ledger(0, 0);
}

TEST_F(ManagerFixture, ABundleRacingAReleaseByNameStaysWhole) {
  // r holds 5 computational; its bundle (computational 20 + io 10) is
  // granted while r releases "everything" by name in the same burst.
  ASSERT_TRUE(ask<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                      request("r", compute, 5)));
  BundleRequest b;
  b.requester_id = "r";
  b.items = {{compute, 20}, {io, 10}};
  auto bundle = self->request(bundles_, caf::infinite, allocate_atom::value, b);
  // One step: the coordinator sends its legs (prepare_atom). The release
  // then lands between prepare and commit at the computational pool.
  ASSERT_TRUE(sched.try_run_once());
  auto release =
      self->request(pools_[compute], caf::infinite, release_atom::value,
                    std::string{"r"}, 100.0f, ReleaseMode::up_to_held);
  run();
  float released = -1;
  release.receive([&](ReleaseReceipt& x) { released = x.released_amount; },
                  [&](caf::error& e) { ADD_FAILURE() << describe(e); });
  BundleGrant grant;
  bundle.receive([&](BundleGrant& g) { grant = std::move(g); },
                 [&](caf::error& e) { ADD_FAILURE() << describe(e); });
  ASSERT_NE(grant.bundle_id, 0u);
  // The release took r's own 5, not a leg of the bundle.
  EXPECT_EQ(released, 5.0f);
  // Whatever the release took, it was not a leg of the bundle.
  EXPECT_EQ(ask_ok<float>(pools_[compute], holding_atom::value, "r"), 20.0f);
  EXPECT_EQ(ask_ok<float>(pools_[io], holding_atom::value, "r"), 10.0f);
}

// -- 3. prepared legs are not preemptable until committed
// ----------------------

TEST_F(PoolFixture,
       APreparedLegIsPreemptedOnlyOnceCommittedAndItsHolderIsTold) {
  auto low = req("low", 60, Priority::LOW);
  low.preemptable = true;
  auto leg = prepare(low);
  ASSERT_NE(leg.grant_id, 0u);
  // A HIGH request waits for 80: the only candidate is the uncommitted leg.
  auto high = req("high", 80, Priority::HIGH);
  high.deadline = 5s;
  auto [asker, asker_log] = spawn_holder(high);
  EXPECT_TRUE(asker_log->grants.empty());
  // Nobody was told anything: the coordinator (the test) got no notice.
  EXPECT_FALSE(has_reply());
  // The leg is committed to its holder: now it is preempted, with notice to
  // that holder.
  auto [owner, owner_log] = spawn_holder(req("low", 0));
  EXPECT_EQ(ask_ok<GrantId>(pool_, commit_atom::value, leg.grant_id, owner),
            leg.grant_id);
  ASSERT_EQ(owner_log->notices.size(), 1u);
  EXPECT_EQ(owner_log->notices[0].grant_id, leg.grant_id);
  EXPECT_EQ(owner_log->notices[0].reason, RevokeReason::preempted);
  EXPECT_FALSE(has_reply());
  // After the grace period the asker has its grant.
  advance(200ms);
  ASSERT_EQ(asker_log->grants.size(), 1u);
  EXPECT_EQ(asker_log->grants[0].allocated_amount, 80.0f);
  expect_ledger(u(80), 0);
}

TEST_F(PoolFixture, APreparedLegsTimeToLiveStartsAtTheCommit) {
  auto r = req("r", 10);
  r.ttl = 100ms;
  auto leg = prepare(r);
  // The attempt takes longer than the time-to-live: the leg stays.
  advance(150ms);
  expect_ledger(u(10), 0);
  auto [owner, log] = spawn_holder(req("r", 0));
  EXPECT_EQ(ask_ok<GrantId>(pool_, commit_atom::value, leg.grant_id, owner),
            leg.grant_id);
  advance(99ms);
  expect_ledger(u(10), 0);
  advance(1ms);
  expect_ledger(0, 0);
  ASSERT_EQ(log->notices.size(), 1u);
  EXPECT_EQ(log->notices[0].reason, RevokeReason::expired);
}

// -- 5. durations at their limits
// --------------------------------------------------

TEST(Durations, CheckedInTheirOwnUnitAgainstTheMaximum) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::nanoseconds;
  EXPECT_FALSE(check_duration(nanoseconds{0}, "x"));
  EXPECT_TRUE(check_duration(nanoseconds{0}, "x", zero_duration::refused));
  EXPECT_FALSE(check_duration(max_duration, "x"));
  EXPECT_FALSE(check_duration(nanoseconds{max_duration}, "x"));
  EXPECT_TRUE(check_duration(nanoseconds{max_duration} + nanoseconds{1}, "x"));
  EXPECT_TRUE(check_duration(nanoseconds::max(), "x"));
  EXPECT_TRUE(check_duration(nanoseconds{-1}, "x"));
  // A count that would overflow if converted to nanoseconds first.
  auto err = check_duration(milliseconds::max(), "deadline");
  ASSERT_TRUE(is(err, ec::invalid_duration));
  EXPECT_EQ(context_of(err), "deadline of " +
                                 std::to_string(milliseconds::max().count()) +
                                 " ms is above the maximum of 10 years");
  EXPECT_TRUE(is(check_duration(milliseconds{18'446'744'073'710}, "deadline"),
                 ec::invalid_duration));
  EXPECT_TRUE(check_duration(hours::max(), "x"));
}

TEST(Durations, ClockArithmeticSaturates) {
  using clock = std::chrono::steady_clock;
  auto now = clock::now();
  EXPECT_EQ(saturating_add(now, std::chrono::nanoseconds::max()),
            clock::time_point::max());
  EXPECT_EQ(saturating_add(now, std::chrono::milliseconds::max()),
            clock::time_point::max());
  EXPECT_EQ(saturating_add(now, std::chrono::hours::max()),
            clock::time_point::max());
  EXPECT_EQ(saturating_add(clock::time_point::min() + std::chrono::seconds{1},
                           -std::chrono::seconds{2}),
            clock::time_point::min());
  EXPECT_EQ(saturating_add(now, std::chrono::milliseconds::min()),
            clock::time_point::min());
  EXPECT_EQ(saturating_add(now, std::chrono::milliseconds{5}),
            now + std::chrono::milliseconds{5});
  EXPECT_EQ(saturating_add(clock::time_point::max(), std::chrono::seconds{1}),
            clock::time_point::max());
}

TEST_F(PoolFixture, DurationsBeyondTheMaximumAreRefusedAndChangeNothing) {
  auto long_ttl = req("a", 10);
  long_ttl.ttl = std::chrono::nanoseconds::max();
  EXPECT_TRUE(fails_with(allocate(long_ttl), ec::invalid_duration));
  auto wrapped = req("a", 200); // does not fit: would wait
  wrapped.deadline = std::chrono::milliseconds{18'446'744'073'710};
  EXPECT_TRUE(fails_with(allocate(wrapped), ec::invalid_duration));
  auto longest = req("a", 200);
  longest.deadline = std::chrono::milliseconds::max();
  auto refused = allocate(longest);
  ASSERT_TRUE(fails_with(refused, ec::invalid_duration));
  EXPECT_EQ(context_of(refused.error()).find("negative"), std::string::npos);
  EXPECT_TRUE(
      fails_with(ask<PoolStatus>(pool_, reserve_atom::value, std::string{"a"},
                                 1.0f, std::chrono::nanoseconds::max()),
                 ec::invalid_duration));
  expect_ledger(0, 0);
  EXPECT_EQ(status().waiting, 0u);
  // A renewal likewise, and the grant keeps its old time-to-live.
  auto r = req("a", 10);
  r.ttl = 1s;
  auto grant = allocate(r);
  ASSERT_TRUE(grant);
  EXPECT_TRUE(fails_with(
      ask<ResourceAllocation>(pool_, renew_atom::value, grant->grant_id,
                              std::chrono::nanoseconds::max()),
      ec::invalid_duration));
  EXPECT_TRUE(fails_with(ask<ResourceAllocation>(pool_, renew_atom::value,
                                                 grant->grant_id,
                                                 std::chrono::nanoseconds{0}),
                         ec::invalid_duration));
  advance(1s);
  expect_ledger(0, 0);
}

TEST_F(PoolFixture, TheLongestDurationsAreKeptNotWrapped) {
  // Ten years of time-to-live: still held after a day.
  auto r = req("a", 60);
  r.ttl = max_duration;
  auto grant = allocate(r);
  ASSERT_TRUE(grant);
  // Ten years of deadline: still waiting after a day, not failed at once.
  auto w = req("b", 60);
  w.deadline =
      std::chrono::duration_cast<std::chrono::milliseconds>(max_duration);
  auto waiting = self->request(pool_, caf::infinite, allocate_atom::value, w);
  run();
  EXPECT_FALSE(has_reply());
  advance(24h);
  EXPECT_FALSE(has_reply());
  expect_ledger(u(60), 0);
  EXPECT_EQ(status().waiting, 1u);
  // A renewal of ten years is accepted too.
  EXPECT_TRUE(ask<ResourceAllocation>(pool_, renew_atom::value, grant->grant_id,
                                      std::chrono::nanoseconds{max_duration}));
  advance(24h);
  expect_ledger(u(60), 0);
  // Releasing the holder's grant lets b in.
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value, std::string{"a"},
                                  60.0f, ReleaseMode::exact));
  ASSERT_TRUE(has_reply());
  waiting.receive(
      [](ResourceAllocation& a) { EXPECT_EQ(a.allocated_amount, 60.0f); },
      [](caf::error& e) { ADD_FAILURE() << describe(e); });
}

TEST_F(ManagerFixture, BundleDurationsBeyondTheMaximumAreRefused) {
  BundleRequest r;
  r.requester_id = "a";
  r.items = {{compute, 10}};
  r.deadline = std::chrono::nanoseconds::max();
  EXPECT_TRUE(fails_with(ask<BundleGrant>(bundles_, allocate_atom::value, r),
                         ec::invalid_duration));
  r.deadline = 0ns;
  r.ttl = std::chrono::nanoseconds::max();
  EXPECT_TRUE(fails_with(ask<BundleGrant>(bundles_, allocate_atom::value, r),
                         ec::invalid_duration));
  // Ten years of deadline on a bundle that does not fit: it waits.
  r.ttl = 0ns;
  r.items = {{compute, 1000}};
  EXPECT_TRUE(fails_with(ask<BundleGrant>(bundles_, allocate_atom::value, r),
                         ec::exceeds_capacity));
  r.items = {{compute, 100}};
  ASSERT_TRUE(ask<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                      request("x", compute, 1)));
  r.deadline = max_duration;
  self->request(bundles_, caf::infinite, allocate_atom::value, r);
  run();
  advance(24h);
  EXPECT_FALSE(has_reply());
  EXPECT_EQ(ask_ok<BundleStats>(bundles_, stats_atom::value).waiting, 1u);
}

TEST_F(ManagerFixture, ATaskDeadlineBeyondTheMaximumIsRefused) {
  auto sub = ask_ok<Subsystems>(manager_, subsystems_atom::value);
  auto scheduler = sub.scheduler;
  TaskSubmission s;
  s.task_id = "far";
  s.body = [] {};
  s.has_deadline = true;
  s.deadline = caf::timespan::max();
  EXPECT_TRUE(fails_with(
      ask<TaskReceipt>(scheduler, schedule_atom::value, std::move(s)),
      ec::invalid_duration));
  // The seed's conversion of a far-past deadline does not wrap to the future.
  ScheduledTask past;
  past.task_id = "past";
  past.deadline = std::chrono::high_resolution_clock::time_point::min();
  past.task_function = [] {};
  auto converted = to_submission(past);
  EXPECT_TRUE(converted.has_deadline);
  EXPECT_LE(converted.deadline.count(), 0);
}

TEST(FacadeDurations, DeadlinesBeyondTheMaximumAreRefusedAtOnce) {
  ResourceManager manager;
  BundleRequest b;
  b.requester_id = "a";
  b.items = {{compute, 1}};
  b.deadline = std::chrono::nanoseconds::max();
  auto bundle = manager.try_allocate_bundle(b);
  ASSERT_FALSE(bundle);
  EXPECT_TRUE(is(bundle.error(), ec::invalid_duration))
      << describe(bundle.error());
  ResourceRequest r{"a", compute, Priority::NORMAL, 1.0f,
                    std::chrono::milliseconds::max()};
  auto grant = manager.try_allocate_resource(r);
  ASSERT_FALSE(grant);
  EXPECT_TRUE(is(grant.error(), ec::invalid_duration))
      << describe(grant.error());
  EXPECT_EQ(manager.get_available_resources(compute), 100.0f);
}

// -- 9. reservations are tied to their maker
// ----------------------------------------

TEST_F(PoolFixture, AReservationEndsWithTheActorThatMadeIt) {
  auto log = std::make_shared<Log>();
  auto maker = sys.spawn(reserver, pool_, std::string{"r"}, 30.0f, 0ns, log);
  run();
  ASSERT_TRUE(log->errors.empty());
  expect_ledger(0, u(30));
  caf::anon_send_exit(maker, caf::exit_reason::user_shutdown);
  run();
  expect_ledger(0, 0);
  // One made by the test (alive) stays; so does r's own grant made later.
  ASSERT_TRUE(
      ask<PoolStatus>(pool_, reserve_atom::value, std::string{"r"}, 10.0f));
  auto maker2 = sys.spawn(reserver, pool_, std::string{"r"}, 5.0f, 0ns, log);
  run();
  expect_ledger(0, u(15));
  caf::anon_send_exit(maker2, caf::exit_reason::user_shutdown);
  run();
  expect_ledger(0, u(10));
}
