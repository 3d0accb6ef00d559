// `rros simulate`: a workload of simulated modules against an in-process
// manager node, run as a discrete-event simulation on CAF's test coordinator
// (virtual time), so minutes of load take seconds and a seed repeats a run.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "messages/config.hpp"
#include "messages/monitor_messages.hpp"
#include "messages/predictor_messages.hpp"
#include "messages/types.hpp"

namespace rros::app {

// -- workload description ---------------------------------------------------

/// A value drawn uniformly from [lo, hi] (lo == hi: a constant).
struct Range {
  double lo = 0;
  double hi = 0;
};

/// The module's arrival rate is multiplied by `factor` in [at, at + length).
struct Burst {
  double at = 0;
  double length = 0;
  double factor = 1;
};

/// The module's actor is killed at `at` (its grants return to the pools) and
/// a new one starts `restart_after` seconds later (negative: never).
struct Death {
  double at = 0;
  double restart_after = -1;
};

/// One simulated module: tasks arrive as a Poisson process; each asks for its
/// demand (one type: a pool request; several: a bundle), holds it for `hold`
/// seconds and releases it.
struct ModuleSpec {
  std::string name;
  std::string description;
  Priority priority = Priority::NORMAL;
  double rate = 1;                                    // tasks per second
  std::vector<std::pair<ResourceType, Range>> demand; // each type once
  Range hold{1, 1};                                   // seconds
  double deadline = 0; // seconds a request may wait; 0: refused at once
  double ttl = 0;      // lease time-to-live in seconds; 0: none
  bool preemptable = false;
  double start = 0; // first arrivals from here
  double stop = -1; // no arrivals from here; negative: the end
  std::vector<Burst> bursts;
  std::vector<Death> deaths;
};

struct Workload {
  std::string name = "workload";
  std::string description;
  std::string origin;    // the file, or "embedded default"
  double duration = 300; // virtual seconds
  std::uint64_t seed = 1;
  Config config;
  MonitorSettings monitor;
  double forecast_every = 10;  // seconds between forecasts in the report
  double forecast_horizon = 5; // seconds ahead each forecast looks
  std::vector<ModuleSpec> modules;
};

/// The default workload's JSON text, compiled into the program.
const std::string& default_workload_json();

/// Parses a workload; on failure returns false and sets `error` to one line
/// naming the problem (malformed JSON with line and column, an unknown key
/// and where it is, a value out of range).
bool parse_workload(const std::string& text, const std::string& origin,
                    Workload& out, std::string& error);

// -- results ------------------------------------------------------------------

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

/// The summary table (deterministic: no wall-clock figures).
void print_summary(std::ostream& out, const SimResult& result);

} // namespace rros::app
