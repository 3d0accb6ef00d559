// What a pool answers to holders_atom: who holds what, who waits for what,
// and each quota with what its group uses (for `rros status --holders`).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/types.hpp"

namespace rros {

/// One requester's committed grants and unused reservations in a pool.
struct HolderEntry {
  std::string requester;
  units held = 0;
  units reserved = 0;
  std::vector<GrantId> grants; // committed grants, oldest first
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, HolderEntry& x) {
  return f(caf::meta::type_name("HolderEntry"), x.requester, x.held, x.reserved,
           x.grants);
}

/// One request waiting in a pool's queue.
struct WaitingEntry {
  std::string requester;
  std::uint64_t request_id = 0;
  Priority priority = Priority::NORMAL; // as asked (before aging)
  units amount = 0;
  std::chrono::nanoseconds waited{0};      // since it was queued
  std::chrono::nanoseconds deadline_in{0}; // time left; 0: none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WaitingEntry& x) {
  return f(caf::meta::type_name("WaitingEntry"), x.requester, x.request_id,
           x.priority, x.amount, x.waited, x.deadline_in);
}

/// A quota with what its group holds now (`max` is the hard limit).
struct QuotaUsage {
  Quota quota;
  units used = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, QuotaUsage& x) {
  return f(caf::meta::type_name("QuotaUsage"), x.quota, x.used);
}

/// A pool's holders (largest holding first, then by name), its waiting
/// requests in the order they would be served, and its quotas by name.
struct PoolHolders {
  ResourceType type = ResourceType::COMPUTATIONAL;
  std::vector<HolderEntry> holders;
  std::vector<WaitingEntry> waiting;
  std::vector<QuotaUsage> quotas;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, PoolHolders& x) {
  return f(caf::meta::type_name("PoolHolders"), x.type, x.holders, x.waiting,
           x.quotas);
}

} // namespace rros
