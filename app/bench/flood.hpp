// `rros bench --flood`: one client floods a pool with waiting requests far
// past its limit while another does ordinary allocate/release cycles; prints
// the peak RSS, how many requests the limit refused, and the other client's
// p50 latency during the flood beside its quiet p50 from the same run.
#pragma once

#include <string>

namespace rros::app::benchmark {

/// Runs the flood measurement `runs` times (medians are printed) with
/// `operations` cycles of the steady client per phase; prints `name: value`
/// lines on stdout. Returns an error text, or "" when every check held.
std::string bench_flood(int runs, int operations);

} // namespace rros::app::benchmark
