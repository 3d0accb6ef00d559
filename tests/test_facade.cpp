// The seed-compatible facade on the real scheduler: the seed document's
// examples, bad input through the error-reporting variants, and the two
// concurrency scenarios. Blocking calls return when the reply arrives, so no
// test sleeps.
#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "facade/resource_manager.hpp"

using namespace rros;

namespace {

const ConfigMap seed_config = {
    {"computational_capacity", 100.0f}, {"memory_capacity", 1048576.0f},
    {"attention_capacity", 1.0f},       {"alert_threshold", 0.85f},
    {"gc_age_threshold", 300.0f},
};

::testing::AssertionResult fails_with(const caf::error& err, ec code) {
  if (!err)
    return ::testing::AssertionFailure()
           << "succeeded, expected " << to_string(code);
  if (!is(err, code))
    return ::testing::AssertionFailure() << "failed with " << describe(err)
                                         << ", expected " << to_string(code);
  return ::testing::AssertionSuccess();
}

template <class T>
::testing::AssertionResult fails_with(const caf::expected<T>& x, ec code) {
  if (x)
    return ::testing::AssertionFailure()
           << "succeeded, expected " << to_string(code);
  return fails_with(x.error(), code);
}

void expect_exact_ledger(ResourceManager& manager) {
  auto status = manager.get_status();
  ASSERT_TRUE(status) << describe(status.error());
  for (const auto& pool : *status)
    EXPECT_EQ(pool.capacity, pool.held + pool.reserved + pool.available)
        << to_string(pool.type);
}

} // namespace

TEST(Facade, SeedAllocationAndReleaseExample) {
  ResourceManager manager(seed_config);
  ResourceRequest req("my_module", ResourceType::COMPUTATIONAL, Priority::HIGH,
                      25.0f, std::chrono::milliseconds(100));
  auto allocation = manager.allocate_resource(req);
  ASSERT_TRUE(allocation.fully_satisfied);
  EXPECT_FLOAT_EQ(allocation.allocated_amount, 25.0f);
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::COMPUTATIONAL),
                  75.0f);
  manager.release_resource("my_module", ResourceType::COMPUTATIONAL, 25.0f);
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::COMPUTATIONAL),
                  100.0f);
}

TEST(Facade, SeedErrorHandlingExamplePartialCriticalAndRefusal) {
  ResourceManager manager(seed_config);
  ASSERT_TRUE(manager
                  .allocate_resource({"bulk", ResourceType::COMPUTATIONAL,
                                      Priority::NORMAL, 90.0f})
                  .fully_satisfied);
  // NORMAL that does not fit: refused with nothing allocated.
  auto refused = manager.allocate_resource(
      {"late", ResourceType::COMPUTATIONAL, Priority::NORMAL, 20.0f});
  EXPECT_FALSE(refused.fully_satisfied);
  EXPECT_FLOAT_EQ(refused.allocated_amount, 0.0f);
  // CRITICAL that does not fit: what is left.
  auto partial = manager.allocate_resource(
      {"safety", ResourceType::COMPUTATIONAL, Priority::CRITICAL, 20.0f});
  EXPECT_FALSE(partial.fully_satisfied);
  EXPECT_FLOAT_EQ(partial.allocated_amount, 10.0f);
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::COMPUTATIONAL),
                  0.0f);
  auto stats = manager.get_resource_stats(ResourceType::COMPUTATIONAL);
  EXPECT_EQ(stats.allocation_count, 2u);
  EXPECT_EQ(stats.rejection_count, 1u);
}

