// Unit tests of the lease book (core/lease_book.hpp) without an actor
// system: grants, shrinking, reservations used first, prepared legs,
// preemption candidates, and a rapidcheck property that any sequence of
// operations keeps the book's invariant and agrees with a plain model.
#include <chrono>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/lease_book.hpp"

using namespace rros;

namespace {

using clock_type = std::chrono::steady_clock;
using book_type = LeaseBook<int, clock_type::time_point>;

GrantId give(book_type& book, const std::string& who, units amount,
             Priority priority = Priority::NORMAL, bool preemptable = false,
             int holder = 1) {
  return book.grant(who, holder, amount, priority, preemptable, false,
                    clock_type::time_point{});
}

} // namespace

TEST(LeaseBook, GrantsAndShrinksKeepTheLedgerAndTheLeasesTogether) {
  book_type book{100, first_id_of(7)};
  auto a = give(book, "a", 30);
  auto b = give(book, "a", 20);
  EXPECT_EQ(incarnation_of(a), 7u);
  EXPECT_LT(a, b);
  EXPECT_EQ(book.ledger().held_by("a"), 50);
  auto half = book.shrink(a, 10);
  EXPECT_TRUE(half.found);
  EXPECT_FALSE(half.removed);
  EXPECT_EQ(half.amount, 10);
  EXPECT_EQ(book.find(a)->amount, 20);
  auto rest = book.shrink(a, 1000); // clamped to what the lease holds
  EXPECT_TRUE(rest.removed);
  EXPECT_EQ(rest.amount, 20);
  EXPECT_EQ(book.find(a), nullptr);
  EXPECT_FALSE(book.shrink(a, 1).found);
  EXPECT_EQ(book.ledger().held(), 20);
  EXPECT_EQ(book.check(), "");
  EXPECT_EQ(book.newest_committed("a"), b);
  EXPECT_EQ(book.newest_committed("nobody"), 0u);
}

TEST(LeaseBook, LeasesShareOneCopyOfTheirRequestersNameAlsoAfterAMove) {
  book_type book{100};
  auto a = give(book, "a-requester-name-longer-than-sso", 10);
  auto b = give(book, "a-requester-name-longer-than-sso", 5);
  auto c = give(book, "c", 5);
  EXPECT_EQ(&book.find(a)->requester.str(), &book.find(b)->requester.str());
  EXPECT_EQ(book.find(c)->requester.str(), "c");
  // Moved, the leases still point at the names the moved book keeps.
  book_type moved = std::move(book);
  EXPECT_EQ(moved.find(a)->requester.str(), "a-requester-name-longer-than-sso");
  EXPECT_EQ(moved.check(), "");
  EXPECT_TRUE(moved.shrink(a, 10).removed);
  EXPECT_EQ(moved.shrink(b, 5).requester, "a-requester-name-longer-than-sso");
  // The emptied list (and its name) is kept for the next grant.
  give(moved, "a-requester-name-longer-than-sso", 1);
  EXPECT_EQ(moved.check(), "");
  EXPECT_EQ(moved.ledger().held(), 6);
}

TEST(LeaseBook, AGrantUsesTheRequestersReservationsPreemptionsFirst) {
  book_type book{100};
  auto plain = book.reserve("a", 1, 10, false, {});
  auto soon = book.reserve("a", 1, 10, true,
                           clock_type::time_point{} + std::chrono::seconds(5));
  auto kept = book.reserve("a", 0, 10, false, {}, /*preemption=*/99);
  ASSERT_NE(plain, 0u);
  EXPECT_EQ(book.ledger().reserved_for("a"), 30);
  give(book, "a", 15);
  // The preemption's 10 first, then 5 of the one that expires soonest.
  EXPECT_EQ(book.find_reservation(kept), nullptr);
  EXPECT_EQ(book.find_reservation(soon)->remaining, 5);
  EXPECT_EQ(book.find_reservation(plain)->remaining, 10);
  EXPECT_EQ(book.ledger().reserved_for("a"), 15);
  EXPECT_EQ(book.check(), "");
  EXPECT_EQ(book.unreserve_requester("a"), 15);
  EXPECT_EQ(book.ledger().reserved(), 0);
  EXPECT_EQ(book.check(), "");
}

