// Every typed actor interface of the resource manager, in one place: read this
// file to know the whole protocol. One comment per handler. Amounts are floats
// at the interface and exact integer units inside the pools.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/config.hpp"
#include "messages/types.hpp"

namespace rros {

/// One resource type's budget with an exact ledger.
using pool_actor = caf::typed_actor<
    // Grants the request in full when it fits (using the requester's own
    // reservation first); a CRITICAL request that does not fit gets what is
    // left (fully_satisfied = false). Errors: invalid_amount, amount_too_large,
    // empty_requester, invalid_priority, unknown_resource_type,
    // exceeds_capacity and insufficient_resources (both counted as rejections).
    caf::replies_to<allocate_atom, ResourceRequest>::with<ResourceAllocation>,
    // Gives back `amount` held by the requester. ReleaseMode::exact refuses
    // more than is held (release_exceeds_holding); up_to_held returns at most
    // what is held. A requester that holds nothing gets nothing_held.
    caf::replies_to<release_atom, std::string, float,
                    ReleaseMode>::with<ReleaseReceipt>,
    // Sets `amount` aside for the requester: unavailable to others, consumed
    // first by the requester's own grants. Never partial.
    caf::replies_to<reserve_atom, std::string, float>::with<PoolStatus>,
    // Returns the requester's unused reservation to the pool; replies with the
    // amount returned (nothing_held when there was none).
    caf::replies_to<unreserve_atom, std::string>::with<float>,
    // How much the requester holds now (0 when nothing).
    caf::replies_to<holding_atom, std::string>::with<float>,
    // The exact ledger: capacity, held, reserved, available (in units).
    caf::replies_to<status_atom>::with<PoolStatus>,
    // The seed's statistics: usage, peak, time-weighted average, counts,
    // latency.
    caf::replies_to<stats_atom>::with<ResourceStats>,
    // Changes the capacity; refused (capacity_below_usage) below held +
    // reserved.
    caf::replies_to<capacity_atom, double>::with<PoolStatus>,
    // Back to the initial state: nothing held or reserved, statistics cleared,
    // the configured capacity kept.
    caf::replies_to<reset_atom>::with<PoolStatus>>;

/// Handles of the five pools, indexed by ResourceType, so that a client
/// reaches a pool in one hop.
struct PoolDirectory {
  std::vector<pool_actor> pools;

  const pool_actor& operator[](ResourceType type) const {
    return pools[static_cast<std::size_t>(type)];
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, PoolDirectory& x) {
  return f(caf::meta::type_name("PoolDirectory"), x.pools);
}

/// Spawns, wires and supervises the subsystem actors.
using manager_actor = caf::typed_actor<
    // The current pool handles (they change when a crashed pool is replaced).
    caf::replies_to<pools_atom>::with<PoolDirectory>,
    // The configuration in force.
    caf::replies_to<config_atom>::with<Config>,
    // Applies a seed-style configuration update as a whole: every key is
    // checked first (unknown_config_key, invalid_config_value); capacity
    // changes that a pool refuses roll back the ones already made.
    caf::replies_to<configure_atom, ConfigMap>::with<Config>,
    // Every pool's exact ledger, in ResourceType order.
    caf::replies_to<status_atom>::with<std::vector<PoolStatus>>,
    // Every pool's statistics, in ResourceType order.
    caf::replies_to<stats_atom>::with<std::vector<ResourceStats>>,
    // Resets every pool; replies with their ledgers afterwards.
    caf::replies_to<reset_atom>::with<std::vector<PoolStatus>>,
    // How many crashed children were replaced since start.
    caf::replies_to<restarts_atom>::with<std::uint64_t>>;

/// A blocking call handed from a plain thread to the bridge actor (local only:
/// it holds a pointer to the waiting caller).
class CallJob;
using call_job_ptr = std::shared_ptr<CallJob>;

/// Sends requests on behalf of plain threads so that they can wait for the
/// reply without a scoped_actor's condition-variable wake-up per call.
using bridge_actor = caf::typed_actor<
    // Starts the job's request; the job's reply handler wakes the caller.
    caf::reacts_to<call_atom, call_job_ptr>>;

} // namespace rros

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rros::call_job_ptr)

#include "messages/type_ids.hpp"