TEST(Facade, SeedMonitoringExample) {
  ResourceManager manager(seed_config);
  manager.allocate_resource(
      {"vision", ResourceType::COMPUTATIONAL, Priority::HIGH, 40.0f});
  manager.allocate_resource(
      {"vision", ResourceType::ATTENTION, Priority::HIGH, 0.5f});
  auto utilization = manager.get_utilization();
  ASSERT_EQ(utilization.size(), resource_type_count);
  EXPECT_FLOAT_EQ(utilization[ResourceType::COMPUTATIONAL], 0.4f);
  EXPECT_FLOAT_EQ(utilization[ResourceType::ATTENTION], 0.5f);
  EXPECT_FLOAT_EQ(utilization[ResourceType::MEMORY], 0.0f);
  auto stats = manager.get_resource_stats(ResourceType::COMPUTATIONAL);
  EXPECT_FLOAT_EQ(stats.total_capacity, 100.0f);
  EXPECT_FLOAT_EQ(stats.current_usage, 40.0f);
  EXPECT_FLOAT_EQ(stats.peak_usage, 40.0f);
  EXPECT_EQ(stats.allocation_count, 1u);
  EXPECT_EQ(stats.rejection_count, 0u);
  auto metrics = manager.get_metrics();
  EXPECT_FLOAT_EQ(metrics.at("computational_utilization"), 0.4f);
  EXPECT_FLOAT_EQ(metrics.at("attention_utilization"), 0.5f);
  EXPECT_FLOAT_EQ(metrics.at("avg_utilization"), (0.4f + 0.5f) / 5);
  EXPECT_FLOAT_EQ(metrics.at("allocation_count"), 2.0f);
}

TEST(Facade, SeedConfigurationUpdateAndReset) {
  ResourceManager manager(seed_config);
  manager.allocate_resource(
      {"m", ResourceType::COMPUTATIONAL, Priority::NORMAL, 30.0f});
  manager.update_config({{"computational_capacity", 200.0f}});
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::COMPUTATIONAL),
                  170.0f);
  EXPECT_DOUBLE_EQ(
      manager.get_config().capacity_of(ResourceType::COMPUTATIONAL), 200.0);
  manager.reset();
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::COMPUTATIONAL),
                  200.0f);
  EXPECT_FLOAT_EQ(manager.get_holding("m", ResourceType::COMPUTATIONAL), 0.0f);
  EXPECT_EQ(
      manager.get_resource_stats(ResourceType::COMPUTATIONAL).allocation_count,
      0u);
}

TEST(Facade, SeedReleaseGivesBackAtMostWhatIsHeld) {
  ResourceManager manager;
  manager.allocate_resource({"m", ResourceType::IO, Priority::NORMAL, 10.0f});
  manager.release_resource("m", ResourceType::IO, 50.0f); // more than held
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::IO), 100.0f);
  manager.release_resource("m", ResourceType::IO, 5.0f); // holds nothing: no-op
  manager.release_resource("stranger", ResourceType::IO, 5.0f);
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::IO), 100.0f);
  expect_exact_ledger(manager);
}

TEST(Facade, BadInputGetsItsErrorAndChangesNothing) {
  ResourceManager manager;
  ASSERT_TRUE(manager.try_allocate_resource(
      {"vision", ResourceType::COMPUTATIONAL, Priority::NORMAL, 10.0f}));
  auto before = manager.get_status();
  ASSERT_TRUE(before);
  auto alloc = [&](const std::string& who, ResourceType type, float amount) {
    return manager.try_allocate_resource({who, type, Priority::NORMAL, amount});
  };
  EXPECT_TRUE(
      fails_with(alloc("vision", ResourceType::COMPUTATIONAL, std::nanf("")),
                 ec::invalid_amount));
  EXPECT_TRUE(fails_with(alloc("vision", ResourceType::COMPUTATIONAL, INFINITY),
                         ec::invalid_amount));
  EXPECT_TRUE(fails_with(alloc("vision", ResourceType::COMPUTATIONAL, -1.0f),
                         ec::invalid_amount));
  EXPECT_TRUE(fails_with(alloc("vision", ResourceType::COMPUTATIONAL, 0.0f),
                         ec::invalid_amount));
  EXPECT_TRUE(fails_with(alloc("vision", ResourceType::COMPUTATIONAL, 101.0f),
                         ec::exceeds_capacity));
  EXPECT_TRUE(fails_with(alloc("vision", static_cast<ResourceType>(42), 1.0f),
                         ec::unknown_resource_type));
  EXPECT_TRUE(fails_with(alloc("", ResourceType::COMPUTATIONAL, 1.0f),
                         ec::empty_requester));
  EXPECT_TRUE(fails_with(manager.try_release_resource(
                             "vision", ResourceType::COMPUTATIONAL, 11.0f),
                         ec::release_exceeds_holding));
  EXPECT_TRUE(fails_with(
      manager.try_release_resource("nobody", ResourceType::COMPUTATIONAL, 1.0f),
      ec::nothing_held));
  // The seed's signatures stay quiet and change nothing either.
  auto refused =
      manager.allocate_resource({"vision", ResourceType::COMPUTATIONAL,
                                 Priority::CRITICAL, std::nanf("")});
  EXPECT_FLOAT_EQ(refused.allocated_amount, 0.0f);
  manager.release_resource("vision", ResourceType::COMPUTATIONAL, -3.0f);
  EXPECT_FLOAT_EQ(
      manager.get_available_resources(static_cast<ResourceType>(42)), 0.0f);
  auto after = manager.get_status();
  ASSERT_TRUE(after);
  for (std::size_t i = 0; i < resource_type_count; ++i) {
    EXPECT_EQ((*after)[i].held, (*before)[i].held);
    EXPECT_EQ((*after)[i].available, (*before)[i].available);
  }
}

