// Deterministic message scripts against one pool actor: the seed's allocation
// semantics, releases, reservations, capacity changes, reset and statistics.
#include "fixture.hpp"

#include "actors/pool.hpp"

using namespace rros;
using namespace rros::test;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;

class PoolTest : public DeterministicFixture {
public:
  PoolTest() {
    pool_ = sys.spawn(rros::pool, compute, 100.0, PoolPolicy{});
    run();
  }

  caf::expected<ResourceAllocation> allocate(const std::string& who,
                                             float amount,
                                             Priority prio = Priority::NORMAL) {
    return ask<ResourceAllocation>(pool_, allocate_atom::value,
                                   request(who, compute, amount, prio));
  }

  caf::expected<ReleaseReceipt> release(const std::string& who, float amount,
                                        ReleaseMode mode = ReleaseMode::exact) {
    return ask<ReleaseReceipt>(pool_, release_atom::value, who, amount, mode);
  }

  PoolStatus status() {
    return ask_ok<PoolStatus>(pool_, status_atom::value);
  }

  ResourceStats stats() {
    return ask_ok<ResourceStats>(pool_, stats_atom::value);
  }

  ~PoolTest() override {
    caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
    run();
  }

  pool_actor pool_;
};

void expect_ledger(const PoolStatus& s, units held, units reserved) {
  EXPECT_EQ(s.held, held);
  EXPECT_EQ(s.reserved, reserved);
  EXPECT_EQ(s.available, s.capacity - held - reserved);
  EXPECT_EQ(s.capacity, s.held + s.reserved + s.available);
}

} // namespace

TEST_F(PoolTest, GrantsInFullWhenTheRequestFits) {
  // vision asks for 25 of 100: granted in full.
  auto grant = allocate("vision", 25.0f, Priority::HIGH);
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_TRUE(grant->fully_satisfied);
  EXPECT_FLOAT_EQ(grant->allocated_amount, 25.0f);
  EXPECT_EQ(grant->requester_id, "vision");
  EXPECT_EQ(grant->resource_type, compute);
  expect_ledger(status(), 25 * units_per_amount, 0);
  EXPECT_FLOAT_EQ(
      ask_ok<float>(pool_, holding_atom::value, std::string{"vision"}), 25.0f);
}

TEST_F(PoolTest, CriticalRequestThatDoesNotFitGetsWhatIsLeft) {
  ASSERT_TRUE(allocate("background", 70.0f, Priority::LOW));
  // A CRITICAL request for 50 finds 30 left and takes them.
  auto grant = allocate("safety", 50.0f, Priority::CRITICAL);
  ASSERT_TRUE(grant);
  EXPECT_FALSE(grant->fully_satisfied);
  EXPECT_FLOAT_EQ(grant->allocated_amount, 30.0f);
  expect_ledger(status(), 100 * units_per_amount, 0);
  // With nothing left even CRITICAL is refused, and the refusal is counted.
  EXPECT_TRUE(fails_with(allocate("safety", 1.0f, Priority::CRITICAL),
                         ec::insufficient_resources));
  EXPECT_EQ(stats().rejection_count, 1u);
}

TEST_F(PoolTest, NonCriticalRequestThatDoesNotFitIsRefusedAndCounted) {
  ASSERT_TRUE(allocate("reasoning", 80.0f));
  for (auto prio :
       {Priority::HIGH, Priority::NORMAL, Priority::LOW, Priority::IDLE})
    EXPECT_TRUE(
        fails_with(allocate("audio", 30.0f, prio), ec::insufficient_resources));
  expect_ledger(status(), 80 * units_per_amount, 0);
  auto s = stats();
  EXPECT_EQ(s.allocation_count, 1u);
  EXPECT_EQ(s.rejection_count, 4u);
}

TEST_F(PoolTest, TenGrantsOfOneTenthFillACapacityOfOneExactly) {
  auto small =
      sys.spawn(rros::pool, ResourceType::ATTENTION, 1.0, PoolPolicy{});
  for (int i = 0; i < 10; ++i) {
    auto grant = ask<ResourceAllocation>(
        small, allocate_atom::value,
        request("focus" + std::to_string(i), ResourceType::ATTENTION, 0.1f));
    ASSERT_TRUE(grant) << "grant " << i << ": " << describe(grant.error());
    EXPECT_TRUE(grant->fully_satisfied);
  }
  auto s = ask_ok<PoolStatus>(small, status_atom::value);
  EXPECT_EQ(s.available, 0);
  EXPECT_EQ(s.held, s.capacity);
  // The eleventh finds nothing left.
  EXPECT_TRUE(fails_with(
      ask<ResourceAllocation>(small, allocate_atom::value,
                              request("late", ResourceType::ATTENTION, 0.1f)),
      ec::insufficient_resources));
  caf::anon_send_exit(small, caf::exit_reason::user_shutdown);
}

