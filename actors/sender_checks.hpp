// Who sent the message being handled (docs/security.md): the checks that keep
// internal and administrative messages away from other nodes' actors.
#pragma once

#include <caf/actor_control_block.hpp>

namespace rros {

/// True when the current message comes from an actor of the receiver's own
/// node (false for other nodes and for anonymous senders, whose origin is
/// unknown). Wiring (pool directories, handles of peers) and administration
/// are taken from local senders only.
template <class Self>
bool from_local(Self* self) {
  const auto& sender = self->current_sender();
  return sender && sender->node() == self->node();
}

/// True when the receiver sent the current message to itself (its timers).
template <class Self>
bool from_self(Self* self) {
  return self->current_sender().get() == self->ctrl();
}

} // namespace rros
