// rros::WaitQueue (core/wait_queue.hpp): unit tests of each ranking criterion
// and operation, properties comparing the queue's order after random operation
// sequences with a reference sort written here independently, and a 100,000
// entry push-and-drain run (not timed).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "core/wait_queue.hpp"

namespace {

using wq_time = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using Queue = rros::WaitQueue<int, wq_time>;
using Entry = Queue::Entry;

const wq_time t0 = wq_time{} + std::chrono::hours(1);
constexpr auto none = wq_time::max();

constexpr int critical = 0;
constexpr int high = 1;
constexpr int normal = 2;
constexpr int idle = 4;

Entry entry(std::uint64_t seq, std::string requester, int priority,
            wq_time enqueued = t0, wq_time deadline = none,
            std::uint64_t request_id = 0, int payload = 0) {
  Entry e;
  e.seq = seq;
  e.requester = std::move(requester);
  e.request_id = request_id;
  e.priority = priority;
  e.enqueued = enqueued;
  e.deadline = deadline;
  e.payload = payload;
  return e;
}

std::vector<std::uint64_t> order_of(Queue& q, wq_time now) {
  std::vector<std::uint64_t> result;
  q.visit(now, [&](const Entry& e) { result.push_back(e.seq); });
  return result;
}

std::optional<std::uint64_t> head_of(Queue& q, wq_time now) {
  if (auto* h = q.head(now))
    return h->seq;
  return std::nullopt;
}

using seqs = std::vector<std::uint64_t>;

} // namespace

// -- ranking, one criterion at a time ----------------------------------------

TEST(WaitQueueTest, EmptyQueue) {
  Queue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.head(t0), nullptr);
  EXPECT_TRUE(order_of(q, t0).empty());
  EXPECT_FALSE(q.take(1).has_value());
  EXPECT_FALSE(q.erase(1));
  EXPECT_EQ(q.find(1), nullptr);
  EXPECT_EQ(q.find("a", 1), nullptr);
  EXPECT_EQ(q.count_of("a"), 0u);
  EXPECT_EQ(q.share_of("a"), 0.0);
  EXPECT_EQ(q.earliest_deadline(0, t0), none);
  EXPECT_EQ(q.count_at(0, t0), 0u);
  EXPECT_FALSE(rros::earliest_deadline_ahead(q, idle, none, t0).has_value());
}

TEST(WaitQueueTest, RanksByLevelFirst) {
  Queue q;
  // Later deadlines, higher shares and later arrivals must not matter.
  ASSERT_TRUE(q.push(entry(1, "a", 3, t0, t0 + milliseconds(1)), t0));
  ASSERT_TRUE(q.push(entry(2, "b", 0, t0, none), t0));
  ASSERT_TRUE(q.push(entry(3, "c", 4, t0, t0), t0));
  ASSERT_TRUE(q.push(entry(4, "d", 1), t0));
  ASSERT_TRUE(q.push(entry(5, "e", 2), t0));
  q.set_share("b", 100.0);
  EXPECT_EQ(order_of(q, t0), (seqs{2, 4, 5, 1, 3}));
  EXPECT_EQ(head_of(q, t0), 2u);
}

TEST(WaitQueueTest, RanksByShareWithinALevel) {
  Queue q;
  ASSERT_TRUE(q.push(entry(1, "a", normal, t0, t0), t0));
  ASSERT_TRUE(q.push(entry(2, "b", normal, t0, none), t0));
  ASSERT_TRUE(q.push(entry(3, "c", normal, t0, none), t0));
  q.set_share("a", 0.75);
  q.set_share("b", 0.25);
  q.set_share("c", 0.5);
  EXPECT_EQ(order_of(q, t0), (seqs{2, 3, 1}));
  EXPECT_EQ(q.share_of("a"), 0.75);
}

TEST(WaitQueueTest, RanksByDeadlineWithinAShare) {
  Queue q;
  ASSERT_TRUE(q.push(entry(1, "a", normal, t0, none), t0));
  ASSERT_TRUE(q.push(entry(2, "a", normal, t0, t0 + milliseconds(30)), t0));
  ASSERT_TRUE(q.push(entry(3, "a", normal, t0, t0 + milliseconds(10)), t0));
  ASSERT_TRUE(q.push(entry(4, "b", normal, t0, t0 + milliseconds(20)), t0));
  EXPECT_EQ(order_of(q, t0), (seqs{3, 4, 2, 1}));
}

TEST(WaitQueueTest, RanksBySeqLast) {
  Queue q;
  for (std::uint64_t s : {5, 2, 9, 1, 7})
    ASSERT_TRUE(q.push(entry(s, s % 2 ? "odd" : "even", high), t0));
  EXPECT_EQ(order_of(q, t0), (seqs{1, 2, 5, 7, 9}));
  EXPECT_TRUE(q.ranks_before(*q.find(1), *q.find(2), t0));
  EXPECT_FALSE(q.ranks_before(*q.find(2), *q.find(1), t0));
  EXPECT_FALSE(q.ranks_before(*q.find(2), *q.find(2), t0));
}

