// Messages, atoms and typed interfaces of tracked memory (memory manager
// actor), with their own CAF type-ID block (offset 100 past rros's first block
// so the blocks never collide). Include it where these messages are used;
// messages/type_ids.cpp registers the block. The rules are in docs/memory.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/type_id.hpp>

#include "messages/actors.hpp"

#include "messages/atoms.hpp"
#include "messages/types.hpp"

namespace rros {

// Tags of tracked memory (allocate_atom, release_atom, stats_atom,
// reset_atom, pools_atom, config_atom and revoke_atom are shared).
using touch_atom = caf::atom_constant<caf::atom("touch")>;
using gc_atom = caf::atom_constant<caf::atom("gc")>;
using blocks_atom = caf::atom_constant<caf::atom("blocks")>;
using evictable_atom = caf::atom_constant<caf::atom("evictable")>;
using evicted_atom = caf::atom_constant<caf::atom("evicted")>;
using gc_check_atom = caf::atom_constant<caf::atom("gccheck")>;

/// A tracked allocation. The budget is taken from the MEMORY pool under
/// `owner`; when the request comes from an actor, the block is tied to that
/// actor's life. An evictable block may be collected once idle (the owner
/// is told with evicted_atom); any other block lives until freed or until
/// its owner actor terminates.
struct MemoryRequest {
  std::string owner;
  std::uint64_t size = 0; // bytes, 1..memory_capacity
  bool evictable = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, MemoryRequest& x) {
  return f(caf::meta::type_name("MemoryRequest"), x.owner, x.size, x.evictable);
}

/// One tracked block as the memory manager sees it. Ages are measured on
/// the actor's clock (virtual in tests); `allocated_at` is the wall clock.
/// The MEMORY pool is charged the bytes asked for; the rounding up to 16
/// bytes is the region's own overhead.
struct MemoryBlock {
  std::uint64_t address = 0;   // a real pointer into the manager's region
  std::uint64_t size = 0;      // bytes carved in the region (rounded up)
  std::uint64_t requested = 0; // bytes asked for (what is charged)
  std::string owner;
  // The MEMORY pool's grant; 0 = not charged. A block above 16 MiB is
  // charged as two grants (a float amount holds every whole number only up
  // to 2^24): this is the first.
  GrantId grant_id = 0;
  bool evictable = false;
  wall_time allocated_at;
  caf::timespan age{0};           // since allocation
  caf::timespan idle{0};          // since the last touch (or allocation)
  std::uint64_t access_count = 0; // touches
  std::uint64_t charged = 0;      // bytes the pool holds for it: `requested`,
                                  // or 0 when not charged
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, MemoryBlock& x) {
  return f(caf::meta::type_name("MemoryBlock"), x.address, x.size, x.requested,
           x.owner, x.grant_id, x.evictable, x.allocated_at, x.age, x.idle,
           x.access_count, x.charged);
}

/// The memory manager's figures. Byte counts are exact. Invariants: the
/// MEMORY pool holds allocated_bytes - uncharged_bytes for the manager;
/// carved_bytes + free_bytes == region_bytes; allocated_bytes <= carved_bytes
/// <= allocated_bytes + 15 x blocks.
struct MemoryStats {
  std::uint64_t allocated_bytes = 0; // what the live blocks asked for (and
                                     // are charged): the seed's
                                     // total_memory_allocated
  std::uint64_t requested_bytes = 0; // the same (kept for older clients)
  std::uint64_t blocks = 0;
  std::uint64_t free_bytes = 0; // in the regions
  std::uint64_t largest_free_extent = 0;
  std::uint64_t region_bytes = 0;
  std::uint64_t regions = 0;
  double fragmentation = 0;  // 1 - largest_free_extent / free_bytes, 0..1
  std::uint64_t gc_runs = 0; // every collection, however started
  std::uint64_t automatic_gc_runs = 0; // started by gc_threshold
  // Reclaimed figures count the bytes the blocks asked for (what returned
  // to the budget).
  std::uint64_t bytes_reclaimed = 0;  // evicted + from terminated owners
  std::uint64_t evicted_bytes = 0;    // idle evictable blocks collected
  std::uint64_t owner_down_bytes = 0; // blocks of owners that terminated
  std::uint64_t uncharged_bytes = 0;  // asked for by live blocks without a
                                      // pool grant
  std::uint64_t carved_bytes = 0;     // the live blocks' extents in the region
                                      // (requests rounded up to 16 bytes)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, MemoryStats& x) {
  return f(caf::meta::type_name("MemoryStats"), x.allocated_bytes,
           x.requested_bytes, x.blocks, x.free_bytes, x.largest_free_extent,
           x.region_bytes, x.regions, x.fragmentation, x.gc_runs,
           x.automatic_gc_runs, x.bytes_reclaimed, x.evicted_bytes,
           x.owner_down_bytes, x.uncharged_bytes, x.carved_bytes);
}

/// Tracked memory: blocks carved from real memory regions, each charged to
/// the MEMORY pool, with garbage collection that never takes a block its
/// owner still holds unless the owner allowed it (docs/memory.md).
using memory_manager_actor = caf::typed_actor<
    // Takes the requested size from the MEMORY pool (requester = owner),
    // then carves a block (rounded up to 16 bytes) by best fit; a refusal
    // (budget or region) runs GC once and retries. Errors: empty_requester,
    // invalid_amount (size 0), exceeds_capacity (above memory_capacity),
    // insufficient_resources (no budget, or no free extent large enough),
    // exceeds_quota (the owner's quota), pool_unavailable (also when the pool
    // does not answer), framework_error (another error of CAF's).
    caf::replies_to<allocate_atom, MemoryRequest>::with<MemoryBlock>,
    // Frees the block that starts at the address and returns its grant;
    // replies with the block as it was. unknown_block for an address that
    // is no block start (never allocated, freed already, or interior).
    caf::replies_to<release_atom, std::uint64_t>::with<MemoryBlock>,
    // Records an access to the block at the address (unknown_block as for
    // release).
    caf::replies_to<touch_atom, std::uint64_t>::with<MemoryBlock>,
    // The owner allows (true) or forbids (false) collecting its idle block:
    // (owner, address, evictable). unknown_block when the address is no
    // block start or the block has another owner.
    caf::replies_to<evictable_atom, std::string, std::uint64_t,
                    bool>::with<MemoryBlock>,
    // Collects now; replies with the bytes reclaimed (asked for by the
    // collected blocks: what returned to the budget).
    caf::replies_to<gc_atom>::with<std::uint64_t>,
    caf::replies_to<stats_atom>::with<MemoryStats>,
    // Every live block in address order.
    caf::replies_to<blocks_atom>::with<std::vector<MemoryBlock>>,
    // Frees every block and returns every grant (regions stay mapped).
    caf::replies_to<reset_atom>::with<MemoryStats>,
    // A new MEMORY pool handle (a crashed pool was replaced): live blocks are
    // charged to it again (those it refuses stay valid, uncharged).
    caf::replies_to<pools_atom, pool_actor>::with<MemoryStats>,
    // The configuration in force: capacity growth maps a region for the new
    // capacity (docs/memory.md); gc_threshold and gc_age_threshold apply
    // from now on.
    caf::replies_to<config_atom, Config>::with<MemoryStats>,
    // A pool took a grant back: the block stays valid and uncharged.
    caf::reacts_to<revoke_atom, GrantNotice>,
    // Timer the manager sends itself when an evictable block becomes
    // collectable (not for clients).
    caf::reacts_to<gc_check_atom>>;

/// What an owner actor may receive: its evictable block was collected (the
/// address is no longer its to use).
using memory_owner_actor =
    caf::typed_actor<caf::reacts_to<evicted_atom, MemoryBlock>>;

} // namespace rros

CAF_BEGIN_TYPE_ID_BLOCK(rros_memory, caf::first_custom_type_id + 100)

CAF_ADD_TYPE_ID(rros_memory, (rros::MemoryRequest))
CAF_ADD_TYPE_ID(rros_memory, (rros::MemoryBlock))
CAF_ADD_TYPE_ID(rros_memory, (rros::MemoryStats))
CAF_ADD_TYPE_ID(rros_memory, (std::vector<rros::MemoryBlock>))
CAF_ADD_TYPE_ID(rros_memory, (rros::memory_manager_actor))
CAF_ADD_TYPE_ID(rros_memory, (rros::memory_owner_actor))

CAF_END_TYPE_ID_BLOCK(rros_memory)
