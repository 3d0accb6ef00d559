// The metrics collector on the deterministic fixture: a whole manager, grants
// and refusals made by the test, one collection round at a time (collect_atom),
// and the values read back from the Prometheus registry as an exposer would
// serialize them.
#include <memory>
#include <optional>
#include <string>

#include <prometheus/registry.h>

#include "fixture.hpp"

#include "actors/manager.hpp"
#include "actors/metrics_collector.hpp"

using namespace rros;
using namespace rros::test;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;
constexpr auto memory = ResourceType::MEMORY;

class MetricsCollectorTest : public DeterministicFixture {
public:
  MetricsCollectorTest() {
    manager_ = spawn_manager(sys, Config{});
    run();
    pools_ = ask_ok<PoolDirectory>(manager_, pools_atom::value);
    subsystems_ = ask_ok<Subsystems>(manager_, subsystems_atom::value);
    // Interval 0: rounds only when the test asks.
    collector_ =
        spawn_metrics_collector(sys, manager_, registry_, caf::timespan{0});
    run();
  }

  ~MetricsCollectorTest() override {
    caf::anon_send_exit(collector_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
    run();
  }

  std::uint64_t collect() {
    return ask_ok<std::uint64_t>(collector_, collect_atom::value);
  }

  /// The value of the series `name{labels}` in the registry, if any.
  std::optional<double> value(const std::string& name,
                              const prometheus::Labels& labels = {}) {
    for (const auto& family : registry_->Collect()) {
      if (family.name != name)
        continue;
      for (const auto& metric : family.metric) {
        prometheus::Labels got;
        for (const auto& label : metric.label)
          got[label.name] = label.value;
        if (got != labels)
          continue;
        return family.type == prometheus::MetricType::Counter
                   ? metric.counter.value
                   : metric.gauge.value;
      }
    }
    return std::nullopt;
  }

  double of_type(const std::string& name, ResourceType type) {
    auto result = value(name, {{"type", to_string(type)}});
    EXPECT_TRUE(result) << name << " has no series for " << to_string(type);
    return result.value_or(-1);
  }

  manager_actor manager_;
  PoolDirectory pools_;
  Subsystems subsystems_;
  std::shared_ptr<prometheus::Registry> registry_ =
      std::make_shared<prometheus::Registry>();
  metrics_collector_actor collector_;
};

} // namespace

TEST_F(MetricsCollectorTest, LedgerFiguresInBaseUnits) {
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("vision", compute, 40.5f));
  ask_ok<PoolStatus>(pools_[compute], reserve_atom::value, std::string{"audio"},
                     10.0f);
  ask_ok<ResourceAllocation>(pools_[memory], allocate_atom::value,
                             request("cache", memory, 262144.0f));
  EXPECT_EQ(collect(), 1u);

  EXPECT_DOUBLE_EQ(of_type("rros_pool_capacity", compute), 100.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_held", compute), 40.5);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_reserved", compute), 10.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_available", compute), 49.5);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_utilization_ratio", compute), 0.505);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_holders", compute), 1.0);
  // Memory in bytes.
  EXPECT_DOUBLE_EQ(of_type("rros_pool_capacity", memory), 1048576.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_held", memory), 262144.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_utilization_ratio", memory), 0.25);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_held", ResourceType::IO), 0.0);
  EXPECT_EQ(value("rros_monitor_up"), 1.0);
  EXPECT_EQ(value("rros_scheduler_up"), 1.0);
  EXPECT_EQ(value("rros_metrics_collections_total"), 1.0);
}

TEST_F(MetricsCollectorTest, CountersGrowByWhatHappenedAndSurviveAReset) {
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("a", compute, 30));
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("b", compute, 30));
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                         request("c", compute, 60)),
                 ec::insufficient_resources));
  collect();
  EXPECT_DOUBLE_EQ(of_type("rros_pool_grants_total", compute), 2.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_refusals_total", compute), 1.0);
  // A round without news adds nothing.
  collect();
  EXPECT_DOUBLE_EQ(of_type("rros_pool_grants_total", compute), 2.0);

  // The pools' statistics restart from 0; the counters never go down and
  // count what comes after.
  ask_ok<std::vector<PoolStatus>>(manager_, reset_atom::value);
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("d", compute, 5));
  collect();
  EXPECT_DOUBLE_EQ(of_type("rros_pool_grants_total", compute), 3.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_refusals_total", compute), 1.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_held", compute), 5.0);
}

TEST_F(MetricsCollectorTest, DegradationAndAlertsFromTheMonitor) {
  collect(); // subscribes to the monitor's events
  ask_ok<TypeMonitorView>(subsystems_.monitor, degrade_atom::value, memory,
                          true);
  collect();
  EXPECT_DOUBLE_EQ(of_type("rros_degraded", memory), 1.0);
  EXPECT_DOUBLE_EQ(of_type("rros_degraded", compute), 0.0);
  EXPECT_DOUBLE_EQ(of_type("rros_degradations_total", memory), 1.0);
  EXPECT_EQ(value("rros_alerts_active",
                  {{"type", "memory"}, {"severity", "critical"}}),
            1.0);
  EXPECT_EQ(value("rros_alerts_raised_total",
                  {{"type", "memory"}, {"severity", "critical"}}),
            1.0);

  ask_ok<TypeMonitorView>(subsystems_.monitor, degrade_atom::value, memory,
                          false);
  collect();
  EXPECT_DOUBLE_EQ(of_type("rros_degraded", memory), 0.0);
  EXPECT_EQ(value("rros_alerts_active",
                  {{"type", "memory"}, {"severity", "critical"}}),
            0.0);
  // Counters keep what happened.
  EXPECT_DOUBLE_EQ(of_type("rros_degradations_total", memory), 1.0);
}

