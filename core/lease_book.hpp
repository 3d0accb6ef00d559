// rros::LeaseBook: one pool's books in one place. The ledger (sums per
// requester), the leases behind it (who holds what, until when, preemptable
// or not), the reservations, the prepared bundle legs and the index of
// preemption candidates change together here, so they cannot drift apart;
// check() states the invariant and verifies it. Pure C++17: the holder and
// time types are parameters (the pool uses caf::actor_addr and the actor
// clock; tests use plain values).
//
// Invariant (check()):
//   ledger.held()          == sum of lease amounts
//   ledger.held_by(r)      == sum of r's lease amounts
//   ledger.reserved()      == sum of reservation amounts, and per requester
//   candidates             == leases that are preemptable, committed and not
//                             under revocation
//   every lease is listed once in its requester's list, ids ascending
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ledger.hpp"
#include "messages/types.hpp"

namespace rros {

/// A requester's name kept once per requester by a LeaseBook (the key of its
/// lease list, which lives until clear()) and pointed at by each of its
/// leases: 8 bytes per lease instead of a std::string's 32 (issue 15's
/// budget of 128 bytes of books per live grant). Reads as a std::string.
class InternedName {
public:
  InternedName() = default;

  explicit InternedName(const std::string& name)
    : name_(&name) {
    // nop
  }

  const std::string& str() const {
    return name_ != nullptr ? *name_ : empty();
  }

  operator const std::string&() const {
    return str();
  }

  friend bool operator==(const InternedName& x, const std::string& y) {
    return x.str() == y;
  }
  friend bool operator==(const std::string& x, const InternedName& y) {
    return x == y.str();
  }
  friend bool operator!=(const InternedName& x, const std::string& y) {
    return x.str() != y;
  }
  friend bool operator!=(const std::string& x, const InternedName& y) {
    return x != y.str();
  }

private:
  static const std::string& empty() {
    static const std::string result;
    return result;
  }

  const std::string* name_ = nullptr;
};

template <class Holder, class TimePoint>
class LeaseBook {
public:
  using time_point = TimePoint;

  /// One grant (its id is the key of the book's map). Kept small: the book
  /// holds one per live grant (docs/benchmark.md, bytes per live grant).
  struct Lease {
    InternedName requester; // points into the book's requester index
    Holder holder{};        // who is told and whose end returns it
    units amount = 0;
    Priority priority = Priority::NORMAL;
    bool preemptable = false;
    bool has_ttl = false;
    time_point expires_at{};
    std::uint64_t revoked_by = 0; // the preemption reclaiming it, 0 = none
  };

  /// Capacity set aside for a requester: by a reserve request (maybe
  /// expiring) or by a preemption (what its victims freed, kept for the
  /// request it serves).
  struct Reservation {
    std::string requester;
    Holder holder{}; // its maker; null when anonymous
    units remaining = 0;
    bool expires = false;
    time_point expires_at{};
    std::uint64_t preemption = 0; // 0 = an ordinary reservation
  };

  /// What a shrink did.
  struct Shrunk {
    bool found = false;
    std::string requester;
    units amount = 0;             // returned to the pool
    std::uint64_t revoked_by = 0; // the lease's preemption, if any
    bool removed = false;         // the lease is gone
  };

  explicit LeaseBook(units capacity = 0, std::uint64_t first_id = 1)
    : ledger_(capacity)
    , next_id_(first_id) {
    // nop
  }

  // Leases point into this book's requester index: a copy would point into
  // the original's. Moving keeps the index's nodes (and so the pointers).
  LeaseBook(const LeaseBook&) = delete;
  LeaseBook& operator=(const LeaseBook&) = delete;
  LeaseBook(LeaseBook&&) = default;
  LeaseBook& operator=(LeaseBook&&) = default;

  // -- figures -----------------------------------------------------------

  const Ledger& ledger() const {
    return ledger_;
  }