TEST(WaitQueueTest, NoAgingWithAZeroOrNegativeInterval) {
  for (auto interval : {milliseconds(0), milliseconds(-5)}) {
    Queue q{interval};
    ASSERT_TRUE(q.push(entry(1, "a", idle), t0));
    ASSERT_TRUE(q.push(entry(2, "b", high), t0 + std::chrono::hours(9)));
    EXPECT_EQ(q.level_of(*q.find(1), t0 + std::chrono::hours(10)), idle);
    EXPECT_EQ(order_of(q, t0 + std::chrono::hours(10)), (seqs{2, 1}));
  }
}

TEST(WaitQueueTest, AgingRaisesOneLevelPerIntervalUpToCritical) {
  Queue q{milliseconds(10)};
  ASSERT_TRUE(q.push(entry(1, "a", idle), t0));
  const auto& e = *q.find(1);
  EXPECT_EQ(q.level_of(e, t0 + milliseconds(9)), 4);
  EXPECT_EQ(q.level_of(e, t0 + milliseconds(10)), 3);
  EXPECT_EQ(q.level_of(e, t0 + milliseconds(29)), 2);
  EXPECT_EQ(q.level_of(e, t0 + milliseconds(39)), 1);
  EXPECT_EQ(q.level_of(e, t0 + milliseconds(40)), 0);
  EXPECT_EQ(q.level_of(e, t0 + std::chrono::hours(1000)), 0);
  EXPECT_EQ(q.count_at(0, t0 + milliseconds(40)), 1u);
}

TEST(WaitQueueTest, AgedIdlePassesLaterHighRequestsAfterTheBoundOnly) {
  Queue q{milliseconds(10)};
  ASSERT_TRUE(q.push(entry(1, "idle", idle, t0, none), t0));
  // HIGH requests arriving later, with deadlines: at an equal level they go
  // first, so only a better level puts the IDLE request ahead of them.
  auto later = t0 + milliseconds(39);
  for (std::uint64_t s = 2; s <= 4; ++s)
    ASSERT_TRUE(
        q.push(entry(s, "high", high, later, later + milliseconds(s)), later));
  EXPECT_EQ(order_of(q, later), (seqs{2, 3, 4, 1})); // IDLE at level 1
  EXPECT_EQ(head_of(q, later), 2u);
  auto bound = t0 + milliseconds(40); // four intervals
  EXPECT_EQ(head_of(q, bound), 1u);
  EXPECT_EQ(order_of(q, bound), (seqs{1, 2, 3, 4}));
}

TEST(WaitQueueTest, EqualSharesInterleaveByDeadline) {
  Queue q;
  auto at = [](int ms) { return t0 + milliseconds(ms); };
  ASSERT_TRUE(q.push(entry(1, "a", normal, t0, at(1)), t0));
  ASSERT_TRUE(q.push(entry(2, "a", normal, t0, at(3)), t0));
  ASSERT_TRUE(q.push(entry(3, "a", normal, t0, at(5)), t0));
  ASSERT_TRUE(q.push(entry(4, "b", normal, t0, at(2)), t0));
  ASSERT_TRUE(q.push(entry(5, "b", normal, t0, at(4)), t0));
  ASSERT_TRUE(q.push(entry(6, "b", normal, t0, at(6)), t0));
  ASSERT_TRUE(q.push(entry(7, "c", normal, t0, at(0)), t0));
  ASSERT_TRUE(q.push(entry(8, "d", normal, t0, at(4)), t0));
  q.set_share("a", 0.5);
  q.set_share("b", 0.5);
  q.set_share("c", 1.0);
  q.set_share("d", 0.5);
  EXPECT_EQ(order_of(q, t0), (seqs{1, 4, 2, 5, 8, 3, 6, 7}));
}

TEST(WaitQueueTest, AShareChangeReorders) {
  Queue q;
  ASSERT_TRUE(q.push(entry(1, "a", normal), t0));
  ASSERT_TRUE(q.push(entry(2, "a", idle), t0));
  ASSERT_TRUE(q.push(entry(3, "b", normal), t0));
  ASSERT_TRUE(q.push(entry(4, "b", idle), t0));
  EXPECT_EQ(order_of(q, t0), (seqs{1, 3, 2, 4}));
  q.set_share("a", 2.0);
  EXPECT_EQ(order_of(q, t0), (seqs{3, 1, 4, 2}));
  EXPECT_EQ(head_of(q, t0), 3u);
  q.set_share("b", 3.0);
  EXPECT_EQ(order_of(q, t0), (seqs{1, 3, 2, 4}));
  q.set_share("b", std::nan("")); // counts as 0.0
  EXPECT_EQ(q.share_of("b"), 0.0);
  EXPECT_EQ(order_of(q, t0), (seqs{3, 1, 4, 2}));
}

