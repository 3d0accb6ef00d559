// The rros program's subcommands. main.cpp parses the command line (CLI11)
// and calls one of these; each returns the process exit code.
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
};

struct StatusOptions {
  std::string host;
  std::uint16_t port = 0;
};

struct DemoOptions {
  std::string config_path;
};

struct BenchOptions {
  int runs = 5;           // repetitions; medians are reported
  int operations = 20000; // allocate/release cycles per run and client
  int threads = 2;        // plain threads for the facade figures
};

int run_node(const NodeOptions& opts);
int run_status(const StatusOptions& opts);
int run_demo(const DemoOptions& opts);
int run_bench(const BenchOptions& opts);

} // namespace rros::app
