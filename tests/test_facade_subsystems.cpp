// The seed's remaining facade methods on a real actor system: bundles,
// tracked memory, alerts and degradation, prediction, load balancing, the
// metrics and the kernel integration. Asynchronous effects (the monitor
// hears a pool's change a message later) are awaited with a bounded poll on
// the condition, never a fixed sleep.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <set>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "facade/resource_manager.hpp"
#include "facade/rros_kernel.hpp"

using namespace rros;
using namespace std::chrono_literals;

namespace {

/// Polls `condition` until it holds or 5 s passed.
bool eventually(const std::function<bool()>& condition) {
  auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until) {
    if (condition())
      return true;
    std::this_thread::sleep_for(1ms);
  }
  return condition();
}

template <class T>
bool failed_with(const caf::expected<T>& x, ec code) {
  return !x && is(x.error(), code);
}

bool has_alert(const std::vector<ResourceAlert>& alerts, ResourceType type,
               ResourceAlert::Severity severity) {
  for (const auto& a : alerts)
    if (a.resource_type == type && a.severity == severity)
      return true;
  return false;
}

} // namespace

TEST(FacadeSubsystems, BundleAllOrNothingAndReleaseAsOne) {
  ResourceManager rm;
  BundleRequest r;
  r.requester_id = "vision";
  r.items = {{ResourceType::COMPUTATIONAL, 10},
             {ResourceType::MEMORY, 4096},
             {ResourceType::ATTENTION, 0.2f}};
  auto g = rm.try_allocate_bundle(r);
  ASSERT_TRUE(g) << describe(g.error());
  EXPECT_EQ(g->legs.size(), 3u);
  EXPECT_FLOAT_EQ(rm.get_holding("vision", ResourceType::MEMORY), 4096.0f);
  // Attention cannot fit a second time: nothing of it is held.
  r.requester_id = "audio";
  r.items[2].amount = 0.9f;
  EXPECT_TRUE(
      failed_with(rm.try_allocate_bundle(r), ec::insufficient_resources));
  EXPECT_FLOAT_EQ(rm.get_holding("audio", ResourceType::COMPUTATIONAL), 0.0f);
  auto receipts = rm.try_release_bundle(g->bundle_id);
  ASSERT_TRUE(receipts);
  EXPECT_EQ(receipts->size(), 3u);
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::ATTENTION), 1.0f);
  r.items[0].amount = std::nanf("");
  EXPECT_TRUE(failed_with(rm.try_allocate_bundle(r), ec::invalid_amount));
}

TEST(FacadeSubsystems, TrackedMemoryIsRealChargedAndFreedOnce) {
  ResourceManager rm;
  void* p = rm.allocate_memory(1000, "vision");
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xab, 1000); // real, writable memory
  auto metrics = rm.get_metrics();
  EXPECT_FLOAT_EQ(metrics["total_memory_allocated"], 1000.0f);
  EXPECT_FLOAT_EQ(rm.get_holding("vision", ResourceType::MEMORY), 1000.0f);
  void* q = rm.allocate_memory(2000, "audio");
  void* r = rm.allocate_memory(3000, "audio");
  ASSERT_NE(q, nullptr);
  ASSERT_NE(r, nullptr);
  EXPECT_FLOAT_EQ(rm.get_memory_fragmentation(), 0.0f);
  rm.free_memory(q); // a hole between p and r
  EXPECT_GT(rm.get_memory_fragmentation(), 0.0f);
  EXPECT_TRUE(failed_with(rm.try_free_memory(q), ec::unknown_block));
  rm.free_memory(p);
  rm.free_memory(r);
  EXPECT_FLOAT_EQ(rm.get_holding("audio", ResourceType::MEMORY), 0.0f);
  EXPECT_FLOAT_EQ(rm.get_memory_fragmentation(), 0.0f);
  // Over budget: nullptr, nothing charged.
  EXPECT_EQ(rm.allocate_memory(2u << 20, "vision"), nullptr);
  EXPECT_EQ(rm.run_garbage_collection(), 0u); // nothing is collectable
}

