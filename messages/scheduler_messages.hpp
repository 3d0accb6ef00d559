// Messages, atoms and typed interfaces of the task scheduler actor, with their
// own CAF type-ID block (offset 250 past rros's first block so the blocks
// never collide). Include it where these messages are used;
// messages/type_ids.cpp registers the block.
#pragma once

#include <caf/type_id.hpp>

#include "messages/actors.hpp"

namespace rros {} // namespace rros

CAF_BEGIN_TYPE_ID_BLOCK(rros_scheduler, caf::first_custom_type_id + 250)

CAF_END_TYPE_ID_BLOCK(rros_scheduler)
