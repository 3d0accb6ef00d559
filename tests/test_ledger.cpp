// rros::Ledger: unit tests of each operation and of to_units(), then two
// properties over random operation sequences: one on the Ledger itself, one on
// a pool actor driven through the deterministic fixture. Both keep a model of
// their own and check it, and the ledger invariant, after every step.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "core/ledger.hpp"
#include "actors/pool.hpp"
#include "fixture.hpp"

using namespace rros;

namespace {

constexpr units unit = 1;
constexpr units one = units_per_amount; // the amount 1.0 in units

/// Sequences of 0 to 500 steps (250 on average, whatever the case's size), each
/// step drawn at full size. Shrinking removes steps, so a counterexample comes
/// out short.
template <class Op>
rc::Gen<std::vector<Op>> op_sequence(rc::Gen<Op> op) {
  return rc::gen::resize(500, rc::gen::container<std::vector<Op>>(
                                  rc::gen::resize(100, std::move(op))));
}

} // namespace

// -- to_units
// -------------------------------------------------------------------

TEST(LedgerTest, ToUnitsRoundsToTheNearestMillionth) {
  EXPECT_EQ(to_units(0.0), 0);
  EXPECT_EQ(to_units(-0.0), 0);
  EXPECT_EQ(to_units(1.0), one);
  EXPECT_EQ(to_units(0.1), 100000);
  EXPECT_EQ(to_units(static_cast<double>(0.1f)), 100000); // 0.100000001490116
  EXPECT_EQ(to_units(0.25), 250000);
  EXPECT_EQ(to_units(1e-6), 1);
  EXPECT_EQ(to_units(1.4e-6), 1);
  EXPECT_EQ(to_units(1.6e-6), 2);
  EXPECT_EQ(to_units(4e-7), 0);
  EXPECT_EQ(to_units(123.456789), 123456789);
  EXPECT_EQ(to_units(max_amount), 1'000'000'000'000'000'000);
}

TEST(LedgerTest, ToUnitsRefusesWhatCannotBeAnAmount) {
  EXPECT_EQ(to_units(std::nan("")), -1);
  EXPECT_EQ(to_units(std::numeric_limits<double>::infinity()), -1);
  EXPECT_EQ(to_units(-std::numeric_limits<double>::infinity()), -1);
  EXPECT_EQ(to_units(-1.0), -1);
  EXPECT_EQ(to_units(-1e-9), -1);
  EXPECT_EQ(to_units(2e12), -1);
  EXPECT_EQ(to_units(std::nextafter(max_amount, 2 * max_amount)), -1);
}

TEST(LedgerTest, TenTenthsFillACapacityOfOneExactly) {
  Ledger ledger{to_units(1.0)};
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(ledger.grant("focus" + std::to_string(i), to_units(0.1))) << i;
  EXPECT_EQ(ledger.available(), 0);
  EXPECT_EQ(ledger.held(), ledger.capacity());
  EXPECT_FALSE(ledger.grant("late", unit));
}

// -- operations
// -------------------------------------------------------------------

TEST(LedgerTest, StartsEmpty) {
  Ledger none;
  EXPECT_EQ(none.capacity(), 0);
  EXPECT_EQ(none.available(), 0);
  Ledger ledger{100};
  EXPECT_EQ(ledger.capacity(), 100);
  EXPECT_EQ(ledger.held(), 0);
  EXPECT_EQ(ledger.reserved(), 0);
  EXPECT_EQ(ledger.available(), 100);
  EXPECT_EQ(ledger.holder_count(), 0u);
  EXPECT_EQ(ledger.held_by("anyone"), 0);
  EXPECT_EQ(ledger.reserved_for("anyone"), 0);
  EXPECT_EQ(ledger.grantable_to("anyone"), 100);
}

