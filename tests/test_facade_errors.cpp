// The seed's methods never throw (issue 10, defect 6): bad input, and a
// manager or subsystem that cannot be reached, are refused with nothing
// changed; a getter returns its empty value; the try_ variant returns the
// error. Each test checks the three: no throw, nothing changed, the code.
// Nothing sleeps: every call is a blocking round trip.
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "facade/resource_manager.hpp"
#include "facade/rros_kernel.hpp"

using namespace rros;
using namespace std::chrono_literals;

namespace {

const auto bad_type = static_cast<ResourceType>(9);
const float nan_f = std::numeric_limits<float>::quiet_NaN();
const float inf_f = std::numeric_limits<float>::infinity();

template <class T>
::testing::AssertionResult fails_with(const caf::expected<T>& x, ec code) {
  if (x)
    return ::testing::AssertionFailure()
           << "succeeded, expected " << to_string(code);
  if (!is(x.error(), code))
    return ::testing::AssertionFailure()
           << "failed with " << describe(x.error()) << ", expected "
           << to_string(code);
  return ::testing::AssertionSuccess();
}

template <class T>
::testing::AssertionResult fails(const caf::expected<T>& x) {
  if (x)
    return ::testing::AssertionFailure() << "succeeded, expected an error";
  return ::testing::AssertionSuccess();
}

TypeMonitorView view_of(ResourceManager& rm, ResourceType type) {
  auto views = rm.get_monitor_view();
  if (!views) {
    ADD_FAILURE() << describe(views.error());
    return {};
  }
  return views->at(static_cast<std::size_t>(type));
}

Subsystems subsystems_of(ResourceManager& rm) {
  caf::scoped_actor self{rm.system()};
  Subsystems result;
  self->request(rm.manager(), caf::infinite, subsystems_atom::value)
      .receive([&](Subsystems& sub) { result = std::move(sub); },
               [&](caf::error& err) { ADD_FAILURE() << describe(err); });
  return result;
}

/// Stops the monitor's samples to the predictor, so that only the test's
/// observations change the predictor's series. Samples sent before are in
/// the predictor's mailbox ahead of anything the test sends afterwards.
void stop_samples(ResourceManager& rm) {
  auto sub = subsystems_of(rm);
  caf::scoped_actor self{rm.system()};
  self->request(sub.monitor, caf::infinite, subscribe_atom::value,
                caf::actor_cast<caf::actor>(sub.predictor), MonitorTopics{})
      .receive([](const MonitorTopics&) {},
               [&](caf::error& err) { ADD_FAILURE() << describe(err); });
}

/// The number of observations in the predictor's series of `type` after one
/// more (valid) observation.
std::uint64_t observe_once(ResourceManager& rm, ResourceType type) {
  auto count = rm.try_update_prediction_model(type, 0.5f);
  if (!count) {
    ADD_FAILURE() << describe(count.error());
    return 0;
  }
  return *count;
}

} // namespace

TEST(FacadeErrors, DegradedModeWithABadTypeThrowsNothingAndChangesNothing) {
  ResourceManager rm;
  rm.enter_degraded_mode(ResourceType::NETWORK);
  ASSERT_TRUE(rm.is_degraded());
  auto alerts = rm.get_active_alerts().size();
  EXPECT_NO_THROW(rm.enter_degraded_mode(bad_type));
  EXPECT_NO_THROW(rm.exit_degraded_mode(bad_type));
  EXPECT_NO_THROW(rm.enter_degraded_mode(static_cast<ResourceType>(255)));
  EXPECT_TRUE(view_of(rm, ResourceType::NETWORK).degraded);
  for (auto type : all_resource_types) {
    if (type != ResourceType::NETWORK) {
      EXPECT_FALSE(view_of(rm, type).degraded) << to_string(type);
    }
  }
  EXPECT_EQ(rm.get_active_alerts().size(), alerts);
  EXPECT_TRUE(fails_with(rm.try_set_degraded(bad_type, true),
                         ec::unknown_resource_type));
  EXPECT_TRUE(fails_with(rm.try_set_degraded(bad_type, false),
                         ec::unknown_resource_type));
  rm.exit_degraded_mode(ResourceType::NETWORK);
  EXPECT_FALSE(rm.is_degraded());
}

