// Reaching a running node from the shell (rros status and the shell client):
// a bounded connect and bounded queries whose errors name what was asked.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "app/commands.hpp"
#include "messages/error.hpp"
#include "messages/subsystems.hpp"

namespace rros::app {

/// Connects to the manager published at host:port within `timeout_s`
/// seconds, through TLS when `tls` is enabled (`sys` configured by
/// configure_network with the same files). On failure prints one line ("rros
/// <command>: cannot reach a manager at ...") and returns nothing; a connect
/// that does not answer in time ends the process with status 2 (CAF's
/// connect cannot be interrupted).
std::optional<manager_actor>
connect_manager(caf::actor_system& sys, const std::string& host,
                std::uint16_t port, double timeout_s,
                const std::string& command, const TlsFiles& tls);

/// The actor system configuration of a command that reaches a node: types,
/// middleman, and TLS with `tls`'s files. Prints one line and returns false
/// when the files are not usable.
bool configure_client(caf::actor_system_config& cfg, const TlsFiles& tls,
                      const std::string& command);

/// Asks `dest` and waits at most `timeout`. The node's own errors pass
/// unchanged; CAF's (the node was not reached, or did not answer) become
/// not_connected naming `what`.
template <class Result, class Handle, class... Ts>
caf::expected<Result> query(caf::scoped_actor& self, const Handle& dest,
                            caf::timespan timeout, const char* what,
                            Ts&&... xs) {
  caf::expected<Result> result{caf::sec::unexpected_response};
  self->request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](Result& reply) { result = std::move(reply); },
               [&](caf::error& err) {
                 if (err.category() == caf::atom("rros"))
                   result = std::move(err);
                 else
                   result =
                       make_error(ec::not_connected,
                                  std::string{what} + ": " + describe(err));
               });
  return result;
}

/// Seconds as a CAF timespan.
inline caf::timespan timespan_of(double seconds) {
  return std::chrono::duration_cast<caf::timespan>(
      std::chrono::duration<double>(seconds));
}

} // namespace rros::app
