#include "app/connect.hpp"

#include <cstdlib>
#include <future>
#include <iostream>

#include "app/tls.hpp"
#include "messages/type_ids.hpp"

namespace rros::app {

bool configure_client(caf::actor_system_config& cfg, const TlsFiles& tls,
                      const std::string& command) {
  if (tls.enabled())
    if (auto err = check_tls_files(tls)) {
      std::cerr << "rros " << command << ": " << context_of(err) << "\n";
      return false;
    }
  register_types(cfg);
  configure_network(cfg, tls);
  return true;
}

std::optional<manager_actor>
connect_manager(caf::actor_system& sys, const std::string& host,
                std::uint16_t port, double timeout_s,
                const std::string& command, const TlsFiles& tls) {
  auto endpoint = host + ":" + std::to_string(port);
  // CAF's connect blocks without a bound (a silent host, or a TLS node
  // reached in plaintext, would hang it), so it runs aside and the wait is
  // bounded here.
  bool secure = tls.enabled();
  auto pending = std::async(std::launch::async, [&sys, host, port, secure] {
    return remote_on<manager_actor>(sys, host, port, secure);
  });
  if (pending.wait_for(timespan_of(timeout_s)) != std::future_status::ready) {
    std::cerr << "rros " << command << ": cannot reach a manager at "
              << endpoint << ": no answer within " << timeout_s << " s"
              << std::endl;
    std::_Exit(2); // the connect thread cannot be interrupted
  }
  auto manager = pending.get();
  if (!manager) {
    std::cerr << "rros " << command << ": cannot reach a manager at "
              << endpoint
              << " (nothing listening, unreachable, not an rros node, or "
                 "TLS refused): "
              << describe(manager.error()) << "\n";
    return std::nullopt;
  }
  return *manager;
}

} // namespace rros::app