TEST(FacadeSubsystems, TrackedMemoryChargesTheBytesAskedFor) {
  ResourceManager rm({{"memory_capacity", 10000.0f}});
  void* p = rm.allocate_memory(1000, "vision");
  ASSERT_NE(p, nullptr);
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::MEMORY), 9000.0f);
  EXPECT_FLOAT_EQ(rm.get_holding("vision", ResourceType::MEMORY), 1000.0f);
  EXPECT_FLOAT_EQ(rm.get_metrics()["total_memory_allocated"], 1000.0f);
  void* q = rm.allocate_memory(200, "audio");
  ASSERT_NE(q, nullptr);
  EXPECT_FLOAT_EQ(rm.get_metrics()["total_memory_allocated"], 1200.0f);
  std::memset(q, 0x5a, 200);
  // Odd sizes fill the rest of the budget exactly.
  std::vector<void*> odd;
  std::size_t left = 8800;
  for (std::size_t size = 1; left > 0; size += 2) {
    auto take = std::min(size, left);
    void* r = rm.allocate_memory(take, "odd");
    ASSERT_NE(r, nullptr) << take << " of " << left;
    odd.push_back(r);
    left -= take;
  }
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::MEMORY), 0.0f);
  EXPECT_EQ(rm.allocate_memory(1, "odd"), nullptr);
  auto status = rm.get_pool_status(ResourceType::MEMORY);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->held, 10000 * units_per_amount);
  EXPECT_EQ(status->capacity,
            status->held + status->reserved + status->available);
  // Each free returns exactly what was charged.
  rm.free_memory(p);
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::MEMORY), 1000.0f);
  rm.free_memory(q);
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::MEMORY), 1200.0f);
  for (void* r : odd)
    rm.free_memory(r);
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::MEMORY), 10000.0f);
  EXPECT_FLOAT_EQ(rm.get_metrics()["total_memory_allocated"], 0.0f);
}

TEST(FacadeSubsystems, TotalMemoryAllocatedReportsTheBytesAskedFor) {
  ResourceManager rm;
  void* p = rm.allocate_memory(200, "vision");
  ASSERT_NE(p, nullptr);
  EXPECT_FLOAT_EQ(rm.get_metrics()["total_memory_allocated"], 200.0f);
  auto stats = rm.get_memory_stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->allocated_bytes, 200u);
  EXPECT_EQ(stats->carved_bytes, 208u); // the region's own rounding
  rm.free_memory(p);
  EXPECT_FLOAT_EQ(rm.get_metrics()["total_memory_allocated"], 0.0f);
}

TEST(FacadeSubsystems, AlertsRaiseOnCrossingAndDegradationIsManual) {
  ResourceManager rm;
  rm.set_alert_threshold(ResourceType::IO, 0.5f,
                         ResourceAlert::Severity::CRITICAL);
  EXPECT_NO_THROW(rm.set_alert_threshold(ResourceType::IO, 1.5f)); // refused
  ASSERT_TRUE(rm.try_allocate_resource(
      ResourceRequest{"x", ResourceType::IO, Priority::NORMAL, 60}));
  EXPECT_TRUE(eventually([&] {
    return has_alert(rm.get_active_alerts(), ResourceType::IO,
                     ResourceAlert::Severity::CRITICAL);
  }));
  EXPECT_FALSE(rm.is_degraded());
  rm.enter_degraded_mode(ResourceType::NETWORK);
  EXPECT_TRUE(rm.is_degraded());
  EXPECT_TRUE(has_alert(rm.get_active_alerts(), ResourceType::NETWORK,
                        ResourceAlert::Severity::CRITICAL));
  // Degraded: IDLE requests on the network are shed, HIGH ones go on.
  EXPECT_TRUE(eventually([&] {
    return failed_with(
        rm.try_allocate_resource(ResourceRequest{
            "indexer", ResourceType::NETWORK, Priority::IDLE, 1}),
        ec::shed);
  }));
  EXPECT_TRUE(rm.try_allocate_resource(
      ResourceRequest{"urgent", ResourceType::NETWORK, Priority::HIGH, 1}));
  EXPECT_FLOAT_EQ(rm.get_metrics()["is_degraded"], 1.0f);
  rm.exit_degraded_mode(ResourceType::NETWORK);
  EXPECT_FALSE(rm.is_degraded());
  rm.adapt_to_load({{ResourceType::ATTENTION, 0.97f}});
  EXPECT_TRUE(rm.is_degraded());
  rm.adapt_to_load({{ResourceType::ATTENTION, 0.5f}});
  EXPECT_FALSE(rm.is_degraded());
  rm.reset();
  EXPECT_TRUE(rm.get_active_alerts().empty());
}