TEST_F(MetricsCollectorTest, SchedulerFigures) {
  collect();
  for (auto priority : {"critical", "high", "normal", "low", "idle"}) {
    EXPECT_EQ(value("rros_tasks_pending", {{"priority", priority}}), 0.0)
        << priority;
    EXPECT_EQ(
        value("rros_task_deadline_misses_total", {{"priority", priority}}), 0.0)
        << priority;
  }
  EXPECT_EQ(value("rros_tasks_running"), 0.0);
  EXPECT_EQ(value("rros_actor_restarts_total"), 0.0);
}

TEST_F(MetricsCollectorTest, ARestartedPoolIsCountedAndReadAgain) {
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             request("a", compute, 30));
  collect();
  EXPECT_DOUBLE_EQ(of_type("rros_pool_held", compute), 30.0);
  caf::anon_send_exit(pools_[compute], caf::exit_reason::kill);
  run();
  collect();
  EXPECT_EQ(value("rros_actor_restarts_total"), 1.0);
  // The replacement starts empty (docs/architecture.md, supervision).
  EXPECT_DOUBLE_EQ(of_type("rros_pool_held", compute), 0.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_grants_total", compute), 1.0);
}

TEST_F(MetricsCollectorTest, RefusalsByReasonExpiriesPreemptionsAndWaitTimes) {
  using namespace std::chrono_literals;
  auto with = [](ResourceRequest r, std::chrono::milliseconds deadline,
                 std::chrono::milliseconds ttl) {
    r.deadline = deadline;
    r.ttl = ttl;
    return r;
  };
  // 90 held for 2 s; a request of 50 waits for it (5 s deadline), one of 60
  // waits 100 ms and fails; two are refused at once.
  ask_ok<ResourceAllocation>(pools_[compute], allocate_atom::value,
                             with(request("a", compute, 90), 0s, 2s));
  auto waits = send_request(pools_[compute], allocate_atom::value,
                            with(request("b", compute, 50), 5s, 0s));
  auto fails = send_request(pools_[compute], allocate_atom::value,
                            with(request("c", compute, 60), 100ms, 0s));
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                         request("d", compute, 60)),
                 ec::insufficient_resources));
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pools_[compute], allocate_atom::value,
                                         request("e", compute, 150)),
                 ec::exceeds_capacity));
  advance(100ms);
  EXPECT_TRUE(
      fails_with(reply_of<ResourceAllocation>(fails), ec::deadline_expired));
  advance(1900ms); // a's time-to-live runs out: b is granted after 2 s
  ASSERT_TRUE(reply_of<ResourceAllocation>(waits));
  collect();

  auto reason = [&](const char* code) {
    return value("rros_pool_refusals_by_reason_total",
                 {{"type", "computational"}, {"reason", code}});
  };
  EXPECT_EQ(reason("insufficient_resources"), 1.0);
  EXPECT_EQ(reason("exceeds_capacity"), 1.0);
  EXPECT_EQ(reason("deadline_expired"), 1.0);
  EXPECT_EQ(reason("exceeds_quota"), 0.0);
  EXPECT_EQ(reason("shed"), 0.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_refusals_total", compute), 3.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_lease_expiries_total", compute), 1.0);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_preemptions_total", compute), 0.0);

  // The wait-time histogram: 0.1 s (failed) and 2 s (granted).
  auto histogram = [&](ResourceType type) {
    std::optional<prometheus::ClientMetric::Histogram> result;
    for (const auto& family : registry_->Collect())
      if (family.name == "rros_pool_wait_seconds")
        for (const auto& metric : family.metric)
          for (const auto& label : metric.label)
            if (label.name == "type" && label.value == to_string(type))
              result = metric.histogram;
    return result;
  };
  auto waited = histogram(compute);
  ASSERT_TRUE(waited);
  EXPECT_EQ(waited->sample_count, 2u);
  EXPECT_NEAR(waited->sample_sum, 2.1, 1e-9);
  auto below = [&](double bound) {
    for (const auto& bucket : waited->bucket)
      if (bucket.upper_bound == bound)
        return bucket.cumulative_count;
    ADD_FAILURE() << "no bucket " << bound;
    return std::uint64_t{0};
  };
  EXPECT_EQ(below(0.05), 0u);
  EXPECT_EQ(below(0.1), 1u);
  EXPECT_EQ(below(1), 1u);
  EXPECT_EQ(below(2.5), 2u);
  // A round without news adds nothing to the histogram.
  collect();
  EXPECT_EQ(histogram(compute)->sample_count, 2u);
  EXPECT_EQ(histogram(memory)->sample_count, 0u);

  // Preemption: a HIGH request takes a LOW preemptable grant after the
  // grace period (the notice goes to the test, which ignores it).
  ask_ok<std::vector<PoolStatus>>(manager_, reset_atom::value);
  auto victim = request("low", memory, 900000, Priority::LOW);
  victim.preemptable = true;
  ask_ok<ResourceAllocation>(pools_[memory], allocate_atom::value, victim);
  auto high = send_request(
      pools_[memory], allocate_atom::value,
      with(request("high", memory, 500000, Priority::HIGH), 5s, 0s));
  advance(1s);
  ASSERT_TRUE(reply_of<ResourceAllocation>(high));
  collect();
  EXPECT_DOUBLE_EQ(of_type("rros_pool_preemptions_total", memory), 1.0);
  EXPECT_EQ(histogram(memory)->sample_count, 1u);
  // The reset restarted the compute pool's counts: nothing was lost.
  EXPECT_EQ(histogram(compute)->sample_count, 2u);
  EXPECT_DOUBLE_EQ(of_type("rros_pool_lease_expiries_total", compute), 1.0);
}