TEST(LedgerTest, GrantTakesFromTheRequestersReservationFirst) {
  Ledger ledger{100};
  ASSERT_TRUE(ledger.reserve("planner", 40));
  EXPECT_EQ(ledger.available(), 60);
  EXPECT_EQ(ledger.grantable_to("planner"), 100);
  EXPECT_EQ(ledger.grantable_to("vision"), 60);
  // 30 of the 40 reserved: available to others does not move.
  ASSERT_TRUE(ledger.grant("planner", 30));
  EXPECT_EQ(ledger.held_by("planner"), 30);
  EXPECT_EQ(ledger.reserved_for("planner"), 10);
  EXPECT_EQ(ledger.reserved(), 10);
  EXPECT_EQ(ledger.available(), 60);
  // 25 more: the last 10 reserved, then 15 from the available rest.
  ASSERT_TRUE(ledger.grant("planner", 25));
  EXPECT_EQ(ledger.held_by("planner"), 55);
  EXPECT_EQ(ledger.reserved_for("planner"), 0);
  EXPECT_EQ(ledger.reserved(), 0);
  EXPECT_EQ(ledger.available(), 45);
  EXPECT_EQ(ledger.capacity(),
            ledger.held() + ledger.reserved() + ledger.available());
}

TEST(LedgerTest, GrantRefusesWhatDoesNotFitAndChangesNothing) {
  Ledger ledger{100};
  ASSERT_TRUE(ledger.reserve("planner", 40));
  // Another requester cannot reach the reservation.
  EXPECT_FALSE(ledger.grant("vision", 61));
  EXPECT_FALSE(ledger.grant("planner", 101));
  EXPECT_FALSE(ledger.grant("vision", 0));
  EXPECT_FALSE(ledger.grant("vision", -5));
  EXPECT_FALSE(ledger.grant("vision", std::numeric_limits<units>::max()));
  EXPECT_EQ(ledger.held(), 0);
  EXPECT_EQ(ledger.reserved(), 40);
  EXPECT_EQ(ledger.reserved_for("planner"), 40);
  EXPECT_EQ(ledger.holder_count(), 0u);
  // Exactly what fits is granted.
  EXPECT_TRUE(ledger.grant("vision", 60));
  EXPECT_TRUE(ledger.grant("planner", 40));
  EXPECT_EQ(ledger.available(), 0);
  EXPECT_EQ(ledger.held(), 100);
}

TEST(LedgerTest, ReleaseNeverReturnsMoreThanIsHeld) {
  Ledger ledger{100};
  ASSERT_TRUE(ledger.grant("audio", 20));
  EXPECT_FALSE(ledger.release("audio", 21));
  EXPECT_FALSE(ledger.release("audio", 0));
  EXPECT_FALSE(ledger.release("audio", -1));
  EXPECT_FALSE(ledger.release("nobody", 1));
  EXPECT_EQ(ledger.held_by("audio"), 20);
  ASSERT_TRUE(ledger.release("audio", 5));
  EXPECT_EQ(ledger.held_by("audio"), 15);
  EXPECT_EQ(ledger.available(), 85);
  // Releasing everything drops the holder.
  ASSERT_TRUE(ledger.release("audio", 15));
  EXPECT_EQ(ledger.held(), 0);
  EXPECT_EQ(ledger.holder_count(), 0u);
  EXPECT_FALSE(ledger.release("audio", 1));
}

TEST(LedgerTest, ReserveNeverSetsAsideMoreThanIsAvailable) {
  Ledger ledger{100};
  ASSERT_TRUE(ledger.grant("vision", 70));
  EXPECT_FALSE(ledger.reserve("planner", 31));
  EXPECT_FALSE(ledger.reserve("planner", 0));
  EXPECT_FALSE(ledger.reserve("planner", -1));
  EXPECT_EQ(ledger.reserved(), 0);
  ASSERT_TRUE(ledger.reserve("planner", 20));
  ASSERT_TRUE(ledger.reserve("planner", 10)); // reservations add up
  EXPECT_EQ(ledger.reserved_for("planner"), 30);
  EXPECT_EQ(ledger.available(), 0);
  EXPECT_FALSE(ledger.reserve("other", 1));
  // A reservation does not count as holding.
  EXPECT_EQ(ledger.holder_count(), 1u);
  EXPECT_EQ(ledger.held_by("planner"), 0);
}

