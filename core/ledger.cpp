#include "core/ledger.hpp"

#include <algorithm>
#include <cmath>

namespace rros {

namespace {

units lookup(const std::unordered_map<std::string, units>& map,
             const std::string& key) {
  auto i = map.find(key);
  return i == map.end() ? 0 : i->second;
}

} // namespace

units Ledger::held_by(const std::string& requester) const {
  return lookup(holdings_, requester);
}

units Ledger::reserved_for(const std::string& requester) const {
  return lookup(reservations_, requester);
}

bool Ledger::grant(const std::string& requester, units amount) {
  if (amount <= 0 || amount > grantable_to(requester))
    return false;
  auto reservation = reservations_.find(requester);
  if (reservation != reservations_.end()) {
    auto from_reservation = std::min(reservation->second, amount);
    reservation->second -= from_reservation;
    reserved_ -= from_reservation;
    if (reservation->second == 0)
      reservations_.erase(reservation);
  }
  holdings_[requester] += amount;
  held_ += amount;
  return true;
}

bool Ledger::release(const std::string& requester, units amount) {
  auto holding = holdings_.find(requester);
  if (amount <= 0 || holding == holdings_.end() || amount > holding->second)
    return false;
  holding->second -= amount;
  held_ -= amount;
  if (holding->second == 0)
    holdings_.erase(holding);
  return true;
}

bool Ledger::reserve(const std::string& requester, units amount) {
  if (amount <= 0 || amount > available())
    return false;
  reservations_[requester] += amount;
  reserved_ += amount;
  return true;
}

units Ledger::cancel_reservation(const std::string& requester) {
  auto reservation = reservations_.find(requester);
  if (reservation == reservations_.end())
    return 0;
  auto amount = reservation->second;
  reserved_ -= amount;
  reservations_.erase(reservation);
  return amount;
}

bool Ledger::unreserve(const std::string& requester, units amount) {
  auto reservation = reservations_.find(requester);
  if (amount <= 0 || reservation == reservations_.end() ||
      amount > reservation->second)
    return false;
  reservation->second -= amount;
  reserved_ -= amount;
  if (reservation->second == 0)
    reservations_.erase(reservation);
  return true;
}

bool Ledger::set_capacity(units capacity) {
  if (capacity < held_ + reserved_)
    return false;
  capacity_ = capacity;
  return true;
}

void Ledger::clear() {
  held_ = 0;
  reserved_ = 0;
  holdings_.clear();
  reservations_.clear();
}

PoolStatus Ledger::status(ResourceType type) const {
  PoolStatus result;
  result.type = type;
  result.capacity = capacity_;
  result.held = held_;
  result.reserved = reserved_;
  result.available = available();
  result.holders = static_cast<std::uint32_t>(holdings_.size());
  return result;
}

} // namespace rros
