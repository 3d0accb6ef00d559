// The manager's interface and what it hands out besides the pools: the typed
// handles of every other subsystem (Subsystems). Includes every subsystem's
// interface, so that each handle has its own type.
#pragma once

#include <cstdint>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/actors.hpp"
#include "messages/atoms.hpp"
#include "messages/config.hpp"
#include "messages/memory_messages.hpp"
#include "messages/monitor_messages.hpp"
#include "messages/predictor_messages.hpp"
#include "messages/scheduler_messages.hpp"
#include "messages/types.hpp"

namespace rros {

/// Typed handles of the subsystem actors other than the pools (their
/// interfaces are in messages/<name>_messages.hpp). A handle serializes like
/// any other, so Subsystems crosses nodes even though the scheduler's
/// TaskSubmission does not (a remote client cannot submit tasks).
struct Subsystems {
  memory_manager_actor memory;
  monitor_actor monitor;
  predictor_actor predictor;
  balancer_actor balancer;
  scheduler_actor scheduler; // local use only: tasks carry code
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Subsystems& x) {
  return f(caf::meta::type_name("Subsystems"), x.memory, x.monitor, x.predictor,
           x.balancer, x.scheduler);
}

/// What any client may ask of the manager: the handles of the subsystems and
/// the node's figures. The node's clients need nothing else from it.
using manager_client_actor = caf::typed_actor<
    // The current pool handles (they change when a crashed pool is replaced).
    caf::replies_to<pools_atom>::with<PoolDirectory>,
    // The bundle coordinator (all-or-nothing grants across pools).
    caf::replies_to<bundles_atom>::with<bundle_actor>,
    // The other subsystems' current handles.
    caf::replies_to<subsystems_atom>::with<Subsystems>,
    // The configuration in force.
    caf::replies_to<config_atom>::with<Config>,
    // Every pool's exact ledger, in ResourceType order.
    caf::replies_to<status_atom>::with<std::vector<PoolStatus>>,
    // Every pool's statistics, in ResourceType order.
    caf::replies_to<stats_atom>::with<std::vector<ResourceStats>>,
    // How many crashed children were replaced since start.
    caf::replies_to<restarts_atom>::with<std::uint64_t>>;

/// Administration of the node: accepted from actors of the manager's own
/// node only; from another node or an anonymous sender it fails with
/// not_permitted (docs/security.md).
using manager_admin_actor = caf::typed_actor<
    // Applies a seed-style configuration update as a whole: every key is
    // checked first (unknown_config_key, invalid_config_value); capacity
    // changes that a pool refuses roll back the ones already made.
    caf::replies_to<configure_atom, ConfigMap>::with<Config>,
    // Resets every pool; replies with their ledgers afterwards.
    caf::replies_to<reset_atom>::with<std::vector<PoolStatus>>>;

/// Spawns, wires and supervises the subsystem actors: both interfaces.
using manager_actor = manager_client_actor::extend_with<manager_admin_actor>;

} // namespace rros

#include "messages/type_ids.hpp"
