// Deterministic message scripts against the manager: pool directory,
// configuration as a whole, fan-out queries, reset and supervision.
#include "fixture.hpp"

#include "actors/manager.hpp"

using namespace rros;
using namespace rros::test;

namespace {

class ManagerTest : public DeterministicFixture {
public:
  ManagerTest() {
    manager_ = spawn_manager(sys, Config{});
    run();
    pools_ = ask_ok<PoolDirectory>(manager_, pools_atom::value);
  }

  ~ManagerTest() override {
    caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
    run();
  }

  caf::expected<ResourceAllocation> allocate(ResourceType type, float amount) {
    return ask<ResourceAllocation>(pools_[type], allocate_atom::value,
                                   request("module", type, amount));
  }

  std::vector<PoolStatus> status() {
    return ask_ok<std::vector<PoolStatus>>(manager_, status_atom::value);
  }

  manager_actor manager_;
  PoolDirectory pools_;
};

} // namespace

TEST_F(ManagerTest, HandsOutOnePoolPerTypeWithTheConfiguredCapacity) {
  ASSERT_EQ(pools_.pools.size(), resource_type_count);
  auto all = status();
  ASSERT_EQ(all.size(), resource_type_count);
  Config defaults;
  for (auto type : all_resource_types) {
    auto i = static_cast<std::size_t>(type);
    EXPECT_EQ(all[i].type, type);
    EXPECT_EQ(all[i].capacity,
              static_cast<units>(defaults.capacity[i] * units_per_amount));
    EXPECT_EQ(all[i].available, all[i].capacity);
    // The handle reaches the right pool in one hop.
    EXPECT_EQ(ask_ok<PoolStatus>(pools_[type], status_atom::value).type, type);
  }
}

TEST_F(ManagerTest, ConfigurationIsAppliedAsAWhole) {
  auto applied = ask<Config>(manager_, configure_atom::value,
                             ConfigMap{{"computational_capacity", 200.0f},
                                       {"attention_capacity", 2.0f},
                                       {"alert_threshold", 0.75f}});
  ASSERT_TRUE(applied) << describe(applied.error());
  EXPECT_DOUBLE_EQ(applied->capacity_of(ResourceType::COMPUTATIONAL), 200.0);
  EXPECT_DOUBLE_EQ(applied->alert_threshold, static_cast<double>(0.75f));
  auto all = status();
  EXPECT_EQ(all[0].capacity, 200 * units_per_amount);
  EXPECT_EQ(all[2].capacity, 2 * units_per_amount);
  EXPECT_EQ(ask_ok<Config>(manager_, config_atom::value), *applied);
}

TEST_F(ManagerTest, BadConfigurationChangesNothing) {
  auto before = status();
  auto config_before = ask_ok<Config>(manager_, config_atom::value);
  // A good key beside an unknown one: neither is applied.
  EXPECT_TRUE(
      fails_with(ask<Config>(manager_, configure_atom::value,
                             ConfigMap{{"computational_capacity", 300.0f},
                                       {"warp_drive", 1.0f}}),
                 ec::unknown_config_key));
  EXPECT_TRUE(fails_with(ask<Config>(manager_, configure_atom::value,
                                     ConfigMap{{"io_capacity", 300.0f},
                                               {"memory_capacity", -1.0f}}),
                         ec::invalid_config_value));
  for (auto pool : status())
    EXPECT_EQ(pool.capacity,
              before[static_cast<std::size_t>(pool.type)].capacity);
  EXPECT_EQ(ask_ok<Config>(manager_, config_atom::value), config_before);
}

TEST_F(ManagerTest, CapacityBelowUsageRollsBackEveryChangeOfTheUpdate) {
  ASSERT_TRUE(allocate(ResourceType::NETWORK, 80.0f));
  // COMPUTATIONAL would grow (applied first), NETWORK cannot shrink below 80.
  auto result = ask<Config>(manager_, configure_atom::value,
                            ConfigMap{{"computational_capacity", 500.0f},
                                      {"network_capacity", 50.0f}});
  EXPECT_TRUE(fails_with(result, ec::capacity_below_usage));
  run(); // let the rollback land
  auto all = status();
  EXPECT_EQ(all[0].capacity, 100 * units_per_amount);
  EXPECT_EQ(all[4].capacity, 100 * units_per_amount);
  EXPECT_EQ(all[4].held, 80 * units_per_amount);
  EXPECT_DOUBLE_EQ(ask_ok<Config>(manager_, config_atom::value)
                       .capacity_of(ResourceType::COMPUTATIONAL),
                   100.0);
}

TEST_F(ManagerTest, ResetEmptiesEveryPool) {
  for (auto type : all_resource_types)
    ASSERT_TRUE(allocate(type, 0.5f));
  auto after = ask_ok<std::vector<PoolStatus>>(manager_, reset_atom::value);
  ASSERT_EQ(after.size(), resource_type_count);
  for (const auto& pool : after) {
    EXPECT_EQ(pool.held, 0);
    EXPECT_EQ(pool.available, pool.capacity);
  }
  for (const auto& stats :
       ask_ok<std::vector<ResourceStats>>(manager_, stats_atom::value))
    EXPECT_EQ(stats.allocation_count, 0u);
}

TEST_F(ManagerTest, ACrashedPoolIsReplacedWithItsConfiguredCapacity) {
  ASSERT_TRUE(ask<Config>(manager_, configure_atom::value,
                          ConfigMap{{"memory_capacity", 4096.0f}}));
  ASSERT_TRUE(allocate(ResourceType::MEMORY, 1024.0f));
  auto old_pool = pools_[ResourceType::MEMORY];
  // The memory pool dies.
  caf::anon_send_exit(old_pool, caf::exit_reason::kill);
  run();
  // The manager heard of it and spawned a replacement.
  EXPECT_EQ(ask_ok<std::uint64_t>(manager_, restarts_atom::value), 1u);
  auto fresh = ask_ok<PoolDirectory>(manager_, pools_atom::value);
  EXPECT_NE(fresh[ResourceType::MEMORY], old_pool);
  // Capacity (configuration) survives; the dead pool's holdings do not.
  auto status =
      ask_ok<PoolStatus>(fresh[ResourceType::MEMORY], status_atom::value);
  EXPECT_EQ(status.capacity, 4096 * units_per_amount);
  EXPECT_EQ(status.held, 0);
  // The other pools were untouched.
  EXPECT_EQ(fresh[ResourceType::COMPUTATIONAL],
            pools_[ResourceType::COMPUTATIONAL]);
  // The old handle now fails cleanly; the new one serves.
  EXPECT_FALSE(ask<PoolStatus>(old_pool, status_atom::value));
  EXPECT_TRUE(
      ask<ResourceAllocation>(fresh[ResourceType::MEMORY], allocate_atom::value,
                              request("m", ResourceType::MEMORY, 10.0f)));
}

TEST_F(ManagerTest, StoppingTheManagerStopsItsPools) {
  auto pool = pools_[ResourceType::IO];
  caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
  run();
  EXPECT_FALSE(ask<PoolStatus>(pool, status_atom::value));
}
