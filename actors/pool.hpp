// One pool actor per resource type: owns the type's exact ledger, the leases
// behind it, the queue of waiting requests and the preemptions in flight.
// The mailbox serializes every change, so no lock guards any of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/all.hpp>

#include "core/ledger.hpp"
#include "messages/actors.hpp"

namespace rros {

using pool_clock = caf::actor_clock::clock_type;
using pool_time = caf::actor_clock::time_point;

/// One grant. The ledger holds the sum per requester; leases say who holds
/// what, for how long and whether it may be preempted.
struct Lease {
  std::string requester;
  caf::actor_addr holder; // monitored; null for anonymous senders
  units amount = 0;
  Priority priority = Priority::NORMAL;
  bool preemptable = false;
  bool has_ttl = false;
  pool_time expires_at;
  std::uint64_t revoked_by = 0; // the preemption reclaiming it, 0 = none
};

/// Capacity set aside for a requester: by reserve_atom (maybe expiring) or
/// by a preemption (what its victims freed, kept for the request it serves).
struct Reservation {
  std::string requester;
  caf::actor_addr holder; // its maker, monitored; null for anonymous senders
  units remaining = 0;
  bool expires = false;
  pool_time expires_at;
  std::uint64_t preemption = 0; // 0 = an ordinary reservation
};

/// A request waiting for capacity until its deadline.
struct Waiter {
  std::uint64_t seq = 0; // arrival order and timer key
  ResourceRequest request;
  units amount = 0;
  caf::actor_addr holder;
  caf::typed_response_promise<ResourceAllocation> promise;
  pool_time enqueued;
  pool_time deadline;
  std::uint64_t preemption = 0; // the preemption serving it, 0 = none
};

/// Victims notified for one waiting request, reclaimed after the grace period.
struct Preemption {
  std::uint64_t waiter = 0;
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
  Ledger ledger;

  std::map<GrantId, Lease> leases; // ids grow: newest last
  std::unordered_map<std::string, std::vector<GrantId>> leases_of_requester;
  std::unordered_set<caf::actor_addr> monitored;
  std::map<std::uint64_t, Reservation> reservations;
  std::vector<Waiter> waiting;
  std::map<std::uint64_t, Preemption> preemptions;
  // Grants, reservations, waiters and preemptions, numbered in this
  // incarnation's own range (first_id_of), so ids never repeat in a process.
  std::uint64_t next_id = 1;
  std::map<std::string, QuotaState> quotas;              // by group name
  std::unordered_map<std::string, std::string> group_of; // requester -> group
  // Bundle legs not yet committed, with the time-to-live that starts at the
  // commit. Until then a leg belongs to the coordinator, not the requester:
  // it cannot be released by name or id, renewed, preempted, shed or expired.
  std::unordered_map<GrantId, std::chrono::nanoseconds> prepared;
  ShedPolicy shed;                   // what degradation sheds now
  std::vector<caf::actor> listeners; // told of every change (usage_atom)
  bool publish_pending = false;      // a publish_atom is on its way
  std::uint64_t returns = 0;         // see PoolStatus::returns
  bool aborting = false;             // an abort's return is not a return

  // Statistics since spawn or the last reset. Usage is held + reserved.
  units peak_usage = 0;
  double usage_integral = 0; // units x nanoseconds, for the time-weighted mean
  pool_time since;
  pool_time last_change;
  std::uint64_t allocation_count = 0;
  std::uint64_t rejection_count = 0;
  std::uint64_t preemption_count = 0;
  std::chrono::nanoseconds allocation_time_total{0};

  static inline const char* name = "rros.pool";
};

/// The pool's behavior; `capacity` is in API amounts (validated by the caller).
pool_actor::behavior_type pool(pool_actor::stateful_pointer<pool_state> self,
                               ResourceType type, double capacity,
                               PoolPolicy policy);

} // namespace rros
