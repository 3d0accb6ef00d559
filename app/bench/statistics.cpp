// Statistics and printing of `rros bench` (see statistics.hpp): percentiles,
// medians over runs, the figures of one run and the `name: value` lines.
#include "app/bench/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace rros::app::benchmark {

double ns_between(steady::time_point from, steady::time_point to) {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

double percentile(std::vector<double>& xs, double q) {
  if (xs.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(q * xs.size()));
  auto index = rank == 0 ? 0 : std::min(rank - 1, xs.size() - 1);
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(index),
                   xs.end());
  return xs[index];
}

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// Latencies from `timed`, throughput from `counted` (the same sample unless
/// the throughput pass ran without per-op timestamps).
Figures figures_of(Sample& timed, const Sample& counted) {
  Figures result;
  result.throughput = counted.seconds > 0
                          ? static_cast<double>(counted.ops) / counted.seconds
                          : 0;
  result.p50_us = percentile(timed.latency_ns, 0.50) / 1000.0;
  result.p99_us = percentile(timed.latency_ns, 0.99) / 1000.0;
  return result;
}

Figures Series::medians() const {
  std::vector<double> throughput;
  std::vector<double> p50;
  std::vector<double> p99;
  for (const auto& x : runs) {
    throughput.push_back(x.throughput);
    p50.push_back(x.p50_us);
    p99.push_back(x.p99_us);
  }
  return {median(throughput), median(p50), median(p99)};
}

std::string fixed(double x, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << x;
  return out.str();
}

void print(const std::string& name, const std::string& value) {
  std::cout << name << ": " << value << '\n';
}

void print(const Series& series) {
  auto m = series.medians();
  print(series.name + ".throughput_ops_per_s", fixed(m.throughput, 0));
  print(series.name + ".p50_us", fixed(m.p50_us, 3));
  print(series.name + ".p99_us", fixed(m.p99_us, 3));
}

double ns_per_op(const Series& series) {
  auto throughput = series.medians().throughput;
  return throughput > 0 ? 1e9 / throughput : 0;
}

double clock_overhead_ns() {
  constexpr int n = 10001;
  std::vector<double> xs;
  xs.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto t0 = steady::now();
    auto t1 = steady::now();
    xs.push_back(ns_between(t0, t1));
  }
  return percentile(xs, 0.5);
}

} // namespace rros::app::benchmark
