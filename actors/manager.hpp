// The manager actor: spawns the five pools (and, later, the other subsystem
// actors), hands out their handles, applies configuration and supervises its
// children: a child that dies while the manager lives is replaced.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "core/pool_journal.hpp"
#include "messages/subsystems.hpp"

namespace rros {

struct manager_state {
  using pool_array = std::array<pool_actor, resource_type_count>;

  Config config;
  // Shared with the manager's exit hook, which stops the pools it holds then.
  std::shared_ptr<pool_array> pools = std::make_shared<pool_array>();
  // The other children's addresses, stopped by the same exit hook.
  std::shared_ptr<std::vector<caf::actor_addr>> children =
      std::make_shared<std::vector<caf::actor_addr>>();
  bundle_actor bundles;
  Subsystems subsystems;
  std::uint64_t restarts = 0;
  // The data directory's settings; null keeps the books in memory only.
  std::shared_ptr<const StorageSettings> storage;

  static inline const char* name = "rros.manager";
};

manager_actor::behavior_type
manager(manager_actor::stateful_pointer<manager_state> self, Config config,
        std::shared_ptr<const StorageSettings> storage = nullptr);

/// Spawns the whole manager inside an existing actor system (for example the
/// host kernel's) and returns its handle. `config` must come from Config's
/// validating constructors (with(), from_json(), from_file()).
/// With `storage` every pool keeps its books in the data directory and starts
/// from what it holds (docs/durability.md).
manager_actor
spawn_manager(caf::actor_system& sys, const Config& config = {},
              std::shared_ptr<const StorageSettings> storage = nullptr);

} // namespace rros
