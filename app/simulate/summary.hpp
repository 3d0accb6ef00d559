// The summary of `rros simulate`: the tables printed on stdout after a run
// (utilization per type, requests by priority, grants taken back, tasks,
// deaths, bundles, forecast error, and the first events of the timeline).
#pragma once

#include <array>
#include <ostream>

#include "app/simulate/simulation.hpp"

namespace rros::app {

/// The table of request outcomes by priority (a bundle counts once), with
/// a total row.
void print_priority_table(std::ostream& out,
                          const std::array<PriorityCounts, 5>& by_priority);

/// The summary table (deterministic: no wall-clock figures).
void print_summary(std::ostream& out, const SimResult& result);

} // namespace rros::app