TEST(FacadeErrors, AdaptToLoadWithBadInputThrowsNothingAndChangesNothing) {
  ResourceManager rm;
  // Each report would degrade COMPUTATIONAL if it were applied; one bad
  // entry refuses the whole report.
  const float high = 99.0f; // of a capacity of 100
  std::vector<std::unordered_map<ResourceType, float>> bad_reports = {
      {{ResourceType::COMPUTATIONAL, high}, {bad_type, 10.0f}},
      {{ResourceType::COMPUTATIONAL, high}, {ResourceType::MEMORY, nan_f}},
      {{ResourceType::COMPUTATIONAL, high}, {ResourceType::IO, -1.0f}},
      {{ResourceType::COMPUTATIONAL, high}, {ResourceType::NETWORK, inf_f}},
      {{ResourceType::COMPUTATIONAL, high}, {ResourceType::NETWORK, -inf_f}},
  };
  for (const auto& report : bad_reports)
    EXPECT_NO_THROW(rm.adapt_to_load(report));
  EXPECT_FALSE(rm.is_degraded());
  EXPECT_TRUE(rm.get_active_alerts().empty());
  EXPECT_TRUE(fails_with(rm.try_adapt_to_load(bad_reports[0]),
                         ec::unknown_resource_type));
  for (std::size_t i = 1; i < bad_reports.size(); ++i)
    EXPECT_TRUE(
        fails_with(rm.try_adapt_to_load(bad_reports[i]), ec::invalid_amount))
        << i;
  EXPECT_FALSE(rm.is_degraded());
  // The same report without the bad entry is applied.
  ASSERT_TRUE(rm.try_adapt_to_load({{ResourceType::COMPUTATIONAL, high}}));
  EXPECT_TRUE(view_of(rm, ResourceType::COMPUTATIONAL).degraded);
}

TEST(FacadeErrors, UpdatePredictionModelWithBadInputLeavesTheHistory) {
  ResourceManager rm;
  stop_samples(rm);
  auto before = observe_once(rm, ResourceType::IO);
  EXPECT_NO_THROW(rm.update_prediction_model(ResourceType::IO, nan_f));
  EXPECT_NO_THROW(rm.update_prediction_model(ResourceType::IO, inf_f));
  EXPECT_NO_THROW(rm.update_prediction_model(ResourceType::IO, -1.0f));
  EXPECT_NO_THROW(rm.update_prediction_model(bad_type, 0.5f));
  // Exactly one more observation than before: none of the bad ones counted.
  EXPECT_EQ(observe_once(rm, ResourceType::IO), before + 1);
  EXPECT_TRUE(
      fails_with(rm.try_update_prediction_model(ResourceType::IO, nan_f),
                 ec::invalid_amount));
  EXPECT_TRUE(
      fails_with(rm.try_update_prediction_model(ResourceType::IO, inf_f),
                 ec::invalid_amount));
  EXPECT_TRUE(
      fails_with(rm.try_update_prediction_model(ResourceType::IO, -1.0f),
                 ec::invalid_amount));
  EXPECT_TRUE(fails_with(rm.try_update_prediction_model(bad_type, 0.5f),
                         ec::unknown_resource_type));
  EXPECT_EQ(observe_once(rm, ResourceType::IO), before + 2);
}

TEST(FacadeErrors, PreallocatePredictedWithANaNConfidenceReservesNothing) {
  ResourceManager rm;
  ResourcePrediction p;
  p.resource_type = ResourceType::IO;
  p.predicted_usage = {0.5f, 0.6f};
  p.confidence = nan_f;
  p.horizon = 10s;
  ResourcePrediction good = p;
  good.resource_type = ResourceType::NETWORK;
  good.confidence = 0.9f;
  ResourcePrediction bad_value = good;
  bad_value.predicted_usage = {0.5f, nan_f};
  ResourcePrediction wrong_type = good;
  wrong_type.resource_type = bad_type;
  for (const auto& batch : std::vector<std::vector<ResourcePrediction>>{
           {p}, {good, p}, {good, bad_value}, {good, wrong_type}}) {
    EXPECT_NO_THROW(rm.preallocate_predicted(batch));
    auto status = rm.get_status();
    ASSERT_TRUE(status);
    for (const auto& pool : *status)
      EXPECT_EQ(pool.reserved, 0) << to_string(pool.type);
  }
  EXPECT_TRUE(fails_with(rm.try_preallocate_predicted({good, p}, "x"),
                         ec::invalid_amount));
  EXPECT_TRUE(fails_with(rm.try_preallocate_predicted({good, bad_value}, "x"),
                         ec::invalid_amount));
  EXPECT_TRUE(fails_with(rm.try_preallocate_predicted({good, wrong_type}, "x"),
                         ec::unknown_resource_type));
}