TEST(WaitQueueTest, SharesAreRememberedOnlyWhileTheRequesterWaits) {
  Queue q;
  q.set_share("a", 5.0); // no entries: not remembered
  EXPECT_EQ(q.share_of("a"), 0.0);
  ASSERT_TRUE(q.push(entry(1, "a", normal), t0));
  EXPECT_EQ(q.share_of("a"), 0.0);
  q.set_share("a", 5.0);
  EXPECT_EQ(q.share_of("a"), 5.0);
  ASSERT_TRUE(q.push(entry(2, "a", normal), t0));
  EXPECT_EQ(q.count_of("a"), 2u);
  ASSERT_TRUE(q.erase(1));
  EXPECT_EQ(q.share_of("a"), 5.0);
  ASSERT_TRUE(q.erase(2));
  EXPECT_EQ(q.count_of("a"), 0u);
  EXPECT_EQ(q.share_of("a"), 0.0);
}

TEST(WaitQueueTest, TakeEraseAndFind) {
  Queue q;
  ASSERT_TRUE(q.push(entry(1, "a", normal, t0, none, 7, 100), t0));
  ASSERT_TRUE(q.push(entry(2, "a", normal, t0, none, 8, 200), t0));
  ASSERT_TRUE(q.push(entry(3, "b", normal, t0, none, 7, 300), t0));
  ASSERT_TRUE(q.push(entry(4, "b", normal, t0, none, 0, 400), t0));
  ASSERT_NE(q.find(2), nullptr);
  EXPECT_EQ(q.find(2)->payload, 200);
  q.find(2)->payload = 201; // the payload may change
  EXPECT_EQ(q.find("a", 8)->payload, 201);
  EXPECT_EQ(q.find("a", 7)->seq, 1u);
  EXPECT_EQ(q.find("b", 7)->seq, 3u);
  EXPECT_EQ(q.find("b", 0)->seq, 4u);  // id 0 is an id like any other
  EXPECT_EQ(q.find("zz", 0), nullptr); // nobody of that name waits
  EXPECT_EQ(q.find("c", 7), nullptr);
  EXPECT_EQ(q.find("a", 9), nullptr);

  auto taken = q.take(q.find("a", 8)->seq);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->seq, 2u);
  EXPECT_EQ(taken->requester, "a");
  EXPECT_EQ(taken->payload, 201);
  EXPECT_EQ(q.find("a", 8), nullptr);
  EXPECT_EQ(q.find(2), nullptr);
  EXPECT_FALSE(q.take(2).has_value());
  EXPECT_TRUE(q.erase(3));
  EXPECT_FALSE(q.erase(3));
  EXPECT_EQ(q.find("b", 7), nullptr);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(order_of(q, t0), (seqs{1, 4}));
}

TEST(WaitQueueTest, DuplicateRequestIdsFindTheEarliestArrival) {
  Queue q;
  ASSERT_TRUE(q.push(entry(5, "a", normal, t0, none, 7), t0));
  ASSERT_TRUE(q.push(entry(3, "a", idle, t0, none, 7), t0));
  EXPECT_EQ(q.find("a", 7)->seq, 3u);
  ASSERT_TRUE(q.erase(3));
  EXPECT_EQ(q.find("a", 7)->seq, 5u);
}

TEST(WaitQueueTest, RefusesDuplicateSeqsAndPrioritiesOutOfRange) {
  Queue q;
  ASSERT_TRUE(q.push(entry(1, "a", normal, t0, none, 1, 10), t0));
  EXPECT_FALSE(q.push(entry(1, "b", critical, t0, t0, 2, 20), t0));
  EXPECT_FALSE(q.push(entry(2, "b", -1), t0));
  EXPECT_FALSE(q.push(entry(3, "b", idle + 1), t0));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.find(1)->payload, 10);
  EXPECT_EQ(q.find(1)->requester, "a");
  EXPECT_EQ(q.count_of("b"), 0u);
  EXPECT_EQ(q.find("b", 2), nullptr);
  Queue small{milliseconds(0), 2};
  EXPECT_FALSE(small.push(entry(1, "a", 3), t0));
  EXPECT_TRUE(small.push(entry(1, "a", 2), t0));
}