  bool set_capacity(units capacity) {
    return ledger_.set_capacity(capacity);
  }

  // -- change tracking (durability) -------------------------------------

  /// From now on, remembers the id of every lease and reservation that
  /// changes (touched()), so that a journal can write what they became.
  void track_changes() {
    tracking_ = true;
  }

  /// Marks `id` as changed (for fields the owner changes directly, such as
  /// a renewed lease's expiry).
  void touch(std::uint64_t id) {
    if (tracking_)
      touched_.push_back(id);
  }

  /// The ids changed since the last call (maybe repeated), and forgets them.
  std::vector<std::uint64_t> take_touched() {
    std::vector<std::uint64_t> result;
    result.swap(touched_);
    return result;
  }

  /// Puts back a lease kept from before a restart, under its old id (which
  /// must be below the ids this book hands out). False (no change) when it
  /// does not fit or the id is taken.
  bool restore(GrantId id, const std::string& requester, Holder holder,
               units amount, Priority priority, bool preemptable, bool has_ttl,
               time_point expires_at) {
    if (amount <= 0 || leases_.count(id) != 0 || id >= next_id_ ||
        ledger_.available() < amount)
      return false;
    auto& stored = add_lease(id, requester, std::move(holder), amount, priority,
                             preemptable, has_ttl, expires_at);
    index_candidate(id, stored);
    return true;
  }

  /// A fresh id (grants, reservations, and whatever else the owner numbers:
  /// one sequence, so ids never collide).
  std::uint64_t next_id() {
    return next_id_++;
  }

  /// The id next_id() hands out next (unchanged).
  std::uint64_t peek_next_id() const {
    return next_id_;
  }

  std::size_t lease_count() const {
    return leases_.size();
  }

  // -- grants ------------------------------------------------------------

  /// Records a grant of `amount` (the caller checked that it fits into
  /// ledger().grantable_to(requester)), using the requester's reservations
  /// first: a preemption's first, then those that expire soonest, then the
  /// rest. A prepared bundle leg (`leg_ttl` set) is not the requester's until
  /// commit(); its time-to-live starts there.
  GrantId grant(const std::string& requester, Holder holder, units amount,
                Priority priority, bool preemptable, bool has_ttl,
                time_point expires_at, bool prepared = false,
                std::chrono::nanoseconds leg_ttl = {}) {
    consume_reservations(requester,
                         std::min(amount, ledger_.reserved_for(requester)));
    auto id = next_id();
    auto& stored = add_lease(id, requester, std::move(holder), amount, priority,
                             preemptable, has_ttl, expires_at);
    touch(id);
    if (prepared)
      prepared_.emplace(id, leg_ttl);
    else
      index_candidate(id, stored);
    return id;
  }

  Lease* find(GrantId id) {
    auto i = leases_.find(id);
    return i == leases_.end() ? nullptr : &i->second;
  }

  const Lease* find(GrantId id) const {
    auto i = leases_.find(id);
    return i == leases_.end() ? nullptr : &i->second;
  }

  /// A committed lease (not a prepared bundle leg), or null.
  Lease* find_committed(GrantId id) {
    return is_prepared(id) ? nullptr : find(id);
  }

  bool is_prepared(GrantId id) const {
    return !prepared_.empty() && prepared_.count(id) != 0;
  }

  /// Calls f(id, lease) for every lease, oldest first (prepared legs
  /// included: ask is_prepared). For listings; O(leases).
  template <class F>
  void for_each_lease(F f) const {
    for (const auto& [id, lease] : leases_)
      f(id, lease);
  }

  /// Calls f(id, reservation) for every reservation. For listings.
  template <class F>
  void for_each_reservation(F f) const {
    for (const auto& [id, reservation] : reservations_)
      f(id, reservation);
  }

