// Batched calls to a pool (messages/batch.hpp): each item is answered as the
// single call would be, in order; a bad item is refused alone; batches of
// allocations never wait; an empty batch gets an empty reply and an
// over-long one is refused whole. A rapidcheck property sends the same items
// to two pools, one by one and in batches, and compares every reply, the
// ledgers, the holdings and the statistics.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "fixture.hpp"

#include "actors/pool.hpp"
#include "messages/limits.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;

class PoolBatchTest : public DeterministicFixture {
public:
  PoolBatchTest() {
    pool_ = spawn_pool();
  }

  ~PoolBatchTest() override {
    for (auto& p : spawned_)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    run();
  }

  void TestBody() override {
    // Used as a plain fixture object inside rapidcheck properties.
  }

  pool_actor spawn_pool(double capacity = 100.0) {
    auto p = sys.spawn(rros::pool, compute, capacity, PoolPolicy{});
    run();
    spawned_.push_back(p);
    return p;
  }

  std::vector<AllocationOutcome> allocate_batch(const pool_actor& p,
                                                AllocationBatch batch) {
    return ask_ok<std::vector<AllocationOutcome>>(p, allocate_atom::value,
                                                  std::move(batch));
  }

  std::vector<ReleaseOutcome> release_batch(const pool_actor& p,
                                            ReleaseBatch batch) {
    return ask_ok<std::vector<ReleaseOutcome>>(p, release_atom::value,
                                               std::move(batch));
  }

  PoolStatus status(const pool_actor& p) {
    return ask_ok<PoolStatus>(p, status_atom::value);
  }

  pool_actor pool_;
  std::vector<pool_actor> spawned_;
};

ResourceRequest req(const std::string& who, float amount,
                    Priority prio = Priority::NORMAL) {
  return request(who, compute, amount, prio);
}

} // namespace

TEST_F(PoolBatchTest, EachItemIsAnsweredInOrderAndABadItemIsRefusedAlone) {
  auto bad_type = req("vision", 1);
  bad_type.resource_type = ResourceType::IO;
  auto out = allocate_batch(
      pool_, {req("vision", 30), req("", 5), req("audio", -1), bad_type,
              req("audio", 500), req("audio", 60), req("memo", 20)});
  ASSERT_EQ(out.size(), 7u);
  EXPECT_FALSE(out[0].error);
  EXPECT_EQ(out[0].allocation.allocated_amount, 30.0f);
  EXPECT_NE(out[0].allocation.grant_id, 0u);
  EXPECT_TRUE(is(out[1].error, ec::empty_requester)) << describe(out[1].error);
  EXPECT_TRUE(is(out[2].error, ec::invalid_amount)) << describe(out[2].error);
  EXPECT_TRUE(is(out[3].error, ec::unknown_resource_type));
  EXPECT_TRUE(is(out[4].error, ec::exceeds_capacity));
  EXPECT_FALSE(out[5].error);
  // In order: after 30 + 60 only 10 are left for memo's 20.
  EXPECT_TRUE(is(out[6].error, ec::insufficient_resources))
      << describe(out[6].error);
  EXPECT_EQ(out[6].allocation.grant_id, 0u);
  EXPECT_EQ(status(pool_).held, to_units(90));

  // Releases by id: a double release and an unknown id are refused alone.
  auto vision = out[0].allocation.grant_id;
  auto audio = out[5].allocation.grant_id;
  auto back = release_batch(pool_, {vision, vision, 12345, audio});
  ASSERT_EQ(back.size(), 4u);
  EXPECT_FALSE(back[0].error);
  EXPECT_EQ(back[0].receipt.requester_id, "vision");
  EXPECT_EQ(back[0].receipt.released_amount, 30.0f);
  EXPECT_TRUE(is(back[1].error, ec::unknown_grant));
  EXPECT_TRUE(is(back[2].error, ec::unknown_grant));
  EXPECT_FALSE(back[3].error);
  EXPECT_EQ(back[3].receipt.still_held, 0.0f);
  auto s = status(pool_);
  EXPECT_EQ(s.held, 0);
  EXPECT_EQ(s.available, s.capacity);
}

TEST_F(PoolBatchTest, AnEmptyBatchGetsAnEmptyReply) {
  EXPECT_TRUE(allocate_batch(pool_, {}).empty());
  EXPECT_TRUE(release_batch(pool_, {}).empty());
  EXPECT_EQ(status(pool_).held, 0);
}

