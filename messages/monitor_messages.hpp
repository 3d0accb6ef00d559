// Messages, atoms and typed interfaces of monitoring, alerts and degradation
// (monitor actor), with their own CAF type-ID block (offset 150 past rros's
// first block so the blocks never collide). Include it where these messages are
// used; messages/type_ids.cpp registers the block. The rules are in
// docs/monitoring.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>
#include <caf/timestamp.hpp>
#include <caf/type_id.hpp>

#include "messages/actors.hpp"

#include "messages/atoms.hpp"
#include "messages/types.hpp"

namespace rros {

// Tags of the monitor (status_atom, config_atom, pools_atom, reset_atom,
// usage_atom, sample_atom and shed_atom are shared).
using settings_atom = caf::atom_constant<caf::atom("settings")>;
using threshold_atom = caf::atom_constant<caf::atom("threshold")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using degrade_atom = caf::atom_constant<caf::atom("degrade")>;
using adapt_atom = caf::atom_constant<caf::atom("adapt")>;
using alerts_atom = caf::atom_constant<caf::atom("alerts")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using is_degraded_atom = caf::atom_constant<caf::atom("isdegraded")>;
// Monitor -> subscribers: an alert or a change of a type's state.
using monitor_event_atom = caf::atom_constant<caf::atom("monevent")>;
// Timers the monitor sends itself: the next poll of the pools, a dwell time
// (clear, enter, leave, escalate) that may have run out.
using poll_atom = caf::atom_constant<caf::atom("monpoll")>;
using dwell_atom = caf::atom_constant<caf::atom("mondwell")>;

/// How the monitor samples, clears alerts and degrades (docs/monitoring.md).
/// Checked as a whole by check_settings(); a bad field changes nothing.
struct MonitorSettings {
  caf::timespan sample_interval = std::chrono::milliseconds(100); // > 0
  // An alert clears once utilization stays below threshold - clear_margin
  // for clear_after.
  double clear_margin = 0.1;                               // [0, 1)
  caf::timespan clear_after = std::chrono::seconds(1);     // >= 0
  double degrade_enter = 0.95;                             // (0, 1)
  double degrade_exit = 0.7;                               // (0, enter)
  caf::timespan degrade_after = std::chrono::seconds(2);   // >= 0
  caf::timespan recover_after = std::chrono::seconds(1);   // >= 0
  caf::timespan escalate_after = std::chrono::seconds(30); // >= 0, 0 = never
  Priority shed_from = Priority::IDLE;                     // IDLE or LOW
  caf::timespan trend_window = std::chrono::seconds(10);   // > 0
  std::uint32_t history_limit = 256;                       // 1..100000
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, MonitorSettings& x) {
  auto margin = double_bits(x.clear_margin);
  auto enter = double_bits(x.degrade_enter);
  auto exit = double_bits(x.degrade_exit);
  return f(caf::meta::type_name("MonitorSettings"), x.sample_interval, margin,
           x.clear_after, enter, exit, x.degrade_after, x.recover_after,
           x.escalate_after, x.shed_from, x.trend_window, x.history_limit,
           caf::meta::load_callback([&]() -> caf::error {
             x.clear_margin = double_from_bits(margin);
             x.degrade_enter = double_from_bits(enter);
             x.degrade_exit = double_from_bits(exit);
             return caf::none;
           }));
}

/// A type's alert rule: an alert of `severity` is raised when utilization
/// reaches `threshold`, in (0, 1].
struct AlertRule {
  ResourceType type = ResourceType::COMPUTATIONAL;
  float threshold = 0.85f;
  ResourceAlert::Severity severity = ResourceAlert::Severity::WARNING;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AlertRule& x) {
  auto bits = float_bits(x.threshold);
  return f(caf::meta::type_name("AlertRule"), x.type, bits, x.severity,
           caf::meta::load_callback([&]() -> caf::error {
             x.threshold = float_from_bits(bits);
             return caf::none;
           }));
}

/// The load per type reported by a caller (the seed's adapt_to_load), each in
/// that type's own units: the units of its capacity and of ResourceRequest
/// amounts (bytes for MEMORY, the configured units for the others). The
/// monitor divides by the type's capacity: utilization = load / capacity, so
/// a load above the capacity is a utilization above 1. Each load must be a
/// finite number in [0, 1e12].
struct LoadReport {
  std::unordered_map<ResourceType, float> loads;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, LoadReport& x) {
  // As raw bits, like every float input (see double_bits).
  std::vector<std::pair<ResourceType, std::uint32_t>> entries;
  for (const auto& [type, value] : x.loads)
    entries.emplace_back(type, float_bits(value));
  return f(caf::meta::type_name("LoadReport"), entries,
           caf::meta::load_callback([&]() -> caf::error {
             x.loads.clear();
             for (const auto& [type, bits] : entries)
               x.loads[type] = float_from_bits(bits);
             return caf::none;
           }));
}

/// What a subscriber receives: utilization samples (sample_atom,
/// UtilizationSample), alerts (monitor_event_atom, MonitorEvent with an alert
/// kind) and state changes (the degradation kinds). All false: unsubscribed.
struct MonitorTopics {
  bool samples = false;
  bool alerts = false;
  bool state_changes = false;

