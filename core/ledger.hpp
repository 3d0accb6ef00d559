// The exact ledger behind one pool: integer units only, so that
// capacity == held + reserved + available holds after any sequence of
// operations. It checks nothing about requests (the pool actor validates);
// every method keeps the invariant or leaves the ledger untouched.
#pragma once

#include <string>
#include <unordered_map>

#include "messages/types.hpp"
#include "messages/validate.hpp"

namespace rros {


class Ledger {
public:
  explicit Ledger(units capacity = 0)
    : capacity_(capacity) {}

  units capacity() const {
    return capacity_;
  }
  units held() const {
    return held_;
  }
  units reserved() const {
    return reserved_;
  }
  units available() const {
    return capacity_ - held_ - reserved_;
  }
  units held_by(const std::string& requester) const;
  units reserved_for(const std::string& requester) const;

  /// What `requester` could be granted right now: its own reservation plus
  /// what is available to everybody.
  units grantable_to(const std::string& requester) const {
    return available() + reserved_for(requester);
  }

  /// Grants `amount` (<= grantable_to(requester)), taking it from the
  /// requester's reservation first. Returns false and changes nothing when
  /// the amount does not fit or is not positive.
  bool grant(const std::string& requester, units amount);

  /// Returns `amount` (<= held_by(requester)) to the pool. Returns false and
  /// changes nothing when the requester holds less or the amount is not
  /// positive.
  bool release(const std::string& requester, units amount);

  /// Sets `amount` (<= available()) aside for `requester`.
  bool reserve(const std::string& requester, units amount);

  /// Returns the requester's whole reservation; the amount returned.
  units cancel_reservation(const std::string& requester);

  /// Returns `amount` (<= reserved_for(requester)) of the requester's
  /// reservation to the pool; false (no change) otherwise.
  bool unreserve(const std::string& requester, units amount);

  /// Changes the capacity; false (no change) below held + reserved.
  bool set_capacity(units capacity);

  /// Drops every holding and reservation, keeping the capacity.
  void clear();

  std::size_t holder_count() const {
    return holdings_.size();
  }

  /// The snapshot the pool reports.
  PoolStatus status(ResourceType type) const;

private:
  units capacity_ = 0;
  units held_ = 0;
  units reserved_ = 0;
  std::unordered_map<std::string, units> holdings_;
  std::unordered_map<std::string, units> reservations_;
};

} // namespace rros
