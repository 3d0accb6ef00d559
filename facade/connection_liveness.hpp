// Noticing a peer that hangs instead of dying. CAF 0.17 ships with the
// middleman's heartbeats off, so a client or node that freezes or is cut off
// without a clean close is never detected and whatever it holds stays held.
// A node (rros node) therefore sends heartbeats and cuts every peer it has
// not heard from for its connection timeout; its grants then return as for a
// closed connection. The other side of that rule: every process that talks
// to a node must itself send heartbeats more often than the node's timeout,
// or an idle but healthy client loses its connection and its grants.
#pragma once

#include <chrono>

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

namespace rros {

struct ConnectionLiveness {
  /// Time between heartbeats sent to every connected peer (0: none).
  caf::timespan heartbeat_interval = std::chrono::seconds(1);
  /// Silence after which a peer's connection is closed (0: never). CAF checks
  /// at each heartbeat, so a silent peer is cut within timeout + interval.
  caf::timespan connection_timeout = caf::timespan{0};
};

/// A node's defaults: heartbeats every second, peers silent for 5 s cut.
inline ConnectionLiveness node_liveness_defaults() {
  return {std::chrono::seconds(1), std::chrono::seconds(5)};
}

/// A client's defaults: heartbeats every second (well inside a node's
/// default timeout), never cutting the node itself (its requests time out).
inline ConnectionLiveness client_liveness_defaults() {
  return {std::chrono::seconds(1), caf::timespan{0}};
}

/// Sets the middleman's heartbeat interval and connection timeout in `cfg`
/// (before the actor system is made from it).
void set_connection_liveness(caf::actor_system_config& cfg,
                             const ConnectionLiveness& liveness);

} // namespace rros
