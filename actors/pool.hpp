// One pool actor per resource type: translates messages into changes of the
// type's books (core/lease_book.hpp: ledger, leases, reservations) and of its
// queue of waiting requests (core/wait_queue.hpp), and runs the policies on
// top: quotas, fair share, backfilling, preemption with notice, shedding.
// The mailbox serializes every change, so no lock guards any of it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/all.hpp>

#include "core/holder_index.hpp"
#include "core/lease_book.hpp"
#include "core/pool_journal.hpp"
#include "core/wait_queue.hpp"
#include "messages/actors.hpp"
#include "messages/error.hpp"

namespace rros {

using pool_clock = caf::actor_clock::clock_type;
using pool_time = caf::actor_clock::time_point;

/// A request waiting for capacity until its deadline (the queue entry's
/// payload; the entry carries requester, priority, arrival and deadline).
struct PendingGrant {
  ResourceRequest request;
  units amount = 0;
  caf::actor_addr holder;
  caf::typed_response_promise<ResourceAllocation> promise;
  std::uint64_t preemption = 0; // the preemption serving it, 0 = none
};

using pool_book = LeaseBook<caf::actor_addr, pool_time>;
using pool_queue = WaitQueue<PendingGrant, pool_time>;
using pool_waiter = pool_queue::Entry;

/// Victims notified for one waiting request, reclaimed after the grace period.
struct Preemption {
  std::uint64_t waiter = 0; // 0: a shed (nobody waits for it)
  std::string asker;
  std::vector<GrantId> victims;
};

/// A quota in units, with what its group uses now.
struct QuotaState {
  Quota spec;
  units min = 0;
  units max = 0;  // 0 = none
  units used = 0; // held by the group's members
};

struct pool_state {
  ResourceType type = ResourceType::COMPUTATIONAL;
  PoolPolicy policy;
  pool_book book;
  pool_queue waiting;
  // Amounts of the waiting requests that carry a time-to-live (the only ones
  // that may backfill): when the smallest cannot fit, no backfill is tried.
  std::multiset<units> backfill_amounts;
  std::unordered_set<caf::actor_addr> monitored;
  // The waiting requests of each holder (by seq): a holder's end drops
  // its own without a scan of the queue.
  HolderIndex<caf::actor_addr, std::uint64_t> waiters_of_holder;
  std::map<std::uint64_t, Preemption> preemptions;
  std::map<std::string, QuotaState> quotas;              // by group name
  std::unordered_map<std::string, std::string> group_of; // requester -> group
  ShedPolicy shed;                   // what degradation sheds
  std::vector<caf::actor> listeners; // told of every change (usage_atom)
  bool publish_pending = false;      // a publish_atom is on its way
  std::uint64_t returns = 0;         // see PoolStatus::returns
  bool aborting = false;             // an abort's return is not a return

  // Trust (docs/security.md). The supervisor (the manager that spawned the
  // pool; null for a standalone pool) names the bundle coordinator and the
  // monitor (peers_atom); from then on only the coordinator may prepare legs
  // and only the monitor may shed. Timers are accepted only from the pool
  // itself, legs are committed or aborted only by their preparer, and a grant
  // or waiting request is touched only by the actor that took it.
  // Waiting requests per other node (one connection), for its limit.
  std::map<caf::node_id, std::size_t> waiting_of_node;
  caf::actor_addr supervisor;
  caf::actor_addr coordinator;
  caf::actor_addr monitor;
  bool peers_known = false;

  // Statistics since spawn or the last reset. Usage is held + reserved.
  units peak_usage = 0;
  double usage_integral = 0; // units x nanoseconds, for the time-weighted mean
  pool_time since;
  pool_time last_change;
  std::uint64_t allocation_count = 0;
  std::uint64_t rejection_count = 0;
  std::uint64_t preemption_count = 0;
  std::chrono::nanoseconds allocation_time_total{0};
  // For /metrics (ResourceStats): refusals by code, expiries, wait times.
  std::array<std::uint64_t, static_cast<std::size_t>(last_ec) + 1>
      refusals_by_reason{};
  std::uint64_t expiry_count = 0;
  std::array<std::uint64_t, wait_bucket_bounds.size() + 1> wait_counts{};
  double wait_seconds_sum = 0;

  // Durability (docs/durability.md); all empty without a data directory.
  std::shared_ptr<const StorageSettings> storage;
  std::optional<PoolJournal> journal;
  std::unordered_map<GrantId, std::uint64_t> tokens; // reattach tokens
  std::vector<std::uint64_t> unwritten; // touched ids a failed write left
  std::set<GrantId> orphans;            // restored grants not reattached yet
  std::set<std::uint64_t> orphan_reservations; // restored, their maker gone
  // Replies waiting for the group commit's sync (called with an error when
  // the sync failed).
  std::vector<std::function<void(const caf::error*)>> after_sync;
  bool sync_scheduled = false;
  std::string storage_failure; // set: new grants and reservations refused

  const Ledger& ledger() const {
    return book.ledger();
  }

  static inline const char* name = "rros.pool";
};

/// The pool's behavior; `capacity` is in API amounts (validated by the caller).
/// A standalone pool: it accepts legs and shedding from any sender until a
/// supervisor names its peers, which this one has none to do.
pool_actor::behavior_type pool(pool_actor::stateful_pointer<pool_state> self,
                               ResourceType type, double capacity,
                               PoolPolicy policy);

/// A pool spawned by `supervisor` (the manager): only the supervisor may name
/// its peers (peers_atom), and from then on legs come only from the named
/// coordinator and shedding only from the named monitor. With `storage` the
/// pool starts from the books kept in its data directory (restored grants
/// wait for their holders to reattach) and writes every change there.
pool_actor::behavior_type
supervised_pool(pool_actor::stateful_pointer<pool_state> self,
                ResourceType type, double capacity, PoolPolicy policy,
                caf::actor_addr supervisor,
                std::shared_ptr<const StorageSettings> storage = nullptr);

} // namespace rros
