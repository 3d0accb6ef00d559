// The monitor actor: watches every pool's utilization (periodic polls plus the
// pools' change reports), keeps per-type statistics, raises and clears alerts
// with hysteresis, degrades overloaded types (the pools shed low priorities,
// escalating when pressure lasts) and tells subscribers. docs/monitoring.md
// has the rules.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/all.hpp>

#include "messages/monitor_messages.hpp"

namespace rros {

using monitor_time = caf::actor_clock::time_point;

/// Everything the monitor knows about one type.
struct TypeWatch {
  ResourceType type = ResourceType::COMPUTATIONAL;

  // Observations (polls, pool reports, adapt_to_load).
  bool observed = false;
  double utilization = 0; // latest, 0..1 (above 1 from adapt_to_load)
  double used = 0;        // held + reserved (or a reported load), in amount
  // The capacity in amount: the configured one at spawn and at each
  // config_atom, the pool's own from each report or poll. adapt_to_load
  // divides loads by it.
  double capacity = 0;
  double peak = 0;
  double integral = 0; // utilization x seconds since `since`
  monitor_time since;  // first observation or reset
  monitor_time last_change;
  std::deque<std::pair<monitor_time, double>> window; // for the trend

  // Alerting: the rule, its alert while active and since when utilization
  // has been below the clear threshold.
  AlertRule rule;
  bool own_rule = false; // set by threshold_atom; else Config's default
  std::optional<ResourceAlert> threshold_alert;
  std::optional<monitor_time> below_clear_since;

  // Degradation.
  bool degraded = false;
  bool manual = false;
  std::uint32_t escalation = 0;
  monitor_time step_since; // entry or the last escalation
  std::optional<ResourceAlert> degraded_alert;
  std::optional<monitor_time> above_enter_since;
  std::optional<monitor_time> below_exit_since;

  // Dwell timers on their way (dwell_atom), so that one is not sent twice.
  std::set<monitor_time> pending_checks;
};

/// One subscriber and what it wants to hear.
struct Subscriber {
  caf::actor handle;
  MonitorTopics topics;
};

struct monitor_state {
  PoolDirectory pools;
  MonitorSettings settings;
  double default_threshold = 0.85; // Config::alert_threshold
  std::vector<TypeWatch> types;    // indexed by ResourceType
  std::vector<ResourceAlert> history;
  std::vector<Subscriber> subscribers; // in subscription order
  std::uint64_t poll_generation = 0;   // older poll timers are ignored
  // The pools of degraded types, shared with the exit hook that lifts their
  // shed policies when the monitor ends.
  std::shared_ptr<std::array<pool_actor, resource_type_count>> shedding =
      std::make_shared<std::array<pool_actor, resource_type_count>>();
  // With a data directory: where the alert state is kept (core/kept_state),
  // whether it changed since it was last written (the next poll writes it)
  // and whether the last write failed (said once).
  std::string state_file;
  bool state_dirty = false;
  bool state_failed = false;

  static inline const char* name = "rros.monitor";
};

/// The monitor's behavior. `settings` must pass check_settings() and
/// `config` come from Config's validating constructors. With a `state_file`
/// (core/kept_state.hpp) it restores the alert state kept there and keeps it
/// at each change.
monitor_actor::behavior_type
resource_monitor(monitor_actor::stateful_pointer<monitor_state> self,
                 PoolDirectory pools, Config config, MonitorSettings settings,
                 std::string state_file);

/// Checks every field of `settings`; the error (invalid_config_value) names
/// the first bad one.
caf::error check_settings(const MonitorSettings& settings);

/// Spawns the monitor inside an existing actor system. Throws rros::Error
/// (invalid_config_value) when `settings` or `config.alert_threshold` are
/// invalid.
monitor_actor spawn_monitor(caf::actor_system& sys, PoolDirectory pools,
                            const Config& config, MonitorSettings settings = {},
                            std::string state_file = {});

} // namespace rros
