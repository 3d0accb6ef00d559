// What `rros simulate --nodes N` produces and the call that produces it: the
// workload's modules placed across N nodes of one process through cluster
// clients (one per module, as one per module process would be), on virtual
// time, with a node lost mid-run when asked (cluster_driver.cpp). The summary
// and the HTML report (cluster_report.hpp) show each node.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "app/simulate/simulation.hpp"
#include "app/simulate/workload.hpp"
#include "messages/types.hpp"

namespace rros::app {

/// Most nodes one simulated cluster has (named a, b, c, ...).
inline constexpr int max_simulated_nodes = 8;

struct ClusterSimOptions {
  int nodes = 3;
  std::string lose;    // the node lost mid-run ("" for none)
  double lose_at = -1; // virtual seconds
};

/// One node of the simulated cluster.
struct NodeSeries {
  std::string name;
  double lost_at = -1; // virtual seconds; negative: alive to the end
  /// Utilization ((held + reserved) / capacity) per type, one sample a
  /// second while the node is alive.
  std::array<std::vector<std::pair<double, float>>, resource_type_count>
      samples;
  std::array<double, resource_type_count> mean{}, peak{};
  std::uint64_t grants = 0;     // single-type tasks placed here
  std::uint64_t bundles = 0;    // bundles placed here
  std::uint64_t lost_tasks = 0; // tasks held here when it was lost
  /// At the end (alive nodes): the grants the pools list, the grants the
  /// tasks holding here were given, and whether the two are the same grants
  /// (by holder and id) with every pool's capacity == held + reserved +
  /// available.
  std::uint64_t grants_at_end = 0, task_grants_at_end = 0;
  bool books_exact = true;
};

struct ClusterSimResult {
  Workload workload;
  std::uint64_t seed = 0;
  double duration = 0;
  ClusterSimOptions options;
  std::vector<NodeSeries> nodes;
  std::array<PriorityCounts, 5> by_priority;
  std::uint64_t completed = 0, preempted = 0, shed_revoked = 0, expired = 0;
  std::uint64_t node_lost = 0; // tasks whose node was lost under them
  std::uint64_t deaths = 0, restarts = 0, held_at_death = 0;
  std::uint64_t running_at_end = 0;
  std::vector<SimEvent> events;
};

/// Why `options` make no cluster run of `duration` seconds ("" when they
/// do): too few or too many nodes, a node to lose that is not one of them, a
/// time outside the run.
std::string check_cluster_options(const ClusterSimOptions& options,
                                  double duration);

/// Runs the workload on a simulated cluster. Returns false with `error` set
/// when the options or the workload's settings are refused.
bool simulate_cluster(const Workload& workload, std::uint64_t seed,
                      double duration, const ClusterSimOptions& options,
                      const ProgressFn& progress, ClusterSimResult& result,
                      std::string& error);

} // namespace rros::app
