#include "app/cli_values.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace rros::app {

namespace {

std::string number_text(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

/// Parses the whole text as a finite double; false otherwise.
bool parse_real(const std::string& text, double& value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno == 0 &&
         std::isfinite(value);
}

/// Splits "500ms" into 500 and a factor to seconds; false on a bad unit.
bool parse_duration(const std::string& text, double& seconds) {
  auto unit_at = text.find_first_not_of("0123456789.eE+-");
  auto number = text.substr(0, unit_at);
  auto unit = unit_at == std::string::npos ? "" : text.substr(unit_at);
  double factor = 0;
  if (unit.empty() || unit == "s")
    factor = 1;
  else if (unit == "ms")
    factor = 0.001;
  else if (unit == "m" || unit == "min")
    factor = 60;
  else if (unit == "h")
    factor = 3600;
  else
    return false;
  if (!parse_real(number, seconds))
    return false;
  seconds *= factor;
  return true;
}

} // namespace

CLI::Validator not_an_option() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value.size() > 2 && value.compare(0, 2, "--") == 0)
          return "missing value (the next argument, '" + value +
                 "', is an option)";
        return {};
      },
      "", "not an option");
}

CLI::Validator real_number(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& value) -> std::string {
        double x = 0;
        if (!parse_real(value, x))
          return "'" + value + "' is not a number";
        if (x < lo || x > hi)
          return value + " is out of range (" + number_text(lo) + " to " +
                 number_text(hi) + ")";
        return {};
      },
      "NUMBER in " + number_text(lo) + ".." + number_text(hi), "real_number");
}

CLI::Validator whole_number(std::uint64_t lo, std::uint64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& value) -> std::string {
        auto range =
            " (" + std::to_string(lo) + " to " + std::to_string(hi) + ")";
        if (value.empty() ||
            value.find_first_not_of("0123456789") != std::string::npos)
          return "'" + value + "' is not a whole number" + range;
        errno = 0;
        auto x = std::strtoull(value.c_str(), nullptr, 10);
        if (errno == ERANGE || x < lo || x > hi)
          return value + " is out of range" + range;
        return {};
      },
      "INTEGER in " + std::to_string(lo) + ".." + std::to_string(hi),
      "whole_number");
}

CLI::Validator duration_value(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& value) -> std::string {
        double x = 0;
        if (!parse_duration(value, x))
          return "'" + value +
                 "' is not a duration (a number of seconds, or with a unit: "
                 "500ms, 30s, 2m, 1h)";
        if (x < lo || x > hi)
          return value + " is out of range (" + number_text(lo) + " s to " +
                 number_text(hi) + " s)";
        return {};
      },
      "DURATION (500ms, 30s, 2m; plain: seconds)", "duration");
}

double duration_seconds(const std::string& text) {
  double x = 0;
  return parse_duration(text, x) ? x : 0;
}

} // namespace rros::app
