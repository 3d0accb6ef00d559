// Deterministic message scripts for the pool's listing (holders_atom, behind
// `rros status --holders`): who holds what with which grants, the waiting
// requests in serving order with their waits and deadlines, the quotas with
// their use; the listing changes nothing and crosses the wire intact.
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "actors/pool.hpp"
#include "fixture.hpp"
#include "messages/validate.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;

class PoolHoldersTest : public DeterministicFixture {
public:
  PoolHoldersTest() {
    pool_ = sys.spawn(rros::pool, compute, 100.0, PoolPolicy{});
    run();
  }

  ~PoolHoldersTest() override {
    caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
    run();
  }

  GrantId grant(const std::string& who, float amount) {
    return ask_ok<ResourceAllocation>(pool_, allocate_atom::value,
                                      request(who, compute, amount))
        .grant_id;
  }

  PoolHolders listing() {
    return ask_ok<PoolHolders>(pool_, holders_atom::value);
  }

  pool_actor pool_;
};

} // namespace

TEST_F(PoolHoldersTest, AnEmptyPoolListsNothing) {
  auto l = listing();
  EXPECT_EQ(l.type, compute);
  EXPECT_TRUE(l.holders.empty());
  EXPECT_TRUE(l.waiting.empty());
  EXPECT_TRUE(l.quotas.empty());
}

TEST_F(PoolHoldersTest, HoldersLargestFirstWithTheirGrantsAndReservations) {
  auto v1 = grant("vision", 10);
  auto a1 = grant("audio", 50);
  auto v2 = grant("vision", 20);
  ASSERT_TRUE(
      ask<PoolStatus>(pool_, reserve_atom::value, std::string{"memo"}, 5.0f));
  auto l = listing();
  ASSERT_EQ(l.holders.size(), 3u);
  EXPECT_EQ(l.holders[0].requester, "audio");
  EXPECT_EQ(l.holders[0].held, to_units(50));
  EXPECT_EQ(l.holders[0].grants, std::vector<GrantId>{a1});
  EXPECT_EQ(l.holders[1].requester, "vision");
  EXPECT_EQ(l.holders[1].held, to_units(30));
  EXPECT_EQ(l.holders[1].reserved, 0);
  EXPECT_EQ(l.holders[1].grants, (std::vector<GrantId>{v1, v2}));
  EXPECT_EQ(l.holders[2].requester, "memo");
  EXPECT_EQ(l.holders[2].held, 0);
  EXPECT_EQ(l.holders[2].reserved, to_units(5));
  EXPECT_TRUE(l.holders[2].grants.empty());

  // A release shows at once; a holder that holds nothing more is gone.
  ASSERT_TRUE(ask<ReleaseReceipt>(pool_, release_atom::value, a1));
  l = listing();
  ASSERT_EQ(l.holders.size(), 2u);
  EXPECT_EQ(l.holders[0].requester, "vision");
}

TEST_F(PoolHoldersTest, WaitingRequestsInServingOrderWithWaitAndDeadline) {
  grant("audio", 90);
  auto low = request("indexer", compute, 30, Priority::LOW);
  low.deadline = 10000ms;
  low.request_id = 8;
  auto high = request("reasoning", compute, 40, Priority::HIGH);
  high.deadline = 5000ms;
  high.request_id = 7;
  auto low_reply = send_request(pool_, allocate_atom::value, low);
  auto high_reply = send_request(pool_, allocate_atom::value, high);
  EXPECT_FALSE(has_reply());
  advance(2s);

  auto l = listing();
  ASSERT_EQ(l.waiting.size(), 2u);
  // HIGH is served first although it came second.
  EXPECT_EQ(l.waiting[0].requester, "reasoning");
  EXPECT_EQ(l.waiting[0].request_id, 7u);
  EXPECT_EQ(l.waiting[0].priority, Priority::HIGH);
  EXPECT_EQ(l.waiting[0].amount, to_units(40));
  EXPECT_EQ(l.waiting[0].waited, 2s);
  EXPECT_EQ(l.waiting[0].deadline_in, 3s);
  EXPECT_EQ(l.waiting[1].requester, "indexer");
  EXPECT_EQ(l.waiting[1].priority, Priority::LOW);
  EXPECT_EQ(l.waiting[1].deadline_in, 8s);

  // Cancelled: it leaves the listing (and its asker hears `cancelled`).
  auto cancelled = send_request(pool_, cancel_atom::value,
                                std::string{"indexer"}, std::uint64_t{8});
  EXPECT_TRUE(
      fails_with(reply_of<ResourceAllocation>(low_reply), ec::cancelled));
  EXPECT_TRUE(reply_of<bool>(cancelled));
  l = listing();
  ASSERT_EQ(l.waiting.size(), 1u);
  EXPECT_EQ(l.waiting[0].requester, "reasoning");
  // The other runs out at its deadline and leaves the listing too.
  advance(3s);
  EXPECT_TRUE(fails_with(reply_of<ResourceAllocation>(high_reply),
                         ec::deadline_expired));
  EXPECT_TRUE(listing().waiting.empty());
}