TEST(Facade, BadConfigurationIsRefusedAsAWhole) {
  // The constructor refuses and starts nothing.
  try {
    ResourceManager broken({{"computational_capacity", -5.0f}});
    FAIL() << "a negative capacity was accepted";
  } catch (const Error& err) {
    EXPECT_EQ(err.code(), ec::invalid_config_value);
    EXPECT_NE(std::string{err.what()}.find("computational_capacity"),
              std::string::npos);
  }
  EXPECT_THROW(ResourceManager({{"no_such_key", 1.0f}}), Error);
  ResourceManager manager;
  manager.allocate_resource(
      {"m", ResourceType::NETWORK, Priority::NORMAL, 60.0f});
  // update_config never throws and changes nothing on an unknown key, a bad
  // value, or a capacity below what is held; try_update_config says why.
  EXPECT_NO_THROW(
      manager.update_config({{"io_capacity", 50.0f}, {"typo", 1.0f}}));
  EXPECT_NO_THROW(manager.update_config({{"alert_threshold", 1.5f}}));
  EXPECT_NO_THROW(manager.update_config(
      {{"io_capacity", 50.0f}, {"network_capacity", 40.0f}}));
  EXPECT_TRUE(fails_with(
      manager.try_update_config({{"io_capacity", 50.0f}, {"typo", 1.0f}}),
      ec::unknown_config_key));
  EXPECT_TRUE(fails_with(manager.try_update_config({{"alert_threshold", 1.5f}}),
                         ec::invalid_config_value));
  EXPECT_TRUE(
      fails_with(manager.try_update_config(
                     {{"io_capacity", 50.0f}, {"network_capacity", 40.0f}}),
                 ec::capacity_below_usage));
  auto config = manager.get_config();
  EXPECT_DOUBLE_EQ(config.capacity_of(ResourceType::IO), 100.0);
  EXPECT_DOUBLE_EQ(config.capacity_of(ResourceType::NETWORK), 100.0);
  EXPECT_DOUBLE_EQ(config.alert_threshold, 0.85);
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::NETWORK),
                  40.0f);
}

TEST(Facade, TenThreadsMakingTenGrantsOfFiveAllSucceedExactly) {
  ResourceManager manager({{"computational_capacity", 1000.0f}});
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto a = manager.allocate_resource({"thread" + std::to_string(t),
                                            ResourceType::COMPUTATIONAL,
                                            Priority::NORMAL, 5.0f});
        if (a.fully_satisfied && a.allocated_amount == 5.0f)
          ++granted;
      }
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(granted.load(), 100);
  auto status = manager.get_pool_status(ResourceType::COMPUTATIONAL);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->held, 500 * units_per_amount);
  EXPECT_EQ(status->available, 500 * units_per_amount);
  EXPECT_EQ(status->holders, 10u);
  for (int t = 0; t < 10; ++t)
    EXPECT_FLOAT_EQ(manager.get_holding("thread" + std::to_string(t),
                                        ResourceType::COMPUTATIONAL),
                    50.0f);
}