TEST(FacadeErrors, ABadStrategyThrowsNothingAndKeepsTheStrategy) {
  ResourceManager rm;
  rm.set_load_balancing_strategy(LoadBalancingStrategy::LEAST_LOADED);
  EXPECT_NO_THROW(
      rm.set_load_balancing_strategy(static_cast<LoadBalancingStrategy>(99)));
  auto strategy = rm.get_load_balancing_strategy();
  ASSERT_TRUE(strategy);
  EXPECT_EQ(*strategy, LoadBalancingStrategy::LEAST_LOADED);
  EXPECT_TRUE(fails_with(rm.try_set_load_balancing_strategy(
                             static_cast<LoadBalancingStrategy>(99)),
                         ec::invalid_config_value));
  EXPECT_EQ(*rm.get_load_balancing_strategy(),
            LoadBalancingStrategy::LEAST_LOADED);
  auto set =
      rm.try_set_load_balancing_strategy(LoadBalancingStrategy::PREDICTIVE);
  ASSERT_TRUE(set);
  EXPECT_EQ(*set, LoadBalancingStrategy::PREDICTIVE);
}

TEST(FacadeErrors, GettersWithABadTypeReturnEmptyValues) {
  ResourceManager rm;
  ASSERT_TRUE(rm.try_allocate_resource(
      {"m", ResourceType::COMPUTATIONAL, Priority::NORMAL, 10.0f}));
  ResourceStats stats;
  EXPECT_NO_THROW(stats = rm.get_resource_stats(bad_type));
  EXPECT_EQ(stats.type, ResourceType::COMPUTATIONAL); // left default
  EXPECT_FLOAT_EQ(stats.total_capacity, 0.0f);
  EXPECT_FLOAT_EQ(stats.current_usage, 0.0f);
  EXPECT_FLOAT_EQ(stats.peak_usage, 0.0f);
  EXPECT_EQ(stats.allocation_count, 0u);
  EXPECT_EQ(stats.rejection_count, 0u);
  EXPECT_TRUE(fails_with(rm.try_get_resource_stats(bad_type),
                         ec::unknown_resource_type));
  auto good = rm.try_get_resource_stats(ResourceType::COMPUTATIONAL);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->allocation_count, 1u);
  EXPECT_FLOAT_EQ(rm.get_available_resources(bad_type), 0.0f);
  // Predictions: bad type, bad horizons.
  for (auto [type, horizon] :
       std::vector<std::pair<ResourceType, std::chrono::milliseconds>>{
           {bad_type, 1000ms},
           {ResourceType::IO, 0ms},
           {ResourceType::IO, -5ms},
           {ResourceType::IO, std::chrono::hours(24 * 365)}}) {
    ResourcePrediction p;
    EXPECT_NO_THROW(p = rm.predict_usage(type, horizon));
    EXPECT_TRUE(p.predicted_usage.empty());
    EXPECT_FLOAT_EQ(p.confidence, 0.0f);
    if (is_valid(type)) {
      EXPECT_EQ(p.resource_type, type);
    }
  }
  EXPECT_TRUE(fails_with(rm.try_predict_usage(bad_type, 1s),
                         ec::unknown_resource_type));
  EXPECT_TRUE(fails_with(rm.try_predict_usage(ResourceType::IO, 0s),
                         ec::invalid_duration));
  EXPECT_TRUE(fails_with(rm.try_predict_usage(ResourceType::IO, -5ms),
                         ec::invalid_duration));
  EXPECT_TRUE(fails_with(
      rm.try_predict_usage(ResourceType::IO, std::chrono::hours(24 * 365)),
      ec::invalid_duration));
  EXPECT_EQ(rm.predict_usage(ResourceType::IO, 1s).predicted_usage.size(), 10u);
}

