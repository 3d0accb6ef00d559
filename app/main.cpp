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
             "  rros simulate                     five minutes of simulated "
             "modules in seconds,\n"
             "                                    a summary and "
             "rros-report.html\n"
             "  rros simulate --seed 7 --duration 120 --report /tmp/r.html\n"
             "  rros demo                         short demonstration on an "
             "embedded node\n"
             "  rros node --port 4242             run a manager node on "
             "127.0.0.1:4242\n"
             "  rros status --connect 127.0.0.1:4242 --watch\n"
             "  rros bench --runs 3               throughput and latency "
             "beside baselines");

  DemoOptions demo_opts;
  auto demo = app.add_subcommand(
      "demo", "Run a short demonstration against an "
              "embedded manager node and print what happened");
  demo->add_option("--config", demo_opts.config_path,
                   "JSON configuration (default: the embedded defaults)");
  demo->footer("Examples:\n  rros demo\n  rros demo --config "
               "config/default.json");

  NodeOptions node_opts;
  auto node =
      app.add_subcommand("node", "Run a manager node until SIGINT/SIGTERM");
  node->add_option(
      "--config", node_opts.config_path,
      "JSON configuration (default: config/default.json if present)");
  node->add_option("--host", node_opts.host,
                   "address to publish on (and to serve metrics on)")
      ->capture_default_str();
  auto port_opt =
      node->add_option("--port", node_opts.port,
                       "publish the manager on this port (0: any free port)");
  node->add_flag("--quiet", node_opts.quiet,
                 "no event lines (alerts, degradation) on stderr");
  node->add_option("--metrics-port", node_opts.metrics_port,
                   "serve Prometheus metrics on http://HOST:P/metrics (0: any "
                   "free port, printed; default: the config's metrics_port)")
      ->check(CLI::Range(0, 65535));
  node->add_option("--metrics-interval", node_opts.metrics_interval,
                   "seconds between metric collection rounds")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  node->footer("Prints the published port on stdout, then one line per alert "
               "and change of\ndegradation on stderr until SIGINT/SIGTERM.\n"
               "Examples:\n"
               "  rros node --port 4242\n"
               "  rros node --config config/default.json --host 0.0.0.0 "
               "--port 4242\n"
               "  rros node --port 0            any free port (printed)\n"
               "  rros node --metrics-port 9464 Prometheus metrics on "
               "127.0.0.1:9464/metrics");

  StatusOptions status_opts;
  std::string endpoint;
  auto status = app.add_subcommand(
      "status",
      "Print a running node's pools, alerts, degraded types and tasks");
  status->add_option("--connect", endpoint, "the node's HOST:PORT")->required();
  status->add_flag("--json", status_opts.json,
                   "one JSON object (per refresh with --watch)");
  status->add_flag("--watch", status_opts.watch,
                   "refresh until interrupted (Ctrl-C)");
  status
      ->add_option("--interval", status_opts.interval,
                   "seconds between refreshes with --watch")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  status
      ->add_option("--count", status_opts.count,
                   "with --watch: stop after this many refreshes (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  status
      ->add_option("--timeout", status_opts.timeout,
                   "seconds allowed for connecting and for each query")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  status->footer("Shows per type capacity, held, reserved, available and "
                 "utilization, the\nactive alerts, degraded types and the "
                 "scheduler's tasks.\n"
                 "Examples:\n"
                 "  rros status --connect 127.0.0.1:4242\n"
                 "  rros status --connect 127.0.0.1:4242 --json\n"
                 "  rros status --connect 127.0.0.1:4242 --watch --interval "
                 "1");

  BenchOptions bench_opts;
  auto bench =
      app.add_subcommand("bench", "Measure allocate/release throughput and "
                                  "latency beside baselines from the same run");
  bench
      ->add_option("--runs", bench_opts.runs,
                   "repetitions (medians are reported)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  auto ops_opt =
      bench->add_option("--ops", bench_opts.operations,
                        "allocate/release cycles per run and client");
  ops_opt->capture_default_str()->check(CLI::Range(100, 10000000));
  auto threads_opt = bench->add_option("--threads", bench_opts.threads,
                                       "plain threads for the facade figures");
  threads_opt->capture_default_str()->check(CLI::Range(1, 64));
  auto scale_opt = bench->add_flag(
      "--scale", bench_opts.scale,
      "instead: how the cost of one event grows with the number waiting "
      "(pool waiters, waiting bundles, pending tasks; N = 100 to --scale-max "
      "by powers of 10; --runs repetitions)");
  scale_opt->excludes(ops_opt)->excludes(threads_opt);
  bench
      ->add_option("--scale-max", bench_opts.scale_max,
                   "largest N measured with --scale")
      ->capture_default_str()
      ->check(CLI::Range(100, 100000))
      ->needs(scale_opt);
  bench->footer("Examples:\n"
                "  rros bench --runs 5 --ops 20000 --threads 2\n"
                "  rros bench --scale --scale-max 10000   one event's cost "
                "with 100 to 10000 waiting");

  SimulateOptions sim_opts;
  auto simulate = app.add_subcommand(
      "simulate",
      "Run a workload of simulated modules (vision, audio, reasoning, ...) "
      "against an in-process node on virtual time; print a summary and write "
      "an HTML report");
  simulate->add_option("--workload", sim_opts.workload_path,
                       "workload JSON (default: the embedded default, as in "
                       "config/workloads/default.json)");
  auto seed_opt = simulate->add_option(
      "--seed", sim_opts.seed,
      "random seed; the same seed gives the same summary (default: the "
      "workload's)");
  simulate
      ->add_option("--duration", sim_opts.duration,
                   "virtual seconds to simulate (default: the workload's)")
      ->check(CLI::Range(0.001, 86400.0));
  simulate
      ->add_option("--report", sim_opts.report_path,
                   "where the HTML report goes (\"\": none)")
      ->capture_default_str();
  simulate->add_flag("!--no-progress", sim_opts.progress,
                     "no progress lines on stderr");
  simulate->add_flag("--print-workload", sim_opts.print_workload,
                     "print the embedded default workload and exit");
  simulate->footer(
      "Examples:\n"
      "  rros simulate\n"
      "  rros simulate --seed 7 --duration 600 --report out/run7.html\n"
      "  rros simulate --workload config/workloads/default.json\n"
      "  rros simulate --print-workload > my.json   a starting point for your "
      "own");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) // --help
      return app.exit(e);
    // One line naming the problem, like every other bad input.
    std::cerr << "rros: " << e.what() << " (see rros --help)\n";
    return 2;
  }

  if (*simulate) {
    sim_opts.seed_given = seed_opt->count() > 0;
    return run_simulate(sim_opts);
  }

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