  /// Hands a prepared leg to its holder: returns the time-to-live that
  /// starts now (0 = none), or false when the leg is not prepared.
  bool commit(GrantId id, Holder holder, std::chrono::nanoseconds& ttl) {
    auto leg = prepared_.find(id);
    if (leg == prepared_.end())
      return false;
    ttl = leg->second;
    prepared_.erase(leg);
    auto& lease = leases_.at(id);
    lease.holder = std::move(holder);
    index_candidate(id, lease);
    touch(id);
    return true;
  }

  /// Returns `amount` of lease `id` to the pool (all of it removes the
  /// lease).
  Shrunk shrink(GrantId id, units amount) {
    Shrunk result;
    auto i = leases_.find(id);
    if (i == leases_.end())
      return result;
    auto& lease = i->second;
    amount = std::min(amount, lease.amount);
    result.found = true;
    result.requester = lease.requester;
    result.amount = amount;
    result.revoked_by = lease.revoked_by;
    touch(id);
    unindex_candidate(id, lease);
    ledger_.release(lease.requester, amount);
    lease.amount -= amount;
    if (lease.amount > 0) {
      index_candidate(id, lease);
      return result;
    }
    // An emptied list is kept for the requester's next grant: modules come
    // back, and dropping it would cost an allocation per grant (clear()
    // drops them).
    auto& ids = by_requester_.find(lease.requester.str())->second;
    ids.erase(std::find(ids.begin(), ids.end(), id));
    prepared_.erase(id);
    leases_.erase(i);
    result.removed = true;
    return result;
  }

  /// What `requester` holds in committed grants (prepared legs are the
  /// coordinator's).
  units releasable_by(const std::string& requester) const {
    auto held = ledger_.held_by(requester);
    if (prepared_.empty())
      return held;
    for (const auto& leg : prepared_) {
      const auto& lease = leases_.at(leg.first);
      if (lease.requester == requester)
        held -= lease.amount;
    }
    return held;
  }

  /// The requester's newest committed lease, or 0 (prepared legs, few, are
  /// skipped): a release by amount takes leases from here, one at a time.
  GrantId newest_committed(const std::string& requester) const {
    auto i = by_requester_.find(requester);
    if (i == by_requester_.end())
      return 0;
    for (auto id = i->second.rbegin(); id != i->second.rend(); ++id)
      if (!is_prepared(*id))
        return *id;
    return 0;
  }

  /// What `requester` holds in committed grants taken by `holder` (a
  /// release by amount returns only the caller's own grants).
  units releasable_by(const std::string& requester,
                      const Holder& holder) const {
    units held = 0;
    auto i = by_requester_.find(requester);
    if (i == by_requester_.end())
      return 0;
    for (auto id : i->second) {
      const auto& lease = leases_.at(id);
      if (lease.holder == holder && !is_prepared(id))
        held += lease.amount;
    }
    return held;
  }

  /// The requester's newest committed lease taken by `holder`, or 0.
  GrantId newest_committed(const std::string& requester,
                           const Holder& holder) const {
    auto i = by_requester_.find(requester);
    if (i == by_requester_.end())
      return 0;
    for (auto id = i->second.rbegin(); id != i->second.rend(); ++id)
      if (!is_prepared(*id) && leases_.at(*id).holder == holder)
        return *id;
    return 0;
  }

  /// Every lease `holder` holds (a scan: holders end rarely, grants are made
  /// often, so no per-holder index is kept up to date per grant).
  std::vector<GrantId> leases_of_holder(const Holder& holder) const {
    std::vector<GrantId> result;
    for (const auto& [id, lease] : leases_)
      if (lease.holder == holder)
        result.push_back(id);
    return result;
  }

  // -- preemption ---------------------------------------------------------