TEST(LedgerTest, CancelReservationReturnsTheWholeRest) {
  Ledger ledger{100};
  ASSERT_TRUE(ledger.reserve("planner", 40));
  ASSERT_TRUE(ledger.grant("planner", 15));
  EXPECT_EQ(ledger.cancel_reservation("planner"), 25);
  EXPECT_EQ(ledger.reserved(), 0);
  EXPECT_EQ(ledger.available(), 85);
  EXPECT_EQ(ledger.held_by("planner"), 15);
  EXPECT_EQ(ledger.cancel_reservation("planner"), 0);
  EXPECT_EQ(ledger.cancel_reservation("nobody"), 0);
  EXPECT_EQ(ledger.available(), 85);
}

TEST(LedgerTest, SetCapacityRefusesBelowHeldPlusReserved) {
  Ledger ledger{100};
  ASSERT_TRUE(ledger.grant("vision", 30));
  ASSERT_TRUE(ledger.reserve("planner", 20));
  EXPECT_FALSE(ledger.set_capacity(49));
  EXPECT_FALSE(ledger.set_capacity(-1));
  EXPECT_EQ(ledger.capacity(), 100);
  EXPECT_TRUE(ledger.set_capacity(50));
  EXPECT_EQ(ledger.available(), 0);
  EXPECT_TRUE(ledger.set_capacity(500));
  EXPECT_EQ(ledger.available(), 450);
  Ledger empty{10};
  EXPECT_TRUE(empty.set_capacity(0));
  EXPECT_EQ(empty.available(), 0);
  EXPECT_FALSE(empty.set_capacity(-1));
}

TEST(LedgerTest, ClearDropsHoldingsAndReservationsButKeepsTheCapacity) {
  Ledger ledger{100};
  ASSERT_TRUE(ledger.grant("vision", 30));
  ASSERT_TRUE(ledger.reserve("planner", 20));
  ASSERT_TRUE(ledger.set_capacity(70));
  ledger.clear();
  EXPECT_EQ(ledger.capacity(), 70);
  EXPECT_EQ(ledger.held(), 0);
  EXPECT_EQ(ledger.reserved(), 0);
  EXPECT_EQ(ledger.available(), 70);
  EXPECT_EQ(ledger.holder_count(), 0u);
  EXPECT_EQ(ledger.held_by("vision"), 0);
  EXPECT_EQ(ledger.reserved_for("planner"), 0);
}

TEST(LedgerTest, StatusIsTheExactSnapshot) {
  Ledger ledger{100};
  ASSERT_TRUE(ledger.grant("vision", 30));
  ASSERT_TRUE(ledger.grant("audio", 5));
  ASSERT_TRUE(ledger.reserve("planner", 20));
  auto s = ledger.status(ResourceType::IO);
  EXPECT_EQ(s.type, ResourceType::IO);
  EXPECT_EQ(s.capacity, 100);
  EXPECT_EQ(s.held, 35);
  EXPECT_EQ(s.reserved, 20);
  EXPECT_EQ(s.available, 45);
  EXPECT_EQ(s.holders, 2u);
  EXPECT_DOUBLE_EQ(s.utilization(), 0.55);
}

// -- property: random operations on a Ledger
// ------------------------------------------

