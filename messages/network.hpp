// How an actor system reaches or serves an rros node over the network
// (docs/security.md): the project's own identifier in CAF's handshake, and
// CAF's plaintext side doors closed.
#pragma once

#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/config_value.hpp>

namespace rros {

/// The middleman's application identifier of every rros node and client: a
/// peer of another CAF application (any other identifier) is refused at the
/// handshake.
constexpr const char* app_identifier = "rros";

/// Call on every configuration that loads the middleman to serve or reach a
/// node: sets the identifier and keeps automatic connections off, so that a
/// node never opens a connection (plaintext or not) because a peer named
/// another node to it.
inline void use_rros_network(caf::actor_system_config& cfg) {
  caf::put(cfg.content, "middleman.app-identifiers",
           std::vector<std::string>{app_identifier});
  caf::put(cfg.content, "middleman.enable-automatic-connections", false);
}

} // namespace rros
