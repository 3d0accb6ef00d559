#include "app/connect.hpp"

#include <cstdlib>
#include <future>
#include <iostream>

namespace rros::app {

std::optional<manager_actor> connect_manager(caf::actor_system& sys,
                                             const std::string& host,
                                             std::uint16_t port,
                                             double timeout_s,
                                             const std::string& command) {
  auto endpoint = host + ":" + std::to_string(port);
  // CAF's connect blocks without a bound (a silent host would hang it), so
  // it runs aside and the wait is bounded here.
  auto pending = std::async(std::launch::async, [&sys, host, port] {
    return sys.middleman().remote_actor<manager_actor>(host, port);
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
              << " (nothing listening, unreachable, or not an rros node): "
              << describe(manager.error()) << "\n";
    return std::nullopt;
  }
  return *manager;
}

} // namespace rros::app
