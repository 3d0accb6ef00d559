// Statistics and printing of `rros bench`: what one run of a part measured
// (Sample), its figures (throughput, p50, p99), the per-run figures of a part
// reported as medians over the runs (Series), and the `name: value` lines
// every figure is printed as.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "app/bench/parameters.hpp"

namespace rros::app::benchmark {

double ns_between(steady::time_point from, steady::time_point to);

/// What one run of one part measured.
struct Sample {
  std::vector<double> latency_ns; // one entry per timed op (may be empty)
  std::size_t ops = 0;            // ops counted for the throughput
  double seconds = 0;             // wall time of those ops
  std::string error;              // empty when everything checked out
};

/// The figures of one run.
struct Figures {
  double throughput = 0; // ops per second
  double p50_us = 0;
  double p99_us = 0;
};

/// Nearest-rank percentile; reorders `xs`.
double percentile(std::vector<double>& xs, double q);

double median(std::vector<double> xs);

/// Latencies from `timed`, throughput from `counted` (the same sample unless
/// the throughput pass ran without per-op timestamps).
Figures figures_of(Sample& timed, const Sample& counted);

/// Per-run figures of one part; reported as medians over the runs.
struct Series {
  std::string name;
  std::vector<Figures> runs;

  Figures medians() const;
};

std::string fixed(double x, int digits);

/// One `name: value` line on stdout.
void print(const std::string& name, const std::string& value);

/// A series' median throughput, p50 and p99, one line each.
void print(const Series& series);

/// Nanoseconds per op of a series: the inverse of its median throughput.
double ns_per_op(const Series& series);

/// Median cost of one steady_clock::now(), which every timed op pays once.
double clock_overhead_ns();

} // namespace rros::app::benchmark