TEST(WaitQueueTest, Clear) {
  Queue q{milliseconds(10)};
  ASSERT_TRUE(q.push(entry(1, "a", idle, t0, none, 1), t0));
  ASSERT_TRUE(q.push(entry(2, "b", high), t0));
  q.set_share("a", 1.0);
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.head(t0 + milliseconds(100)), nullptr);
  EXPECT_EQ(q.find(1), nullptr);
  EXPECT_EQ(q.find("a", 1), nullptr);
  EXPECT_EQ(q.share_of("a"), 0.0);
  EXPECT_EQ(q.count_at(0, t0 + milliseconds(100)), 0u);
  ASSERT_TRUE(q.push(entry(1, "a", idle, t0), t0 + milliseconds(100)));
  EXPECT_EQ(q.level_of(*q.find(1), t0 + milliseconds(100)), 0);
  EXPECT_EQ(head_of(q, t0 + milliseconds(100)), 1u);
}

TEST(WaitQueueTest, VisitStopsWhenTheVisitorSaysSo) {
  Queue q;
  for (std::uint64_t s = 1; s <= 10; ++s)
    ASSERT_TRUE(q.push(entry(s, "r" + std::to_string(s % 3), normal), t0));
  seqs seen;
  q.visit(t0, [&](const Entry& e) {
    seen.push_back(e.seq);
    return seen.size() < 4;
  });
  EXPECT_EQ(seen, (seqs{1, 2, 3, 4}));
}

TEST(WaitQueueTest, TimeGoingBackwardsKeepsTheLatestTime) {
  Queue q{milliseconds(10)};
  auto at = [](int ms) { return t0 + milliseconds(ms); };
  ASSERT_TRUE(q.push(entry(1, "a", idle, t0), t0));
  ASSERT_TRUE(q.push(entry(2, "b", high, at(40), at(50)), at(40)));
  EXPECT_EQ(order_of(q, at(40)), (seqs{1, 2})); // levels 0 and 1
  // Back in time: the queue keeps using t0 + 40 ms.
  EXPECT_EQ(order_of(q, t0), (seqs{1, 2}));
  EXPECT_EQ(q.level_of(*q.find(1), t0), 0);
  EXPECT_TRUE(q.ranks_before(*q.find(1), *q.find(2), t0));
  ASSERT_TRUE(q.push(entry(3, "c", critical, at(60)), t0));
  EXPECT_EQ(q.level_of(*q.find(3), t0), 0); // enqueued in the future
  EXPECT_EQ(order_of(q, at(41)), (seqs{1, 3, 2}));
}

TEST(WaitQueueTest, AnEntryEnqueuedInTheFutureHasNotWaited) {
  Queue q{milliseconds(10)};
  ASSERT_TRUE(q.push(entry(1, "a", idle, t0 + milliseconds(25)), t0));
  EXPECT_EQ(q.level_of(*q.find(1), t0 + milliseconds(34)), 4);
  EXPECT_EQ(q.level_of(*q.find(1), t0 + milliseconds(35)), 3);
  EXPECT_EQ(q.count_at(3, t0 + milliseconds(35)), 1u);
}

TEST(WaitQueueTest, SetAgingIntervalRelevelsEveryEntry) {
  Queue q{milliseconds(10)};
  ASSERT_TRUE(q.push(entry(1, "a", idle, t0), t0));
  ASSERT_TRUE(q.push(entry(2, "b", high, t0 + milliseconds(30)),
                     t0 + milliseconds(30)));
  EXPECT_EQ(order_of(q, t0 + milliseconds(40)), (seqs{1, 2}));
  q.set_aging_interval(milliseconds(0), t0 + milliseconds(40));
  EXPECT_EQ(q.aging_interval(), milliseconds(0));
  EXPECT_EQ(order_of(q, t0 + milliseconds(40)), (seqs{2, 1}));
  q.set_aging_interval(milliseconds(20), t0 + milliseconds(40));
  EXPECT_EQ(q.level_of(*q.find(1), t0 + milliseconds(40)), 2);
  EXPECT_EQ(order_of(q, t0 + milliseconds(40)), (seqs{2, 1}));
  EXPECT_EQ(order_of(q, t0 + milliseconds(60)), (seqs{2, 1})); // 1 vs 1
  EXPECT_EQ(order_of(q, t0 + milliseconds(50)), (seqs{2, 1}));
  EXPECT_EQ(order_of(q, t0 + milliseconds(80)), (seqs{1, 2})); // 0 vs 1
}

