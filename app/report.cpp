#include "app/report.hpp"

#include <algorithm>
#include <iomanip>
#include <sys/stat.h>

namespace rros::app {

caf::expected<Config> load_config(const std::string& path,
                                  bool fall_back_to_default) {
  constexpr const char* default_path = "config/default.json";
  struct stat info;
  if (!path.empty())
    return Config::from_file(path);
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

void print_pool_table(std::ostream& out, const std::vector<PoolStatus>& pools) {
  auto flags = out.flags();
  auto precision = out.precision();
  out << std::left << std::setw(14) << "type" << std::right << std::setw(14)
      << "capacity" << std::setw(14) << "held" << std::setw(14) << "reserved"
      << std::setw(14) << "available"
      << "  utilization\n";
  for (const auto& pool : pools) {
    out << std::left << std::setw(14) << to_string(pool.type) << std::right
        << std::fixed << std::setprecision(2) << std::setw(14)
        << to_amount(pool.capacity) << std::setw(14) << to_amount(pool.held)
        << std::setw(14) << to_amount(pool.reserved) << std::setw(14)
        << to_amount(pool.available) << "  "
        << utilization_bar(pool.utilization()) << " " << std::setw(5)
        << std::setprecision(1) << pool.utilization() * 100 << "%\n";
  }
  out.flags(flags);
  out.precision(precision);
}

} // namespace rros::app
