// `rros node --metrics-port P`: the Prometheus endpoint. A metrics collector
// actor (actors/metrics_collector) polls the node into a registry that
// prometheus-cpp's exposer serves as text on http://HOST:PORT/metrics.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include "app/commands.hpp"
#include "messages/config.hpp"
#include "messages/metrics_messages.hpp"
#include "messages/subsystems.hpp"

namespace rros::app {

/// Node-only keys of a configuration file (not manager settings).
struct NodeFileSettings {
  int metrics_port = -1; // -1: key absent; 0: any free port
  TlsFiles tls;          // tls_certificate, tls_key, tls_ca
  // Cluster and durability keys; empty / 0: absent (the flags' defaults).
  std::string node_name;         // name
  std::string cluster_name;      // cluster
  std::vector<std::string> join; // join: ["HOST:PORT", ...]
  std::string data_dir;          // data_dir
  double heartbeat_interval = 0; // heartbeat_interval, seconds
  double connection_timeout = 0; // connection_timeout, seconds
};

/// Reads the node's configuration: `path`, or config/default.json when
/// `path` is empty and that file exists, else the defaults. The keys for
/// the node itself are taken out: `metrics_port` (a whole number in
/// [0, 65535]), the TLS files `tls_certificate`, `tls_key`, `tls_ca` and
/// `data_dir` (paths, relative ones to the file's directory), the cluster's
/// `name`, `cluster` and `join` (an array of "HOST:PORT"), and
/// `heartbeat_interval` and `connection_timeout` (seconds, within the
/// bounds of their flags).
/// Every other key goes to the manager's Config as usual. Errors name the
/// file and the key.
caf::expected<Config> load_node_config(const std::string& path,
                                       NodeFileSettings& node);

/// A running endpoint; destroying it stops the HTTP server first, then the
/// collector.
class MetricsEndpoint {
public:
  MetricsEndpoint() = default;
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  ~MetricsEndpoint();

  /// The port the server listens on.
  int port() const {
    return port_;
  }

  /// Binds `host:port` (0: any free port), spawns the collector polling
  /// `manager` every `interval` and serves /metrics. An address that cannot
  /// be bound (port in use, no such address) is ec::invalid_argument naming
  /// it.
  static caf::expected<std::unique_ptr<MetricsEndpoint>>
  start(caf::actor_system& sys, const manager_actor& manager,
        const std::string& host, std::uint16_t port, caf::timespan interval);

private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  metrics_collector_actor collector_;
  int port_ = 0;
};

} // namespace rros::app