TEST(LeaseBook, ReservationsOfAHolderAndOfAPreemptionReturn) {
  book_type book{100};
  book.reserve("a", 7, 10, false, {});
  book.reserve("b", 7, 5, false, {});
  book.reserve("b", 8, 5, false, {});
  book.reserve("b", 0, 20, false, {}, 42);
  EXPECT_EQ(book.unreserve_holder(7), 15);
  EXPECT_EQ(book.ledger().reserved(), 25);
  EXPECT_EQ(book.unreserve_preemption(42, "b"), 20);
  EXPECT_EQ(book.ledger().reserved(), 5);
  EXPECT_EQ(book.reserve("c", 1, 96, false, {}), 0u); // does not fit
  EXPECT_EQ(book.check(), "");
}

TEST(LeaseBook, PreparedLegsAreNotTheRequestersUntilCommitted) {
  book_type book{100};
  auto own = give(book, "r", 5);
  auto leg = book.grant("r", 99, 20, Priority::LOW, true, false, {}, true,
                        std::chrono::seconds(3));
  EXPECT_TRUE(book.is_prepared(leg));
  EXPECT_EQ(book.find_committed(leg), nullptr);
  EXPECT_EQ(book.releasable_by("r"), 5);
  // The newest committed lease is the older plain grant, not the leg.
  EXPECT_EQ(book.newest_committed("r"), own);
  // Not a preemption candidate while prepared.
  EXPECT_TRUE(book.victims_for(Priority::HIGH, "x", 10, 4).empty());
  std::chrono::nanoseconds ttl{0};
  ASSERT_TRUE(book.commit(leg, 3, ttl));
  EXPECT_EQ(ttl, std::chrono::seconds(3));
  EXPECT_EQ(book.find(leg)->holder, 3);
  EXPECT_EQ(book.releasable_by("r"), 25);
  EXPECT_EQ(book.victims_for(Priority::HIGH, "x", 10, 4),
            std::vector<GrantId>{leg});
  EXPECT_FALSE(book.commit(leg, 3, ttl));
  EXPECT_EQ(book.check(), "");
}

TEST(LeaseBook, VictimsAreLowestPriorityLargestFirstOfOthersOnly) {
  book_type book{1000};
  auto low_small = give(book, "x", 10, Priority::LOW, true);
  auto idle_big = give(book, "y", 50, Priority::IDLE, true);
  auto idle_small = give(book, "z", 20, Priority::IDLE, true);
  auto own = give(book, "asker", 90, Priority::IDLE, true);
  give(book, "w", 500, Priority::IDLE, false); // not preemptable
  auto high = give(book, "v", 40, Priority::HIGH, true);
  EXPECT_EQ(book.victims_for(Priority::NORMAL, "asker", 60, 4),
            (std::vector<GrantId>{idle_big, idle_small}));
  EXPECT_EQ(book.victims_for(Priority::NORMAL, "asker", 80, 4),
            (std::vector<GrantId>{idle_big, idle_small, low_small}));
  // Cannot be covered within the cap: nobody is taken.
  EXPECT_TRUE(book.victims_for(Priority::NORMAL, "asker", 80, 2).empty());
  // HIGH is never taken for HIGH; own grants never.
  EXPECT_TRUE(book.victims_for(Priority::HIGH, "asker", 81, 9).empty());
  EXPECT_EQ(book.candidates_from(Priority::IDLE),
            (std::vector<GrantId>{own, idle_big, idle_small}));
  book.mark_revoked(idle_big, 5);
  EXPECT_EQ(book.victims_for(Priority::NORMAL, "asker", 20, 4),
            std::vector<GrantId>{idle_small});
  book.unmark_revoked(idle_big, 6); // another preemption's mark: no effect
  EXPECT_EQ(book.find(idle_big)->revoked_by, 5u);
  book.unmark_revoked(idle_big, 5);
  EXPECT_EQ(book.victims_for(Priority::NORMAL, "asker", 20, 4),
            std::vector<GrantId>{idle_big});
  // A shrunk candidate is re-ranked by its new amount.
  book.shrink(idle_big, 45);
  EXPECT_EQ(book.victims_for(Priority::NORMAL, "asker", 20, 4),
            std::vector<GrantId>{idle_small});
  EXPECT_NE(high, 0u);
  EXPECT_EQ(book.check(), "");
}

