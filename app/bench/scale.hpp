// `rros bench --scale`: how the cost of one event grows with the number of
// requests waiting, for the three queues of the resource manager (pool
// waiters, waiting bundles, pending tasks), at N = 100, 1,000, 10,000 and
// 100,000 (up to a maximum), with a time budget so that it always ends.
#pragma once

#include <cstddef>
#include <string>

namespace rros::app::benchmark {

/// Runs the scale measurement with `rounds` repetitions per figure (their
/// median is printed) for every N up to `max_n`; prints `name: value` lines
/// on stdout. Returns an error text, or "" when every reply checked out.
std::string bench_scale(int rounds, std::size_t max_n);

} // namespace rros::app::benchmark
