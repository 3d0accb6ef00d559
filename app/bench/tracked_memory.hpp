// The tracked-memory part of `rros bench` (`memory.actor`, `memory.malloc`):
// an event-based client actor allocates and frees blocks of
// `memory_block_size` bytes through the memory manager actor, one request in
// flight, beside a malloc/free loop of the same size in the same process
// (the baseline).
#pragma once

#include <cstdint>
#include <string>

#include <caf/all.hpp>

#include "app/bench/statistics.hpp"
#include "messages/memory_messages.hpp"

namespace rros::app::benchmark {

/// Bytes of every tracked block and of every malloc of the baseline.
constexpr std::uint64_t memory_block_size = 256;

/// Spawns the memory client (warm-up, then `operations` timed allocate/free
/// cycles owned by `owner`) and waits for its sample.
Sample drive_memory(caf::actor_system& sys, const memory_manager_actor& memory,
                    const std::string& owner, int operations);

/// The baseline: malloc + free of the same size, one block at a time,
/// untimed per call (only the whole loop is).
Sample malloc_free(int operations);

} // namespace rros::app::benchmark
