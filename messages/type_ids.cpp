#include "messages/type_ids.hpp"

#include "messages/cluster_messages.hpp"
#include "messages/error.hpp"
// The subsystems' own type-ID blocks.
#include "messages/memory_messages.hpp"
#include "messages/monitor_messages.hpp"
#include "messages/predictor_messages.hpp"
#include "messages/scheduler_messages.hpp"

namespace rros {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::rros>();
  cfg.add_message_types<caf::id_block::rros_memory>();
  cfg.add_message_types<caf::id_block::rros_monitor>();
  cfg.add_message_types<caf::id_block::rros_predictor>();
  cfg.add_message_types<caf::id_block::rros_scheduler>();
  cfg.add_message_types<caf::id_block::rros_cluster>();
  cfg.add_error_category(
      caf::atom("rros"),
      [](std::uint8_t code, caf::atom_value,
         const caf::message& ctx) -> std::string {
        return describe(caf::error{code, caf::atom("rros"), ctx});
      });
}

} // namespace rros
