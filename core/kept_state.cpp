#include "core/kept_state.hpp"

#include <cmath>
#include <stdexcept>

#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "core/snapshot_file.hpp"

namespace rros {

template <class Archive>
void serialize(Archive& ar, KeptAlert& x) {
  ar(x.severity, x.type, x.message, x.threshold, x.at_ns);
}

template <class Archive>
void serialize(Archive& ar, KeptTypeAlerts& x) {
  ar(x.type, x.own_rule, x.rule_threshold, x.rule_severity, x.threshold_alert,
     x.degraded, x.manual, x.escalation, x.degraded_alert);
}

template <class Archive>
void serialize(Archive& ar, KeptSeries& x) {
  ar(x.type, x.module, x.observations);
}

namespace {

// The payload starts with kept_state_version; a reader refuses a newer one
// rather than guess at fields it does not know.
struct VersionCheck {
  std::uint32_t version = kept_state_version;
};

template <class Archive>
void serialize(Archive& ar, VersionCheck& x) {
  ar(x.version);
  if (x.version > kept_state_version)
    throw std::runtime_error("written by a newer version (state version " +
                             std::to_string(x.version) + ", this build reads " +
                             std::to_string(kept_state_version) + ")");
}

struct MonitorPayload {
  VersionCheck version;
  MonitorKept state;
};

template <class Archive>
void serialize(Archive& ar, MonitorPayload& x) {
  ar(x.version, x.state.types, x.state.history);
}

struct PredictorPayload {
  VersionCheck version;
  PredictorKept state;
};

template <class Archive>
void serialize(Archive& ar, PredictorPayload& x) {
  ar(x.version, x.state.series);
}

const char* check_alert(const KeptAlert& a) {
  if (a.type >= resource_type_count)
    return "an alert's resource type is out of range";
  if (a.severity > static_cast<std::uint8_t>(ResourceAlert::Severity::CRITICAL))
    return "an alert's severity is out of range";
  return nullptr;
}

const char* check(const MonitorKept& state) {
  for (const auto& t : state.types) {
    if (t.type >= resource_type_count)
      return "a resource type is out of range";
    if (!(t.rule_threshold > 0.0f && t.rule_threshold <= 1.0f))
      return "an alert threshold is outside (0, 1]";
    if (t.rule_severity >
        static_cast<std::uint8_t>(ResourceAlert::Severity::CRITICAL))
      return "a rule's severity is out of range";
    for (const auto* a : {&t.threshold_alert, &t.degraded_alert})
      if (*a)
        if (auto bad = check_alert(**a))
          return bad;
  }
  for (const auto& a : state.history)
    if (auto bad = check_alert(a))
      return bad;
  return nullptr;
}

const char* check(const PredictorKept& state) {
  for (const auto& s : state.series) {
    if (s.type >= resource_type_count)
      return "a series' resource type is out of range";
    for (auto y : s.observations)
      if (!std::isfinite(y) || y < 0.0)
        return "an observation is not a finite usage";
  }
  return nullptr;
}

template <class State, class Payload>
std::variant<std::optional<State>, StorageError>
load_checked(const std::string& file) {
  auto loaded = load_snapshot<Payload>(file);
  if (auto failed = std::get_if<StorageError>(&loaded))
    return *failed;
  auto& snapshot = std::get<Snapshot<Payload>>(loaded);
  if (!snapshot.found)
    return std::optional<State>{};
  if (auto bad = check(snapshot.state.state))
    return StorageError{file, snapshot_header_bytes, bad};
  return std::optional<State>{std::move(snapshot.state.state)};
}

} // namespace

KeptAlert kept_alert_of(const ResourceAlert& alert) {
  KeptAlert kept;
  kept.severity = static_cast<std::uint8_t>(alert.severity);
  kept.type = static_cast<std::uint8_t>(alert.resource_type);
  kept.message = alert.message;
  kept.threshold = alert.threshold_violated;
  kept.at_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   alert.timestamp.time_since_epoch())
                   .count();
  return kept;
}

ResourceAlert alert_of(const KeptAlert& kept) {
  ResourceAlert alert;
  alert.severity = static_cast<ResourceAlert::Severity>(kept.severity);
  alert.resource_type = static_cast<ResourceType>(kept.type);
  alert.message = kept.message;
  alert.threshold_violated = kept.threshold;
  alert.timestamp = wall_time{std::chrono::duration_cast<wall_clock::duration>(
      std::chrono::nanoseconds{kept.at_ns})};
  return alert;
}

std::string monitor_state_file(const std::string& dir) {
  return dir + "/monitor.snap";
}

std::string predictor_state_file(const std::string& dir) {
  return dir + "/predictor.snap";
}

std::optional<StorageError> save_monitor_state(const std::string& file,
                                               const MonitorKept& state) {
  return save_snapshot(file, 0, MonitorPayload{{}, state});
}

std::optional<StorageError> save_predictor_state(const std::string& file,
                                                 const PredictorKept& state) {
  return save_snapshot(file, 0, PredictorPayload{{}, state});
}

std::variant<std::optional<MonitorKept>, StorageError>
load_monitor_state(const std::string& file) {
  return load_checked<MonitorKept, MonitorPayload>(file);
}

std::variant<std::optional<PredictorKept>, StorageError>
load_predictor_state(const std::string& file) {
  return load_checked<PredictorKept, PredictorPayload>(file);
}

} // namespace rros
