#include "facade/connection_liveness.hpp"

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

namespace rros {

void set_connection_liveness(caf::actor_system_config& cfg,
                             const ConnectionLiveness& liveness) {
  caf::put(cfg.content, "middleman.heartbeat-interval",
           liveness.heartbeat_interval);
  caf::put(cfg.content, "middleman.connection-timeout",
           liveness.connection_timeout);
}

} // namespace rros
