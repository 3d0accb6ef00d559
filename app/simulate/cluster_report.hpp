// What `rros simulate --nodes N` prints and writes: a summary on stdout
// (deterministic: one seed, one summary) with a row per node (state, grants
// and bundles placed there, tasks lost with it, mean and peak utilization
// per type, and whether its books matched the tasks at the end), and a
// self-contained HTML report with a utilization chart per node.
#pragma once

#include <ostream>
#include <string>

#include "app/simulate/cluster_simulation.hpp"

namespace rros::app {

void print_cluster_summary(std::ostream& out, const ClusterSimResult& result);

void render_cluster_report(std::ostream& out, const ClusterSimResult& result);

/// Writes the report to `path`; false with `error` set when it cannot.
bool write_cluster_report(const std::string& path,
                          const ClusterSimResult& result, std::string& error);

} // namespace rros::app