TEST(WaitQueueTest, CopiesAndMovesAreIndependent) {
  Queue q{milliseconds(10)};
  ASSERT_TRUE(q.push(entry(1, "a", idle, t0, none, 1), t0));
  ASSERT_TRUE(q.push(entry(2, "b", normal, t0, none, 2), t0));
  ASSERT_TRUE(q.push(entry(3, "b", high, t0, none, 3), t0));
  q.set_share("b", 1.0);
  Queue copy = q;
  ASSERT_TRUE(copy.erase(3));
  EXPECT_EQ(copy.share_of("b"), 1.0);
  // At 20 ms: 2 and 3 at level 0 (b), 1 at level 2.
  EXPECT_EQ(order_of(copy, t0 + milliseconds(20)), (seqs{2, 1}));
  EXPECT_EQ(order_of(q, t0 + milliseconds(20)), (seqs{2, 3, 1}));
  Queue moved = std::move(copy);
  EXPECT_EQ(order_of(moved, t0 + milliseconds(20)), (seqs{2, 1}));
  EXPECT_EQ(moved.find("a", 1)->seq, 1u);
  q = moved;
  EXPECT_EQ(order_of(q, t0 + milliseconds(20)), (seqs{2, 1}));
  EXPECT_EQ(q.share_of("b"), 1.0);
  copy = Queue{};
  EXPECT_TRUE(copy.empty());
  ASSERT_TRUE(copy.push(entry(1, "a", idle), t0));
  EXPECT_EQ(head_of(copy, t0), 1u);
}

TEST(WaitQueueTest, EarliestDeadlineAheadIsThePoolsBlockedAhead) {
  Queue q;
  auto at = [](int ms) { return t0 + milliseconds(ms); };
  ASSERT_TRUE(q.push(entry(1, "a", high, t0, at(50)), t0));
  ASSERT_TRUE(q.push(entry(2, "a", normal, t0, at(20)), t0));
  ASSERT_TRUE(q.push(entry(3, "b", normal, t0, at(40)), t0));
  ASSERT_TRUE(q.push(entry(4, "b", idle, t0, none), t0));
  EXPECT_FALSE(rros::earliest_deadline_ahead(q, critical, none, t0));
  EXPECT_EQ(rros::earliest_deadline_ahead(q, high, at(10), t0), std::nullopt);
  EXPECT_EQ(rros::earliest_deadline_ahead(q, high, at(50), t0), at(50));
  EXPECT_EQ(rros::earliest_deadline_ahead(q, normal, at(10), t0), at(50));
  EXPECT_EQ(rros::earliest_deadline_ahead(q, normal, at(20), t0), at(20));
  EXPECT_EQ(rros::earliest_deadline_ahead(q, idle, at(0), t0), at(20));
  ASSERT_TRUE(q.erase(1));
  ASSERT_TRUE(q.erase(2));
  ASSERT_TRUE(q.erase(3));
  // An entry without a deadline still blocks: found, with no deadline.
  EXPECT_EQ(rros::earliest_deadline_ahead(q, idle, at(0), t0), std::nullopt);
  EXPECT_EQ(rros::earliest_deadline_ahead(q, idle + 1, at(0), t0), none);
}

// -- the intended pool loop --------------------------------------------------

TEST(WaitQueueTest, ServeWithBackfillServesHeadsThenCandidatesBehindABlock) {
  // The payload is the amount wanted; the pool has 7 free. May pass the
  // blocked head: entries with a deadline (standing in for a time-to-live
  // that ends before the blocked one's deadline).
  Queue q;
  auto at = [](int ms) { return t0 + milliseconds(ms); };
  ASSERT_TRUE(q.push(entry(1, "a", critical, t0, none, 0, 2), t0));
  ASSERT_TRUE(q.push(entry(2, "b", high, t0, at(100), 0, 8), t0));
  ASSERT_TRUE(q.push(entry(3, "c", normal, t0, at(10), 0, 3), t0));
  ASSERT_TRUE(q.push(entry(4, "c", normal, t0, none, 0, 1), t0));
  ASSERT_TRUE(q.push(entry(5, "d", idle, t0, at(20), 0, 4), t0));
  ASSERT_TRUE(q.push(entry(6, "d", idle, t0, at(30), 0, 1), t0));
  int free = 7;
  seqs served;
  auto fits = [&](const Entry& e) {
    if (e.payload > free)
      return false;
    free -= e.payload;
    return true;
  };
  auto may_pass = [](const Entry& e, const Entry& blocked) {
    return e.deadline != none && e.deadline < blocked.deadline;
  };
  auto serve = [&](Entry&& e) { served.push_back(e.seq); };
  EXPECT_EQ(rros::serve_with_backfill(q, t0, fits, may_pass, serve), 3u);
  // 1 fits (5 left); 2 is blocked; 3 passes (2 left); 4 may not pass; 5 does
  // not fit; 6 passes (1 left).
  EXPECT_EQ(served, (seqs{1, 3, 6}));
  EXPECT_EQ(free, 1);
  EXPECT_EQ(head_of(q, t0), 2u);
  EXPECT_EQ(order_of(q, t0), (seqs{2, 4, 5}));
}

// -- properties
// ----------------------------------------------------------------

