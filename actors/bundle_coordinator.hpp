// The bundle coordinator: grants several resource types all or nothing
// (docs/semantics.md, "Bundles"). One attempt runs at a time; an attempt asks
// every pool of the bundle for its leg at once (prepare_atom, which never
// waits), then commits every leg or aborts those granted. Nothing is held
// while a bundle waits, so racing bundles cannot deadlock and no requester
// ever holds part of a bundle.
//
//   allocate ──► ready (ranked) ──pump──► trying ──finish──► granted
//                  ▲                                  │
//                  └── a refusing pool returned ◄── parked (refused,
//                      capacity (usage report)          with a deadline)
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/all.hpp>

#include "actors/pool_listening.hpp"
#include "core/holder_index.hpp"
#include "core/wait_queue.hpp"
#include "messages/actors.hpp"

namespace rros {

using bundle_time = caf::actor_clock::time_point;

/// A bundle waiting for capacity or being attempted (the queue entry's
/// payload; the entry carries requester, priority, arrival and deadline).
struct PendingBundle {
  BundleRequest request;
  caf::actor holder; // the requester actor (null for anonymous senders)
  caf::typed_response_promise<BundleGrant> promise;
  bool has_deadline = false;
  // Pools that refused a leg last time, with their `returns` counter then:
  // the bundle is tried again once one of them returned capacity since.
  std::map<ResourceType, std::uint64_t> refused_at;
};

using bundle_queue = WaitQueue<PendingBundle, bundle_time>;
using bundle_entry = bundle_queue::Entry;

/// A granted bundle's legs that are still held (as far as the coordinator
/// knows: legs released at their pool directly are found out on release).
struct HeldBundle {
  std::string requester;
  caf::actor_addr holder;
  std::map<ResourceType, GrantId> grants;
  std::map<ResourceType, double> amounts;
};

struct bundle_state {
  caf::actor_addr supervisor; // the manager: only it sends pools and policy
  PoolDirectory pools;
  PoolPolicy policy;
  bundle_queue ready;  // worth an attempt now, in rank order
  bundle_queue parked; // refused; waiting for a refusing pool's returns
  // Per pool: (returns seen at the refusal, seq) of the parked bundles it
  // refused, so a report unparks exactly those it concerns.
  std::array<std::multimap<std::uint64_t, std::uint64_t>, resource_type_count>
      parked_at;
  std::optional<bundle_entry> trying; // the bundle whose legs are out
  bool trying_gone = false;           // cancelled, expired or its holder died
  PoolListening listening;
  std::map<BundleId, HeldBundle> held;
  // Bundle holdings per requester and type, for dominant resource fairness.
  std::unordered_map<std::string, std::array<double, resource_type_count>>
      shares;
  std::array<double, resource_type_count> capacity{}; // last seen, in amount
  // The newest PoolStatus::returns seen per pool (reports and prepare
  // replies): a report that arrives while an attempt is out must not be lost.
  std::array<std::uint64_t, resource_type_count> latest_returns{};
  // Holders of waiting or granted bundles, monitored once each: a holder's
  // end drops its waiting bundles and its records.
  std::unordered_set<caf::actor_addr> watched;
  // Each holder's waiting bundles (by seq) and held bundles (by id), so that
  // a holder's end touches only its own.
  HolderIndex<caf::actor_addr, std::uint64_t> waiting_of_holder;
  HolderIndex<caf::actor_addr, BundleId> held_of_holder;
  std::uint64_t next_id = 1;
  BundleStats stats;

  std::size_t waiting() const {
    return ready.size() + parked.size() + (trying && !trying_gone ? 1 : 0);
  }

  static inline const char* name = "rros.bundles";
};

bundle_actor::behavior_type
bundle_coordinator(bundle_actor::stateful_pointer<bundle_state> self,
                   PoolDirectory pools, PoolPolicy policy,
                   caf::actor_addr supervisor);

} // namespace rros
