// The plain client of `rros bench` (the `actor`, `floor` and `diag` parts):
// an event-based actor that allocates and releases `cycle_amount`, one
// request in flight (`request(...).then(...)` chained), against the real
// pool or the framework-floor echo actor, timing every round trip.
#pragma once

#include <string>

#include <caf/all.hpp>

#include "app/bench/floor_actor.hpp"
#include "app/bench/statistics.hpp"
#include "messages/actors.hpp"

namespace rros::app::benchmark {

/// Spawns one client against `target` (warm-up, then `operations` timed
/// allocate/release cycles) and waits for its sample. `timeout` is the CAF
/// request timeout of every request (infinite but for the diagnostic part).
Sample drive(caf::actor_system& sys, const pool_actor& target,
             const std::string& requester, int operations,
             caf::duration timeout = caf::infinite);
Sample drive(caf::actor_system& sys, const echo_actor& target,
             const std::string& requester, int operations,
             caf::duration timeout = caf::infinite);

} // namespace rros::app::benchmark