TEST_F(PoolTest, AMillionAlternatingGrantsAndReleasesEndExactlyAtCapacity) {
  // Fire-and-forget in batches: each grant of 0.1 is followed by its release.
  constexpr int total = 1'000'000;
  constexpr int batch = 20'000;
  for (int done = 0; done < total; done += batch) {
    for (int i = 0; i < batch; ++i) {
      caf::anon_send(pool_, allocate_atom::value,
                     request("cycler", compute, 0.1f));
      caf::anon_send(pool_, release_atom::value, std::string{"cycler"}, 0.1f,
                     ReleaseMode::exact);
    }
    run();
  }
  auto s = status();
  expect_ledger(s, 0, 0);
  EXPECT_EQ(s.available, 100 * units_per_amount);
  EXPECT_EQ(s.holders, 0u);
  auto st = stats();
  EXPECT_EQ(st.allocation_count, static_cast<std::uint64_t>(total));
  EXPECT_EQ(st.rejection_count, 0u);
  EXPECT_FLOAT_EQ(st.current_usage, 0.0f);
}

TEST_F(PoolTest, ReleaseGivesBackExactlyOrUpToWhatIsHeld) {
  ASSERT_TRUE(allocate("audio", 20.0f));
  auto receipt = release("audio", 5.0f);
  ASSERT_TRUE(receipt);
  EXPECT_FLOAT_EQ(receipt->released_amount, 5.0f);
  EXPECT_FLOAT_EQ(receipt->still_held, 15.0f);
  // Exact mode refuses more than is held and changes nothing.
  EXPECT_TRUE(fails_with(release("audio", 16.0f), ec::release_exceeds_holding));
  expect_ledger(status(), 15 * units_per_amount, 0);
  // The seed's mode returns at most what is held.
  receipt = release("audio", 16.0f, ReleaseMode::up_to_held);
  ASSERT_TRUE(receipt);
  EXPECT_FLOAT_EQ(receipt->released_amount, 15.0f);
  EXPECT_FLOAT_EQ(receipt->still_held, 0.0f);
  expect_ledger(status(), 0, 0);
  // Nothing is held any more: a second release is refused in either mode.
  EXPECT_TRUE(fails_with(release("audio", 1.0f), ec::nothing_held));
  EXPECT_TRUE(fails_with(release("audio", 1.0f, ReleaseMode::up_to_held),
                         ec::nothing_held));
  EXPECT_TRUE(fails_with(release("never-held", 1.0f), ec::nothing_held));
}

TEST_F(PoolTest, ReservationIsUnavailableToOthersAndUsedFirstByItsOwner) {
  auto reserved = ask<PoolStatus>(pool_, reserve_atom::value,
                                  std::string{"planner"}, 40.0f);
  ASSERT_TRUE(reserved);
  expect_ledger(*reserved, 0, 40 * units_per_amount);
  // Others see only 60.
  EXPECT_TRUE(
      fails_with(allocate("vision", 61.0f), ec::insufficient_resources));
  ASSERT_TRUE(allocate("vision", 60.0f));
  // The owner's grant comes out of its reservation first.
  auto grant = allocate("planner", 30.0f);
  ASSERT_TRUE(grant);
  EXPECT_TRUE(grant->fully_satisfied);
  expect_ledger(status(), 90 * units_per_amount, 10 * units_per_amount);
  // Cancelling returns the unused rest.
  auto returned =
      ask<float>(pool_, unreserve_atom::value, std::string{"planner"});
  ASSERT_TRUE(returned);
  EXPECT_FLOAT_EQ(*returned, 10.0f);
  expect_ledger(status(), 90 * units_per_amount, 0);
  EXPECT_TRUE(fails_with(
      ask<float>(pool_, unreserve_atom::value, std::string{"planner"}),
      ec::nothing_held));
  // A reservation is never partial.
  EXPECT_TRUE(fails_with(
      ask<PoolStatus>(pool_, reserve_atom::value, std::string{"x"}, 11.0f),
      ec::insufficient_resources));
}

TEST_F(PoolTest, CapacityChangesAdjustAvailabilityButNeverDropBelowUsage) {
  ASSERT_TRUE(allocate("vision", 60.0f));
  auto grown = ask<PoolStatus>(pool_, capacity_atom::value, 150.0);
  ASSERT_TRUE(grown);
  EXPECT_EQ(grown->available, 90 * units_per_amount);
  auto shrunk = ask<PoolStatus>(pool_, capacity_atom::value, 60.0);
  ASSERT_TRUE(shrunk);
  EXPECT_EQ(shrunk->available, 0);
  EXPECT_TRUE(fails_with(ask<PoolStatus>(pool_, capacity_atom::value, 59.0),
                         ec::capacity_below_usage));
  for (double bad : {0.0, -1.0, std::nan(""), HUGE_VAL, 2e12})
    EXPECT_TRUE(fails_with(ask<PoolStatus>(pool_, capacity_atom::value, bad),
                           ec::invalid_config_value))
        << bad;
  auto s = status();
  EXPECT_EQ(s.capacity, 60 * units_per_amount);
  expect_ledger(s, 60 * units_per_amount, 0);
}

