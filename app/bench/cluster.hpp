// `rros bench --cluster`: three `rros node` processes of this program on free
// loopback ports (100 ms heartbeats, 500 ms connection timeout) joined into
// one cluster; placement throughput and latency through rros::Cluster
// (allocate on the best node, then release), then the time until a member
// marks a killed and a frozen peer lost, beside the defaults of Ray's GCS
// and Kubernetes' node controller.
#pragma once

#include <string>

namespace rros::app::benchmark {

/// Runs the cluster measurement (`runs` repetitions of `operations`
/// allocate+release cycles; medians printed as `name: value` lines). Every
/// node it starts is stopped by its pid. Returns an error text, or "".
std::string bench_cluster(int runs, int operations);

} // namespace rros::app::benchmark
