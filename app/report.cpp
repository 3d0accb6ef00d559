#include "app/report.hpp"

#include "messages/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <sys/stat.h>

namespace rros::app {

caf::expected<Config> load_config(const std::string& path,
                                  bool fall_back_to_default) {
  constexpr const char* default_path = "config/default.json";
  struct stat info;
  if (!path.empty()) {
    if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
      return make_error(ec::malformed_config,
                        "configuration '" + path +
                            "' is a directory; give a JSON file");
    return Config::from_file(path);
  }
  if (fall_back_to_default && ::stat(default_path, &info) == 0)
    return Config::from_file(default_path);
  return Config{};
}

std::string utilization_bar(double fraction, int width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  auto filled = static_cast<int>(fraction * width + 0.5);
  return "[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(width - filled), '.') + "]";
}

std::string plain_number(double x, int decimals) {
  if (!std::isfinite(x))
    return std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  std::string text = buf;
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.')
      text.pop_back();
  }
  return text == "-0" ? "0" : text;
}

std::string binary_bytes(double bytes) {
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (std::fabs(bytes) < 1024)
    return plain_number(bytes, 0) + " B";
  double x = bytes;
  int unit = -1;
  while (std::fabs(x) >= 1024 && unit < 3) {
    x /= 1024;
    ++unit;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s", x, units[unit]);
  return buf;
}

std::string amount_text(ResourceType type, double amount) {
  if (type == ResourceType::MEMORY)
    return binary_bytes(amount);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", amount);
  return buf;
}

double shortest_double(float x) {
  if (!std::isfinite(x))
    return static_cast<double>(x);
  char buf[64];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(x));
    if (std::strtof(buf, nullptr) == x)
      return std::strtod(buf, nullptr);
  }
  return static_cast<double>(x);
}

void print_pool_table(std::ostream& out, const std::vector<PoolStatus>& pools) {
  auto flags = out.flags();
  auto precision = out.precision();
  out << std::left << std::setw(14) << "type" << std::right << std::setw(14)
      << "capacity" << std::setw(14) << "held" << std::setw(14) << "reserved"
      << std::setw(14) << "available"
      << "  utilization\n";
  for (const auto& pool : pools) {
    auto amount = [&](units x) { return amount_text(pool.type, to_amount(x)); };
    out << std::left << std::setw(14) << to_string(pool.type) << std::right
        << std::setw(14) << amount(pool.capacity) << std::setw(14)
        << amount(pool.held) << std::setw(14) << amount(pool.reserved)
        << std::setw(14) << amount(pool.available) << "  "
        << utilization_bar(pool.utilization()) << " " << std::setw(5)
        << std::fixed << std::setprecision(1) << pool.utilization() * 100
        << "%\n";
  }
  out.flags(flags);
  out.precision(precision);
}

} // namespace rros::app
