// One pool actor per resource type: owns the type's exact ledger and its
// statistics. The mailbox serializes every change, so no lock guards it.
#pragma once

#include <chrono>
#include <cstdint>

#include <caf/actor_clock.hpp>
#include <caf/all.hpp>

#include "actors/ledger.hpp"
#include "messages/actors.hpp"

namespace rros {

struct pool_state {
  ResourceType type = ResourceType::COMPUTATIONAL;
  Ledger ledger;

  // Statistics since spawn or the last reset. Usage is held + reserved.
  units peak_usage = 0;
  double usage_integral = 0; // units x nanoseconds, for the time-weighted mean
  caf::actor_clock::time_point since;
  caf::actor_clock::time_point last_change;
  std::uint64_t allocation_count = 0;
  std::uint64_t rejection_count = 0;
  std::chrono::nanoseconds allocation_time_total{0};

  static inline const char* name = "rros.pool";
};

/// The pool's behavior; `capacity` is in API amounts (validated by the caller).
pool_actor::behavior_type pool(pool_actor::stateful_pointer<pool_state> self,
                               ResourceType type, double capacity);

} // namespace rros
