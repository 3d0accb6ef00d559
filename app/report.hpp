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

/// A number in fixed notation with at most `decimals` decimals, trailing
/// zeros dropped: 1048576 -> "1048576", 0.25 -> "0.25" (never "1.04858e+06").
std::string plain_number(double x, int decimals = 6);

/// Bytes in binary units: "512 B", "64.00 KiB", "1.00 MiB", "2.50 GiB".
std::string binary_bytes(double bytes);

/// An amount of `type` for people: memory in binary units, the others as
/// plain numbers with two decimals.
std::string amount_text(ResourceType type, double amount);

/// A float as the shortest decimal that reads back as the same float, as a
/// double: 0.85f -> 0.85 rather than 0.8500000238418579 (for JSON).
double shortest_double(float x);

/// Reads `path`, or config/default.json when `path` is empty and
/// `fall_back_to_default` is set and the file exists, else the defaults.
caf::expected<Config> load_config(const std::string& path,
                                  bool fall_back_to_default);

} // namespace rros::app
