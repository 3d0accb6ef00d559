// The checks of `rros bench` (see checks.hpp): full grants, exact releases,
// and a ledger back to capacity after each part.
#include "app/bench/checks.hpp"

#include <chrono>
#include <sstream>

#include "app/bench/parameters.hpp"
#include "messages/error.hpp"

namespace rros::app::benchmark {

/// Checks the outcome of one allocate; returns an error text or "".
std::string check_allocation(const ResourceAllocation& x,
                             const std::string& requester) {
  if (!x.fully_satisfied || x.allocated_amount != cycle_amount ||
      x.requester_id != requester ||
      x.resource_type != ResourceType::COMPUTATIONAL) {
    std::ostringstream out;
    out << "allocate of " << cycle_amount << " for '" << requester
        << "' was not fully satisfied (got " << x.allocated_amount
        << ", fully_satisfied=" << x.fully_satisfied << ")";
    return out.str();
  }
  return {};
}

/// Checks the outcome of one exact release; returns an error text or "".
std::string check_receipt(const ReleaseReceipt& x,
                          const std::string& requester) {
  if (x.released_amount != cycle_amount || x.still_held != 0 ||
      x.requester_id != requester ||
      x.resource_type != ResourceType::COMPUTATIONAL) {
    std::ostringstream out;
    out << "release of " << cycle_amount << " by '" << requester
        << "' was not exact (released " << x.released_amount << ", still held "
        << x.still_held << ")";
    return out.str();
  }
  return {};
}

/// The pool's exact ledger, asked with status_atom.
caf::expected<PoolStatus> pool_status(caf::actor_system& sys,
                                      const pool_actor& pool) {
  caf::scoped_actor self{sys};
  caf::expected<PoolStatus> result{caf::sec::unexpected_response};
  self->request(pool, std::chrono::seconds(10), status_atom::value)
      .receive([&](PoolStatus& status) { result = status; },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// An error text unless nothing is held and all of the capacity is available.
std::string check_ledger(const caf::expected<PoolStatus>& status,
                         const std::string& part) {
  if (!status)
    return part + ": status_atom failed: " + describe(status.error());
  if (status->held != 0 || status->reserved != 0 ||
      status->available != status->capacity) {
    std::ostringstream out;
    out << part << ": ledger not back to capacity (capacity "
        << status->capacity << ", held " << status->held << ", reserved "
        << status->reserved << ", available " << status->available << " units)";
    return out.str();
  }
  return {};
}

} // namespace rros::app::benchmark
