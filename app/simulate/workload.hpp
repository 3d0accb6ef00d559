// The workload of `rros simulate`: what a workload file describes (modules
// with their priority, arrival rate, demand, hold time, deadline, bursts and
// deaths; the node's configuration and monitor settings; how often to
// forecast), the parser that reads it from JSON with one-line errors, and
// the embedded default workload.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "messages/config.hpp"
#include "messages/monitor_messages.hpp"
#include "messages/types.hpp"

namespace rros::app {

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

} // namespace rros::app