TEST(FacadeErrors, BalanceLoadWithBadInputReturnsNothingAndKeepsTheQueue) {
  ResourceManager rm;
  for (int i = 0; i < 3; ++i) {
    ScheduledTask t;
    t.task_id = "t" + std::to_string(i);
    t.task_function = [] {};
    t.resource_requirements[ResourceType::COMPUTATIONAL] = 1.0f;
    ASSERT_TRUE(rm.schedule_task(t));
  }
  std::vector<std::unordered_map<std::string, float>> bad = {
      {},
      {{"vision", nan_f}},
      {{"vision", inf_f}},
      {{"vision", -1.0f}},
      {{"", 0.5f}}};
  for (const auto& loads : bad) {
    std::unordered_map<std::string, std::vector<std::string>> assigned;
    EXPECT_NO_THROW(assigned = rm.balance_load(loads));
    EXPECT_TRUE(assigned.empty());
  }
  EXPECT_EQ(rm.get_pending_task_counts()[Priority::NORMAL], 3u);
  EXPECT_TRUE(
      fails_with(rm.try_balance_load(bad[0]), ec::insufficient_resources));
  EXPECT_TRUE(fails_with(rm.try_balance_load(bad[1]), ec::invalid_amount));
  EXPECT_TRUE(fails_with(rm.try_balance_load(bad[2]), ec::invalid_amount));
  EXPECT_TRUE(fails_with(rm.try_balance_load(bad[3]), ec::invalid_amount));
  EXPECT_TRUE(fails_with(rm.try_balance_load(bad[4]), ec::invalid_argument));
  auto good = rm.try_balance_load(
      std::unordered_map<std::string, float>{{"vision", 0.5f}});
  ASSERT_TRUE(good) << describe(good.error());
  EXPECT_EQ(good->assignments.at("vision").size(), 3u);
}

TEST(FacadeErrors, BadThresholdsAndConfigurationsChangeNothing) {
  ResourceManager rm;
  rm.set_alert_threshold(ResourceType::IO, 0.5f,
                         ResourceAlert::Severity::CRITICAL);
  EXPECT_NO_THROW(rm.set_alert_threshold(ResourceType::IO, 1.5f));
  EXPECT_NO_THROW(rm.set_alert_threshold(ResourceType::IO, nan_f));
  EXPECT_NO_THROW(rm.set_alert_threshold(bad_type, 0.5f));
  EXPECT_NO_THROW(rm.set_alert_threshold(
      ResourceType::IO, 0.6f, static_cast<ResourceAlert::Severity>(7)));
  auto rule = view_of(rm, ResourceType::IO).rule;
  EXPECT_FLOAT_EQ(rule.threshold, 0.5f);
  EXPECT_EQ(rule.severity, ResourceAlert::Severity::CRITICAL);
  EXPECT_TRUE(
      fails_with(rm.try_set_alert_threshold(AlertRule{
                     ResourceType::IO, 1.5f, ResourceAlert::Severity::WARNING}),
                 ec::invalid_config_value));
  EXPECT_TRUE(fails_with(rm.try_set_alert_threshold(AlertRule{
                             bad_type, 0.5f, ResourceAlert::Severity::WARNING}),
                         ec::unknown_resource_type));
  // Configuration: refused as a whole.
  ASSERT_TRUE(rm.try_allocate_resource(
      {"m", ResourceType::NETWORK, Priority::NORMAL, 60.0f}));
  auto before = rm.get_config();
  EXPECT_NO_THROW(rm.update_config({{"io_capacity", 50.0f}, {"typo", 1.0f}}));
  EXPECT_NO_THROW(rm.update_config({{"io_capacity", nan_f}}));
  EXPECT_NO_THROW(
      rm.update_config({{"io_capacity", 50.0f}, {"network_capacity", 40.0f}}));
  EXPECT_TRUE(rm.get_config() == before);
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::IO), 100.0f);
  EXPECT_TRUE(fails_with(rm.try_update_config({{"typo", 1.0f}}),
                         ec::unknown_config_key));
  EXPECT_TRUE(fails_with(rm.try_update_config({{"io_capacity", nan_f}}),
                         ec::invalid_config_value));
  EXPECT_TRUE(fails_with(rm.try_update_config({{"network_capacity", 40.0f}}),
                         ec::capacity_below_usage));
}