  /// Victims for a request of `priority` by `asker` lacking `lacking`: the
  /// lowest-priority preemptable committed leases of others first, within a
  /// priority the largest, at most `max` of them, until they cover
  /// `lacking`. Empty when they cannot cover it.
  std::vector<GrantId> victims_for(Priority priority, const std::string& asker,
                                   units lacking, std::size_t max) const {
    std::vector<GrantId> result;
    units covered = 0;
    for (const auto& c : candidates_) {
      if (covered >= lacking || result.size() >= max)
        break;
      if (c.priority <= priority)
        break; // only strictly lower priorities (larger values) are taken
      const auto& lease = leases_.at(c.id);
      if (lease.requester == asker)
        continue;
      result.push_back(c.id);
      covered += c.amount;
    }
    if (covered < lacking)
      result.clear();
    return result;
  }

  /// Every preemptable committed lease at `from` or a lower priority.
  std::vector<GrantId> candidates_from(Priority from) const {
    std::vector<GrantId> result;
    for (const auto& c : candidates_) {
      if (c.priority < from)
        break;
      result.push_back(c.id);
    }
    return result;
  }

  /// Marks a lease as being reclaimed by `preemption` (it leaves the
  /// candidates).
  void mark_revoked(GrantId id, std::uint64_t preemption) {
    auto& lease = leases_.at(id);
    unindex_candidate(id, lease);
    lease.revoked_by = preemption;
  }

  /// Takes back a revoke mark of `preemption` (the lease becomes a
  /// candidate again).
  void unmark_revoked(GrantId id, std::uint64_t preemption) {
    auto i = leases_.find(id);
    if (i == leases_.end() || i->second.revoked_by != preemption)
      return;
    i->second.revoked_by = 0;
    index_candidate(id, i->second);
  }

  // -- reservations -------------------------------------------------------

  /// Sets `amount` (<= ledger().available()) aside; returns its id, or 0
  /// (no change) when it does not fit.
  std::uint64_t reserve(const std::string& requester, Holder holder,
                        units amount, bool expires, time_point expires_at,
                        std::uint64_t preemption = 0) {
    if (amount <= 0 || !ledger_.reserve(requester, amount))
      return 0;
    auto id = next_id();
    reservations_.emplace(id, Reservation{requester, std::move(holder), amount,
                                          expires, expires_at, preemption});
    reservations_of_[requester].insert(id);
    touch(id);
    return id;
  }

  const Reservation* find_reservation(std::uint64_t id) const {
    auto i = reservations_.find(id);
    return i == reservations_.end() ? nullptr : &i->second;
  }

  /// Returns what is left of reservation `id`; the amount returned.
  units unreserve(std::uint64_t id) {
    auto i = reservations_.find(id);
    if (i == reservations_.end())
      return 0;
    auto amount = i->second.remaining;
    ledger_.unreserve(i->second.requester, amount);
    drop_reservation(i);
    return amount;
  }

  /// Returns the requester's ordinary (non-preemption) reservations.
  units unreserve_requester(const std::string& requester) {
    return unreserve_if(
        [&](const Reservation& r) {
          return r.requester == requester && r.preemption == 0;
        },
        requester);
  }

  /// Returns the requester's ordinary reservations that `holder` made.
  units unreserve_requester(const std::string& requester,
                            const Holder& holder) {
    return unreserve_if(
        [&](const Reservation& r) {
          return r.requester == requester && r.preemption == 0 &&
                 r.holder == holder;
        },
        requester);
  }