TEST_F(PoolTest, ResetReturnsToTheInitialState) {
  ASSERT_TRUE(allocate("vision", 60.0f));
  ASSERT_TRUE(
      ask<PoolStatus>(pool_, reserve_atom::value, std::string{"p"}, 10.0f));
  EXPECT_FALSE(allocate("audio", 90.0f));
  auto after = ask_ok<PoolStatus>(pool_, reset_atom::value);
  expect_ledger(after, 0, 0);
  EXPECT_EQ(after.holders, 0u);
  auto s = stats();
  EXPECT_EQ(s.allocation_count, 0u);
  EXPECT_EQ(s.rejection_count, 0u);
  EXPECT_FLOAT_EQ(s.peak_usage, 0.0f);
  EXPECT_FLOAT_EQ(
      ask_ok<float>(pool_, holding_atom::value, std::string{"vision"}), 0.0f);
}

TEST_F(PoolTest, StatisticsTrackPeakAndTimeWeightedAverageOnTheVirtualClock) {
  // 0..10 s: 50 held; 10..20 s: 100 held; 20..40 s: nothing held.
  ASSERT_TRUE(allocate("a", 50.0f));
  advance(std::chrono::seconds(10));
  ASSERT_TRUE(allocate("b", 50.0f));
  advance(std::chrono::seconds(10));
  ASSERT_TRUE(release("a", 50.0f));
  ASSERT_TRUE(release("b", 50.0f));
  advance(std::chrono::seconds(20));
  auto s = stats();
  EXPECT_FLOAT_EQ(s.total_capacity, 100.0f);
  EXPECT_FLOAT_EQ(s.current_usage, 0.0f);
  EXPECT_FLOAT_EQ(s.peak_usage, 100.0f);
  // (50 * 10 + 100 * 10 + 0 * 20) / 40 = 37.5
  EXPECT_NEAR(s.average_usage, 37.5f, 1e-4);
  EXPECT_EQ(s.allocation_count, 2u);
  EXPECT_GT(s.avg_allocation_time.count(), 0);
}

// -- bad input: each gets its error and leaves ledger and statistics as they
// were

TEST_F(PoolTest, BadAmountsAreRefusedAndChangeNothing) {
  ASSERT_TRUE(allocate("vision", 10.0f));
  auto before = status();
  auto stats_before = stats();
  struct Case {
    float amount;
    ec code;
  };
  const Case cases[] = {
      {std::nanf(""), ec::invalid_amount},
      {HUGE_VALF, ec::invalid_amount},
      {-HUGE_VALF, ec::invalid_amount},
      {-5.0f, ec::invalid_amount},
      {0.0f, ec::invalid_amount},
      {1e-9f, ec::invalid_amount}, // below the ledger's resolution
      {2e12f, ec::amount_too_large},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(fails_with(allocate("vision", c.amount), c.code)) << c.amount;
    EXPECT_TRUE(
        fails_with(allocate("vision", c.amount, Priority::CRITICAL), c.code))
        << c.amount;
    EXPECT_TRUE(fails_with(release("vision", c.amount), c.code)) << c.amount;
    EXPECT_TRUE(fails_with(ask<PoolStatus>(pool_, reserve_atom::value,
                                           std::string{"vision"}, c.amount),
                           c.code))
        << c.amount;
  }
  auto after = status();
  EXPECT_EQ(after.held, before.held);
  EXPECT_EQ(after.reserved, before.reserved);
  EXPECT_EQ(after.available, before.available);
  auto stats_after = stats();
  EXPECT_EQ(stats_after.allocation_count, stats_before.allocation_count);
  EXPECT_EQ(stats_after.rejection_count, stats_before.rejection_count);
}

TEST_F(PoolTest, AboveCapacityIsRefusedForEveryPriorityAndCounted) {
  for (auto prio : {Priority::CRITICAL, Priority::HIGH, Priority::IDLE})
    EXPECT_TRUE(
        fails_with(allocate("greedy", 100.5f, prio), ec::exceeds_capacity));
  expect_ledger(status(), 0, 0);
  EXPECT_EQ(stats().rejection_count, 3u);
}

TEST_F(PoolTest, BadRequestersTypesAndPrioritiesAreRefused) {
  EXPECT_TRUE(fails_with(allocate("", 1.0f), ec::empty_requester));
  EXPECT_TRUE(fails_with(release("", 1.0f), ec::empty_requester));
  EXPECT_TRUE(fails_with(
      ask<PoolStatus>(pool_, reserve_atom::value, std::string{}, 1.0f),
      ec::empty_requester));
  auto req = request("vision", compute, 1.0f);
  req.resource_type = static_cast<ResourceType>(9);
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pool_, allocate_atom::value, req),
                 ec::unknown_resource_type));
  req.resource_type = ResourceType::MEMORY; // a real type, but the wrong pool
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pool_, allocate_atom::value, req),
                 ec::unknown_resource_type));
  req = request("vision", compute, 1.0f);
  req.priority = static_cast<Priority>(7);
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pool_, allocate_atom::value, req),
                 ec::invalid_priority));
  expect_ledger(status(), 0, 0);
  auto s = stats();
  EXPECT_EQ(s.allocation_count, 0u);
  EXPECT_EQ(s.rejection_count, 0u);
}