namespace {

const std::vector<std::string> ledger_requesters{"vision", "audio", "planner",
                                                 "motor"};

enum class LedgerKind { grant, release, reserve, cancel, set_capacity, clear };

const char* to_string(LedgerKind x) {
  switch (x) {
    case LedgerKind::grant:
      return "grant";
    case LedgerKind::release:
      return "release";
    case LedgerKind::reserve:
      return "reserve";
    case LedgerKind::cancel:
      return "cancel";
    case LedgerKind::set_capacity:
      return "set_capacity";
    case LedgerKind::clear:
      return "clear";
  }
  return "?";
}

/// One step. With `at_boundary`, the amount is the limit the ledger checks
/// against in the current state (grantable, held, available, held + reserved)
/// plus `amount`, which is then -1, 0 or 1.
struct LedgerOp {
  LedgerKind kind = LedgerKind::clear;
  std::size_t who = 0;
  bool at_boundary = false;
  units amount = 0;
};

std::ostream& operator<<(std::ostream& out, const LedgerOp& op) {
  out << to_string(op.kind) << "(" << ledger_requesters[op.who] << ", ";
  if (op.at_boundary)
    out << "limit" << (op.amount < 0 ? "" : "+") << op.amount;
  else
    out << op.amount;
  return out << ")";
}

rc::Gen<units> ledger_amount() {
  return rc::gen::weightedOneOf<units>({
      {6, rc::gen::inRange<units>(1, 200)},
      {3, rc::gen::inRange<units>(-3, 1500)},
      {1, rc::gen::element<units>(0, -1, std::numeric_limits<units>::min(),
                                  std::numeric_limits<units>::max(),
                                  static_cast<units>(max_amount) * one)},
  });
}

rc::Gen<LedgerOp> ledger_op() {
  return rc::gen::apply(
      [](LedgerKind kind, std::size_t who, bool at_boundary, units amount,
         units delta) {
        LedgerOp op;
        op.kind = kind;
        op.who = who;
        op.at_boundary = at_boundary && kind != LedgerKind::cancel &&
                         kind != LedgerKind::clear;
        op.amount = op.at_boundary ? delta : amount;
        return op;
      },
      rc::gen::weightedElement<LedgerKind>({{8, LedgerKind::grant},
                                            {6, LedgerKind::release},
                                            {4, LedgerKind::reserve},
                                            {2, LedgerKind::cancel},
                                            {2, LedgerKind::set_capacity},
                                            {1, LedgerKind::clear}}),
      rc::gen::inRange<std::size_t>(0, ledger_requesters.size()),
      rc::gen::weightedElement<bool>({{3, false}, {1, true}}), ledger_amount(),
      rc::gen::inRange<units>(-1, 2));
}

/// What an outside observer can see of a ledger.
struct LedgerSnapshot {
  units capacity = 0;
  units held = 0;
  units reserved = 0;
  units available = 0;
  std::size_t holders = 0;
  std::map<std::string, units> held_by;
  std::map<std::string, units> reserved_for;

  explicit LedgerSnapshot(const Ledger& ledger)
    : capacity(ledger.capacity())
    , held(ledger.held())
    , reserved(ledger.reserved())
    , available(ledger.available())
    , holders(ledger.holder_count()) {
    for (const auto& who : ledger_requesters) {
      held_by[who] = ledger.held_by(who);
      reserved_for[who] = ledger.reserved_for(who);
    }
  }

  bool operator==(const LedgerSnapshot& other) const {
    return capacity == other.capacity && held == other.held &&
           reserved == other.reserved && available == other.available &&
           holders == other.holders && held_by == other.held_by &&
           reserved_for == other.reserved_for;
  }
};

/// The ledger's contract written out plainly, per requester.
struct LedgerModel {
  units capacity = 0;
  std::map<std::string, units> held;
  std::map<std::string, units> reserved;

  units total(const std::map<std::string, units>& xs) const {
    units sum = 0;
    for (const auto& kvp : xs)
      sum += kvp.second;
    return sum;
  }

  units available() const {
    return capacity - total(held) - total(reserved);
  }

  /// The amount `op` names in the current state.
  units amount_of(const LedgerOp& op) const {
    if (!op.at_boundary)
      return op.amount;
    const auto& who = ledger_requesters[op.who];
    // A limit can be the largest units value: saturate instead of overflowing.
    auto plus = [](units limit, units delta) {
      units sum = 0;
      return __builtin_add_overflow(limit, delta, &sum)
                 ? std::numeric_limits<units>::max()
                 : sum;
    };
    switch (op.kind) {
      case LedgerKind::grant:
        return plus(available() + reserved.at(who), op.amount);
      case LedgerKind::release:
        return plus(held.at(who), op.amount);
      case LedgerKind::reserve:
        return plus(available(), op.amount);
      case LedgerKind::set_capacity:
        return plus(total(held) + total(reserved), op.amount);
      default:
        return op.amount;
    }
  }

