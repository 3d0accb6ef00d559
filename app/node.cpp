// `rros node` and `rros status`.
#include <csignal>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/manager.hpp"
#include "actors/resource_manager.hpp"
#include "app/commands.hpp"
#include "app/report.hpp"

namespace rros::app {

int run_node(const NodeOptions& opts) {
  auto config = load_config(opts.config_path, true);
  if (!config) {
    std::cerr << "rros node: " << describe(config.error()) << "\n";
    return 2;
  }
  // Block the shutdown signals before CAF starts its threads, so that they
  // inherit the mask and only sigwait() below sees the signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto manager = spawn_manager(sys, *config);
  if (opts.publish) {
    auto port =
        sys.middleman().publish(manager, opts.port, opts.host.c_str(), true);
    if (!port) {
      std::cerr << "rros node: cannot publish on " << opts.host << ":"
                << opts.port << ": " << describe(port.error()) << "\n";
      caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
      return 2;
    }
    std::cout << "rros node: manager published on " << opts.host << ":" << *port
              << std::endl;
  } else {
    std::cout
        << "rros node: manager running (not published; use --port to publish)"
        << std::endl;
  }
  for (auto type : all_resource_types)
    std::cerr << "rros node: pool " << to_string(type) << " capacity "
              << std::setprecision(15) << config->capacity_of(type) << "\n";
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "rros node: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
            << ", shutting down\n";
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  return 0;
}

int run_status(const StatusOptions& opts) {
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto manager =
      sys.middleman().remote_actor<manager_actor>(opts.host, opts.port);
  if (!manager) {
    std::cerr << "rros status: cannot reach a manager at " << opts.host << ":"
              << opts.port << ": " << describe(manager.error()) << "\n";
    return 2;
  }
  try {
    ResourceManager client(sys, *manager);
    auto status = client.get_status();
    if (!status) {
      std::cerr << "rros status: " << describe(status.error()) << "\n";
      return 2;
    }
    print_pool_table(std::cout, *status);
  } catch (const Error& err) {
    std::cerr << "rros status: " << err.what() << "\n";
    return 2;
  }
  return 0;
}

} // namespace rros::app