TEST(FacadeSubsystems, AdaptToLoadTakesLoadsInEachTypesOwnUnits) {
  ResourceManager rm(
      {{"computational_capacity", 100.0f}, {"memory_capacity", 1048576.0f}});
  auto degraded = [](const caf::expected<std::vector<TypeMonitorView>>& views,
                     ResourceType type) {
    return views && views->at(static_cast<std::size_t>(type)).degraded;
  };
  // 96 of a capacity of 100: utilization 0.96 > 0.95 enters at once.
  auto views = rm.try_adapt_to_load({{ResourceType::COMPUTATIONAL, 96.0f}});
  ASSERT_TRUE(views) << describe(views.error());
  EXPECT_TRUE(degraded(views, ResourceType::COMPUTATIONAL));
  EXPECT_FLOAT_EQ(views->at(0).utilization, 0.96f);
  // 50 of 100: 0.5 < 0.7 leaves.
  views = rm.try_adapt_to_load({{ResourceType::COMPUTATIONAL, 50.0f}});
  ASSERT_TRUE(views);
  EXPECT_FALSE(degraded(views, ResourceType::COMPUTATIONAL));
  // 1,000,000 bytes of 1,048,576: 0.954 enters MEMORY.
  views = rm.try_adapt_to_load({{ResourceType::MEMORY, 1000000.0f}});
  ASSERT_TRUE(views);
  EXPECT_TRUE(degraded(views, ResourceType::MEMORY));
  EXPECT_NEAR(views->at(1).utilization, 1000000.0 / 1048576.0, 1e-6);
  views = rm.try_adapt_to_load({{ResourceType::MEMORY, 0.0f}});
  ASSERT_TRUE(views);
  EXPECT_FALSE(degraded(views, ResourceType::MEMORY));
  // 150 of 100 is a utilization of 1.5, not an error.
  views = rm.try_adapt_to_load({{ResourceType::COMPUTATIONAL, 150.0f}});
  ASSERT_TRUE(views) << describe(views.error());
  EXPECT_TRUE(degraded(views, ResourceType::COMPUTATIONAL));
  EXPECT_FLOAT_EQ(views->at(0).utilization, 1.5f);
  // The seed's call: 40 of 100 leaves again.
  rm.adapt_to_load({{ResourceType::COMPUTATIONAL, 40.0f}});
  EXPECT_FALSE(rm.is_degraded());
  // After a capacity change the new capacity converts: 96 of 200 is 0.48.
  ASSERT_TRUE(rm.try_update_config({{"computational_capacity", 200.0f}}));
  views = rm.try_adapt_to_load({{ResourceType::COMPUTATIONAL, 96.0f}});
  ASSERT_TRUE(views);
  EXPECT_FALSE(degraded(views, ResourceType::COMPUTATIONAL));
  EXPECT_FLOAT_EQ(views->at(0).utilization, 0.48f);
}