  /// Applies `op` with `amount`; false when the ledger must refuse it.
  bool apply(const LedgerOp& op, units amount) {
    const auto& who = ledger_requesters[op.who];
    switch (op.kind) {
      case LedgerKind::grant: {
        if (amount <= 0 || amount > available() + reserved[who])
          return false;
        auto from_reservation = std::min(reserved[who], amount);
        reserved[who] -= from_reservation;
        held[who] += amount;
        return true;
      }
      case LedgerKind::release:
        if (amount <= 0 || amount > held[who])
          return false;
        held[who] -= amount;
        return true;
      case LedgerKind::reserve:
        if (amount <= 0 || amount > available())
          return false;
        reserved[who] += amount;
        return true;
      case LedgerKind::cancel: {
        auto had = reserved[who];
        reserved[who] = 0;
        return had > 0;
      }
      case LedgerKind::set_capacity:
        if (amount < total(held) + total(reserved))
          return false;
        capacity = amount;
        return true;
      case LedgerKind::clear:
        for (auto& kvp : held)
          kvp.second = 0;
        for (auto& kvp : reserved)
          kvp.second = 0;
        return true;
    }
    return false;
  }
};

} // namespace

RC_GTEST_PROP(LedgerProperty, RandomOperationsKeepTheLedgerExact, ()) {
  const auto initial = *rc::gen::weightedOneOf<units>(
      {{8, rc::gen::inRange<units>(0, 1500)},
       {1, rc::gen::element<units>(0, static_cast<units>(max_amount) * one,
                                   std::numeric_limits<units>::max())}});
  const auto ops = *op_sequence(ledger_op());
  Ledger ledger{initial};
  LedgerModel model;
  model.capacity = initial;
  for (const auto& who : ledger_requesters) {
    model.held[who] = 0;
    model.reserved[who] = 0;
  }
  for (const auto& op : ops) {
    const auto& who = ledger_requesters[op.who];
    const auto amount = model.amount_of(op);
    const LedgerSnapshot before{ledger};
    bool changed = false;
    switch (op.kind) {
      case LedgerKind::grant:
        changed = ledger.grant(who, amount);
        break;
      case LedgerKind::release:
        changed = ledger.release(who, amount);
        break;
      case LedgerKind::reserve:
        changed = ledger.reserve(who, amount);
        break;
      case LedgerKind::cancel: {
        auto expected = before.reserved_for.at(who);
        RC_ASSERT(ledger.cancel_reservation(who) == expected);
        changed = expected > 0;
        break;
      }
      case LedgerKind::set_capacity:
        changed = ledger.set_capacity(amount);
        break;
      case LedgerKind::clear:
        ledger.clear();
        changed = true;
        break;
    }
    const bool accepted = model.apply(op, amount);
    RC_ASSERT(changed == accepted);
    const LedgerSnapshot after{ledger};
    if (!accepted)
      RC_ASSERT(after == before);
    // The invariant, exactly.
    RC_ASSERT(after.capacity == after.held + after.reserved + after.available);
    RC_ASSERT(after.available >= 0);
    RC_ASSERT(after.held >= 0);
    RC_ASSERT(after.reserved >= 0);
    units held_sum = 0;
    units reserved_sum = 0;
    std::size_t holders = 0;
    for (const auto& name : ledger_requesters) {
      RC_ASSERT(after.held_by.at(name) == model.held.at(name));
      RC_ASSERT(after.reserved_for.at(name) == model.reserved.at(name));
      held_sum += after.held_by.at(name);
      reserved_sum += after.reserved_for.at(name);
      if (after.held_by.at(name) > 0)
        ++holders;
    }
    RC_ASSERT(after.held == held_sum);
    RC_ASSERT(after.reserved == reserved_sum);
    RC_ASSERT(after.holders == holders);
    RC_ASSERT(after.capacity == model.capacity);
    RC_ASSERT(ledger.held_by("nobody") == 0);
    RC_ASSERT(ledger.reserved_for("nobody") == 0);
  }
}

// -- property: random messages to a pool actor
// ------------------------------------------

