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

/// What every mixed client (single or bundle) shares with the main thread,
/// which reads it only after `finished` is ready: its cycles and timings.
struct MixedCycles {
  std::string requester;
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

  /// Reports once (the stop time, then `finished`) and ends the client.
  void finish(caf::event_based_actor* self) {
    if (!reported) {
      reported = true;
      stopped = steady::now();
      finished.set_value();
    }
    self->quit();
  }

  /// Ends the client with `what` as its error (the first error is kept).
  void fail(caf::event_based_actor* self, std::string what) {
    if (!reported)
      error = std::move(what);
    finish(self);
  }

  /// Before cycle `done`: starts the clock after the warm-up; false (and the
  /// client finished) once every measured cycle is done.
  bool begin_cycle(caf::event_based_actor* self) {
    if (done == warmup) {
      started = steady::now();
    } else if (done == warmup + measured) {
      finish(self);
      return false;
    }
    return true;
  }
};

/// One single client: its pool and request.
struct MixedClient : MixedCycles {
  pool_actor pool;
  ResourceRequest request;
};

using mixed_client_ptr = std::shared_ptr<MixedClient>;

/// A single client: allocate (may wait), then release the grant by id, or
/// every `mixed_release_by_amount_every`th cycle by requester and amount.
caf::behavior mixed_client(caf::event_based_actor* self, mixed_client_ptr c);

/// One bundle client: the coordinator and its two alternating requests.
struct MixedBundleClient : MixedCycles {
  bundle_actor bundles;
  std::array<BundleRequest, 2> requests; // 2 types, 3 types: alternating
};

using mixed_bundle_ptr = std::shared_ptr<MixedBundleClient>;

/// A bundle client: allocate a bundle (may wait), then release it as one.
caf::behavior mixed_bundle_client(caf::event_based_actor* self,
                                  mixed_bundle_ptr c);

} // namespace rros::app::benchmark
