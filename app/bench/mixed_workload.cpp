// The mixed part of `rros bench` (see mixed_workload.hpp): spawns the single
// and the bundle client actors at once, waits for all of them and merges
// their cycles into one sample per group.
#include "app/bench/mixed_workload.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "app/bench/mixed_clients.hpp"

namespace rros::app::benchmark {

namespace {

/// Slow allocations of one client group: above `mixed_slow_factor` x their
/// median.
double count_slow(const std::vector<double>& allocate_ns) {
  auto threshold = mixed_slow_factor * median(allocate_ns);
  return static_cast<double>(
      std::count_if(allocate_ns.begin(), allocate_ns.end(),
                    [&](double x) { return x > threshold; }));
}

} // namespace

/// Runs `mixed_clients` single and `mixed_bundle_clients` bundle client
/// actors at once, each doing the warm-up and then operations / mixed_clients
/// measured cycles.
MixedSample drive_mixed(caf::actor_system& sys, const pool_actor& pool,
                        const bundle_actor& bundles, int run, int operations) {
  MixedSample result;
  int cycles = std::max(1, operations / mixed_clients);
  std::vector<mixed_client_ptr> clients;
  std::vector<mixed_bundle_ptr> bundle_clients;
  std::vector<std::future<void>> futures;
  for (int i = 0; i < mixed_clients; ++i) {
    auto c = std::make_shared<MixedClient>();
    c->pool = pool;
    c->requester =
        "bench-mixed-" + std::to_string(run) + "-" + std::to_string(i);
    c->request =
        ResourceRequest{c->requester, ResourceType::COMPUTATIONAL,
                        Priority::NORMAL, mixed_amount, mixed_deadline};
    c->warmup = warmup_cycles;
    c->measured = cycles;
    c->cycle_ns.reserve(static_cast<std::size_t>(cycles));
    c->allocate_ns.reserve(static_cast<std::size_t>(cycles));
    futures.push_back(c->finished.get_future());
    clients.push_back(std::move(c));
  }
  for (int i = 0; i < mixed_bundle_clients; ++i) {
    auto c = std::make_shared<MixedBundleClient>();
    c->bundles = bundles;
    c->requester =
        "bench-bundle-" + std::to_string(run) + "-" + std::to_string(i);
    for (std::size_t k = 0; k < c->requests.size(); ++k) {
      auto& r = c->requests[k];
      r.requester_id = c->requester;
      r.priority = mixed_bundle_priority;
      r.deadline = mixed_deadline;
      r.items = {{ResourceType::IO, mixed_bundle_amount},
                 {ResourceType::NETWORK, mixed_bundle_amount}};
      if (k == 1)
        r.items.push_back({ResourceType::COMPUTATIONAL, mixed_bundle_compute});
    }
    c->warmup = warmup_cycles;
    c->measured = cycles;
    c->cycle_ns.reserve(static_cast<std::size_t>(cycles));
    c->allocate_ns.reserve(static_cast<std::size_t>(cycles));
    futures.push_back(c->finished.get_future());
    bundle_clients.push_back(std::move(c));
  }
  for (auto& c : clients)
    sys.spawn(mixed_client, c);
  for (auto& c : bundle_clients)
    sys.spawn(mixed_bundle_client, c);
  auto deadline = steady::now() + part_deadline;
  for (auto& f : futures)
    if (f.wait_until(deadline) != std::future_status::ready) {
      result.sample.error = "the mixed clients did not finish within " +
                            std::to_string(part_deadline.count()) + " s";
      return result;
    }
  // Merges one client group into `out`; returns its allocate latencies.
  auto merge = [&](auto& group, Sample& out) {
    std::vector<double> allocate_ns;
    auto first = group.front()->started;
    auto last = group.front()->stopped;
    for (auto& c : group) {
      if (out.error.empty() && !c->error.empty())
        out.error = c->error;
      first = std::min(first, c->started);
      last = std::max(last, c->stopped);
      out.latency_ns.insert(out.latency_ns.end(), c->cycle_ns.begin(),
                            c->cycle_ns.end());
      allocate_ns.insert(allocate_ns.end(), c->allocate_ns.begin(),
                         c->allocate_ns.end());
    }
    out.ops = 2 * static_cast<std::size_t>(cycles) * group.size();
    out.seconds = ns_between(first, last) / 1e9;
    return allocate_ns;
  };
  result.slow_allocations = count_slow(merge(clients, result.sample));
  result.slow_bundle_allocations =
      count_slow(merge(bundle_clients, result.bundles));
  if (result.sample.error.empty() && !result.bundles.error.empty())
    result.sample.error = result.bundles.error;
  return result;
}

} // namespace rros::app::benchmark