namespace {

constexpr auto pool_type = ResourceType::COMPUTATIONAL;

// The last one is the empty id, refused by every handler.
const std::vector<std::string> pool_requesters{"vision", "audio", "planner",
                                               ""};

enum class PoolKind {
  allocate,
  release,
  reserve,
  unreserve,
  capacity,
  capacity_at_usage,
  reset
};

const char* to_string(PoolKind x) {
  switch (x) {
    case PoolKind::allocate:
      return "allocate";
    case PoolKind::release:
      return "release";
    case PoolKind::reserve:
      return "reserve";
    case PoolKind::unreserve:
      return "unreserve";
    case PoolKind::capacity:
      return "capacity";
    case PoolKind::capacity_at_usage:
      return "capacity_at_usage";
    case PoolKind::reset:
      return "reset";
  }
  return "?";
}

/// One message. `amount` is the float of allocate, release and reserve;
/// `capacity` the double of capacity; capacity_at_usage sends held + reserved
/// plus `delta` units as the new capacity.
struct PoolOp {
  PoolKind kind = PoolKind::reset;
  std::size_t who = 0;
  float amount = 0;
  Priority priority = Priority::NORMAL;
  ReleaseMode mode = ReleaseMode::exact;
  double capacity = 0;
  units delta = 0;
};

std::ostream& operator<<(std::ostream& out, const PoolOp& op) {
  out << to_string(op.kind) << "('" << pool_requesters[op.who] << "'";
  switch (op.kind) {
    case PoolKind::allocate:
      out << ", " << op.amount << ", " << to_string(op.priority);
      break;
    case PoolKind::release:
      out << ", " << op.amount << ", " << to_string(op.mode);
      break;
    case PoolKind::reserve:
      out << ", " << op.amount;
      break;
    case PoolKind::capacity:
      out << ", " << op.capacity;
      break;
    case PoolKind::capacity_at_usage:
      out << ", usage" << (op.delta < 0 ? "" : "+") << op.delta;
      break;
    default:
      break;
  }
  return out << ")";
}

rc::Gen<float> pool_amount() {
  constexpr auto inf = std::numeric_limits<float>::infinity();
  return rc::gen::weightedOneOf<float>({
      {6, rc::gen::map(rc::gen::inRange(1, 60),
                       [](int k) { return static_cast<float>(k); })},
      {4, rc::gen::map(rc::gen::inRange(1, 400),
                       [](int k) { return static_cast<float>(k) / 10.0f; })},
      {2, rc::gen::element<float>(std::numeric_limits<float>::quiet_NaN(), inf,
                                  -inf, 0.0f, -0.0f, -1.0f, -5.5f, 1e-9f, 2e12f,
                                  1e12f)},
  });
}

rc::Gen<double> pool_capacity() {
  constexpr auto inf = std::numeric_limits<double>::infinity();
  return rc::gen::weightedOneOf<double>({
      {5, rc::gen::map(rc::gen::inRange(1, 200),
                       [](int k) { return static_cast<double>(k); })},
      {2, rc::gen::map(rc::gen::inRange(1, 800),
                       [](int k) { return static_cast<double>(k) / 4.0; })},
      {2, rc::gen::element<double>(std::numeric_limits<double>::quiet_NaN(),
                                   inf, -inf, 0.0, -1.0, 1e-9, 2e12)},
  });
}

rc::Gen<PoolOp> pool_op() {
  return rc::gen::apply(
      [](PoolKind kind, std::size_t who, float amount, Priority priority,
         ReleaseMode mode, double capacity, units delta) {
        PoolOp op;
        op.kind = kind;
        op.who = who;
        op.amount = amount;
        op.priority = priority;
        op.mode = mode;
        op.capacity = capacity;
        op.delta = delta;
        return op;
      },
      rc::gen::weightedElement<PoolKind>({{8, PoolKind::allocate},
                                          {6, PoolKind::release},
                                          {3, PoolKind::reserve},
                                          {2, PoolKind::unreserve},
                                          {2, PoolKind::capacity},
                                          {1, PoolKind::capacity_at_usage},
                                          {1, PoolKind::reset}}),
      rc::gen::weightedElement<std::size_t>({{5, 0}, {5, 1}, {5, 2}, {1, 3}}),
      pool_amount(),
      rc::gen::element(Priority::CRITICAL, Priority::HIGH, Priority::NORMAL,
                       Priority::LOW, Priority::IDLE),
      rc::gen::element(ReleaseMode::exact, ReleaseMode::up_to_held),
      pool_capacity(), rc::gen::inRange<units>(-1, 2));
}

/// The pool's contract in units, per requester.
struct PoolModel {
  units capacity = 0;
  std::map<std::string, units> held;
  std::map<std::string, units> reserved;
  std::uint64_t allocations = 0;
  std::uint64_t rejections = 0;