TEST(Facade, EightThreadsRacingForTwoHundredGrantsGetExactlyOneHundred) {
  ResourceManager manager({{"computational_capacity", 100.0f}});
  std::atomic<int> granted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto a = manager.try_allocate_resource({"racer" + std::to_string(t),
                                                ResourceType::COMPUTATIONAL,
                                                Priority::NORMAL, 1.0f});
        if (a)
          ++granted;
        else if (is(a.error(), ec::insufficient_resources))
          ++refused;
      }
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(granted.load(), 100);
  EXPECT_EQ(refused.load(), 100);
  auto stats = manager.get_resource_stats(ResourceType::COMPUTATIONAL);
  EXPECT_EQ(stats.allocation_count, 100u);
  EXPECT_EQ(stats.rejection_count, 100u);
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::COMPUTATIONAL),
                  0.0f);
  expect_exact_ledger(manager);
}

TEST(Facade, RunsInsideAHostActorSystemAndSurvivesAPoolCrash) {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  ResourceManager manager(sys, ConfigMap{{"memory_capacity", 4096.0f}});
  ASSERT_TRUE(manager.try_allocate_resource(
      {"m", ResourceType::MEMORY, Priority::NORMAL, 100.0f}));
  // Kill the memory pool behind the facade's back: the next call finds the
  // replacement through the manager.
  caf::scoped_actor self{sys};
  PoolDirectory pools;
  self->request(manager.manager(), caf::infinite, pools_atom::value)
      .receive([&](PoolDirectory& d) { pools = std::move(d); },
               [&](caf::error& err) { FAIL() << describe(err); });
  self->monitor(pools[ResourceType::MEMORY]);
  caf::anon_send_exit(pools[ResourceType::MEMORY], caf::exit_reason::kill);
  self->receive([](caf::down_msg&) {});
  auto grant = manager.try_allocate_resource(
      {"m", ResourceType::MEMORY, Priority::NORMAL, 100.0f});
  ASSERT_TRUE(grant) << describe(grant.error());
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::MEMORY),
                  3996.0f);
}

TEST(Facade, ARequestWithADeadlineBlocksUntilCapacityFrees) {
  ResourceManager manager({{"computational_capacity", 100.0f}});
  auto first = manager.try_allocate_resource(
      {"bulk", ResourceType::COMPUTATIONAL, Priority::NORMAL, 100.0f});
  ASSERT_TRUE(first);
  // Another thread waits (up to 10 s) for 40; this thread then frees 50.
  caf::expected<ResourceAllocation> waited{caf::sec::unexpected_response};
  std::thread waiter([&] {
    waited = manager.try_allocate_resource(
        {"vision", ResourceType::COMPUTATIONAL, Priority::HIGH, 40.0f,
         std::chrono::milliseconds(10000)});
  });
  // The release happens-before or -after the waiter's request; either way the
  // waiter ends up with its 40 (granted at once or when capacity frees).
  auto receipt =
      manager.try_release_grant(ResourceType::COMPUTATIONAL, first->grant_id);
  ASSERT_TRUE(receipt) << describe(receipt.error());
  waiter.join();
  ASSERT_TRUE(waited) << describe(waited.error());
  EXPECT_TRUE(waited->fully_satisfied);
  EXPECT_FLOAT_EQ(manager.get_available_resources(ResourceType::COMPUTATIONAL),
                  60.0f);
  // Releasing the same grant twice is refused.
  EXPECT_TRUE(fails_with(
      manager.try_release_grant(ResourceType::COMPUTATIONAL, first->grant_id),
      ec::unknown_grant));
}

TEST(Facade, ADeadlineThatPassesReturnsDeadlineExpired) {
  ResourceManager manager({{"computational_capacity", 100.0f}});
  ASSERT_TRUE(manager.try_allocate_resource(
      {"bulk", ResourceType::COMPUTATIONAL, Priority::NORMAL, 100.0f}));
  auto waited = manager.try_allocate_resource(
      {"vision", ResourceType::COMPUTATIONAL, Priority::HIGH, 40.0f,
       std::chrono::milliseconds(20)});
  EXPECT_TRUE(fails_with(waited, ec::deadline_expired));
  auto seed_style = manager.allocate_resource(
      {"vision", ResourceType::COMPUTATIONAL, Priority::HIGH, 40.0f,
       std::chrono::milliseconds(20)});
  EXPECT_FLOAT_EQ(seed_style.allocated_amount, 0.0f);
}