namespace {

const std::vector<std::string> wq_requesters = {"a", "b", "c", "d"};
const std::vector<double> wq_shares = {0.0, 0.5, 1.0, 2.0, -1.0};
const std::vector<std::int64_t> wq_intervals = {0, 1, 7, 10, 100};

enum class WqKind {
  push,
  take,
  erase,
  advance,
  share,
  refused,
  repush,
  interval
};

struct WqOp {
  WqKind kind = WqKind::push;
  int priority = 0;
  std::size_t requester = 0;
  std::int64_t deadline = -1; // offset from now, -1 = none
  std::int64_t waited = 0;    // enqueued = now - waited
  std::uint64_t request_id = 0;
  std::size_t pick = 0;
  std::int64_t dt = 0;
};

std::ostream& operator<<(std::ostream& os, const WqOp& op) {
  static const char* names[] = {"push",  "take",    "erase",  "advance",
                                "share", "refused", "repush", "interval"};
  return os << names[static_cast<int>(op.kind)] << "(p" << op.priority << " r"
            << op.requester << " dl" << op.deadline << " w" << op.waited
            << " id" << op.request_id << " pick" << op.pick << " dt" << op.dt
            << ")";
}

void showValue(const WqOp& op, std::ostream& os) {
  os << op;
}

rc::Gen<WqOp> wq_op(bool change_interval) {
  auto kinds = rc::gen::weightedElement<WqKind>(
      {{10, WqKind::push},
       {3, WqKind::take},
       {2, WqKind::erase},
       {4, WqKind::advance},
       {3, WqKind::share},
       {1, WqKind::refused},
       {2, WqKind::repush},
       {change_interval ? 2u : 0u, WqKind::interval}});
  return rc::gen::apply(
      [](WqKind kind, int priority, std::size_t requester,
         std::int64_t deadline, std::int64_t waited, std::uint64_t request_id,
         std::size_t pick, std::int64_t dt) {
        return WqOp{kind,   priority,   requester, deadline,
                    waited, request_id, pick,      dt};
      },
      kinds, rc::gen::inRange(0, 5),
      rc::gen::inRange<std::size_t>(0, wq_requesters.size()),
      rc::gen::weightedOneOf<std::int64_t>(
          {{2, rc::gen::just<std::int64_t>(-1)},
           {3, rc::gen::inRange<std::int64_t>(0, 40)}}),
      rc::gen::weightedOneOf<std::int64_t>(
          {{4, rc::gen::just<std::int64_t>(0)},
           {1, rc::gen::inRange<std::int64_t>(0, 400)}}),
      rc::gen::inRange<std::uint64_t>(0, 4),
      rc::gen::inRange<std::size_t>(0, 1000),
      rc::gen::weightedOneOf<std::int64_t>(
          {{3, rc::gen::inRange<std::int64_t>(0, 4)},
           {3, rc::gen::inRange<std::int64_t>(0, 30)},
           {2, rc::gen::inRange<std::int64_t>(0, 700)}}));
}

/// The reference: every live entry, sorted by a comparator written from the
/// specification, with the shares of requesters that have entries.
struct WqModel {
  std::int64_t interval = 0; // nanoseconds
  wq_time now = t0;
  std::map<std::uint64_t, Entry> live;
  std::map<std::string, double> shares;

  int level(const Entry& e) const {
    if (interval <= 0)
      return e.priority;
    auto waited = std::max<std::int64_t>(0, (now - e.enqueued).count());
    auto steps = std::min<std::int64_t>(waited / interval, 4);
    return std::max(0, e.priority - static_cast<int>(steps));
  }

  double share(const std::string& r) const {
    auto i = shares.find(r);
    return i == shares.end() ? 0.0 : i->second;
  }

  std::size_t count(const std::string& r) const {
    return static_cast<std::size_t>(
        std::count_if(live.begin(), live.end(), [&](const auto& kv) {
          return kv.second.requester == r;
        }));
  }

  bool before(const Entry* x, const Entry* y) const {
    auto lx = level(*x), ly = level(*y);
    if (lx != ly)
      return lx < ly;
    auto sx = share(x->requester), sy = share(y->requester);
    if (sx != sy)
      return sx < sy;
    if (x->deadline != y->deadline)
      return x->deadline < y->deadline;
    return x->seq < y->seq;
  }

  std::optional<std::uint64_t> first() const {
    const Entry* best = nullptr;
    for (const auto& kv : live)
      if (best == nullptr || before(&kv.second, best))
        best = &kv.second;
    if (best == nullptr)
      return std::nullopt;
    return best->seq;
  }

  seqs order() const {
    std::vector<const Entry*> all;
    for (const auto& kv : live)
      all.push_back(&kv.second);
    std::sort(all.begin(), all.end(),
              [&](const Entry* x, const Entry* y) { return before(x, y); });
    seqs result;
    for (auto* e : all)
      result.push_back(e->seq);
    return result;
  }

