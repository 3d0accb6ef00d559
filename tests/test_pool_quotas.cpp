// Deterministic message scripts for quotas (maximum refused at once,
// guaranteed minimum withheld from others) and weighted fair share among
// waiting requests of equal priority.
#include "fixture.hpp"

#include "actors/pool.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;

class QuotaTest : public DeterministicFixture {
public:
  QuotaTest() {
    pool_ = sys.spawn(rros::pool, compute, 100.0, PoolPolicy{});
    run();
  }

  ~QuotaTest() override {
    caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
    run();
  }

  caf::expected<Quota> set(Quota q) {
    return ask<Quota>(pool_, quota_atom::value, std::move(q));
  }

  caf::expected<ResourceAllocation>
  allocate(const std::string& who, float amount,
           std::chrono::milliseconds deadline = {}) {
    auto r = request(who, compute, amount);
    r.deadline = deadline;
    return ask<ResourceAllocation>(pool_, allocate_atom::value, r);
  }

  float holding(const std::string& who) {
    return ask_ok<float>(pool_, holding_atom::value, who);
  }

  pool_actor pool_;
};

} // namespace

TEST_F(QuotaTest, ARequestAboveTheGroupMaximumIsRefusedAtOnce) {
  ASSERT_TRUE(set({"perception", {"vision", "audio"}, 0, 30, 1}));
  ASSERT_TRUE(allocate("vision", 20));
  // audio is in the same group: 20 + 15 > 30, refused even with a deadline.
  EXPECT_TRUE(fails_with(allocate("audio", 15, 5000ms), ec::exceeds_quota));
  ASSERT_TRUE(allocate("audio", 10));
  EXPECT_TRUE(fails_with(allocate("vision", 1), ec::exceeds_quota));
  // Outside the group nothing changes.
  ASSERT_TRUE(allocate("reasoning", 70));
  auto s = ask_ok<ResourceStats>(pool_, stats_atom::value);
  EXPECT_EQ(s.rejection_count, 2u);
  // Releasing makes room within the maximum again.
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"vision"}, 20.0f,
                                  ReleaseMode::exact));
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"reasoning"}, 70.0f,
                                  ReleaseMode::exact));
  EXPECT_TRUE(allocate("vision", 20));
}

TEST_F(QuotaTest, AGuaranteedMinimumCannotBeTakenByOthers) {
  ASSERT_TRUE(set({"safety", {}, 40, 0, 1})); // a group of one: "safety"
  // Others see 60, not 100.
  EXPECT_TRUE(fails_with(allocate("bulk", 61), ec::insufficient_resources));
  ASSERT_TRUE(allocate("bulk", 60));
  EXPECT_TRUE(fails_with(
      ask<PoolStatus>(pool_, reserve_atom::value, std::string{"planner"}, 1.0f),
      ec::insufficient_resources));
  // The owner gets its guarantee whenever it asks.
  ASSERT_TRUE(allocate("safety", 25));
  ASSERT_TRUE(allocate("safety", 15));
  EXPECT_FLOAT_EQ(holding("safety"), 40.0f);
  auto s = ask_ok<PoolStatus>(pool_, status_atom::value);
  EXPECT_EQ(s.available, 0);
  EXPECT_EQ(s.capacity, s.held + s.reserved + s.available);
}

TEST_F(QuotaTest, UsedGuaranteeIsNoLongerWithheld) {
  ASSERT_TRUE(set({"safety", {}, 40, 0, 1}));
  ASSERT_TRUE(allocate("safety", 30)); // 10 of the guarantee unused
  EXPECT_TRUE(fails_with(allocate("bulk", 61), ec::insufficient_resources));
  EXPECT_TRUE(allocate("bulk", 60));
}

TEST_F(QuotaTest, ContendedCapacityGoesToTheSmallerWeightedShareFirst) {
  ASSERT_TRUE(allocate("bulk", 50));
  ASSERT_TRUE(allocate("a", 30));
  ASSERT_TRUE(allocate("b", 20));
  // a holds 30 with weight 3 (share 10), b holds 20 with weight 1 (share 20).
  ASSERT_TRUE(set({"a", {}, 0, 0, 3}));
  auto ha = send_request(pool_, allocate_atom::value, [] {
    auto r = request("a", compute, 10);
    r.deadline = 5s;
    return r;
  }());
  auto hb = send_request(pool_, allocate_atom::value, [] {
    auto r = request("b", compute, 10);
    r.deadline = 4s; // earlier deadline, larger share
    return r;
  }());
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"bulk"}, 10.0f,
                                  ReleaseMode::exact));
  EXPECT_FLOAT_EQ(holding("a"), 40.0f);
  EXPECT_FLOAT_EQ(holding("b"), 20.0f);
  EXPECT_TRUE(reply_of<ResourceAllocation>(ha));
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value,
                                  std::string{"bulk"}, 10.0f,
                                  ReleaseMode::exact));
  EXPECT_TRUE(reply_of<ResourceAllocation>(hb));
}

TEST_F(QuotaTest, BadQuotasAreRefusedAndChangeNothing) {
  ASSERT_TRUE(set({"perception", {"vision"}, 10, 50, 1}));
  EXPECT_TRUE(
      fails_with(set({"x", {}, 20, 10, 1}), ec::invalid_quota)); // min > max
  EXPECT_TRUE(
      fails_with(set({"x", {}, -1, 10, 1}), ec::invalid_quota)); // negative
  EXPECT_TRUE(
      fails_with(set({"x", {}, 1, 10, 0}), ec::invalid_quota)); // weight 0
  EXPECT_TRUE(
      fails_with(set({"x", {}, std::nanf(""), 10, 1}), ec::invalid_quota));
  EXPECT_TRUE(
      fails_with(set({"x", {}, 95, 0, 1}), ec::invalid_quota)); // 10 + 95 > 100
  EXPECT_TRUE(fails_with(set({"", {}, 1, 2, 1}), ec::invalid_quota)); // no name
  EXPECT_TRUE(
      fails_with(set({"other", {"vision"}, 0, 5, 1}), ec::invalid_quota));
  // The first quota still holds exactly as set.
  EXPECT_TRUE(fails_with(allocate("vision", 51), ec::exceeds_quota));
  EXPECT_TRUE(fails_with(allocate("bulk", 91), ec::insufficient_resources));
  EXPECT_TRUE(allocate("bulk", 90));
  // Removing it lifts both limits.
  ASSERT_TRUE(set({"perception", {}, 0, 0, 1}));
  EXPECT_TRUE(allocate("vision", 10));
}
