// Limits on what one client may make a node keep (docs/security.md): past
// them a request is refused with ec::limit_exceeded instead of growing the
// node's memory without bound. Generous for the project's own workloads
// (`rros bench --scale` queues 100,000 waiting requests over 16 requesters
// and 64 per relay actor).
#pragma once

#include <cstddef>

namespace rros {

/// Waiting requests (or waiting bundles) one requester name may have at a
/// pool (at the bundle coordinator).
constexpr std::size_t max_waiting_per_requester = 10'000;

/// Waiting requests (or waiting bundles) one actor may have at a pool (at the
/// bundle coordinator). The facade's callers share its bridge actor.
constexpr std::size_t max_waiting_per_holder = 10'000;

/// Waiting requests all the actors of one other node (one connection) may
/// have at a pool.
constexpr std::size_t max_waiting_per_remote_node = 20'000;

/// Items in one batched allocation or release (messages/batch.hpp): a longer
/// batch is refused as a whole (ec::limit_exceeded) and changes nothing. It
/// bounds how long one message keeps the pool from its other clients.
constexpr std::size_t max_batch_items = 1'024;
/// Subscriptions the actors of one other node may have at the monitor, and
/// at the scheduler (the node's own actors are not limited).
constexpr std::size_t max_subscriptions_per_node = 64;

} // namespace rros