TEST(FacadeSubsystems, PredictionFromObservationsAndPreallocation) {
  ResourceManager rm;
  for (int i = 0; i < 60; ++i)
    rm.update_prediction_model(ResourceType::IO,
                               0.4f + 0.1f * std::sin(i * 0.3f));
  auto p = rm.predict_usage(ResourceType::IO, 1000ms);
  EXPECT_EQ(p.resource_type, ResourceType::IO);
  EXPECT_EQ(p.predicted_usage.size(), 10u); // one per 100 ms
  EXPECT_GE(p.confidence, 0.0f);
  EXPECT_LE(p.confidence, 1.0f);
  EXPECT_NO_THROW(rm.update_prediction_model(ResourceType::IO, std::nanf("")));
  EXPECT_TRUE(failed_with(
      rm.try_update_prediction_model(ResourceType::IO, std::nanf("")),
      ec::invalid_amount));
  // A confident forecast of 60% I/O with nothing in use reserves 60.
  ResourcePrediction confident;
  confident.resource_type = ResourceType::IO;
  confident.predicted_usage = {0.5f, 0.6f};
  confident.confidence = 0.9f;
  confident.horizon = 200ms;
  ResourcePrediction unsure = confident;
  unsure.resource_type = ResourceType::NETWORK;
  unsure.confidence = 0.2f;
  rm.preallocate_predicted({confident, unsure});
  auto io = rm.get_pool_status(ResourceType::IO);
  ASSERT_TRUE(io);
  EXPECT_EQ(io->reserved, 60 * units_per_amount);
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::NETWORK), 100.0f);
  // Unused, it returns when it expires.
  EXPECT_TRUE(eventually(
      [&] { return rm.get_pool_status(ResourceType::IO)->reserved == 0; }));
}

TEST(FacadeSubsystems, LoadBalancingStrategyAndBadInput) {
  ResourceManager rm;
  rm.set_load_balancing_strategy(LoadBalancingStrategy::ROUND_ROBIN);
  auto assigned = rm.balance_load({{"vision", 0.2f}, {"audio", 0.1f}});
  std::size_t total = 0;
  for (const auto& [module, tasks] : assigned)
    total += tasks.size();
  EXPECT_EQ(total, 0u);                     // nothing is pending
  EXPECT_TRUE(rm.balance_load({}).empty()); // refused, never thrown
  EXPECT_TRUE(rm.balance_load({{"vision", std::nanf("")}}).empty());
}

TEST(FacadeSubsystems, MetricsHaveEverySeedKey) {
  ResourceManager rm;
  auto m = rm.get_metrics();
  for (const char* key :
       {"avg_utilization", "total_memory_allocated", "memory_fragmentation",
        "pending_tasks", "active_alerts", "is_degraded",
        "computational_utilization", "memory_utilization",
        "attention_utilization", "io_utilization", "network_utilization"})
    EXPECT_EQ(m.count(key), 1u) << key;
}

TEST(FacadeSubsystems, KernelIntegration) {
  RROSKernel kernel({{"computational_capacity", 10.0f}});
  EXPECT_TRUE(kernel.allocate_cognitive_resources(6.0f, 2));
  EXPECT_FALSE(kernel.allocate_cognitive_resources(6.0f, 2)); // refused
  EXPECT_FALSE(kernel.allocate_cognitive_resources(1.0f, 9)); // bad priority
  auto m = kernel.get_resource_metrics();
  EXPECT_FLOAT_EQ(m["computational_utilization"], 0.6f);
  EXPECT_EQ(m.count("avg_utilization"), 1u);
  kernel.release_cognitive_resources(100.0f); // at most what is held
  EXPECT_FLOAT_EQ(kernel.get_resource_manager().get_available_resources(
                      ResourceType::COMPUTATIONAL),
                  10.0f);
  EXPECT_THROW(RROSKernel({{"computational_capacity", -1.0f}}), Error);
}

