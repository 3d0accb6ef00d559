// The `rros simulate` command: reads the workload (a file or the embedded
// default), checks that the report can be written before spending the run on
// it, runs the simulation with a progress line on stderr, prints the summary
// and writes the HTML report. Bad input exits with status 2 and one line.
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "app/commands.hpp"
#include "app/simulate/html_report.hpp"
#include "app/simulate/simulation.hpp"
#include "app/simulate/summary.hpp"
#include "app/simulate/text.hpp"
#include "app/simulate/workload.hpp"

namespace rros::app {

using sim::fixed;

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
  // Check the report's place before spending the run on it.
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