  units total_held() const {
    units sum = 0;
    for (const auto& kvp : held)
      sum += kvp.second;
    return sum;
  }
  units total_reserved() const {
    units sum = 0;
    for (const auto& kvp : reserved)
      sum += kvp.second;
    return sum;
  }
  units available() const {
    return capacity - total_held() - total_reserved();
  }
  std::uint32_t holders() const {
    std::uint32_t n = 0;
    for (const auto& kvp : held)
      if (kvp.second > 0)
        ++n;
    return n;
  }
  units held_by(const std::string& who) const {
    auto i = held.find(who);
    return i == held.end() ? 0 : i->second;
  }
  units reserved_for(const std::string& who) const {
    auto i = reserved.find(who);
    return i == reserved.end() ? 0 : i->second;
  }
};

/// The error an amount gets, or 0 (none) with its units in `out`.
ec check_amount(float amount, units& out) {
  if (!std::isfinite(amount) || amount <= 0)
    return ec::invalid_amount;
  if (static_cast<double>(amount) > max_amount)
    return ec::amount_too_large;
  out = std::llround(static_cast<double>(amount) * 1e6);
  return out > 0 ? ec{} : ec::invalid_amount;
}

/// Checks that `result` failed with `code`, or succeeded when `code` is 0.
template <class T>
void expect_outcome(const caf::expected<T>& result, ec code) {
  if (code == ec{}) {
    if (!result)
      RC_FAIL("expected success, got " + describe(result.error()));
  } else if (result) {
    RC_FAIL(std::string{"succeeded, expected "} + to_string(code));
  } else if (!is(result.error(), code)) {
    RC_FAIL("failed with " + describe(result.error()) + ", expected " +
            to_string(code));
  }
}

float as_float(units x) {
  return static_cast<float>(to_amount(x));
}

class PoolPropertyFixture : public test::DeterministicFixture {
public:
  ~PoolPropertyFixture() override {
    if (pool_) {
      caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
      run();
    }
  }

