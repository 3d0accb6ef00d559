// Who sent the message being handled (docs/security.md): the checks that keep
// internal and administrative messages away from other nodes' actors.
#pragma once

#include <caf/actor_addr.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "messages/error.hpp"

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

/// Set (true) in the actor system's configuration by `rros node` when it
/// serves on a loopback address without TLS: every peer then connects from
/// this machine, which is the "local connection" that may administer.
constexpr const char* admin_from_peers_key = "rros.admin-from-peers";

/// True when the current message may administer the receiver (capacity,
/// quotas, policy, configuration, reset): a sender of this node, or, with
/// admin_from_peers_key set, an actor of a peer node (never an anonymous
/// sender, whose origin is unknown).
template <class Self>
bool may_administer(Self* self) {
  if (from_local(self))
    return true;
  return self->current_sender() &&
         caf::get_or(self->system().config(), admin_from_peers_key, false);
}

/// The refusal of an administrative message (`what` names the change) from
/// a sender that may not administer.
inline caf::error admin_refused(const std::string& what) {
  return make_error(ec::not_permitted,
                    what + " is administration: local senders only");
}

/// Whether the current sender may (un)subscribe `subscriber` to reports:
/// the node's own actors anyone; another node's actor only actors of its own
/// node (nobody points reports at a third party); an anonymous sender, whose
/// origin is unknown, may only end a subscription. not_permitted otherwise.
template <class Self>
caf::error check_subscriber(Self* self, const caf::actor& subscriber,
                            bool subscribing) {
  const auto& sender = self->current_sender();
  if (from_local(self) || (sender && sender->node() == subscriber.node()) ||
      (!sender && !subscribing))
    return caf::none;
  return make_error(ec::not_permitted,
                    "a subscription names an actor of the sender's own node "
                    "(and is not anonymous)");
}

/// The sender of the current message as an address (null when anonymous):
/// the holder of what it asks for.
template <class Self>
caf::actor_addr sender_of(Self* self) {
  const auto& sender = self->current_sender();
  return sender ? sender->address() : caf::actor_addr{};
}

/// True when the receiver sent the current message to itself (its timers).
template <class Self>
bool from_self(Self* self) {
  return self->current_sender().get() == self->ctrl();
}

} // namespace rros
