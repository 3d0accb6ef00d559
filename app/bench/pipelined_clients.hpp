// The pipelined part of `rros bench` (`pipelined.c10`): `clients` event-based
// client actors at once, each with a PoolPipeline (actors/pool_pipeline.hpp)
// to the COMPUTATIONAL pool, keeping `in_flight` items outstanding: every
// grant is released by id as soon as it arrives, every receipt starts the
// next allocation. The pipeline sends them as batched calls, at most
// `window` batches in flight per client. One op is one allocation or one
// release item; the throughput is all clients' timed ops over the time from
// the first client's start to the last one's end.
#pragma once

#include <cstddef>

#include <caf/all.hpp>

#include "app/bench/statistics.hpp"
#include "messages/actors.hpp"

namespace rros::app::benchmark {

/// Client actors of the pipelined part.
constexpr int pipelined_clients = 10;

/// Items each client keeps outstanding, and its pipeline's window (batches).
constexpr std::size_t pipelined_in_flight = 256;
constexpr std::size_t pipelined_window = 2;

/// Runs the clients (warm-up, then `operations` timed ops each) and returns
/// the aggregate sample (no per-op latencies: batches answer many at once).
Sample drive_pipelined(caf::actor_system& sys, const pool_actor& pool, int run,
                       int operations);

} // namespace rros::app::benchmark
