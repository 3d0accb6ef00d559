// The client actors of the mixed part of `rros bench` (mixed_workload.hpp):
// the state each single client and each bundle client shares with the main
// thread, and their behaviors. Only mixed_workload.cpp spawns them.
#pragma once

#include <array>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "app/bench/parameters.hpp"
#include "messages/actors.hpp"

namespace rros::app::benchmark {

/// State of one mixed client actor, shared with the main thread (which reads
/// it only after `finished` is ready).
struct MixedClient {
  pool_actor pool;
  std::string requester;
  ResourceRequest request;
  int warmup = 0;
  int measured = 0;
  int done = 0;
  steady::time_point cycle_start;
  steady::time_point started;
  steady::time_point stopped;
  std::vector<double> cycle_ns;    // allocate (with any wait) + release
  std::vector<double> allocate_ns; // allocate alone (with any wait)
  std::string error;
  bool reported = false;
  std::promise<void> finished;
};

using mixed_client_ptr = std::shared_ptr<MixedClient>;

/// A single client: allocate (may wait), then release the grant by id, or
/// every `mixed_release_by_amount_every`th cycle by requester and amount.
caf::behavior mixed_client(caf::event_based_actor* self, mixed_client_ptr c);

/// State of one bundle client of the mixed part (read by the main thread
/// only after `finished` is ready).
struct MixedBundleClient {
  bundle_actor bundles;
  std::string requester;
  std::array<BundleRequest, 2> requests; // 2 types, 3 types: alternating
  int warmup = 0;
  int measured = 0;
  int done = 0;
  steady::time_point cycle_start;
  steady::time_point started;
  steady::time_point stopped;
  std::vector<double> cycle_ns;    // allocate (with any wait) + release
  std::vector<double> allocate_ns; // allocate alone (with any wait)
  std::string error;
  bool reported = false;
  std::promise<void> finished;
};

using mixed_bundle_ptr = std::shared_ptr<MixedBundleClient>;

/// A bundle client: allocate a bundle (may wait), then release it as one.
caf::behavior mixed_bundle_client(caf::event_based_actor* self,
                                  mixed_bundle_ptr c);

} // namespace rros::app::benchmark