TEST(FacadeErrors, BadTasksMemoryAndReleasesChangeNothing) {
  ResourceManager rm;
  ScheduledTask task;
  task.task_id = "t";
  task.task_function = [] {};
  task.resource_requirements[ResourceType::IO] = nan_f;
  EXPECT_NO_THROW(EXPECT_FALSE(rm.schedule_task(task)));
  task.resource_requirements = {{bad_type, 1.0f}};
  EXPECT_NO_THROW(EXPECT_FALSE(rm.schedule_task(task)));
  EXPECT_TRUE(rm.get_pending_task_counts()[Priority::NORMAL] == 0);
  EXPECT_NO_THROW(EXPECT_FALSE(rm.execute_next_task()));
  EXPECT_NO_THROW(EXPECT_EQ(rm.allocate_memory(0, "m"), nullptr));
  EXPECT_NO_THROW(EXPECT_EQ(rm.allocate_memory(1, ""), nullptr));
  EXPECT_NO_THROW(
      EXPECT_EQ(rm.allocate_memory(std::size_t{1} << 40, "m"), nullptr));
  int not_tracked = 0;
  EXPECT_NO_THROW(rm.free_memory(&not_tracked));
  EXPECT_NO_THROW(rm.free_memory(nullptr));
  EXPECT_NO_THROW(
      rm.release_resource("nobody", ResourceType::COMPUTATIONAL, 5.0f));
  EXPECT_NO_THROW(rm.release_resource("m", bad_type, 5.0f));
  EXPECT_NO_THROW(rm.release_resource("m", ResourceType::IO, nan_f));
  auto status = rm.get_status();
  ASSERT_TRUE(status);
  for (const auto& pool : *status) {
    EXPECT_EQ(pool.held, 0) << to_string(pool.type);
    EXPECT_EQ(pool.available, pool.capacity) << to_string(pool.type);
  }
  auto memory = rm.get_memory_stats();
  ASSERT_TRUE(memory);
  EXPECT_EQ(memory->blocks, 0u);
}

