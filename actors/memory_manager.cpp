// The memory manager's handlers: tracked blocks carved from the region
// (core/region_allocator), charged to and credited from the MEMORY pool,
// owners monitored, garbage collection and eviction. Slightly above ~600
// lines: allocation, release and collection share the charge bookkeeping.
#include "actors/memory_manager.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <vector>

#include "actors/sender_checks.hpp"
#include "messages/error.hpp"
#include "messages/format.hpp"
#include "messages/validate.hpp"

namespace rros {

namespace {

using self_ptr = memory_manager_actor::stateful_pointer<memory_manager_state>;

/// The received configuration passes the same checks as a parsed one, so
/// that no NaN or out-of-range figure reaches the clocks or the region.
caf::error check_config(const Config& config) {
  std::map<std::string, double> values;
  for (auto type : all_resource_types)
    values[Config::capacity_key(type)] = config.capacity_of(type);
  for (const auto& setting : Config::settings())
    values[setting.key] = config.*setting.member;
  auto checked = Config{}.with(values);
  return checked ? caf::error{} : checked.error();
}

double memory_capacity(const memory_manager_state& st) {
  return st.config.capacity_of(ResourceType::MEMORY);
}

/// Whole bytes of the configured capacity: no request may ask for more.
std::uint64_t capacity_bytes(const Config& config) {
  return static_cast<std::uint64_t>(
      std::floor(config.capacity_of(ResourceType::MEMORY)));
}

/// The region for the configured budget: room for any fill of it, whatever
/// the sizes (RegionAllocator::region_for_budget).
std::uint64_t region_bytes_for(const Config& config) {
  return RegionAllocator::region_for_budget(capacity_bytes(config));
}

caf::timespan gc_age(const memory_manager_state& st) {
  return std::chrono::duration_cast<caf::timespan>(
      std::chrono::duration<double>{st.config.gc_age_threshold});
}

/// When an evictable block may be collected: once it is gc_age_threshold
/// old and has not been touched for as long.
memory_time collectable_at(const memory_manager_state& st,
                           const TrackedBlock& block) {
  return std::max(block.allocated, block.last_access) + gc_age(st);
}

MemoryBlock describe_block(std::uint64_t address, const TrackedBlock& block,
                           memory_time now) {
  MemoryBlock result;
  result.address = address;
  result.size = block.size;
  result.requested = block.requested;
  result.owner = block.owner;
  result.grant_id = block.grants.empty() ? 0 : block.grants.front();
  result.charged = block.grants.empty() ? 0 : block.requested;
  result.evictable = block.evictable;
  result.allocated_at = block.allocated_at;
  result.age = now - block.allocated;
  result.idle = now - block.last_access;
  result.access_count = block.access_count;
  return result;
}

MemoryStats stats_of(const memory_manager_state& st) {
  MemoryStats result;
  result.blocks = st.blocks.size();
  for (const auto& [address, block] : st.blocks) {
    result.allocated_bytes += block.requested;
    if (block.grants.empty())
      result.uncharged_bytes += block.requested;
  }
  result.requested_bytes = result.allocated_bytes;
  result.carved_bytes = st.region.allocated_bytes();
  result.free_bytes = st.region.free_bytes();
  result.largest_free_extent = st.region.largest_free_extent();
  result.region_bytes = st.region.region_bytes();
  result.regions = st.region.regions();
  result.fragmentation = st.region.fragmentation();
  result.gc_runs = st.gc_runs;
  result.automatic_gc_runs = st.automatic_gc_runs;
  result.evicted_bytes = st.evicted_bytes;
  result.owner_down_bytes = st.owner_down_bytes;
  result.bytes_reclaimed = st.evicted_bytes + st.owner_down_bytes;
  return result;
}

/// The error for an address that is no block start, saying which it is.
caf::error not_a_block(const memory_manager_state& st, std::uint64_t address) {
  if (auto inside =
          st.region.block_containing(static_cast<std::uintptr_t>(address)))
    return make_error(ec::unknown_block,
                      "address " + format_address(address) +
                          " is inside the block at " +
                          format_address(inside->first) + " (" +
                          std::to_string(inside->second) +
                          " bytes); give the block's start address");
  return make_error(ec::unknown_block,
                    "no tracked block at " + format_address(address) +
                        " (never allocated, or freed already)");
}

/// The block at `address` when the current sender allocated it: a block is
/// freed, touched or marked evictable only by the actor that allocated it
/// (another actor freeing it would hand out memory its owner still uses).
/// Touching is open to all (see the touch handler).
/// Anything else is an unknown_block error that names the problem.
caf::expected<memory_manager_state::block_map::iterator>
own_block(self_ptr self, std::uint64_t address) {
  auto& st = self->state;
  auto i = st.blocks.find(address);
  if (i == st.blocks.end())
    return not_a_block(st, address);
  if (i->second.holder != sender_of(self))
    return make_error(ec::unknown_block,
                      "the block at " + format_address(address) +
                          " was allocated by another actor; only its "
                          "allocator may free it or change its eviction");
  return i;
}

// -- budget ------------------------------------------------------------------

/// Returns a grant to `pool`. Messages to one actor arrive in the order they
/// were sent, so any later request to the pool sees the credit.
void return_grant(self_ptr self, const pool_actor& pool, GrantId id) {
  if (id == 0 || !pool)
    return;
  // A pool that lost the grant (reset, or crashed) answers unknown_grant or
  // is gone: either way nothing is held any more.
  self->request(pool, caf::infinite, release_atom::value, id)
      .then([](const ReleaseReceipt&) {}, [](const caf::error&) {});
}

void return_grants(self_ptr self, const pool_actor& pool,
                   const std::vector<GrantId>& ids) {
  for (auto id : ids)
    return_grant(self, pool, id);
}

/// Receives the grants of a whole charge, or the error that refused it.
using charge_handler = std::function<void(caf::expected<std::vector<GrantId>>)>;

/// Asks `pool` for parts[index..] one after the other (awaited, so nothing
/// else is handled in between); a refused part returns the parts granted
/// before it, so a charge is taken whole or not at all.
void charge_from(self_ptr self, pool_actor pool, std::string owner,
                 std::shared_ptr<const std::vector<std::uint64_t>> parts,
                 std::size_t index, std::vector<GrantId> grants,
                 charge_handler done) {
  if (index == parts->size()) {
    done(std::move(grants));
    return;
  }
  ResourceRequest budget{owner, ResourceType::MEMORY, Priority::NORMAL,
                         static_cast<float>((*parts)[index])};
  self->request(pool, caf::infinite, allocate_atom::value, std::move(budget))
      .await(
          // A NORMAL request without a deadline is granted in full or
          // refused, never partly.
          [=](const ResourceAllocation& grant) mutable {
            grants.push_back(grant.grant_id);
            charge_from(self, pool, owner, parts, index + 1, std::move(grants),
                        done);
          },
          [=](caf::error& err) {
            return_grants(self, pool, grants);
            done(std::move(err));
          });
}

/// Charges `pool` exactly `bytes` under `owner` (charge_parts).
void charge(self_ptr self, pool_actor pool, std::string owner,
            std::uint64_t bytes, charge_handler done) {
  auto parts =
      std::make_shared<const std::vector<std::uint64_t>>(charge_parts(bytes));
  charge_from(self, std::move(pool), std::move(owner), std::move(parts), 0, {},
              std::move(done));
}

// -- blocks ------------------------------------------------------------------

void watch(self_ptr self, const caf::actor_addr& holder) {
  if (holder && self->state.monitored.insert(holder).second)
    self->monitor(holder);
}

/// Frees a block's memory, returns its grants and forgets it; returns the
/// bytes it asked for (what its charge gave back to the budget).
std::uint64_t drop_block(self_ptr self,
                         std::map<std::uint64_t, TrackedBlock>::iterator i) {
  auto& st = self->state;
  auto address = i->first;
  auto& block = i->second;
  auto requested = block.requested;
  st.region.free(static_cast<std::uintptr_t>(address));
  return_grants(self, st.pool, block.grants);
  if (block.holder) {
    auto owned = st.blocks_of_holder.find(block.holder);
    if (owned != st.blocks_of_holder.end()) {
      owned->second.erase(address);
      if (owned->second.empty())
        st.blocks_of_holder.erase(owned);
    }
  }
  st.evictable.erase(address);
  st.blocks.erase(i);
  return requested;
}

/// Every block of a terminated owner returns (it cannot use them any more).
void holder_down(self_ptr self, const caf::actor_addr& holder) {
  auto& st = self->state;
  st.monitored.erase(holder);
  auto owned = st.blocks_of_holder.find(holder);
  if (owned == st.blocks_of_holder.end())
    return;
  auto addresses = owned->second;
  for (auto address : addresses)
    if (auto i = st.blocks.find(address); i != st.blocks.end())
      st.owner_down_bytes += drop_block(self, i);
}

/// One garbage collection: every evictable block that is old and idle
/// enough is freed and its owner told. Blocks that are not evictable are
/// never touched here. Returns the bytes reclaimed.
std::uint64_t collect(self_ptr self, bool automatic) {
  auto& st = self->state;
  auto now = self->clock().now();
  ++st.gc_runs;
  if (automatic)
    ++st.automatic_gc_runs;
  std::vector<std::uint64_t> victims;
  for (auto address : st.evictable)
    if (collectable_at(st, st.blocks.at(address)) <= now)
      victims.push_back(address);
  std::uint64_t reclaimed = 0;
  for (auto address : victims) {
    auto i = st.blocks.find(address);
    auto notice = describe_block(address, i->second, now);
    auto holder = i->second.holder;
    reclaimed += drop_block(self, i);
    // The holder is the client that sent the allocation (CAF gives the
    // sender untyped); one that does not handle evicted_atom drops it.
    if (holder)
      caf::anon_send(caf::actor_cast<memory_owner_actor>(holder),
                     evicted_atom::value, std::move(notice));
  }
  st.evicted_bytes += reclaimed;
  return reclaimed;
}

void schedule_check(self_ptr self, memory_time due) {
  auto& st = self->state;
  if (st.check_pending && st.check_due <= due)
    return;
  st.check_pending = true;
  st.check_due = due;
  self->delayed_send(self, due - self->clock().now(), gc_check_atom::value);
}

/// Automatic collection: when an evictable block is collectable now, asks
/// the pool for its utilization and collects at or above gc_threshold.
/// Otherwise wakes up when the next evictable block becomes collectable.
void maybe_collect(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  bool collectable_now = false;
  bool later = false;
  memory_time next;
  for (auto address : st.evictable) {
    auto due = collectable_at(st, st.blocks.at(address));
    if (due <= now) {
      collectable_now = true;
    } else if (!later || due < next) {
      later = true;
      next = due;
    }
  }
  if (later)
    schedule_check(self, next);
  if (!collectable_now || !st.pool)
    return;
  // Awaited, so that no allocation slips in between the reading and the
  // collection.
  self->request(st.pool, caf::infinite, status_atom::value)
      .await(
          [=](const PoolStatus& status) {
            if (status.utilization() >= self->state.config.gc_threshold)
              collect(self, true);
          },
          [](const caf::error&) {
            // The pool is down: the next allocation or timer checks again.
          });
}

// -- allocation --------------------------------------------------------------

/// A request on its way: budget first, then the region.
struct PendingAllocation {
  MemoryRequest request;  // request.size is charged
  std::uint64_t size = 0; // carved: rounded up to the alignment
  caf::actor_addr holder;
  caf::typed_response_promise<MemoryBlock> promise;
};

void record_block(self_ptr self, PendingAllocation& pending,
                  std::uintptr_t address, std::vector<GrantId> grants) {
  auto& st = self->state;
  auto now = self->clock().now();
  TrackedBlock block;
  block.size = pending.size;
  block.requested = pending.request.size;
  block.owner = pending.request.owner;
  block.holder = pending.holder;
  block.grants = std::move(grants);
  block.evictable = pending.request.evictable;
  block.allocated_at = wall_clock::now();
  block.allocated = now;
  block.last_access = now;
  auto key = static_cast<std::uint64_t>(address);
  auto [i, added] = st.blocks.emplace(key, std::move(block));
  if (pending.holder)
    st.blocks_of_holder[pending.holder].insert(key);
  if (i->second.evictable)
    st.evictable.insert(key);
  // An owner that died while its budget was on the way is seen at once: a
  // monitor on a terminated actor delivers its down message immediately.
  watch(self, pending.holder);
  pending.promise.deliver(describe_block(key, i->second, now));
}

void attempt(self_ptr self, std::shared_ptr<PendingAllocation> pending,
             bool may_collect);

/// Refused (budget or region): collect once and retry when that freed
/// anything, otherwise deliver `err`.
void retry_or_refuse(self_ptr self, std::shared_ptr<PendingAllocation> pending,
                     bool may_collect, caf::error err) {
  if (may_collect && collect(self, false) > 0) {
    attempt(self, std::move(pending), false);
    return;
  }
  pending->promise.deliver(std::move(err));
}

void attempt(self_ptr self, std::shared_ptr<PendingAllocation> pending,
             bool may_collect) {
  auto pool = self->state.pool;
  if (!pool) {
    pending->promise.deliver(make_error(
        ec::pool_unavailable, "the memory manager has no MEMORY pool"));
    return;
  }
  // The budget is charged the bytes asked for; the block's rounding is the
  // region's overhead. Awaited: the charge and the carving happen as one
  // step, and a pool handle or configuration arriving meanwhile waits for it.
  charge(
      self, pool, pending->request.owner, pending->request.size,
      [=](caf::expected<std::vector<GrantId>> grants) {
        if (!grants) {
          auto& err = grants.error();
          if (err.category() != caf::atom("rros")) {
            pending->promise.deliver(carried(
                err, ec::pool_unavailable, "the MEMORY pool did not answer: "));
            return;
          }
          if (is(err, ec::insufficient_resources) ||
              is(err, ec::exceeds_quota)) {
            retry_or_refuse(self, pending, may_collect, std::move(err));
            return;
          }
          pending->promise.deliver(std::move(err));
          return;
        }
        auto& st = self->state;
        auto address = st.region.allocate(pending->size);
        if (!address) {
          return_grants(self, pool, *grants);
          retry_or_refuse(
              self, pending, may_collect,
              make_error(ec::insufficient_resources,
                         "no free extent of " + std::to_string(pending->size) +
                             " bytes in the memory region (largest " +
                             std::to_string(st.region.largest_free_extent()) +
                             " of " + std::to_string(st.region.free_bytes()) +
                             " free bytes, fragmentation " +
                             format_number(st.region.fragmentation()) + ")"));
          return;
        }
        record_block(self, *pending, *address, std::move(*grants));
        maybe_collect(self);
      });
}

caf::result<MemoryBlock> allocate(self_ptr self, const MemoryRequest& req) {
  auto& st = self->state;
  // The owner is the requester charged at the MEMORY pool.
  if (auto err = check_requester(req.owner, "a tracked block's owner id"))
    return err;
  if (req.size == 0)
    return make_error(ec::invalid_amount, "cannot allocate 0 bytes");
  auto capacity = memory_capacity(st);
  if (static_cast<double>(req.size) > capacity)
    return make_error(ec::exceeds_capacity,
                      "requested " + std::to_string(req.size) +
                          " bytes but memory_capacity is " +
                          format_number(capacity) + " bytes");
  // The rounding is the region's overhead (it has room for it), never a
  // reason to refuse: within the capacity, block_size_for() is not 0.
  auto size = RegionAllocator::block_size_for(req.size);
  auto pending = std::make_shared<PendingAllocation>();
  pending->request = req;
  pending->size = size;
  if (auto sender = self->current_sender())
    pending->holder = sender->address();
  pending->promise = self->make_response_promise<MemoryBlock>();
  auto promise = pending->promise;
  attempt(self, std::move(pending), true);
  return promise;
}

// -- pool replacement ---------------------------------------------------------

/// Charges the blocks at `addresses[index..]` to the current pool, one at a
/// time; a block the pool refuses stays valid and uncharged.
void charge_again(self_ptr self,
                  std::shared_ptr<std::vector<std::uint64_t>> addresses,
                  std::size_t index,
                  caf::typed_response_promise<MemoryStats> promise) {
  auto& st = self->state;
  while (index < addresses->size() && st.blocks.count((*addresses)[index]) == 0)
    ++index; // its owner terminated meanwhile
  if (index == addresses->size() || !st.pool) {
    promise.deliver(stats_of(st));
    maybe_collect(self);
    return;
  }
  auto address = (*addresses)[index];
  const auto& block = st.blocks.at(address);
  auto pool = st.pool;
  charge(self, pool, block.owner, block.requested,
         [=](caf::expected<std::vector<GrantId>> grants) mutable {
           if (grants) {
             auto i = self->state.blocks.find(address);
             if (i == self->state.blocks.end() || !i->second.grants.empty())
               return_grants(self, pool, *grants);
             else
               i->second.grants = std::move(*grants);
           }
           charge_again(self, addresses, index + 1, promise);
         });
}

caf::result<MemoryStats> replace_pool(self_ptr self, pool_actor fresh) {
  auto& st = self->state;
  if (fresh == st.pool)
    return stats_of(st);
  // Grants stay with the pool that made them: give them back there (a
  // crashed pool has lost them already) and charge the new one.
  auto old = std::move(st.pool);
  st.pool = std::move(fresh);
  auto addresses = std::make_shared<std::vector<std::uint64_t>>();
  for (auto& [address, block] : st.blocks) {
    return_grants(self, old, block.grants);
    block.grants.clear();
    addresses->push_back(address);
  }
  auto promise = self->make_response_promise<MemoryStats>();
  charge_again(self, std::move(addresses), 0, promise);
  return promise;
}

} // namespace

memory_manager_actor::behavior_type memory_manager(
    memory_manager_actor::stateful_pointer<memory_manager_state> self,
    pool_actor memory_pool, Config config) {
  auto& st = self->state;
  st.config = config;
  st.pool = std::move(memory_pool);
  st.region = RegionAllocator{region_bytes_for(config)};
  self->set_down_handler(
      [=](caf::down_msg& msg) { holder_down(self, msg.source); });
  return {
      [=](allocate_atom, const MemoryRequest& req) {
        return allocate(self, req);
      },
      [=](release_atom, std::uint64_t address) -> caf::result<MemoryBlock> {
        auto found = own_block(self, address);
        if (!found)
          return std::move(found.error());
        auto i = *found;
        auto freed = describe_block(address, i->second, self->clock().now());
        drop_block(self, i);
        return freed;
      },
      [=](touch_atom, std::uint64_t address) -> caf::result<MemoryBlock> {
        // Any actor may say it used a block (modules share data): a touch
        // only postpones collecting a block its owner allowed to evict.
        auto& st = self->state;
        auto i = st.blocks.find(address);
        if (i == st.blocks.end())
          return not_a_block(st, address);
        auto now = self->clock().now();
        i->second.last_access = now;
        ++i->second.access_count;
        return describe_block(address, i->second, now);
      },
      [=](evictable_atom, const std::string& owner, std::uint64_t address,
          bool evictable) -> caf::result<MemoryBlock> {
        auto& st = self->state;
        auto found = own_block(self, address);
        if (!found)
          return std::move(found.error());
        auto i = *found;
        if (i->second.owner != owner)
          return make_error(ec::unknown_block,
                            "the block at " + format_address(address) +
                                " belongs to '" + i->second.owner +
                                "', not to '" + owner + "'");
        i->second.evictable = evictable;
        if (evictable)
          st.evictable.insert(address);
        else
          st.evictable.erase(address);
        auto result = describe_block(address, i->second, self->clock().now());
        maybe_collect(self);
        return result;
      },
      [=](gc_atom) -> std::uint64_t { return collect(self, false); },
      [=](stats_atom) { return stats_of(self->state); },
      [=](blocks_atom) {
        auto& st = self->state;
        auto now = self->clock().now();
        std::vector<MemoryBlock> result;
        result.reserve(st.blocks.size());
        for (const auto& [address, block] : st.blocks)
          result.push_back(describe_block(address, block, now));
        return result;
      },
      [=](reset_atom) -> caf::result<MemoryStats> {
        if (!may_administer(self))
          return admin_refused("a reset of the memory manager");
        auto& st = self->state;
        for (const auto& [address, block] : st.blocks)
          return_grants(self, st.pool, block.grants);
        st.blocks.clear();
        st.blocks_of_holder.clear();
        st.evictable.clear();
        st.region.clear();
        st.gc_runs = 0;
        st.automatic_gc_runs = 0;
        st.evicted_bytes = 0;
        st.owner_down_bytes = 0;
        return stats_of(st);
      },
      [=](pools_atom, pool_actor fresh) -> caf::result<MemoryStats> {
        if (!from_local(self))
          return make_error(ec::not_permitted,
                            "a new MEMORY pool comes from the manager only");
        return replace_pool(self, std::move(fresh));
      },
      [=](config_atom, const Config& config) -> caf::result<MemoryStats> {
        if (!may_administer(self))
          return admin_refused("the memory manager's configuration");
        auto& st = self->state;
        if (auto err = check_config(config))
          return err;
        auto grown = capacity_bytes(config) > capacity_bytes(st.config);
        st.config = config;
        // Growth keeps room for any fill of the new budget: with no block
        // live the region becomes one of the new size; otherwise a region of
        // the new size is added, unless a free extent that large is left.
        // A smaller capacity is enforced by the pool's budget while the
        // region keeps its size.
        auto wanted = region_bytes_for(config);
        if (grown && st.blocks.empty())
          st.region.grow_to(wanted);
        else if (grown && st.region.largest_free_extent() < wanted)
          st.region.add_region(wanted);
        auto result = stats_of(st);
        maybe_collect(self);
        return result;
      },
      [=](revoke_atom, const GrantNotice& notice) {
        // Tracked grants are never preemptable nor leased for a time, so a
        // pool does not revoke them; should one be taken back all the same,
        // the block stays valid and is no longer charged.
        auto& st = self->state;
        // Only the MEMORY pool revokes its grants: a forged notice would
        // stop charging a block the pool still counts.
        auto sender = self->current_sender();
        if (!sender || !st.pool || sender->address() != st.pool.address() ||
            notice.resource_type != ResourceType::MEMORY ||
            notice.grant_id == 0)
          return;
        for (auto& [address, block] : st.blocks) {
          auto& ids = block.grants;
          auto taken = std::find(ids.begin(), ids.end(), notice.grant_id);
          if (taken == ids.end() || block.owner != notice.requester_id)
            continue;
          // Never charged in part: the other grant (of a block above 16 MiB)
          // returns too.
          ids.erase(taken);
          return_grants(self, st.pool, ids);
          ids.clear();
        }
      },
      [=](gc_check_atom) {
        auto& st = self->state;
        if (self->clock().now() >= st.check_due)
          st.check_pending = false;
        maybe_collect(self);
      },
  };
}

std::vector<std::uint64_t> charge_parts(std::uint64_t bytes) {
  if (bytes == 0)
    return {};
  constexpr int float_digits = std::numeric_limits<float>::digits; // 24
  int bits = 64 - __builtin_clzll(bytes);
  if (bits <= float_digits)
    return {bytes};
  auto spacing = std::uint64_t{1} << (bits - float_digits);
  auto high = bytes & ~(spacing - 1);
  if (high == bytes)
    return {bytes};
  return {high, bytes - high};
}

memory_manager_actor spawn_memory_manager(caf::actor_system& sys,
                                          pool_actor memory_pool,
                                          const Config& config) {
  return sys.spawn(memory_manager, std::move(memory_pool), config);
}

} // namespace rros