  /// Returns the ordinary reservations `holder` made.
  units unreserve_holder(const Holder& holder) {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, r] : reservations_)
      if (r.preemption == 0 && r.holder == holder)
        ids.push_back(id);
    units result = 0;
    for (auto id : ids)
      result += unreserve(id);
    return result;
  }

  /// Returns every reservation a preemption keeps.
  units unreserve_preemption(std::uint64_t preemption,
                             const std::string& asker) {
    return unreserve_if(
        [&](const Reservation& r) { return r.preemption == preemption; },
        asker);
  }

  // -- whole book ----------------------------------------------------------

  /// Nothing held or reserved; capacity and the id sequence kept.
  void clear() {
    if (tracking_) {
      for (const auto& entry : leases_)
        touched_.push_back(entry.first);
      for (const auto& entry : reservations_)
        touched_.push_back(entry.first);
    }
    ledger_.clear();
    leases_.clear();
    by_requester_.clear();
    reservations_.clear();
    reservations_of_.clear();
    prepared_.clear();
    candidates_.clear();
  }

  /// The invariant, verified: empty when it holds, else what is wrong.
  std::string check() const {
    units held = 0;
    std::unordered_map<std::string, units> held_by;
    std::size_t listed = 0;
    std::size_t expected_candidates = 0;
    for (const auto& [id, lease] : leases_) {
      if (lease.amount <= 0)
        return "lease " + std::to_string(id) + " is empty";
      held += lease.amount;
      held_by[lease.requester.str()] += lease.amount;
      auto i = by_requester_.find(lease.requester.str());
      if (i == by_requester_.end() ||
          std::count(i->second.begin(), i->second.end(), id) != 1)
        return "lease " + std::to_string(id) + " is not listed once";
      if (&i->first != &lease.requester.str())
        return "lease " + std::to_string(id) + " names a stale requester";
      if (is_candidate(id, lease)) {
        ++expected_candidates;
        if (candidates_.count(Candidate{lease.priority, lease.amount, id}) == 0)
          return "lease " + std::to_string(id) + " is not a candidate";
      }
    }
    for (const auto& [requester, ids] : by_requester_) {
      listed += ids.size();
      if (!std::is_sorted(ids.begin(), ids.end()))
        return "the leases of '" + requester + "' are out of order";
    }
    if (listed != leases_.size())
      return "the requester lists name leases that do not exist";
    if (candidates_.size() != expected_candidates)
      return "the preemption candidates name leases that are not candidates";
    if (held != ledger_.held())
      return "the ledger holds " + std::to_string(ledger_.held()) +
             " but the leases add up to " + std::to_string(held);
    for (const auto& [requester, amount] : held_by)
      if (ledger_.held_by(requester) != amount)
        return "the ledger's holding of '" + requester + "' differs";
    units reserved = 0;
    std::unordered_map<std::string, units> reserved_for;
    for (const auto& [id, r] : reservations_) {
      if (r.remaining <= 0)
        return "reservation " + std::to_string(id) + " is empty";
      reserved += r.remaining;
      reserved_for[r.requester] += r.remaining;
      auto i = reservations_of_.find(r.requester);
      if (i == reservations_of_.end() || i->second.count(id) == 0)
        return "reservation " + std::to_string(id) + " is not indexed";
    }
    if (reserved != ledger_.reserved())
      return "the ledger reserves " + std::to_string(ledger_.reserved()) +
             " but the reservations add up to " + std::to_string(reserved);
    for (const auto& [requester, amount] : reserved_for)
      if (ledger_.reserved_for(requester) != amount)
        return "the ledger's reservation of '" + requester + "' differs";
    if (ledger_.capacity() !=
        ledger_.held() + ledger_.reserved() + ledger_.available())
      return "capacity != held + reserved + available";
    return {};
  }