TEST(FacadeErrors, EverySeedMethodSurvivesAManagerThatIsGone) {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  ResourceManager rm(sys, ConfigMap{});
  // Kill the manager and wait until it and every child it ends are gone.
  caf::scoped_actor self{sys};
  PoolDirectory pools;
  self->request(rm.manager(), caf::infinite, pools_atom::value)
      .receive([&](PoolDirectory& d) { pools = std::move(d); },
               [&](caf::error& err) { FAIL() << describe(err); });
  auto sub = subsystems_of(rm);
  bundle_actor bundles;
  self->request(rm.manager(), caf::infinite, bundles_atom::value)
      .receive([&](bundle_actor& b) { bundles = std::move(b); },
               [&](caf::error& err) { FAIL() << describe(err); });
  std::vector<caf::actor_addr> watched;
  auto watch = [&](const auto& handle) {
    self->monitor(handle);
    watched.push_back(handle.address());
  };
  watch(rm.manager());
  for (const auto& pool : pools.pools)
    watch(pool);
  watch(sub.memory);
  watch(sub.monitor);
  watch(sub.predictor);
  watch(sub.balancer);
  watch(sub.scheduler);
  watch(bundles);
  caf::anon_send_exit(rm.manager(), caf::exit_reason::kill);
  for (std::size_t i = 0; i < watched.size(); ++i)
    self->receive([](const caf::down_msg&) {});

  ResourceRequest req{"m", ResourceType::COMPUTATIONAL, Priority::CRITICAL,
                      10.0f};
  ScheduledTask task;
  task.task_id = "t";
  task.task_function = [] {};
  ResourcePrediction prediction;
  prediction.resource_type = ResourceType::IO;
  prediction.predicted_usage = {0.5f};
  prediction.confidence = 0.9f;
  prediction.horizon = 1s;
  EXPECT_NO_THROW({
    auto a = rm.allocate_resource(req);
    EXPECT_FALSE(a.fully_satisfied);
    EXPECT_FLOAT_EQ(a.allocated_amount, 0.0f);
    rm.release_resource("m", ResourceType::COMPUTATIONAL, 1.0f);
    EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::COMPUTATIONAL),
                    0.0f);
    EXPECT_FALSE(rm.schedule_task(task));
    EXPECT_FALSE(rm.execute_next_task());
    EXPECT_TRUE(rm.get_pending_task_counts().empty());
    EXPECT_EQ(rm.allocate_memory(16, "m"), nullptr);
    rm.free_memory(nullptr);
    EXPECT_EQ(rm.run_garbage_collection(), 0u);
    EXPECT_FLOAT_EQ(rm.get_memory_fragmentation(), 0.0f);
    rm.set_load_balancing_strategy(LoadBalancingStrategy::ROUND_ROBIN);
    EXPECT_TRUE(rm.balance_load({{"vision", 0.5f}}).empty());
    rm.adapt_to_load({{ResourceType::IO, 50.0f}});
    auto stats = rm.get_resource_stats(ResourceType::IO);
    EXPECT_EQ(stats.type, ResourceType::IO);
    EXPECT_FLOAT_EQ(stats.total_capacity, 0.0f);
    EXPECT_TRUE(rm.get_active_alerts().empty());
    rm.set_alert_threshold(ResourceType::IO, 0.5f);
    EXPECT_TRUE(rm.get_utilization().empty());
    auto p = rm.predict_usage(ResourceType::IO, 1s);
    EXPECT_TRUE(p.predicted_usage.empty());
    rm.preallocate_predicted({prediction});
    rm.update_prediction_model(ResourceType::IO, 0.5f);
    rm.enter_degraded_mode(ResourceType::IO);
    rm.exit_degraded_mode(ResourceType::IO);
    EXPECT_FALSE(rm.is_degraded());
    rm.update_config({{"io_capacity", 50.0f}});
    rm.reset();
    EXPECT_TRUE(rm.get_metrics().empty());
  });
  EXPECT_TRUE(fails(rm.try_allocate_resource(req)));
  EXPECT_TRUE(fails(rm.try_get_resource_stats(ResourceType::IO)));
  EXPECT_TRUE(fails(rm.try_get_utilization()));
  EXPECT_TRUE(fails(rm.try_get_metrics()));
  EXPECT_TRUE(fails(rm.try_reset()));
  EXPECT_TRUE(fails(rm.try_update_config({{"io_capacity", 50.0f}})));
  EXPECT_TRUE(fails(rm.try_get_pending_task_counts()));
  EXPECT_TRUE(fails(rm.try_run_garbage_collection()));
  EXPECT_TRUE(fails(rm.try_get_active_alerts()));
  EXPECT_TRUE(fails(rm.try_is_degraded()));
  EXPECT_TRUE(fails(rm.try_set_degraded(ResourceType::IO, true)));
  EXPECT_TRUE(fails(rm.try_adapt_to_load({{ResourceType::IO, 50.0f}})));
  EXPECT_TRUE(fails(rm.try_update_prediction_model(ResourceType::IO, 0.5f)));
  EXPECT_TRUE(fails(rm.try_predict_usage(ResourceType::IO, 1s)));
  EXPECT_TRUE(fails(
      rm.try_set_load_balancing_strategy(LoadBalancingStrategy::ROUND_ROBIN)));
  EXPECT_TRUE(fails(rm.try_balance_load(
      std::unordered_map<std::string, float>{{"v", 1.0f}})));
}

TEST(FacadeErrors, TheKernelThrowsNothingWhenItsManagerIsGone) {
  RROSKernel kernel({{"computational_capacity", 10.0f}});
  auto& rm = kernel.get_resource_manager();
  caf::scoped_actor self{rm.system()};
  self->monitor(rm.manager());
  caf::anon_send_exit(rm.manager(), caf::exit_reason::kill);
  self->receive([](const caf::down_msg&) {});
  // The pools end a moment after the manager: the grant may or may not
  // happen, but nothing throws.
  EXPECT_NO_THROW(kernel.allocate_cognitive_resources(1.0f, 2));
  EXPECT_NO_THROW(kernel.release_cognitive_resources(1.0f));
  EXPECT_NO_THROW(EXPECT_TRUE(kernel.get_resource_metrics().empty()));
}
