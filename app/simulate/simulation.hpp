// What `rros simulate` produces and the call that produces it: the results
// of one run (utilization series per type, request outcomes per priority,
// grants taken back, deaths, bundles, forecast errors and traces, the event
// log) and simulate(), which runs a workload on virtual time (driver.cpp).
// The summary (summary.hpp) and the HTML report (html_report.hpp) read them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "app/simulate/workload.hpp"
#include "messages/predictor_messages.hpp"
#include "messages/types.hpp"

namespace rros::app {

/// Request outcomes of one priority level (tasks, not bundle legs).
struct PriorityCounts {
  std::uint64_t issued = 0;
  std::uint64_t granted = 0;         // in full
  std::uint64_t partial = 0;         // CRITICAL without a deadline, in part
  std::uint64_t waited = 0;          // granted after waiting
  double wait_total = 0;             // seconds, over the grants that waited
  std::uint64_t refused = 0;         // insufficient_resources and the like
  std::uint64_t deadline_missed = 0; // deadline_expired
  std::uint64_t shed = 0;            // refused because the type was degraded
  std::uint64_t lost = 0;            // the module died before the reply
};

/// One type's utilization series and what happened to it.
struct TypeSeries {
  std::vector<std::pair<double, float>> samples; // (seconds, utilization)
  double mean = 0; // time-weighted, from the monitor
  double peak = 0;
  float alert_threshold = 0.85f;
  std::vector<std::pair<double, double>> degraded; // [from, to) seconds
  std::uint64_t alerts = 0;
  std::uint64_t escalations = 0;
};

/// A forecast made at `at` for the following steps, beside what happened.
struct ForecastTrace {
  ResourceType type = ResourceType::COMPUTATIONAL;
  double at = 0;
  double step = 0.1; // seconds per value
  std::vector<float> predicted, lower, upper;
};

/// One line of the event log (alerts, degradation, deaths, bursts).
struct SimEvent {
  double at = 0;
  std::string text;
  bool alert = false; // an alert raised or cleared (else a change of state)
  // For the report: the type of a monitor event (-1 for a module event), so
  // that alerts fold into counts per type; the severity of an alert raised
  // ("" when cleared); the short label of a module event on the charts.
  int type = -1;
  std::string severity;
  std::string marker; // "vision died", "audio burst x4"; "" for none
};

struct SimResult {
  Workload workload;
  std::uint64_t seed = 0;
  double duration = 0;
  std::array<TypeSeries, resource_type_count> types;
  std::array<PriorityCounts, 5> by_priority;
  std::uint64_t completed = 0;    // tasks that held their grant to the end
  std::uint64_t preempted = 0;    // revoked for a higher priority
  std::uint64_t shed_revoked = 0; // revoked because their type degraded
  std::uint64_t expired = 0;      // time-to-live ran out
  std::uint64_t deaths = 0;
  std::uint64_t restarts = 0;
  std::uint64_t held_at_death = 0; // tasks holding grants when killed
  std::uint64_t running_at_end = 0, waiting_at_end = 0;
  std::uint64_t bundles_granted = 0, bundles_refused = 0, bundle_attempts = 0;
  std::vector<ForecastErrorStats> forecast_errors; // per type
  std::vector<ForecastTrace> forecasts;
  std::vector<SimEvent> events;
  double degrade_enter = 0.95, degrade_exit = 0.7;
};

/// Progress of a run: virtual seconds done and the total.
using ProgressFn = std::function<void(double done, double total)>;

/// Runs the workload for `duration` virtual seconds with `seed`. Returns false
/// with `error` set when the node refuses the workload's settings.
bool simulate(const Workload& workload, std::uint64_t seed, double duration,
              const ProgressFn& progress, SimResult& result,
              std::string& error);

} // namespace rros::app
