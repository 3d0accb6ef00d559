#include "messages/type_ids.hpp"

#include "messages/error.hpp"

namespace rros {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::rros>();
  cfg.add_error_category(
      caf::atom("rros"),
      [](std::uint8_t code, caf::atom_value,
         const caf::message& ctx) -> std::string {
        return describe(caf::error{code, caf::atom("rros"), ctx});
      });
}

} // namespace rros
