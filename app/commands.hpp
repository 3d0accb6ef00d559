// The rros program's subcommands. main.cpp parses the command line (CLI11)
// and calls one of these; each returns the process exit code (0 success, 2
// bad input or an unreachable node, 1 an unexpected failure).
#pragma once

#include <cstdint>
#include <string>

namespace rros::app {

struct NodeOptions {
  std::string
      config_path; // empty: config/default.json if present, else defaults
  std::string host = "127.0.0.1";
  std::uint16_t port = 0; // 0 with publish: any free port
  bool publish = false;
  bool quiet = false;    // no event lines on stderr
  int metrics_port = -1; // serve Prometheus /metrics on --host (0: any free
                         // port); -1: the config's metrics_port, else none
  double metrics_interval = 1.0; // seconds between collection rounds
};

struct StatusOptions {
  std::string host;
  std::uint16_t port = 0;
  bool json = false;
  bool watch = false;
  double interval = 2.0; // seconds between refreshes with watch
  double timeout = 5.0;  // seconds for connecting and for each query
  int count = 0; // with watch: stop after this many refreshes (0: never)
};

struct DemoOptions {
  std::string config_path;
};

struct BenchOptions {
  int runs = 5;           // repetitions; medians are reported
  int operations = 20000; // allocate/release cycles per run and client
  int threads = 2;        // plain threads for the facade figures
  bool scale = false;     // only the scale measurement (bench --scale)
  int scale_max = 100000; // its largest number of waiting requests
};

struct SimulateOptions {
  std::string workload_path; // empty: the embedded default workload
  std::string report_path = "rros-report.html"; // empty: no report
  std::uint64_t seed = 0;
  bool seed_given = false; // else the workload's seed
  double duration = 0;     // virtual seconds; 0: the workload's
  bool print_workload = false;
  bool progress = true;
};

int run_node(const NodeOptions& opts);
int run_status(const StatusOptions& opts);
int run_demo(const DemoOptions& opts);
int run_bench(const BenchOptions& opts);
int run_simulate(const SimulateOptions& opts);

} // namespace rros::app
