// The memory manager actor: tracked allocations carved from real memory
// regions it owns (RegionAllocator), each charged to the MEMORY pool, tied to
// the life of the actor that asked, and collected only when their owner
// terminated or allowed it (docs/memory.md).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/all.hpp>

#include "core/region_allocator.hpp"
#include "messages/memory_messages.hpp"

namespace rros {

using memory_time = caf::actor_clock::time_point;

/// One live block and what is known about its use.
struct TrackedBlock {
  std::uint64_t size = 0;      // carved in the region (rounded up)
  std::uint64_t requested = 0; // asked for, and charged
  std::string owner;
  caf::actor_addr holder; // the actor that asked (monitored); may be null
  // In the current pool, together `requested` (charge_parts); empty = not
  // charged.
  std::vector<GrantId> grants;
  bool evictable = false;
  wall_time allocated_at;
  memory_time allocated;
  memory_time last_access;
  std::uint64_t access_count = 0;
};

struct memory_manager_state {
  Config config;
  pool_actor pool; // the MEMORY pool (replaced when it crashed)
  RegionAllocator region;
  using block_map = std::map<std::uint64_t, TrackedBlock>;
  block_map blocks; // by address
  std::unordered_map<caf::actor_addr, std::set<std::uint64_t>> blocks_of_holder;
  std::unordered_set<caf::actor_addr> monitored;
  std::set<std::uint64_t> evictable; // addresses of evictable blocks

  // Counters since spawn or the last reset.
  std::uint64_t gc_runs = 0;
  std::uint64_t automatic_gc_runs = 0;
  std::uint64_t evicted_bytes = 0;
  std::uint64_t owner_down_bytes = 0;

  // The pending collectability timer, if any.
  bool check_pending = false;
  memory_time check_due;

  static inline const char* name = "rros.memory";
};

/// How a charge of `bytes` travels to the MEMORY pool: as float amounts that
/// hold it exactly. A float holds every whole number up to 2^24 (16 MiB), so
/// up to there one part; above, the bytes rounded down to the float spacing
/// at that magnitude, and the rest (below that spacing) when it is not 0.
/// The parts add up to `bytes`. Empty for 0.
std::vector<std::uint64_t> charge_parts(std::uint64_t bytes);

/// The memory manager's behavior; `config` must be valid (Config's checked
/// constructors), `memory_pool` may be null until the first pools_atom.
memory_manager_actor::behavior_type memory_manager(
    memory_manager_actor::stateful_pointer<memory_manager_state> self,
    pool_actor memory_pool, Config config);

/// Spawns a memory manager that charges `memory_pool` and maps a region of
/// RegionAllocator::region_for_budget(memory_capacity) bytes (16 bytes per
/// byte of budget: any fill of the budget fits, docs/memory.md).
memory_manager_actor spawn_memory_manager(caf::actor_system& sys,
                                          pool_actor memory_pool,
                                          const Config& config);

} // namespace rros
