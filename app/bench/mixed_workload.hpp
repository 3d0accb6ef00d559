// The mixed part of `rros bench` (`mixed.c4`, `mixed.b2`): 4 single client
// actors contend for a small COMPUTATIONAL pool (so some wait) while 2 bundle
// client actors take turns on IO + NETWORK bundles from the same manager's
// bundle coordinator. This header has the part's settings (printed by the
// bench) and the one call that runs it.
#pragma once

#include <chrono>

#include <caf/all.hpp>

#include "app/bench/statistics.hpp"
#include "messages/actors.hpp"

namespace rros::app::benchmark {

/// Concurrent client actors of the mixed part.
constexpr int mixed_clients = 4;

/// Units every mixed allocation asks for.
constexpr float mixed_amount = 10.0f;

/// Capacity of the mixed part's COMPUTATIONAL pool: two grants of
/// `mixed_amount` fit, three do not, so some of the four clients must wait.
constexpr float mixed_capacity = 25.0f;

/// Deadline of every mixed allocation: it waits at most this long.
constexpr auto mixed_deadline = std::chrono::milliseconds(1000);

/// Every this many cycles a client releases by requester and amount
/// (ReleaseMode::exact) instead of by grant id.
constexpr int mixed_release_by_amount_every = 10;

/// An allocation is "slow" when it took longer than this many times the
/// run's median allocation (the wait itself is not observable).
constexpr double mixed_slow_factor = 10.0;

/// Bundle client actors of the mixed part, running beside the single ones.
constexpr int mixed_bundle_clients = 2;

/// IO and NETWORK (capacity 100 each) per bundle: two do not fit at once, so
/// one bundle client waits in the coordinator for the other's release.
constexpr float mixed_bundle_amount = 60.0f;

/// COMPUTATIONAL of every other bundle (the 3-type ones): it fits beside the
/// single clients' two grants of 10 in the pool of 25.
constexpr float mixed_bundle_compute = 2.0f;

/// A bundle leg never passes a better-ranked waiting request in its pool: at
/// NORMAL the single clients' waiting requests (earlier deadlines) would keep
/// the COMPUTATIONAL leg out until the bundle's deadline.
constexpr Priority mixed_bundle_priority = Priority::HIGH;

/// What one run of the mixed part measured.
struct MixedSample {
  Sample sample; // single clients: latencies of whole cycles, 2 ops each
  double slow_allocations = 0;
  Sample bundles; // bundle clients, the same way
  double slow_bundle_allocations = 0;
};

/// Runs `mixed_clients` single and `mixed_bundle_clients` bundle client
/// actors at once, each doing the warm-up and then operations / mixed_clients
/// measured cycles.
MixedSample drive_mixed(caf::actor_system& sys, const pool_actor& pool,
                        const bundle_actor& bundles, int run, int operations);

} // namespace rros::app::benchmark