  /// Sends `op` and checks the reply against the model, then updates it.
  void step(const PoolOp& op, PoolModel& model) {
    const auto& who = pool_requesters[op.who];
    units wanted = 0;
    switch (op.kind) {
      case PoolKind::allocate: {
        auto result = ask<ResourceAllocation>(
            pool_, allocate_atom::value,
            test::request(who, pool_type, op.amount, op.priority));
        auto code =
            who.empty() ? ec::empty_requester : check_amount(op.amount, wanted);
        units granted = wanted;
        if (code == ec{}) {
          auto grantable = model.available() + model.reserved_for(who);
          if (wanted > model.capacity)
            code = ec::exceeds_capacity;
          else if (wanted > grantable &&
                   (op.priority != Priority::CRITICAL || grantable == 0))
            code = ec::insufficient_resources;
          else
            granted = std::min(wanted, grantable);
          if (code == ec{})
            ++model.allocations;
          else
            ++model.rejections;
        }
        expect_outcome(result, code);
        if (code != ec{})
          return;
        RC_ASSERT(result->requester_id == who);
        RC_ASSERT(result->resource_type == pool_type);
        RC_ASSERT(result->fully_satisfied == (granted == wanted));
        RC_ASSERT(result->allocated_amount ==
                  (granted == wanted ? op.amount : as_float(granted)));
        auto from_reservation = std::min(model.reserved_for(who), granted);
        model.reserved[who] -= from_reservation;
        model.held[who] += granted;
        return;
      }
      case PoolKind::release: {
        auto result = ask<ReleaseReceipt>(pool_, release_atom::value, who,
                                          op.amount, op.mode);
        auto held = model.held_by(who);
        auto code =
            who.empty() ? ec::empty_requester : check_amount(op.amount, wanted);
        if (code == ec{} && held == 0)
          code = ec::nothing_held;
        if (code == ec{} && wanted > held && op.mode == ReleaseMode::exact)
          code = ec::release_exceeds_holding;
        expect_outcome(result, code);
        if (code != ec{})
          return;
        auto returned = std::min(wanted, held);
        model.held[who] -= returned;
        RC_ASSERT(result->requester_id == who);
        RC_ASSERT(result->released_amount == as_float(returned));
        RC_ASSERT(result->still_held == as_float(model.held[who]));
        return;
      }
      case PoolKind::reserve: {
        auto result =
            ask<PoolStatus>(pool_, reserve_atom::value, who, op.amount);
        auto code =
            who.empty() ? ec::empty_requester : check_amount(op.amount, wanted);
        if (code == ec{} && wanted > model.available())
          code = ec::insufficient_resources;
        expect_outcome(result, code);
        if (code != ec{})
          return;
        model.reserved[who] += wanted;
        expect_status(*result, model);
        return;
      }
      case PoolKind::unreserve: {
        auto result = ask<float>(pool_, unreserve_atom::value, who);
        auto had = model.reserved_for(who);
        auto code = who.empty() ? ec::empty_requester
                    : had == 0  ? ec::nothing_held
                                : ec{};
        expect_outcome(result, code);
        if (code != ec{})
          return;
        RC_ASSERT(*result == as_float(had));
        model.reserved[who] = 0;
        return;
      }
      case PoolKind::capacity:
      case PoolKind::capacity_at_usage: {
        auto usage = model.total_held() + model.total_reserved();
        auto capacity = op.kind == PoolKind::capacity
                            ? op.capacity
                            : to_amount(usage + op.delta);
        auto result = ask<PoolStatus>(pool_, capacity_atom::value, capacity);
        auto code = ec{};
        auto new_capacity =
            std::isfinite(capacity) ? std::llround(capacity * 1e6) : units{0};
        if (!std::isfinite(capacity) || capacity <= 0 ||
            capacity > max_amount || new_capacity <= 0)
          code = ec::invalid_config_value;
        else if (new_capacity < usage)
          code = ec::capacity_below_usage;
        expect_outcome(result, code);
        if (code != ec{})
          return;
        model.capacity = new_capacity;
        expect_status(*result, model);
        return;
      }
      case PoolKind::reset: {
        auto result = ask<PoolStatus>(pool_, reset_atom::value);
        expect_outcome(result, ec{});
        model.held.clear();
        model.reserved.clear();
        model.allocations = 0;
        model.rejections = 0;
        expect_status(*result, model);
        return;
      }
    }
  }

  static void expect_status(const PoolStatus& s, const PoolModel& model) {
    RC_ASSERT(s.type == pool_type);
    RC_ASSERT(s.capacity == s.held + s.reserved + s.available);
    RC_ASSERT(s.available >= 0);
    RC_ASSERT(s.capacity == model.capacity);
    RC_ASSERT(s.held == model.total_held());
    RC_ASSERT(s.reserved == model.total_reserved());
    RC_ASSERT(s.available == model.available());
    RC_ASSERT(s.holders == model.holders());
  }

  /// The pool's ledger and every requester's holding match the model.
  void check(const PoolModel& model) {
    auto status = ask<PoolStatus>(pool_, status_atom::value);
    RC_ASSERT(static_cast<bool>(status));
    expect_status(*status, model);
    for (const auto& who : pool_requesters) {
      auto holding = ask<float>(pool_, holding_atom::value, who);
      RC_ASSERT(static_cast<bool>(holding));
      RC_ASSERT(*holding == as_float(model.held_by(who)));
    }
  }

  pool_actor pool_;
};

} // namespace

RC_GTEST_FIXTURE_PROP(PoolPropertyFixture,
                      RandomMessagesKeepThePoolLedgerExactAndMatchTheModel,
                      ()) {
  const auto initial = static_cast<double>(*rc::gen::inRange(1, 200));
  const auto ops = *op_sequence(pool_op());
  pool_ = sys.spawn(rros::pool, pool_type, initial, PoolPolicy{});
  run();
  PoolModel model;
  model.capacity = to_units(initial);
  check(model);
  for (const auto& op : ops) {
    step(op, model);
    check(model);
  }
  auto stats = ask<ResourceStats>(pool_, stats_atom::value);
  RC_ASSERT(static_cast<bool>(stats));
  RC_ASSERT(stats->allocation_count == model.allocations);
  RC_ASSERT(stats->rejection_count == model.rejections);
}
