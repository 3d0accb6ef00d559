// The framework floor of `rros bench`: a bare typed CAF actor that accepts
// the pool's allocate and release message shapes and answers them with no
// logic. Driving it like the pool measures what CAF itself costs per round
// trip, the baseline of `ratio.actor_vs_floor_*`.
#pragma once

#include <caf/all.hpp>

#include "messages/actors.hpp"

namespace rros::app::benchmark {

/// A bare actor answering the pool's allocate and release shapes.
using echo_actor = caf::typed_actor<
    caf::replies_to<allocate_atom, ResourceRequest>::with<ResourceAllocation>,
    caf::replies_to<release_atom, std::string, float,
                    ReleaseMode>::with<ReleaseReceipt>>;

/// The echo actor's behavior: a full grant of what was asked, an exact
/// release of what was given back.
echo_actor::behavior_type echo();

} // namespace rros::app::benchmark
