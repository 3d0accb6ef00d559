// The `rros simulate` command: reads the workload (a file or the embedded
// default), checks that the report can be written before spending the run on
// it, runs the simulation with a progress line on stderr, prints the summary
// and writes the HTML report. Bad input exits with status 2 and one line.
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "app/commands.hpp"
#include "app/simulate/cluster_report.hpp"
#include "app/simulate/cluster_simulation.hpp"
#include "app/simulate/html_report.hpp"
#include "app/simulate/simulation.hpp"
#include "app/simulate/summary.hpp"
#include "app/simulate/text.hpp"
#include "app/simulate/workload.hpp"

namespace rros::app {

using sim::fixed;

namespace {

/// Reads `--nodes N [--lose NODE@SECONDS]`; false with `error` set when
/// they make no cluster run.
bool parse_cluster(const SimulateOptions& opts, double duration,
                   ClusterSimOptions& cluster, std::string& error) {
  cluster.nodes = opts.nodes;
  if (!opts.lose.empty()) {
    auto at = opts.lose.find('@');
    char* end = nullptr;
    double when = 0;
    if (at != std::string::npos && at + 1 < opts.lose.size()) {
      errno = 0;
      when = std::strtod(opts.lose.c_str() + at + 1, &end);
    }
    if (at == std::string::npos || at == 0 || end == nullptr || *end != '\0' ||
        errno != 0 || !(when >= 0)) {
      error =
          "--lose: '" + opts.lose + "' is not NODE@SECONDS (for example b@150)";
      return false;
    }
    cluster.lose = opts.lose.substr(0, at);
    cluster.lose_at = when;
  }
  if (opts.nodes < 2) {
    error = "--lose needs a cluster: give --nodes 2 or more";
    return false;
  }
  error = check_cluster_options(cluster, duration);
  return error.empty();
}

/// `--nodes N [--lose NODE@SECONDS]`: the workload on a simulated cluster.
int run_cluster(const SimulateOptions& opts, const ClusterSimOptions& cluster,
                const Workload& workload, std::uint64_t seed, double duration,
                const ProgressFn& progress) {
  ClusterSimResult result;
  std::string error;
  try {
    if (!simulate_cluster(workload, seed, duration, cluster, progress, result,
                          error)) {
      std::cerr << "rros simulate: " << error << "\n";
      return 2;
    }
  } catch (const std::exception& err) {
    std::cerr << "rros simulate: " << err.what() << "\n";
    return 1;
  }
  print_cluster_summary(std::cout, result);
  std::cout << std::flush;
  if (!opts.report_path.empty()) {
    if (!write_cluster_report(opts.report_path, result, error)) {
      std::cerr << "rros simulate: " << error << "\n";
      return 2;
    }
    std::cerr << "rros simulate: report written to " << opts.report_path
              << "\n";
  }
  // A node whose books do not match its tasks is a defect: say so in the
  // exit status too.
  for (const auto& node : result.nodes)
    if (node.lost_at < 0 && !node.books_exact)
      return 1;
  return 0;
}

} // namespace

int run_simulate(const SimulateOptions& opts) {
  if (opts.print_workload) {
    std::cout << default_workload_json();
    return 0;
  }
  std::string text;
  std::string origin = "(embedded default)";
  if (!opts.workload_path.empty()) {
    struct stat info;
    if (::stat(opts.workload_path.c_str(), &info) == 0 &&
        S_ISDIR(info.st_mode)) {
      std::cerr << "rros simulate: workload '" << opts.workload_path
                << "' is a directory; give a JSON file (rros simulate "
                   "--print-workload shows one)\n";
      return 2;
    }
    std::ifstream in(opts.workload_path, std::ios::binary);
    if (!in) {
      std::cerr << "rros simulate: cannot read workload file '"
                << opts.workload_path << "'\n";
      return 2;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
    origin = opts.workload_path;
  } else {
    text = default_workload_json();
  }
  Workload workload;
  std::string error;
  if (!parse_workload(text, origin, workload, error)) {
    std::cerr << "rros simulate: " << error << "\n";
    return 2;
  }
  auto seed = opts.seed_given ? opts.seed : workload.seed;
  auto duration = opts.duration > 0 ? opts.duration : workload.duration;
  // A cluster run's options, and the report's place, are checked before the
  // run is spent on them.
  ClusterSimOptions cluster;
  bool cluster_run = opts.nodes > 1 || !opts.lose.empty();
  if (cluster_run && !parse_cluster(opts, duration, cluster, error)) {
    std::cerr << "rros simulate: " << error << "\n";
    return 2;
  }
  if (!opts.report_path.empty()) {
    std::ofstream probe(opts.report_path, std::ios::app);
    if (!probe) {
      std::cerr << "rros simulate: cannot write the report to '"
                << opts.report_path << "'\n";
      return 2;
    }
  }
  bool tty = ::isatty(STDERR_FILENO);
  auto started = std::chrono::steady_clock::now();
  ProgressFn progress;
  if (opts.progress && duration >= 60)
    progress = [&](double done, double total) {
      auto wall = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - started)
                      .count();
      // Time left, assuming the rest runs at the pace so far.
      std::string left;
      if (done > 0 && done < total)
        left = ", about " + fixed(wall * (total - done) / done, 1) + " s left";
      std::cerr << (tty ? "\r" : "") << "rros simulate: " << std::setw(3)
                << static_cast<int>(done / total * 100 + 0.5) << "% ("
                << fixed(done, 0) << " of " << fixed(total, 0) << " s virtual, "
                << fixed(wall, 1) << " s wall" << left << ")"
                << (tty && done < total ? "          " : "\n") << std::flush;
    };
  if (cluster_run)
    return run_cluster(opts, cluster, workload, seed, duration, progress);
  SimResult result;
  try {
    if (!simulate(workload, seed, duration, progress, result, error)) {
      std::cerr << "rros simulate: " << error << "\n";
      return 2;
    }
  } catch (const std::exception& err) {
    std::cerr << "rros simulate: " << err.what() << "\n";
    return 1;
  }
  print_summary(std::cout, result);
  std::cout << std::flush;
  if (!opts.report_path.empty()) {
    if (!write_html_report(opts.report_path, result, error)) {
      std::cerr << "rros simulate: " << error << "\n";
      return 2;
    }
    std::cerr << "rros simulate: report written to " << opts.report_path
              << "\n";
  }
  return 0;
}

} // namespace rros::app
