// Listening to the pools while something waits for their capacity: the
// bundle coordinator and the task scheduler both register as listeners
// (listen_atom) exactly while they have waiting work, and their reports
// (usage_atom, PoolStatus) say when a refused attempt is worth repeating.
#pragma once

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "messages/actors.hpp"

namespace rros {

/// Whether an actor is registered with its pools as a listener.
class PoolListening {
public:
  /// Registers (`wanted`) or unregisters with every pool when that changes.
  template <class Self>
  void update(Self* self, const PoolDirectory& pools, bool wanted) {
    if (wanted == on_)
      return;
    on_ = wanted;
    auto me = caf::actor_cast<caf::actor>(self);
    // Sent as itself: a pool registers only the sender as a listener.
    for (const auto& pool : pools.pools)
      self->send(pool, listen_atom::value, me, wanted);
  }

  /// New pool handles (a pool was replaced): registers with the new ones if
  /// it was registered with the old ones.
  template <class Self>
  void replace(Self* self, PoolDirectory& pools, PoolDirectory fresh) {
    bool was = on_;
    on_ = false;
    pools = std::move(fresh);
    if (was)
      update(self, pools, true);
  }

  bool on() const {
    return on_;
  }

private:
  bool on_ = false;
};

} // namespace rros