TEST_F(PoolHoldersTest, QuotasWithWhatTheirGroupUses) {
  ASSERT_TRUE(ask<Quota>(pool_, quota_atom::value,
                         Quota{"batch", {"indexer", "backup"}, 10, 60, 2}));
  ASSERT_TRUE(
      ask<Quota>(pool_, quota_atom::value, Quota{"archive", {}, 0, 20, 1}));
  grant("indexer", 15);
  grant("backup", 5);
  grant("vision", 30);
  auto l = listing();
  ASSERT_EQ(l.quotas.size(), 2u);
  // By name.
  EXPECT_EQ(l.quotas[0].quota.name, "archive");
  EXPECT_EQ(l.quotas[0].used, 0);
  EXPECT_EQ(l.quotas[0].quota.max, 20.0f);
  EXPECT_EQ(l.quotas[1].quota.name, "batch");
  EXPECT_EQ(l.quotas[1].used, to_units(20));
  EXPECT_EQ(l.quotas[1].quota.min, 10.0f);
  EXPECT_EQ(l.quotas[1].quota.max, 60.0f);
  EXPECT_EQ(l.quotas[1].quota.weight, 2.0f);
  EXPECT_EQ(l.quotas[1].quota.members,
            (std::vector<std::string>{"indexer", "backup"}));
}

TEST_F(PoolHoldersTest, TheListingChangesNothing) {
  grant("vision", 25);
  auto before = ask_ok<PoolStatus>(pool_, status_atom::value);
  auto stats_before = ask_ok<ResourceStats>(pool_, stats_atom::value);
  listing();
  listing();
  auto after = ask_ok<PoolStatus>(pool_, status_atom::value);
  auto stats_after = ask_ok<ResourceStats>(pool_, stats_atom::value);
  EXPECT_EQ(before.held, after.held);
  EXPECT_EQ(before.available, after.available);
  EXPECT_EQ(before.returns, after.returns);
  EXPECT_EQ(stats_before.allocation_count, stats_after.allocation_count);
}

TEST_F(PoolHoldersTest, TheListingSurvivesSerialization) {
  PoolHolders x;
  x.type = ResourceType::MEMORY;
  x.holders.push_back(HolderEntry{"vision", 7, 3, {1, 4}});
  x.waiting.push_back(WaitingEntry{"audio", 9, Priority::HIGH, 11, 2500ms, 1s});
  x.quotas.push_back(QuotaUsage{Quota{"batch", {"a", "b"}, 1, 2, 3}, 5});
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto message = caf::make_message(x);
  ASSERT_FALSE(sink(message));
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(back));
  ASSERT_TRUE(back.match_elements<PoolHolders>());
  const auto& y = back.get_as<PoolHolders>(0);
  EXPECT_EQ(y.type, ResourceType::MEMORY);
  ASSERT_EQ(y.holders.size(), 1u);
  EXPECT_EQ(y.holders[0].requester, "vision");
  EXPECT_EQ(y.holders[0].held, 7);
  EXPECT_EQ(y.holders[0].reserved, 3);
  EXPECT_EQ(y.holders[0].grants, (std::vector<GrantId>{1, 4}));
  ASSERT_EQ(y.waiting.size(), 1u);
  EXPECT_EQ(y.waiting[0].request_id, 9u);
  EXPECT_EQ(y.waiting[0].priority, Priority::HIGH);
  EXPECT_EQ(y.waiting[0].waited, 2500ms);
  EXPECT_EQ(y.waiting[0].deadline_in, 1s);
  ASSERT_EQ(y.quotas.size(), 1u);
  EXPECT_EQ(y.quotas[0].quota.members, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(y.quotas[0].used, 5);
}
