// The metrics collector's interface (actors/metrics_collector.{hpp,cpp}): it
// polls the manager, the pools' ledgers and statistics, the bundle
// coordinator, the monitor and the scheduler through their existing
// messages and writes the figures into Prometheus metric objects
// (docs/monitoring.md, "Prometheus metrics"). Local only: it carries no type
// of its own across nodes, so it needs no type-ID block.
#pragma once

#include <cstdint>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/monitor_messages.hpp"

namespace rros {

// One collection round (from clients or the collector's own timer).
using collect_atom = caf::atom_constant<caf::atom("collect")>;
// The collector's timer: the next round is due.
using collect_tick_atom = caf::atom_constant<caf::atom("colltick")>;

/// Gathers the node's figures into a Prometheus registry on an interval.
using metrics_collector_actor = caf::typed_actor<
    // Runs one collection round now and replies, once every answer of the
    // round has been written, with the number of rounds completed so far.
    // A subsystem that does not answer (not running, or restarting) leaves
    // its metrics as they were; the round still completes.
    caf::replies_to<collect_atom>::with<std::uint64_t>,
    // Its own timer: starts a round and schedules the next one.
    caf::reacts_to<collect_tick_atom>,
    // Monitor events (the collector subscribes to alerts and state changes):
    // counted into the alert, degradation and escalation counters.
    caf::reacts_to<monitor_event_atom, MonitorEvent>>;

} // namespace rros
