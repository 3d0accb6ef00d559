// Checks of command-line values for CLI11: numbers that say "not a number"
// rather than "not in range", whole numbers that refuse a sign or overflow
// (strtoull takes "-1" as 18446744073709551615), durations with units, and
// a guard against an option swallowing the next option as its value.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace rros::app {

/// Refuses a value that is itself an option ("--report --no-progress").
CLI::Validator not_an_option();

/// A decimal number in [lo, hi].
CLI::Validator real_number(double lo, double hi);

/// Digits only, in [lo, hi].
CLI::Validator whole_number(std::uint64_t lo, std::uint64_t hi);

/// A duration: a number with an optional unit (ms, s, m, h; none: seconds),
/// in [lo, hi] seconds.
CLI::Validator duration_value(double lo, double hi);

/// Seconds from a text duration_value() accepted ("1.5", "500ms", "2m").
double duration_seconds(const std::string& text);

} // namespace rros::app
