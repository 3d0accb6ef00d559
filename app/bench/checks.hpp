// The checks `rros bench` makes on what the pools answer: every allocate of a
// cycle must be granted in full and every release must be exact, and after a
// part the ledger must be back to nothing held. Each returns an error text,
// or "" when everything checked out.
#pragma once

#include <string>

#include <caf/all.hpp>

#include "messages/actors.hpp"

namespace rros::app::benchmark {

/// Checks the outcome of one allocate of `cycle_amount`.
std::string check_allocation(const ResourceAllocation& x,
                             const std::string& requester);

/// Checks the outcome of one exact release of `cycle_amount`.
std::string check_receipt(const ReleaseReceipt& x,
                          const std::string& requester);

/// The pool's exact ledger, asked with status_atom.
caf::expected<PoolStatus> pool_status(caf::actor_system& sys,
                                      const pool_actor& pool);

/// An error text unless nothing is held and all of the capacity is available.
std::string check_ledger(const caf::expected<PoolStatus>& status,
                         const std::string& part);

} // namespace rros::app::benchmark