private:
  /// Lowest priority (largest value) first, then the largest amount, then
  /// the oldest id.
  struct Candidate {
    Priority priority;
    units amount;
    GrantId id;
    friend bool operator<(const Candidate& x, const Candidate& y) {
      return std::make_tuple(y.priority, y.amount, x.id) <
             std::make_tuple(x.priority, x.amount, y.id);
    }
  };

  /// Books lease `id` (the amount already known to fit): ledger, lease,
  /// and the requester's list, kept in id order.
  Lease& add_lease(GrantId id, const std::string& requester, Holder holder,
                   units amount, Priority priority, bool preemptable,
                   bool has_ttl, time_point expires_at) {
    ledger_.grant(requester, amount);
    // The list's key is the one copy of the name its leases point at.
    auto listed = by_requester_.try_emplace(requester).first;
    Lease lease{InternedName{listed->first},
                std::move(holder),
                amount,
                priority,
                preemptable,
                has_ttl,
                expires_at,
                0};
    // New ids are the largest: appending is the common, O(1) case.
    bool newest = leases_.empty() || leases_.rbegin()->first < id;
    auto hint = newest ? leases_.end() : leases_.lower_bound(id);
    auto& stored = leases_.emplace_hint(hint, id, std::move(lease))->second;
    auto& ids = listed->second;
    if (ids.empty() || ids.back() < id)
      ids.push_back(id);
    else
      ids.insert(std::upper_bound(ids.begin(), ids.end(), id), id);
    return stored;
  }

  bool is_candidate(GrantId id, const Lease& lease) const {
    return lease.preemptable && lease.revoked_by == 0 && !is_prepared(id);
  }

  void index_candidate(GrantId id, const Lease& lease) {
    if (is_candidate(id, lease))
      candidates_.insert(Candidate{lease.priority, lease.amount, id});
  }

  void unindex_candidate(GrantId id, const Lease& lease) {
    if (is_candidate(id, lease))
      candidates_.erase(Candidate{lease.priority, lease.amount, id});
  }

  void
  drop_reservation(typename std::map<std::uint64_t, Reservation>::iterator i) {
    touch(i->first);
    auto of = reservations_of_.find(i->second.requester);
    if (of != reservations_of_.end()) {
      of->second.erase(i->first);
      if (of->second.empty())
        reservations_of_.erase(of);
    }
    reservations_.erase(i);
  }

  template <class Predicate>
  units unreserve_if(Predicate pred, const std::string& requester) {
    auto of = reservations_of_.find(requester);
    if (of == reservations_of_.end())
      return 0;
    std::vector<std::uint64_t> ids;
    for (auto id : of->second)
      if (pred(reservations_.at(id)))
        ids.push_back(id);
    units result = 0;
    for (auto id : ids)
      result += unreserve(id);
    return result;
  }

  /// Takes `amount` out of the requester's reservation records (the ledger
  /// takes it from the requester's reserved sum in grant()): a
  /// preemption's first, then those that expire soonest, then the oldest.
  void consume_reservations(const std::string& requester, units amount) {
    if (amount <= 0)
      return;
    auto of = reservations_of_.find(requester);
    if (of == reservations_of_.end())
      return;
    std::vector<std::uint64_t> mine(of->second.begin(), of->second.end());
    auto rank = [this](std::uint64_t id) {
      const auto& r = reservations_.at(id);
      return std::make_tuple(r.preemption != 0 ? 0 : (r.expires ? 1 : 2),
                             r.expires ? r.expires_at : time_point{}, id);
    };
    std::sort(mine.begin(), mine.end(),
              [&](auto x, auto y) { return rank(x) < rank(y); });
    for (auto id : mine) {
      if (amount == 0)
        break;
      auto i = reservations_.find(id);
      auto taken = std::min(amount, i->second.remaining);
      i->second.remaining -= taken;
      amount -= taken;
      touch(id);
      if (i->second.remaining == 0)
        drop_reservation(i);
    }
  }

  Ledger ledger_;
  std::uint64_t next_id_;
  std::map<GrantId, Lease> leases_; // ids grow: newest last
  std::unordered_map<std::string, std::vector<GrantId>> by_requester_;
  std::map<std::uint64_t, Reservation> reservations_;
  std::unordered_map<std::string, std::set<std::uint64_t>> reservations_of_;
  // Prepared bundle legs, with the time-to-live that starts at the commit.
  std::unordered_map<GrantId, std::chrono::nanoseconds> prepared_;
  std::set<Candidate> candidates_;
  bool tracking_ = false;
  std::vector<std::uint64_t> touched_;
};

} // namespace rros