  void remove(std::uint64_t seq) {
    auto r = live.at(seq).requester;
    live.erase(seq);
    if (count(r) == 0)
      shares.erase(r);
  }
};

void wq_check(Queue& q, const WqModel& m, const WqOp& op) {
  auto expected = m.order();
  RC_ASSERT(order_of(q, m.now) == expected);
  auto h = head_of(q, m.now);
  if (expected.empty())
    RC_ASSERT(!h.has_value());
  else
    RC_ASSERT(h == std::optional<std::uint64_t>{expected.front()});
  RC_ASSERT(q.size() == m.live.size());
  for (const auto& r : wq_requesters) {
    RC_ASSERT(q.count_of(r) == m.count(r));
    RC_ASSERT(q.share_of(r) == m.share(r));
  }
  // ranks_before agrees with the reference on neighbours.
  for (std::size_t i = 1; i < expected.size(); ++i) {
    RC_ASSERT(q.ranks_before(m.live.at(expected[i - 1]), m.live.at(expected[i]),
                             m.now));
    RC_ASSERT(!q.ranks_before(m.live.at(expected[i]),
                              m.live.at(expected[i - 1]), m.now));
  }
  // Cancel look-up: the lowest seq with that (requester, request_id).
  const auto& who = wq_requesters[op.requester];
  const Entry* want = nullptr;
  for (const auto& kv : m.live)
    if (kv.second.requester == who && kv.second.request_id == op.request_id) {
      want = &kv.second;
      break;
    }
  auto* got = q.find(who, op.request_id);
  RC_ASSERT((got == nullptr) == (want == nullptr));
  if (got != nullptr)
    RC_ASSERT(got->seq == want->seq);
  // blocked_ahead
  auto level = op.priority;
  auto deadline = m.now + nanoseconds(op.dt);
  std::optional<wq_time> blocker;
  for (const auto& kv : m.live) {
    auto l = m.level(kv.second);
    if (l < level || (l == level && kv.second.deadline <= deadline))
      if (!blocker || kv.second.deadline < *blocker)
        blocker = kv.second.deadline;
  }
  RC_ASSERT(rros::earliest_deadline_ahead(q, level, deadline, m.now) ==
            blocker);
}

void wq_run(bool change_interval) {
  WqModel m;
  m.interval = *rc::gen::elementOf(wq_intervals);
  Queue q{nanoseconds(m.interval)};
  auto ops = *rc::gen::resize(
      300, rc::gen::container<std::vector<WqOp>>(wq_op(change_interval)));
  std::uint64_t next_seq = 1;
  for (const auto& op : ops) {
    const auto& who = wq_requesters[op.requester];
    switch (op.kind) {
      case WqKind::push: {
        auto e =
            entry(next_seq++, who, op.priority, m.now - nanoseconds(op.waited),
                  op.deadline < 0 ? none : m.now + nanoseconds(op.deadline),
                  op.request_id, static_cast<int>(op.pick));
        RC_ASSERT(q.push(e, m.now));
        m.live.emplace(e.seq, e);
        break;
      }
      case WqKind::take:
      case WqKind::erase: {
        std::uint64_t seq = next_seq + 1; // not queued
        if (!m.live.empty() && op.pick % 8 != 0) {
          auto i = m.live.begin();
          std::advance(i, static_cast<std::ptrdiff_t>(op.pick % m.live.size()));
          seq = i->first;
        }
        bool queued = m.live.count(seq) > 0;
        if (op.kind == WqKind::take) {
          auto taken = q.take(seq);
          RC_ASSERT(taken.has_value() == queued);
          if (queued) {
            const auto& want = m.live.at(seq);
            RC_ASSERT(taken->seq == seq);
            RC_ASSERT(taken->requester == want.requester);
            RC_ASSERT(taken->payload == want.payload);
            RC_ASSERT(taken->deadline == want.deadline);
          }
        } else {
          RC_ASSERT(q.erase(seq) == queued);
        }
        if (queued)
          m.remove(seq);
        break;
      }
      case WqKind::advance:
        m.now += nanoseconds(op.dt);
        break;
      case WqKind::share: {
        auto share = wq_shares[op.pick % wq_shares.size()];
        q.set_share(who, share);
        if (m.count(who) > 0)
          m.shares[who] = share;
        break;
      }
      case WqKind::refused: {
        // A seq already queued, or a priority out of range.
        std::uint64_t seq = m.live.empty() || op.pick % 2 == 0
                                ? next_seq
                                : m.live.begin()->first;
        int priority = seq == next_seq ? (op.pick % 4 == 1 ? -1 : 5) : 0;
        RC_ASSERT(!q.push(entry(seq, who, priority, m.now), m.now));
        break;
      }
      case WqKind::repush: {
        // Take one out and put it back unchanged (same seq and enqueue time,
        // as the bundle coordinator would): its rank is the same, but its
        // requester's share is forgotten if it was its only entry.
        if (m.live.empty())
          break;
        auto i = m.live.begin();
        std::advance(i, static_cast<std::ptrdiff_t>(op.pick % m.live.size()));
        auto seq = i->first;
        auto taken = q.take(seq);
        RC_ASSERT(taken.has_value());
        auto e = *taken;
        m.remove(seq);
        RC_ASSERT(q.push(std::move(*taken), m.now));
        m.live.emplace(seq, e);
        break;
      }
      case WqKind::interval:
        m.interval = wq_intervals[op.pick % wq_intervals.size()];
        q.set_aging_interval(nanoseconds(m.interval), m.now);
        RC_ASSERT(q.aging_interval() == nanoseconds(m.interval));
        break;
    }
    wq_check(q, m, op);
  }
  // Draining through head() and take() yields the reference order.
  auto expected = m.order();
  seqs drained;
  while (auto* h = q.head(m.now))
    drained.push_back(q.take(h->seq)->seq);
  RC_ASSERT(drained == expected);
  RC_ASSERT(q.empty());
}

} // namespace

