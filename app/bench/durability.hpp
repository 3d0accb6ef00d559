// `rros bench --durability`: allocate/release through one pool with its books
// in memory only, with group commit, and with an fsync per record (issue
// 14), from one client (one request in flight: the latency a caller sees)
// and from the pipelined clients (many in flight: what group commit is for);
// medians over the runs and the ratios to the in-memory pool of the same run.
#pragma once

#include <string>

namespace rros::app::benchmark {

/// Runs the measurement `runs` times with `operations` cycles per client and
/// mode; prints `name: value` lines on stdout. The data directories are made
/// under the working directory (its disk is what is measured) and removed.
/// Returns an error text, or "" when every check held.
std::string bench_durability(int runs, int operations);

} // namespace rros::app::benchmark