TEST_F(PoolBatchTest, AnOverLongBatchIsRefusedWholeAndChangesNothing) {
  AllocationBatch many(max_batch_items + 1, req("vision", 0.01f));
  auto refused =
      ask<std::vector<AllocationOutcome>>(pool_, allocate_atom::value, many);
  EXPECT_TRUE(fails_with(refused, ec::limit_exceeded));
  EXPECT_EQ(status(pool_).held, 0);
  auto stats = ask_ok<ResourceStats>(pool_, stats_atom::value);
  EXPECT_EQ(stats.allocation_count, 0u);
  // At the limit it is accepted, every item granted.
  many.pop_back();
  auto out = allocate_batch(pool_, many);
  ASSERT_EQ(out.size(), max_batch_items);
  ReleaseBatch ids;
  for (auto& o : out) {
    ASSERT_FALSE(o.error) << describe(o.error);
    ids.push_back(o.allocation.grant_id);
  }
  auto held = status(pool_).held;
  EXPECT_EQ(held, static_cast<units>(max_batch_items) * to_units(0.01));
  ids.push_back(ids.front());
  EXPECT_TRUE(fails_with(
      ask<std::vector<ReleaseOutcome>>(pool_, release_atom::value, ids),
      ec::limit_exceeded));
  EXPECT_EQ(status(pool_).held, held);
  ids.pop_back();
  for (auto& o : release_batch(pool_, ids))
    EXPECT_FALSE(o.error) << describe(o.error);
  EXPECT_EQ(status(pool_).held, 0);
}

TEST_F(PoolBatchTest, BatchedAllocationsNeverWait) {
  ASSERT_FALSE(allocate_batch(pool_, {req("vision", 90)})[0].error);
  auto waits = req("audio", 20);
  waits.deadline = 1s;
  auto critical = req("alarm", 20, Priority::CRITICAL);
  critical.deadline = 1s;
  auto fits = req("memo", 5);
  fits.deadline = 1s;
  auto out = allocate_batch(pool_, {waits, critical, fits});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(is(out[0].error, ec::insufficient_resources));
  // A CRITICAL item with a deadline would wait alone: no partial grant.
  EXPECT_TRUE(is(out[1].error, ec::insufficient_resources));
  EXPECT_FALSE(out[2].error);
  auto s = status(pool_);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(s.held, to_units(95));
  // Without a deadline a CRITICAL item gets what is left, as alone.
  auto partial = allocate_batch(pool_, {req("alarm", 20, Priority::CRITICAL)});
  EXPECT_FALSE(partial[0].error);
  EXPECT_FALSE(partial[0].allocation.fully_satisfied);
  EXPECT_EQ(partial[0].allocation.allocated_amount, 5.0f);
}

TEST_F(PoolBatchTest, AnotherClientCannotReleaseAClientsGrantsInABatch) {
  auto out = allocate_batch(pool_, {req("victim", 10), req("victim", 20)});
  {
    caf::scoped_actor mallory{sys, true};
    auto h = mallory->request(
        pool_, caf::infinite, release_atom::value,
        ReleaseBatch{out[0].allocation.grant_id, out[1].allocation.grant_id});
    run();
    std::vector<ReleaseOutcome> refused;
    h.receive([&](std::vector<ReleaseOutcome>& x) { refused = std::move(x); },
              [&](caf::error& err) { ADD_FAILURE() << describe(err); });
    ASSERT_EQ(refused.size(), 2u);
    EXPECT_TRUE(is(refused[0].error, ec::unknown_grant));
    EXPECT_TRUE(is(refused[1].error, ec::unknown_grant));
    EXPECT_EQ(status(pool_).held, to_units(30));
    // Grants taken in a batch are the sender's: they return when it ends.
    auto mine = mallory->request(pool_, caf::infinite, allocate_atom::value,
                                 AllocationBatch{req("mallory", 7)});
    run();
    mine.receive([](std::vector<AllocationOutcome>&) {},
                 [&](caf::error& err) { ADD_FAILURE() << describe(err); });
    EXPECT_EQ(status(pool_).held, to_units(37));
  } // mallory ends here
  run();
  EXPECT_EQ(status(pool_).held, to_units(30));
}

// -- property: a batch is the same as its items one by one -------------------

namespace {

/// One step of the property: a batch of allocations or of releases. A
/// release names an earlier allocation item by index (its grant, or 0 when
/// it was refused) or a bogus id.
struct Phase {
  bool allocations = true;
  std::vector<ResourceRequest> requests;
  std::vector<int> releases; // index into all allocation items; -1: bogus
};

ResourceRequest random_request() {
  static const std::vector<std::string> names{"a", "b", "c", ""};
  auto who = names[*rc::gen::inRange<std::size_t>(0, names.size())];
  // Quarters up to 40, and now and then a bad amount.
  float amount = static_cast<float>(*rc::gen::inRange(0, 161)) / 4.0f;
  if (*rc::gen::inRange(0, 20) == 0)
    amount = -1.0f;
  auto prio = static_cast<Priority>(*rc::gen::inRange(0, 5));
  auto r = request(who, compute, amount, prio);
  r.preemptable = *rc::gen::arbitrary<bool>();
  if (*rc::gen::inRange(0, 30) == 0)
    r.resource_type = ResourceType::IO;
  return r;
}

struct Outcome {
  bool ok = false;
  std::uint8_t code = 0;
  float amount = 0;
  bool full = false;
  std::string requester;
  float still_held = 0;