  bool any() const {
    return samples || alerts || state_changes;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, MonitorTopics& x) {
  return f(caf::meta::type_name("MonitorTopics"), x.samples, x.alerts,
           x.state_changes);
}

enum class MonitorEventKind : std::uint8_t {
  alert_raised,  // an alert was issued (INFO alerts are never active)
  alert_cleared, // an active alert ended
  degraded_entered,
  degraded_left,
  escalated, // a degraded type sheds more (ShedPolicy in the event)
};

inline const char* to_string(MonitorEventKind x) {
  switch (x) {
    case MonitorEventKind::alert_raised:
      return "alert_raised";
    case MonitorEventKind::alert_cleared:
      return "alert_cleared";
    case MonitorEventKind::degraded_entered:
      return "degraded_entered";
    case MonitorEventKind::degraded_left:
      return "degraded_left";
    case MonitorEventKind::escalated:
      return "escalated";
  }
  return "unknown";
}

/// An alert or a state change, as sent to subscribers.
struct MonitorEvent {
  MonitorEventKind kind = MonitorEventKind::alert_raised;
  ResourceType type = ResourceType::COMPUTATIONAL;
  ResourceAlert alert; // the alert raised or cleared, or the state change's
  float utilization = 0.0f;
  bool degraded = false;        // the type's state after the event
  std::uint32_t escalation = 0; // escalation steps taken (0 = none)
  ShedPolicy shed;              // what the type's pool sheds now
  caf::timestamp at;            // the monitor's clock (virtual in tests)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, MonitorEvent& x) {
  return f(caf::meta::type_name("MonitorEvent"), x.kind, x.type, x.alert,
           x.utilization, x.degraded, x.escalation, x.shed, x.at);
}

/// The monitor's view of one type.
struct TypeMonitorView {
  ResourceType type = ResourceType::COMPUTATIONAL;
  bool observed = false;    // false until the first sample or usage report
  float utilization = 0.0f; // latest observation, 0..1 (above 1 when
                            // adapt_to_load reported more than capacity)
  float average = 0.0f;     // time-weighted since the first sample or reset
  float peak = 0.0f;        // since the first sample or reset
  float trend = 0.0f;       // least-squares slope over trend_window, 1/s
  double used = 0.0;        // held + reserved (or the reported load), in amount
  double capacity = 0.0;    // the latest of the pool's reports and the
                            // configuration (adapt_to_load divides by it)
  AlertRule rule;
  float clear_threshold = 0.0f; // an active alert clears below it
  bool degraded = false;
  bool manual = false; // entered by hand: only a manual exit, adapt_to_load
                       // or reset ends it
  std::uint32_t escalation = 0;
  ShedPolicy shed;
  std::vector<ResourceAlert> active_alerts;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, TypeMonitorView& x) {
  return f(caf::meta::type_name("TypeMonitorView"), x.type, x.observed,
           x.utilization, x.average, x.peak, x.trend, x.used, x.capacity,
           x.rule, x.clear_threshold, x.degraded, x.manual, x.escalation,
           x.shed, x.active_alerts);
}

/// Watches every pool's utilization, raises and clears alerts with
/// hysteresis, degrades overloaded types (the pools shed low priorities)
/// and tells subscribers (docs/monitoring.md).
using monitor_actor = caf::typed_actor<
    // A pool's ledger changed (the monitor listens to every pool).
    caf::reacts_to<usage_atom, PoolStatus>,
    // New pool handles (a pool was replaced): the monitor listens to them,
    // re-sends the shed policies of degraded types and polls at once.
    caf::reacts_to<pools_atom, PoolDirectory>,
    // Replaces the settings (invalid_config_value names a bad field).
    caf::replies_to<settings_atom, MonitorSettings>::with<MonitorSettings>,
    // The settings in force.
    caf::replies_to<settings_atom>::with<MonitorSettings>,
    // The configuration in force: its alert_threshold becomes the threshold
    // of every type without a rule of its own. Replies with the rules.
    caf::replies_to<config_atom, Config>::with<std::vector<AlertRule>>,
    // Sets a type's alert threshold and severity (unknown_resource_type,
    // invalid_config_value for a threshold outside (0, 1] or a bad severity).
    caf::replies_to<threshold_atom, AlertRule>::with<AlertRule>,
    // Sets the actor's topics (all false: unsubscribes); the monitor drops
    // subscribers that end. invalid_argument for a null handle.
    caf::replies_to<subscribe_atom, caf::actor,
                    MonitorTopics>::with<MonitorTopics>,
    // Enters (true) or leaves (false) degraded mode by hand, at once
    // (unknown_resource_type).
    caf::replies_to<degrade_atom, ResourceType, bool>::with<TypeMonitorView>,
    // The seed's adapt_to_load: loads in each type's own units (LoadReport);
    // utilization = load / the type's capacity (the latest the monitor heard
    // of: the pool's report, or config_atom). Each counts as a sample;
    // above degrade_enter enters degraded mode at once, below degrade_exit
    // leaves it. Errors (nothing of the report is applied):
    // unknown_resource_type, invalid_amount (negative, NaN, infinite),
    // amount_too_large (above 1e12).
    caf::replies_to<adapt_atom, LoadReport>::with<std::vector<TypeMonitorView>>,
    // The view of every type, in ResourceType order.
    caf::replies_to<status_atom>::with<std::vector<TypeMonitorView>>,
    // Active alerts, in ResourceType order.
    caf::replies_to<alerts_atom>::with<std::vector<ResourceAlert>>,
    // Every alert issued (bounded by history_limit), oldest first.
    caf::replies_to<history_atom>::with<std::vector<ResourceAlert>>,
    // True when any type is degraded.
    caf::replies_to<is_degraded_atom>::with<bool>,
    // Clears alerts and history, leaves every degraded mode (subscribers hear
    // of it), restarts the statistics; rules, settings and subscribers stay.
    caf::replies_to<reset_atom>::with<std::vector<TypeMonitorView>>,
    // Timers the monitor sends itself (not for clients).
    caf::reacts_to<poll_atom, std::uint64_t>,
    caf::reacts_to<dwell_atom, ResourceType>>;

} // namespace rros

CAF_BEGIN_TYPE_ID_BLOCK(rros_monitor, caf::first_custom_type_id + 150)

CAF_ADD_TYPE_ID(rros_monitor, (rros::MonitorSettings))
CAF_ADD_TYPE_ID(rros_monitor, (rros::AlertRule))
CAF_ADD_TYPE_ID(rros_monitor, (rros::LoadReport))
CAF_ADD_TYPE_ID(rros_monitor, (rros::MonitorTopics))
CAF_ADD_TYPE_ID(rros_monitor, (rros::MonitorEvent))
CAF_ADD_TYPE_ID(rros_monitor, (rros::TypeMonitorView))
CAF_ADD_TYPE_ID(rros_monitor, (std::vector<rros::AlertRule>))
CAF_ADD_TYPE_ID(rros_monitor, (std::vector<rros::TypeMonitorView>))
CAF_ADD_TYPE_ID(rros_monitor, (rros::monitor_actor))

CAF_END_TYPE_ID_BLOCK(rros_monitor)
