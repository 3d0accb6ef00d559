// The manager's configuration: the seed's keys and defaults, validated as a
// whole before anything is applied (nothing starts half-configured).
#pragma once

#include <array>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <cereal/cereal.hpp>

#include "messages/error.hpp"
#include "messages/types.hpp"

namespace rros {

/// The seed's configuration map: key -> value.
using ConfigMap = std::unordered_map<std::string, float>;

struct Config {
  /// Capacity per resource type, indexed by ResourceType.
  std::array<double, resource_type_count> capacity{100.0, 1048576.0, 1.0, 100.0,
                                                   100.0};
  double alert_threshold = 0.85;   // utilization that raises an alert (0..1]
  double gc_threshold = 0.9;       // MEMORY utilization that triggers GC (0..1]
  double gc_age_threshold = 300.0; // seconds before a block may be collected
  double aging_interval = 1.0;     // seconds a waiting request needs to rise
                                   // one priority level
  double preemption_grace = 0.25;  // seconds between a revoke notice and the
                                   // reclaim
  double max_preemptions_per_round = 4; // victims one request may preempt

  /// A scalar (non-capacity) setting: its key, member and valid range.
  struct Setting {
    const char* key;
    double Config::*member;
    double min;
    bool min_inclusive;
    double max;
    const char* rule; // said when a value is out of range
  };

  /// The scalar settings in key order after the capacities.
  static const std::vector<Setting>& settings();

  double capacity_of(ResourceType type) const {
    return capacity[static_cast<std::size_t>(type)];
  }

  /// The waiting and preemption policy the pools apply.
  PoolPolicy pool_policy() const {
    using seconds = std::chrono::duration<double>;
    PoolPolicy result;
    result.aging_interval =
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            seconds{aging_interval});
    result.preemption_grace =
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            seconds{preemption_grace});
    result.max_preemptions_per_round =
        static_cast<std::uint32_t>(max_preemptions_per_round);
    return result;
  }

  /// Every key this configuration reads, in a stable order.
  static const std::vector<std::string>& keys();

  /// The configuration key of a type's capacity ("memory_capacity", ...).
  static std::string capacity_key(ResourceType type);

  /// Returns a copy of `*this` with `update` applied, or the first problem
  /// found (an unknown key, a value out of range), naming the key. `*this`
  /// is never modified.
  caf::expected<Config> with(const ConfigMap& update) const;

  /// The same with values in double precision (files are read this way, so
  /// that 0.85 stays 0.85 and not the float nearest to it).
  caf::expected<Config> with(const std::map<std::string, double>& update) const;

  /// Parses a JSON object of key -> number (config/default.json's format) on
  /// top of the defaults. Errors name the line and column or the key.
  static caf::expected<Config> from_json(const std::string& text);

  /// Reads and parses a JSON file; errors name the file.
  static caf::expected<Config> from_file(const std::string& path);

  /// The configuration as a JSON object, readable by from_json().
  std::string to_json() const;

  /// The configuration as the seed's map.
  ConfigMap to_map() const;

  friend bool operator==(const Config& x, const Config& y) {
    if (x.capacity != y.capacity)
      return false;
    for (const auto& setting : settings())
      if (x.*setting.member != y.*setting.member)
        return false;
    return true;
  }

  // cereal: a flat JSON object, one member per key.
  template <class Archive>
  void save(Archive& ar) const {
    for (auto type : all_resource_types)
      ar(cereal::make_nvp(capacity_key(type), capacity_of(type)));
    for (const auto& setting : settings())
      ar(cereal::make_nvp(setting.key, this->*setting.member));
  }

  template <class Archive>
  void load(Archive& ar) {
    // Keys may be missing (defaults stay) and come in any order, so walk the
    // object's members by name.
    std::map<std::string, double> update;
    while (const char* name = ar.getNodeName()) {
      double value = 0;
      ar(value);
      update[name] = value;
    }
    auto result = with(update);
    if (!result)
      throw Error(static_cast<ec>(result.error().code()),
                  context_of(result.error()));
    *this = *result;
  }
};

/// Line and column (both 1-based) of a byte offset into `text`, for errors
/// that point into a JSON document.
std::pair<std::size_t, std::size_t> line_and_column(const std::string& text,
                                                    std::size_t offset);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Config& x) {
  return f(caf::meta::type_name("Config"), x.capacity, x.alert_threshold,
           x.gc_threshold, x.gc_age_threshold, x.aging_interval,
           x.preemption_grace, x.max_preemptions_per_round);
}

} // namespace rros