TEST(FacadeSubsystems, SeedTaskExampleRunsWithItsResourcesHeld) {
  ResourceManager rm;
  float seen_available = -1;
  ScheduledTask task;
  task.task_id = "important_computation";
  task.priority = Priority::HIGH;
  task.task_function = [&] {
    // Runs on another thread while the facade caller waits; the task's
    // bundle is held meanwhile.
    ResourceManager probe(rm.system(), rm.manager());
    seen_available = probe.get_available_resources(ResourceType::COMPUTATIONAL);
  };
  task.deadline = std::chrono::high_resolution_clock::now() + 1s;
  task.resource_requirements[ResourceType::COMPUTATIONAL] = 10.0f;
  ASSERT_TRUE(rm.schedule_task(task));
  EXPECT_EQ(rm.get_pending_task_counts()[Priority::HIGH], 1u);
  EXPECT_FLOAT_EQ(rm.get_metrics()["pending_tasks"], 1.0f);
  EXPECT_TRUE(rm.execute_next_task());
  EXPECT_FLOAT_EQ(seen_available, 90.0f);
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::COMPUTATIONAL),
                  100.0f);
  EXPECT_EQ(rm.get_pending_task_counts()[Priority::HIGH], 0u);
  EXPECT_FALSE(rm.execute_next_task()); // nothing queued
}

TEST(FacadeSubsystems, ThrowingTaskFailsAndReturnsItsResources) {
  ResourceManager rm;
  ScheduledTask task;
  task.task_id = "broken";
  task.task_function = [] { throw std::runtime_error("boom"); };
  task.resource_requirements[ResourceType::IO] = 30.0f;
  task.resource_requirements[ResourceType::NETWORK] = 30.0f;
  ASSERT_TRUE(rm.schedule_task(task));
  EXPECT_FALSE(rm.execute_next_task());
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::IO), 100.0f);
  EXPECT_FLOAT_EQ(rm.get_available_resources(ResourceType::NETWORK), 100.0f);
  EXPECT_FLOAT_EQ(rm.get_metrics()["failed_tasks"], 1.0f);
}

TEST(FacadeSubsystems, AdmissionRefusesWhatCanNeverRun) {
  ResourceManager rm;
  ScheduledTask late;
  late.task_id = "late";
  late.task_function = [] {};
  late.deadline = std::chrono::high_resolution_clock::now() - 1s;
  EXPECT_FALSE(rm.schedule_task(late));
  ScheduledTask huge;
  huge.task_id = "huge";
  huge.task_function = [] {};
  huge.resource_requirements[ResourceType::COMPUTATIONAL] = 1000.0f;
  EXPECT_FALSE(rm.schedule_task(huge));
  huge.priority = Priority::CRITICAL; // the seed: CRITICAL is always queued
  EXPECT_TRUE(rm.schedule_task(huge));
}

TEST(FacadeSubsystems, BalanceLoadAssignsEveryPendingTaskOnce) {
  ResourceManager rm;
  for (int i = 0; i < 7; ++i) {
    ScheduledTask t;
    t.task_id = "t" + std::to_string(i);
    t.task_function = [] {};
    t.resource_requirements[ResourceType::COMPUTATIONAL] = 1.0f + i;
    ASSERT_TRUE(rm.schedule_task(t));
  }
  rm.set_load_balancing_strategy(LoadBalancingStrategy::LEAST_LOADED);
  std::unordered_map<std::string, float> loads = {{"vision_module", 45.0f},
                                                  {"audio_module", 20.0f},
                                                  {"reasoning_module", 60.0f}};
  auto first = rm.balance_load(loads);
  std::multiset<std::string> assigned;
  for (const auto& [module, tasks] : first)
    assigned.insert(tasks.begin(), tasks.end());
  EXPECT_EQ(assigned.size(), 7u);
  EXPECT_EQ(std::set<std::string>(assigned.begin(), assigned.end()).size(), 7u);
  EXPECT_EQ(rm.balance_load(loads), first); // same input, same output
}