TEST(LeaseBook, ClearKeepsCapacityAndTheIdSequence) {
  book_type book{100};
  auto a = give(book, "a", 10);
  book.reserve("a", 1, 10, false, {});
  book.clear();
  EXPECT_EQ(book.ledger().capacity(), 100);
  EXPECT_EQ(book.ledger().available(), 100);
  EXPECT_EQ(book.lease_count(), 0u);
  EXPECT_GT(give(book, "a", 10), a);
  EXPECT_EQ(book.check(), "");
}

// -- a model-based property -------------------------------------------------

RC_GTEST_PROP(LeaseBookProperty, AnySequenceKeepsTheInvariantAndTheModel, ()) {
  book_type book{1000};
  std::map<GrantId, std::pair<std::string, units>> model; // id -> owner, amount
  std::map<std::uint64_t, std::pair<std::string, units>> reserved;
  const std::vector<std::string> names{"a", "b", "c"};
  auto steps = *rc::gen::inRange(1, 200);
  for (int step = 0; step < steps; ++step) {
    auto who = *rc::gen::elementOf(names);
    switch (*rc::gen::inRange(0, 6)) {
      case 0: { // grant what fits
        auto room = book.ledger().grantable_to(who);
        if (room <= 0)
          break;
        auto amount = *rc::gen::inRange<units>(1, room + 1);
        auto prio = static_cast<Priority>(*rc::gen::inRange(0, 5));
        auto id = book.grant(who, 1, amount, prio, *rc::gen::arbitrary<bool>(),
                             false, {});
        // Reservations of `who` are consumed first: re-read them.
        for (auto i = reserved.begin(); i != reserved.end();) {
          auto* r = book.find_reservation(i->first);
          if (r == nullptr)
            i = reserved.erase(i);
          else
            (i++)->second.second = r->remaining;
        }
        model[id] = {who, amount};
        break;
      }
      case 1: { // shrink a random lease
        if (model.empty())
          break;
        auto it = std::next(model.begin(),
                            *rc::gen::inRange<std::size_t>(0, model.size()));
        auto amount = *rc::gen::inRange<units>(1, it->second.second + 1);
        auto shrunk = book.shrink(it->first, amount);
        RC_ASSERT(shrunk.found);
        RC_ASSERT(shrunk.amount == amount);
        it->second.second -= amount;
        RC_ASSERT(shrunk.removed == (it->second.second == 0));
        if (it->second.second == 0)
          model.erase(it);
        break;
      }
      case 2: { // reserve
        auto avail = book.ledger().available();
        if (avail <= 0)
          break;
        auto amount = *rc::gen::inRange<units>(1, avail + 1);
        auto id = book.reserve(who, 2, amount, false, {});
        RC_ASSERT(id != 0u);
        reserved[id] = {who, amount};
        break;
      }
      case 3: { // unreserve one
        if (reserved.empty())
          break;
        auto it = reserved.begin();
        RC_ASSERT(book.unreserve(it->first) == it->second.second);
        reserved.erase(it);
        break;
      }
      case 4: { // preempt and give back
        auto victims = book.victims_for(Priority::CRITICAL, who, 1, 3);
        for (auto v : victims) {
          RC_ASSERT(book.find(v)->preemptable);
          RC_ASSERT(book.find(v)->requester != who);
          book.mark_revoked(v, 77);
        }
        for (auto v : victims)
          book.unmark_revoked(v, 77);
        break;
      }
      case 5: { // a holder's reservations
        book.unreserve_holder(2);
        reserved.clear();
        break;
      }
    }
    RC_ASSERT(book.check() == "");
    units held = 0;
    for (const auto& [id, x] : model)
      held += x.second;
    RC_ASSERT(book.ledger().held() == held);
    units res = 0;
    for (const auto& [id, x] : reserved)
      res += x.second;
    RC_ASSERT(book.ledger().reserved() == res);
  }
}
