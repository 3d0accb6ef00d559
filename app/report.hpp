// Text rendering shared by the rros subcommands.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "messages/config.hpp"
#include "messages/types.hpp"

namespace rros::app {

/// One row per pool: capacity, held, reserved, available, utilization bar.
void print_pool_table(std::ostream& out, const std::vector<PoolStatus>& pools);

/// A bar of `width` characters filled to `fraction` (0..1).
std::string utilization_bar(double fraction, int width = 20);

/// Reads `path`, or config/default.json when `path` is empty and
/// `fall_back_to_default` is set and the file exists, else the defaults.
caf::expected<Config> load_config(const std::string& path,
                                  bool fall_back_to_default);

} // namespace rros::app
