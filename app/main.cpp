// rros: the resource manager's command-line program.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/commands.hpp"

namespace {

/// Splits "HOST:PORT"; false when the text is not of that form.
bool split_endpoint(const std::string& text, std::string& host,
                    std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return false;
  host = text.substr(0, colon);
  try {
    std::size_t used = 0;
    auto value = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || value == 0 || value > 65535)
      return false;
    port = static_cast<std::uint16_t>(value);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  using namespace rros::app;
  CLI::App app{
      "rros: a resource arbiter for modular, cognitive-style systems.\n"
      "Modules compete for computational, memory, attention, I/O and "
      "network budgets; pool actors grant and reclaim them exactly."};
  app.require_subcommand(1);
  app.footer("Examples:\n"
             "  rros demo                         short demonstration on an "
             "embedded node\n"
             "  rros node --port 4242             run a manager node on "
             "127.0.0.1:4242\n"
             "  rros status --connect 127.0.0.1:4242\n"
             "  rros bench --runs 3               throughput and latency "
             "beside baselines");

  DemoOptions demo_opts;
  auto demo = app.add_subcommand(
      "demo", "Run a short demonstration against an "
              "embedded manager node and print what happened");
  demo->add_option("--config", demo_opts.config_path,
                   "JSON configuration (default: the embedded defaults)");

  NodeOptions node_opts;
  auto node =
      app.add_subcommand("node", "Run a manager node until SIGINT/SIGTERM");
  node->add_option(
      "--config", node_opts.config_path,
      "JSON configuration (default: config/default.json if present)");
  node->add_option("--host", node_opts.host, "address to publish on")
      ->capture_default_str();
  auto port_opt =
      node->add_option("--port", node_opts.port,
                       "publish the manager on this port (0: any free port)");
  node->footer(
      "Example:\n  rros node --config config/default.json --port 4242");

  StatusOptions status_opts;
  std::string endpoint;
  auto status = app.add_subcommand("status", "Print a running node's pools");
  status->add_option("--connect", endpoint, "the node's HOST:PORT")->required();
  status->footer("Example:\n  rros status --connect 127.0.0.1:4242");

  BenchOptions bench_opts;
  auto bench =
      app.add_subcommand("bench", "Measure allocate/release throughput and "
                                  "latency beside baselines from the same run");
  bench
      ->add_option("--runs", bench_opts.runs,
                   "repetitions (medians are reported)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  bench
      ->add_option("--ops", bench_opts.operations,
                   "allocate/release cycles per run and client")
      ->capture_default_str()
      ->check(CLI::Range(100, 10000000));
  bench
      ->add_option("--threads", bench_opts.threads,
                   "plain threads for the facade figures")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  bench->footer("Example:\n  rros bench --runs 5 --ops 20000 --threads 2");

  CLI11_PARSE(app, argc, argv);

  if (*demo)
    return run_demo(demo_opts);
  if (*node) {
    node_opts.publish = port_opt->count() > 0;
    return run_node(node_opts);
  }
  if (*status) {
    if (!split_endpoint(endpoint, status_opts.host, status_opts.port)) {
      std::cerr << "rros status: --connect expects HOST:PORT with a port in "
                   "1..65535, got '"
                << endpoint << "'\n";
      return 2;
    }
    return run_status(status_opts);
  }
  if (*bench)
    return run_bench(bench_opts);
  return 0;
}
