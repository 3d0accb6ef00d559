// The metrics collector: one actor that polls the node's subsystems through
// their existing messages on an interval and writes what it learns into
// Prometheus metric objects (prometheus-cpp's gauges and counters are
// thread-safe, so an HTTP exposer may read the registry while the actor
// writes; no lock in this code).
//
//   tick/collect -> manager: status, stats, restarts, bundles, subsystems
//                   bundles: stats;  monitor: status;  scheduler: stats
//   each reply   -> gauges set, counters advanced by what grew since the
//                   last round (a restarted source starts again from 0)
//   monitor events (subscribed) -> alert / degradation / escalation counters
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include <caf/all.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "messages/metrics_messages.hpp"
#include "messages/subsystems.hpp"

namespace rros {

/// A counter fed from a cumulative count read by polling.
struct PolledCounter {
  prometheus::Counter* counter = nullptr;
  std::uint64_t last = 0;

  /// Adds what `now` grew since the last reading; a count below the last one
  /// means its source restarted from 0, so all of `now` is new.
  void advance(std::uint64_t now);
};

/// A histogram fed from cumulative bucket counts read by polling (the pools'
/// wait times): observes what each bucket grew since the last reading.
struct PolledHistogram {
  prometheus::Histogram* histogram = nullptr;
  std::vector<std::uint64_t> last; // per bucket
  double last_sum = 0;

  /// Adds the growth since the last reading; any bucket below its last
  /// count means the source restarted from 0, so all of `counts` is new.
  void advance(const std::vector<std::uint64_t>& counts, double sum);
};

/// Every metric the collector writes, registered in one registry.
struct CollectorMetrics {
  static constexpr std::size_t types = resource_type_count;
  static constexpr std::size_t priorities = 5;
  static constexpr std::size_t severities = 3;

  explicit CollectorMetrics(prometheus::Registry& registry);

  // Per resource type (label `type`), amounts in the type's base unit.
  std::array<prometheus::Gauge*, types> capacity{};
  std::array<prometheus::Gauge*, types> held{};
  std::array<prometheus::Gauge*, types> reserved{};
  std::array<prometheus::Gauge*, types> available{};
  std::array<prometheus::Gauge*, types> utilization{};
  std::array<prometheus::Gauge*, types> waiting{};
  std::array<prometheus::Gauge*, types> holders{};
  std::array<PolledCounter, types> grants{};
  std::array<PolledCounter, types> refusals{};
  // Refusals by error code (label `reason`): the codes pools refuse with are
  // registered up front, any other one when first counted.
  prometheus::Family<prometheus::Counter>* refusal_reasons = nullptr;
  std::array<std::map<std::size_t, PolledCounter>, types> refusals_by_reason{};
  std::array<PolledCounter, types> preemptions{};
  std::array<PolledCounter, types> expiries{};
  std::array<PolledHistogram, types> wait_seconds{};
  std::array<prometheus::Gauge*, types> degraded{};
  std::array<prometheus::Gauge*, types> escalation{};
  std::array<std::array<prometheus::Gauge*, severities>, types> alerts_active{};
  std::array<std::array<prometheus::Counter*, severities>, types>
      alerts_raised{};
  std::array<prometheus::Counter*, types> degradations{};
  std::array<prometheus::Counter*, types> escalations{};

  // Bundles.
  prometheus::Gauge* bundles_waiting = nullptr;
  prometheus::Gauge* bundles_held = nullptr;
  PolledCounter bundle_grants;
  PolledCounter bundle_refusals;

  // Scheduler.
  std::array<prometheus::Gauge*, priorities> tasks_pending{};
  prometheus::Gauge* tasks_running = nullptr;
  prometheus::Gauge* tasks_deferred = nullptr;
  PolledCounter tasks_completed;
  PolledCounter tasks_failed;
  std::array<PolledCounter, priorities> deadline_misses{};
  PolledCounter tasks_dropped;
  PolledCounter tasks_refused;
  PolledCounter tasks_preempted;

  // The node.
  PolledCounter restarts;
  prometheus::Gauge* monitor_up = nullptr;
  prometheus::Gauge* scheduler_up = nullptr;
  prometheus::Counter* collections = nullptr;
};

struct metrics_collector_state {
  explicit metrics_collector_state(
      metrics_collector_actor::stateful_pointer<metrics_collector_state> self)
    : self(self) {}

  metrics_collector_actor::stateful_pointer<metrics_collector_state> self;
  manager_actor manager;
  // Shared with the exposer; the metric pointers below point into it.
  std::shared_ptr<prometheus::Registry> registry;
  std::unique_ptr<CollectorMetrics> metrics;
  caf::timespan interval{0};
  monitor_actor monitor; // the one the collector is subscribed to

  std::uint64_t rounds = 0;    // completed
  std::size_t outstanding = 0; // replies the running round still waits for
  bool running = false;
  bool again = false; // a collect arrived during the round: run one more
  std::vector<caf::typed_response_promise<std::uint64_t>> waiters; // this round
  std::vector<caf::typed_response_promise<std::uint64_t>> next_waiters;

  /// Starts a round (or, while one runs, marks that another must follow).
  void start_round();
  /// Counts one answer (or failure) of the running round.
  void answered();
  void on_pools(const std::vector<PoolStatus>& pools);
  void on_stats(const std::vector<ResourceStats>& stats);
  void on_bundles(const BundleStats& stats);
  void on_subsystems(const Subsystems& sub);
  void on_monitor(const std::vector<TypeMonitorView>& views);
  void on_scheduler(const SchedulerStats& stats);
  void on_event(const MonitorEvent& event);

  static inline const char* name = "rros.metrics";
};

/// The collector's behavior. `interval` > 0 polls on its own every interval
/// (the first round at once); 0 collects only when asked (collect_atom).
metrics_collector_actor::behavior_type metrics_collector(
    metrics_collector_actor::stateful_pointer<metrics_collector_state> self,
    manager_actor manager, std::shared_ptr<prometheus::Registry> registry,
    caf::timespan interval);

/// Spawns a collector of `manager` writing into `registry`.
metrics_collector_actor
spawn_metrics_collector(caf::actor_system& sys, manager_actor manager,
                        std::shared_ptr<prometheus::Registry> registry,
                        caf::timespan interval);

} // namespace rros
