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

#include <caf/actor_clock.hpp>
#include <caf/all.hpp>

#include "actors/region_allocator.hpp"
#include "messages/memory_messages.hpp"

namespace rros {

using memory_time = caf::actor_clock::time_point;

/// One live block and what is known about its use.
struct TrackedBlock {
  std::uint64_t size = 0;      // carved and charged
  std::uint64_t requested = 0; // asked for
  std::string owner;
  caf::actor_addr holder; // the actor that asked (monitored); may be null
  GrantId grant_id = 0;   // in the current pool; 0 = not charged
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
  std::map<std::uint64_t, TrackedBlock> blocks; // by address
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

/// The memory manager's behavior; `config` must be valid (Config's checked
/// constructors), `memory_pool` may be null until the first pools_atom.
memory_manager_actor::behavior_type memory_manager(
    memory_manager_actor::stateful_pointer<memory_manager_state> self,
    pool_actor memory_pool, Config config);

/// Spawns a memory manager that charges `memory_pool` and maps a region of
/// `config`'s memory_capacity bytes.
memory_manager_actor spawn_memory_manager(caf::actor_system& sys,
                                          pool_actor memory_pool,
                                          const Config& config);

} // namespace rros
