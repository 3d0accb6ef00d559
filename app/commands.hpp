// The rros program's subcommands. main.cpp parses the command line (CLI11)
// and calls one of these; each returns the process exit code (0 success, 2
// bad input or an unreachable node, 1 an unexpected failure).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rros::app {

/// TLS files (docs/security.md): a certificate (PEM, may hold its chain),
/// its private key (PEM, not encrypted) and the cluster CA's certificate
/// (PEM). All empty: plaintext.
struct TlsFiles {
  std::string certificate;
  std::string key;
  std::string ca;

  bool enabled() const {
    return !certificate.empty() || !key.empty() || !ca.empty();
  }
};

struct NodeOptions {
  std::string
      config_path; // empty: config/default.json if present, else defaults
  std::string host = "127.0.0.1";
  std::uint16_t port = 0; // 0 with publish: any free port
  bool publish = false;
  bool quiet = false;             // no event lines on stderr
  std::string log_level = "info"; // error, warning, info, debug
  int metrics_port = -1; // serve Prometheus /metrics on --host (0: any free
                         // port); -1: the config's metrics_port, else none
  double metrics_interval = 1.0;   // seconds between collection rounds
  double heartbeat_interval = 1.0; // seconds between heartbeats to peers
  double connection_timeout = 5.0; // seconds of silence before a peer is cut
  // Given as flags (else the configuration file's keys may set them).
  bool heartbeat_from_flag = false;
  bool timeout_from_flag = false;
  bool cluster_from_flag = false;
  TlsFiles tls;          // flags; empty ones come from the config file
  bool insecure = false; // allow plaintext on a non-loopback --host
  // Cluster (docs/cluster.md): with a name the node is a member; with seeds
  // ("HOST:PORT") it joins through the first that answers.
  std::string node_name;
  std::string cluster_name = "rros";
  std::vector<std::string> join;
  // Durability (docs/durability.md). Empty data_dir: rros-data, or
  // rros-data-NAME with a name, under the working directory.
  std::string data_dir;
  bool persist = true;
  bool sync_per_record = false; // else group commit
  double group_commit = 0;      // seconds a change waits for its sync (0: when
                                // the queued requests are handled)
  std::size_t snapshot_every = 10000;
  double reattach_grace = 30.0; // seconds restored grants wait
};

struct StatusOptions {
  std::string host;
  std::uint16_t port = 0;
  bool json = false;
  bool watch = false;
  double interval = 2.0; // seconds between refreshes with watch
  double timeout = 5.0;  // seconds for connecting and for each query
  int count = 0;        // with watch: stop after this many refreshes (0: never)
  bool holders = false; // list holders, waiting requests and quotas per type
  double heartbeat_interval = 1.0; // seconds between heartbeats to the node
  TlsFiles tls;
};

/// The shell client: one operation on a running node (rros alloc, release,
/// renew, reserve, cancel, quota, degrade). Exit codes: 0 done, 2 bad input
/// or no node reached, 3 the node refused or failed the operation.
struct ClientOptions {
  std::string command; // alloc, release, renew, reserve, cancel, quota, degrade
  std::string host;
  std::uint16_t port = 0;
  double timeout = 5.0; // seconds for connecting and for each reply
  std::string type;     // a resource type's name
  double amount = 0;
  std::string requester; // empty: "shell-<pid>"
  std::string priority = "NORMAL";
  double wait = 0; // alloc: seconds the request may wait (0: refused at once)
  double ttl = 0;  // alloc, reserve: time-to-live (0: none); renew: the new one
  double hold = -1; // alloc, reserve: seconds held, then returned; < 0: until
                    // interrupted (or, with ttl, until it ends)
  bool preemptable = false;
  std::uint64_t grant = 0;      // release, renew: the grant's id
  std::uint64_t request_id = 0; // alloc: its id for cancel (0: the pid);
                                // cancel: the request to cancel
  bool up_to = false;           // release by amount: at most what is held
  bool reservation = false;     // cancel: the requester's reservations
  std::string group;            // quota
  std::vector<std::string> members;
  double min = 0, max = 0, weight = 1;
  bool remove = false;             // quota: remove the group's quota
  bool off = false;                // degrade: leave degraded mode
  double heartbeat_interval = 1.0; // seconds between heartbeats to the node
  TlsFiles tls;
};

struct DemoOptions {
  std::string config_path;
};

struct BenchOptions {
  int runs = 5;            // repetitions; medians are reported
  int operations = 20000;  // allocate/release cycles per run and client
  int threads = 2;         // plain threads for the facade figures
  bool scale = false;      // only the scale measurement (bench --scale)
  int scale_max = 100000;  // its largest number of waiting requests
  bool flood = false;      // only the flood measurement (bench --flood)
  bool cluster = false;    // only the cluster measurement (bench --cluster)
  bool durability = false; // only the durability measurement
};

struct SimulateOptions {
  std::string workload_path; // empty: the embedded default workload
  std::string report_path = "rros-report.html"; // empty: no report
  std::uint64_t seed = 0;
  bool seed_given = false; // else the workload's seed
  double duration = 0;     // virtual seconds; 0: the workload's
  bool print_workload = false;
  bool progress = true;
  int nodes = 1;    // 2 or more: a simulated cluster of that many nodes
  std::string lose; // NODE@SECONDS: a node lost mid-run (cluster runs)
};

int run_node(const NodeOptions& opts);
int run_status(const StatusOptions& opts);
int run_client(const ClientOptions& opts);
int run_demo(const DemoOptions& opts);
int run_bench(const BenchOptions& opts);
int run_simulate(const SimulateOptions& opts);
/// `rros certs init DIR`: a cluster CA and node, client and admin
/// certificates signed by it, made with the openssl command line. 0 done,
/// 2 bad input (DIR holds a CA already, openssl missing or failing).
int run_certs_init(const std::string& dir);

} // namespace rros::app
