// Messages, atoms and typed interfaces of monitoring, alerts and degradation
// (monitor actor), with their own CAF type-ID block (offset 150 past rros's
// first block so the blocks never collide). Include it where these messages are
// used; messages/type_ids.cpp registers the block.
#pragma once

#include <caf/type_id.hpp>

#include "messages/actors.hpp"

#include "messages/atoms.hpp"
#include "messages/types.hpp"

namespace rros {} // namespace rros

CAF_BEGIN_TYPE_ID_BLOCK(rros_monitor, caf::first_custom_type_id + 150)

CAF_END_TYPE_ID_BLOCK(rros_monitor)
