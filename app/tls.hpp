// TLS for `rros node` and the commands that reach one (docs/security.md):
// CAF's openssl module with a certificate, its key and the cluster CA; the
// files are checked here, before CAF sees them, so that a bad file is one
// clear line instead of an exception inside a connection.
#pragma once

#include <cstdint>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "app/commands.hpp"
#include "messages/error.hpp"

namespace rros::app {

/// Checks that all three files are given, readable and valid, that the key
/// belongs to the certificate and that the CA signed the certificate.
/// invalid_argument naming the file otherwise.
caf::error check_tls_files(const TlsFiles& tls);

/// Prepares `cfg` for the network: the middleman, the project's identifier,
/// no automatic connections; with `tls` enabled also CAF's openssl manager
/// with the three files (check them first). Call before constructing the
/// actor system.
void configure_network(caf::actor_system_config& cfg, const TlsFiles& tls);

/// Publishes `handle` on host:port, through TLS when `tls`; no address reuse.
template <class Handle>
caf::expected<std::uint16_t> publish_on(const Handle& handle,
                                        std::uint16_t port,
                                        const std::string& host, bool tls) {
  if (tls)
    return caf::openssl::publish(handle, port, host.c_str(), false);
  return handle.home_system().middleman().publish(handle, port, host.c_str(),
                                                  false);
}

/// Stops serving `handle` on `port` (new connections are refused; open
/// ones stay). Asynchronous: the middleman closes the port soon after.
template <class Handle>
void unpublish_on(const Handle& handle, std::uint16_t port, bool tls) {
  auto& sys = handle.home_system();
  auto mm = tls ? sys.openssl_manager().actor_handle()
                : sys.middleman().actor_handle();
  caf::anon_send(mm, caf::unpublish_atom::value, handle.address(), port);
}

/// Connects to the `Handle` published at host:port, through TLS when `tls`.
template <class Handle>
caf::expected<Handle> remote_on(caf::actor_system& sys, const std::string& host,
                                std::uint16_t port, bool tls) {
  if (tls)
    return caf::openssl::remote_actor<Handle>(sys, host, port);
  return sys.middleman().remote_actor<Handle>(host, port);
}

/// True for addresses that only this machine can reach (127.x.x.x,
/// localhost, ::1).
bool is_loopback_host(const std::string& host);

} // namespace rros::app