RC_GTEST_PROP(WaitQueueProperty, RandomOperationsKeepTheReferenceOrder, ()) {
  wq_run(false);
}

RC_GTEST_PROP(WaitQueueProperty, SetAgingIntervalKeepsTheReferenceOrder, ()) {
  wq_run(true);
}

TEST(WaitQueueTest, LongChurnKeepsTheReferenceOrder) {
  // Many more removals than entries, most before their promotion: exercises
  // skipping and compacting stale promotion slots, and out-of-order enqueue
  // times, over 20,000 steps.
  std::mt19937_64 random{7};
  WqModel m;
  m.interval = 2000;
  Queue q{nanoseconds(m.interval)};
  std::uint64_t next_seq = 1;
  for (int step = 0; step < 20000; ++step) {
    auto roll = random() % 100;
    if (roll < 45 || m.live.size() < 10) {
      const auto& who = wq_requesters[random() % wq_requesters.size()];
      auto waited =
          random() % 4 == 0 ? nanoseconds(random() % 6000) : nanoseconds(0);
      auto deadline =
          random() % 2 == 0 ? none : m.now + nanoseconds(random() % 100);
      auto e = entry(next_seq++, who, static_cast<int>(random() % 5),
                     m.now - waited, deadline, random() % 3);
      ASSERT_TRUE(q.push(e, m.now));
      m.live.emplace(e.seq, e);
    } else if (roll < 90) {
      auto i = m.live.begin();
      std::advance(i, static_cast<std::ptrdiff_t>(random() % m.live.size()));
      auto seq = i->first;
      ASSERT_TRUE(q.erase(seq));
      m.remove(seq);
    } else if (roll < 95) {
      m.now += nanoseconds(random() % 300);
    } else {
      const auto& who = wq_requesters[random() % wq_requesters.size()];
      auto share = wq_shares[random() % wq_shares.size()];
      q.set_share(who, share);
      if (m.count(who) > 0)
        m.shares[who] = share;
    }
    ASSERT_EQ(head_of(q, m.now), m.first()) << "step " << step;
    if (step % 50 == 0) {
      ASSERT_EQ(order_of(q, m.now), m.order()) << "step " << step;
    }
  }
}

// -- scale (not timed)
// ---------------------------------------------------------

TEST(WaitQueueTest, PushesAndDrainsAHundredThousandEntries) {
  constexpr std::uint64_t n = 100000;
  Queue q{milliseconds(20)};
  std::mt19937_64 random{42};
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i)
    names.push_back("requester-" + std::to_string(i));
  auto now = t0;
  for (std::uint64_t s = 1; s <= n; ++s) {
    now += std::chrono::microseconds(1);
    const auto& who = names[random() % names.size()];
    auto deadline = random() % 3 == 0
                        ? none
                        : now + milliseconds(static_cast<int>(random() % 500));
    ASSERT_TRUE(q.push(
        entry(s, who, static_cast<int>(random() % 5), now, deadline, s), now));
    if (random() % 4 == 0)
      q.set_share(who, static_cast<double>(random() % 10) / 10.0);
  }
  ASSERT_EQ(q.size(), n);
  // Drain at a fixed time, with one jump in between: the heads' levels never
  // fall while the time stands still.
  std::uint64_t drained = 0;
  int last_level = 0;
  while (auto* h = q.head(now)) {
    auto level = q.level_of(*h, now);
    ASSERT_GE(level, last_level);
    last_level = level;
    ASSERT_TRUE(q.erase(h->seq));
    if (++drained == n / 2) {
      now += milliseconds(50);
      last_level = 0;
    }
  }
  EXPECT_EQ(drained, n);
  EXPECT_TRUE(q.empty());
}