  bool operator==(const Outcome& y) const {
    return ok == y.ok && code == y.code && amount == y.amount &&
           full == y.full && requester == y.requester &&
           still_held == y.still_held;
  }
};

Outcome outcome_of(const caf::error& err) {
  Outcome o;
  o.code = err.code();
  return o;
}

Outcome outcome_of(const ResourceAllocation& a) {
  Outcome o;
  o.ok = true;
  o.amount = a.allocated_amount;
  o.full = a.fully_satisfied;
  o.requester = a.requester_id;
  return o;
}

Outcome outcome_of(const ReleaseReceipt& r) {
  Outcome o;
  o.ok = true;
  o.amount = r.released_amount;
  o.requester = r.requester_id;
  o.still_held = r.still_held;
  return o;
}

/// Runs the phases against `p`, one item per message or one message per
/// phase, and returns every item's outcome in order.
std::vector<Outcome> drive(PoolBatchTest& t, const pool_actor& p,
                           const std::vector<Phase>& phases, bool batched) {
  std::vector<Outcome> result;
  std::vector<GrantId> grants; // per allocation item, 0 when refused
  auto id_of = [&](int index) -> GrantId {
    if (index < 0 || static_cast<std::size_t>(index) >= grants.size())
      return 0xdead'0000'0000'0000ull + 7; // never a grant of either pool
    return grants[static_cast<std::size_t>(index)];
  };
  for (const auto& phase : phases) {
    if (phase.allocations) {
      if (batched) {
        auto out = t.allocate_batch(p, phase.requests);
        RC_ASSERT(out.size() == phase.requests.size());
        for (auto& o : out) {
          result.push_back(o.error ? outcome_of(o.error)
                                   : outcome_of(o.allocation));
          grants.push_back(o.error ? 0 : o.allocation.grant_id);
        }
      } else {
        for (const auto& r : phase.requests) {
          auto a = t.ask<ResourceAllocation>(p, allocate_atom::value, r);
          result.push_back(a ? outcome_of(*a) : outcome_of(a.error()));
          grants.push_back(a ? a->grant_id : 0);
        }
      }
      continue;
    }
    ReleaseBatch ids;
    for (auto index : phase.releases)
      ids.push_back(id_of(index));
    if (batched) {
      auto out = t.release_batch(p, ids);
      RC_ASSERT(out.size() == ids.size());
      for (auto& o : out)
        result.push_back(o.error ? outcome_of(o.error) : outcome_of(o.receipt));
    } else {
      for (auto id : ids) {
        auto r = t.ask<ReleaseReceipt>(p, release_atom::value, id);
        result.push_back(r ? outcome_of(*r) : outcome_of(r.error()));
      }
    }
  }
  return result;
}

} // namespace

RC_GTEST_PROP(PoolBatchProperty, ABatchIsItsItemsOneByOne, ()) {
  std::vector<Phase> phases;
  int allocation_items = 0;
  auto count = *rc::gen::inRange(1, 12);
  for (int i = 0; i < count; ++i) {
    Phase phase;
    phase.allocations = allocation_items == 0 || *rc::gen::arbitrary<bool>();
    auto items = *rc::gen::inRange(0, 12);
    for (int k = 0; k < items; ++k) {
      if (phase.allocations)
        phase.requests.push_back(random_request());
      else
        phase.releases.push_back(*rc::gen::inRange(-1, allocation_items));
    }
    if (phase.allocations)
      allocation_items += items;
    phases.push_back(std::move(phase));
  }
  PoolBatchTest t;
  auto single = t.spawn_pool();
  auto batched = t.spawn_pool();
  auto one_by_one = drive(t, single, phases, false);
  auto in_batches = drive(t, batched, phases, true);
  RC_ASSERT(one_by_one.size() == in_batches.size());
  for (std::size_t i = 0; i < one_by_one.size(); ++i)
    RC_ASSERT(one_by_one[i] == in_batches[i]);
  auto x = t.status(single);
  auto y = t.status(batched);
  RC_ASSERT(x.held == y.held);
  RC_ASSERT(x.reserved == y.reserved);
  RC_ASSERT(x.available == y.available);
  RC_ASSERT(x.holders == y.holders);
  RC_ASSERT(x.capacity == x.held + x.reserved + x.available);
  for (std::string who : {"a", "b", "c"})
    RC_ASSERT(t.ask_ok<float>(single, holding_atom::value, who) ==
              t.ask_ok<float>(batched, holding_atom::value, who));
  auto sx = t.ask_ok<ResourceStats>(single, stats_atom::value);
  auto sy = t.ask_ok<ResourceStats>(batched, stats_atom::value);
  RC_ASSERT(sx.allocation_count == sy.allocation_count);
  RC_ASSERT(sx.rejection_count == sy.rejection_count);
}
