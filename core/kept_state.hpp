// What the predictor and the monitor keep across a restart (issue 14): the
// predictor's observation history per series and the monitor's alert state
// (rules set at run time, active alerts, degraded mode and its escalation,
// the alert history). Each is one snapshot file in the data directory
// (core/snapshot_file.hpp: cereal, CRC, written atomically), rewritten by its
// actor: the monitor at every change of its alert state, the predictor every
// few hundred observations. docs/durability.md says what a crash can lose.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/durable_file.hpp"
#include "messages/types.hpp"

namespace rros {

/// Raised by the payload's readers for a version newer than this build's.
inline constexpr std::uint32_t kept_state_version = 1;

/// An alert as kept (its time as wall-clock nanoseconds).
struct KeptAlert {
  std::uint8_t severity = 0;
  std::uint8_t type = 0;
  std::string message;
  float threshold = 0.0f;
  std::int64_t at_ns = 0;
};

KeptAlert kept_alert_of(const ResourceAlert& alert);
ResourceAlert alert_of(const KeptAlert& kept);

/// One type's alert state.
struct KeptTypeAlerts {
  std::uint8_t type = 0;
  bool own_rule = false; // a rule set at run time (else the configured one)
  float rule_threshold = 0.0f;
  std::uint8_t rule_severity = 0;
  std::optional<KeptAlert> threshold_alert; // active
  bool degraded = false;
  bool manual = false; // entered by degrade_atom, left only by it
  std::uint32_t escalation = 0;
  std::optional<KeptAlert> degraded_alert; // active
};

struct MonitorKept {
  std::vector<KeptTypeAlerts> types;
  std::vector<KeptAlert> history; // oldest first
};

/// One forecasting series' newest observations (oldest first).
struct KeptSeries {
  std::uint8_t type = 0;
  std::string module; // empty: the type's own series
  std::vector<double> observations;
};

struct PredictorKept {
  std::vector<KeptSeries> series;
};

/// DIR/monitor.snap and DIR/predictor.snap.
std::string monitor_state_file(const std::string& dir);
std::string predictor_state_file(const std::string& dir);

/// Writes the state atomically.
std::optional<StorageError> save_monitor_state(const std::string& file,
                                               const MonitorKept& state);
std::optional<StorageError> save_predictor_state(const std::string& file,
                                                 const PredictorKept& state);

/// Reads the state: nothing when the file does not exist yet; an error (the
/// file and what is wrong) when it is damaged, from a newer version or holds
/// values out of range (a type, a severity, a non-finite observation).
std::variant<std::optional<MonitorKept>, StorageError>
load_monitor_state(const std::string& file);
std::variant<std::optional<PredictorKept>, StorageError>
load_predictor_state(const std::string& file);

} // namespace rros
