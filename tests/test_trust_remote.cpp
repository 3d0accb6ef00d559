// Trust over the wire (docs/security.md): a node publishes its manager on
// 127.0.0.1 (port 0: any free port); a victim and an attacker connect from
// two other actor systems (two connections). The attacker's forged timers
// and foreign releases reach the pool through its proxy and change nothing.
// Every wait is bounded by a receive timeout.
#include <chrono>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <gtest/gtest.h>

#include "actors/manager.hpp"
#include "messages/error.hpp"
#include "messages/limits.hpp"
#include "messages/validate.hpp"

using namespace rros;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;
constexpr auto reply_timeout = std::chrono::seconds(10);

caf::actor_system_config& networked(caf::actor_system_config& cfg) {
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  return cfg;
}

struct Node {
  caf::actor_system_config cfg;
  caf::actor_system sys{networked(cfg)};
};

struct StopOnExit {
  manager_actor manager;
  ~StopOnExit() {
    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  }
};

/// One request and its reply (or error) within reply_timeout.
template <class Result, class Handle, class... Ts>
caf::expected<Result> ask(caf::scoped_actor& who, const Handle& dest,
                          Ts&&... xs) {
  caf::expected<Result> result{caf::sec::request_timeout};
  who->request(dest, reply_timeout, std::forward<Ts>(xs)...)
      .receive([&](Result& reply) { result = std::move(reply); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

template <class T>
::testing::AssertionResult fails_with(const caf::expected<T>& x, ec code) {
  if (x)
    return ::testing::AssertionFailure() << "succeeded";
  if (!is(x.error(), code))
    return ::testing::AssertionFailure() << describe(x.error());
  return ::testing::AssertionSuccess();
}

PoolDirectory pools_of(Node& node, std::uint16_t port) {
  auto manager =
      node.sys.middleman().remote_actor<manager_actor>("127.0.0.1", port);
  EXPECT_TRUE(manager) << describe(manager.error());
  if (!manager)
    return {};
  caf::scoped_actor self{node.sys};
  auto dir = ask<PoolDirectory>(self, *manager, pools_atom::value);
  EXPECT_TRUE(dir) << describe(dir.error());
  return dir ? *dir : PoolDirectory{};
}

/// True when `Handle` accepts `Ts...` (a typed handle refuses the rest at
/// compile time).
template <class Handle, class... Ts>
constexpr bool accepts =
    caf::response_type<typename Handle::signatures, Ts...>::valid;

// A client handle of the manager has no administration.
static_assert(accepts<manager_client_actor, pools_atom>);
static_assert(accepts<manager_client_actor, status_atom>);
static_assert(!accepts<manager_client_actor, configure_atom, ConfigMap>);
static_assert(!accepts<manager_client_actor, reset_atom>);
static_assert(accepts<manager_admin_actor, configure_atom, ConfigMap>);
// A pool's client interface has neither administration nor internals.
static_assert(accepts<pool_client_actor, allocate_atom, ResourceRequest>);
static_assert(!accepts<pool_client_actor, capacity_atom, double>);
static_assert(!accepts<pool_client_actor, quota_atom, Quota>);
static_assert(!accepts<pool_client_actor, reset_atom>);
static_assert(!accepts<pool_client_actor, prepare_atom, ResourceRequest>);
static_assert(!accepts<pool_client_actor, deadline_atom, std::uint64_t>);
static_assert(!accepts<pool_client_actor, shed_atom, ShedPolicy>);

} // namespace

TEST(TrustRemote, AdministrationFromAnotherNodeIsRefused) {
  Node server;
  auto manager = spawn_manager(server.sys, Config{});
  StopOnExit stop{manager};
  auto port = server.sys.middleman().publish(manager, 0, "127.0.0.1");
  ASSERT_TRUE(port) << describe(port.error());
  Node client;
  auto remote =
      client.sys.middleman().remote_actor<manager_actor>("127.0.0.1", *port);
  ASSERT_TRUE(remote) << describe(remote.error());
  auto pools = pools_of(client, *port);
  ASSERT_EQ(pools.pools.size(), resource_type_count);
  caf::scoped_actor self{client.sys};
  // A client handle cannot even name configure_atom (the static_asserts
  // above); raw messages through the connection are refused at run time.
  auto raw = caf::actor_cast<caf::actor>(*remote);
  caf::expected<Config> configured{caf::sec::request_timeout};
  ConfigMap update{{Config::capacity_key(compute), 1.0f}};
  self->request(raw, reply_timeout, configure_atom::value, update)
      .receive([&](Config& c) { configured = std::move(c); },
               [&](caf::error& err) { configured = std::move(err); });
  EXPECT_TRUE(fails_with(configured, ec::not_permitted));
  EXPECT_TRUE(
      fails_with(ask<std::vector<PoolStatus>>(self, *remote, reset_atom::value),
                 ec::not_permitted));
  auto& pool = pools[compute];
  EXPECT_TRUE(fails_with(ask<PoolStatus>(self, pool, capacity_atom::value, 1.0),
                         ec::not_permitted));
  EXPECT_TRUE(fails_with(ask<PoolStatus>(self, pool, reset_atom::value),
                         ec::not_permitted));
  Quota quota{"q", {"x"}, 0.0f, 1.0f, 1.0f};
  EXPECT_TRUE(fails_with(ask<Quota>(self, pool, quota_atom::value, quota),
                         ec::not_permitted));
  // Client requests still work and the capacity is unchanged.
  auto grant = ask<ResourceAllocation>(
      self, pool, allocate_atom::value,
      ResourceRequest{"client", compute, Priority::NORMAL, 50.0f});
  ASSERT_TRUE(grant) << describe(grant.error());
  auto status = ask<PoolStatus>(self, pool, status_atom::value);
  ASSERT_TRUE(status) << describe(status.error());
  EXPECT_EQ(status->capacity, to_units(Config{}.capacity_of(compute)));
  EXPECT_EQ(status->held, to_units(50));
}

TEST(TrustRemote, AnotherConnectionCannotFailWaitsOrTouchGrants) {
  Node server;
  auto manager = spawn_manager(server.sys, Config{});
  StopOnExit stop{manager};
  auto port = server.sys.middleman().publish(manager, 0, "127.0.0.1");
  ASSERT_TRUE(port) << describe(port.error());

  Node victim_node;
  Node attacker_node;
  auto victim_pools = pools_of(victim_node, *port);
  auto attacker_pools = pools_of(attacker_node, *port);
  ASSERT_EQ(victim_pools.pools.size(), resource_type_count);
  ASSERT_EQ(attacker_pools.pools.size(), resource_type_count);
  caf::scoped_actor victim{victim_node.sys};
  caf::scoped_actor mallory{attacker_node.sys};
  auto& vpool = victim_pools[compute];
  auto& mpool = attacker_pools[compute];

  // Mallory's own grant tells it where the pool's ids are.
  auto own = ask<ResourceAllocation>(
      mallory, mpool, allocate_atom::value,
      ResourceRequest{"mallory", compute, Priority::NORMAL, 1.0f});
  ASSERT_TRUE(own) << describe(own.error());
  auto held = ask<ResourceAllocation>(
      victim, vpool, allocate_atom::value,
      ResourceRequest{"victim", compute, Priority::NORMAL, 99.0f});
  ASSERT_TRUE(held) << describe(held.error());
  ResourceRequest waiting{"victim", compute, Priority::NORMAL, 10.0f};
  waiting.deadline = 10s;
  auto pending =
      victim->request(vpool, 3 * reply_timeout, allocate_atom::value, waiting);

  // Forged deadlines, expiries and reclaims around mallory's id; a foreign
  // release, renewal and cancel of the victim's grant and request.
  for (auto id = own->grant_id; id <= own->grant_id + 64; ++id) {
    mallory->send(mpool, deadline_atom::value, id);
    mallory->send(mpool, expire_atom::value, id);
    mallory->send(mpool, reclaim_atom::value, id);
  }
  auto release =
      ask<ReleaseReceipt>(mallory, mpool, release_atom::value, held->grant_id);
  EXPECT_TRUE(fails_with(release, ec::unknown_grant));
  auto renew =
      ask<ResourceAllocation>(mallory, mpool, renew_atom::value, held->grant_id,
                              std::chrono::nanoseconds{1});
  EXPECT_TRUE(fails_with(renew, ec::unknown_grant));
  auto by_name = ask<ReleaseReceipt>(mallory, mpool, release_atom::value,
                                     std::string{"victim"}, 99.0f,
                                     ReleaseMode::up_to_held);
  EXPECT_TRUE(fails_with(by_name, ec::nothing_held));
  auto cancel = ask<bool>(mallory, mpool, cancel_atom::value,
                          std::string{"victim"}, std::uint64_t{0});
  EXPECT_TRUE(fails_with(cancel, ec::unknown_request));

  // Mallory's messages arrive in order on its connection: after this reply
  // every forged message has been handled.
  auto status = ask<PoolStatus>(mallory, mpool, status_atom::value);
  ASSERT_TRUE(status) << describe(status.error());
  EXPECT_EQ(status->waiting, 1u);
  EXPECT_EQ(status->held, to_units(100));

  // The victim's request still waits, and is granted once it releases.
  auto back =
      ask<ReleaseReceipt>(victim, vpool, release_atom::value, held->grant_id);
  ASSERT_TRUE(back) << describe(back.error());
  caf::expected<ResourceAllocation> granted{caf::sec::request_timeout};
  pending.receive([&](ResourceAllocation& a) { granted = std::move(a); },
                  [&](caf::error& err) { granted = std::move(err); });
  ASSERT_TRUE(granted) << describe(granted.error());
  EXPECT_EQ(granted->allocated_amount, 10.0f);
}

TEST(TrustRemote, SubsystemAdministrationFromAnotherNodeIsRefused) {
  Node server;
  auto manager = spawn_manager(server.sys, Config{});
  StopOnExit stop{manager};
  auto port = server.sys.middleman().publish(manager, 0, "127.0.0.1");
  ASSERT_TRUE(port) << describe(port.error());
  Node client;
  auto remote =
      client.sys.middleman().remote_actor<manager_actor>("127.0.0.1", *port);
  ASSERT_TRUE(remote) << describe(remote.error());
  caf::scoped_actor self{client.sys};
  auto sub = ask<Subsystems>(self, *remote, subsystems_atom::value);
  ASSERT_TRUE(sub) << describe(sub.error());
  ASSERT_TRUE(sub->monitor && sub->scheduler && sub->memory && sub->predictor &&
              sub->balancer);
  // Each subsystem's configuration and reset, from another node: refused.
  auto settings =
      ask<MonitorSettings>(self, sub->monitor, settings_atom::value);
  ASSERT_TRUE(settings) << describe(settings.error());
  auto changed = *settings;
  changed.sample_interval = std::chrono::seconds(5);
  EXPECT_TRUE(fails_with(
      ask<MonitorSettings>(self, sub->monitor, settings_atom::value, changed),
      ec::not_permitted));
  EXPECT_TRUE(fails_with(ask<std::vector<AlertRule>>(
                             self, sub->monitor, config_atom::value, Config{}),
                         ec::not_permitted));
  EXPECT_TRUE(fails_with(
      ask<AlertRule>(self, sub->monitor, threshold_atom::value,
                     AlertRule{compute, 0.1f, ResourceAlert::Severity::INFO}),
      ec::not_permitted));
  EXPECT_TRUE(
      fails_with(ask<TypeMonitorView>(self, sub->monitor, degrade_atom::value,
                                      compute, true),
                 ec::not_permitted));
  EXPECT_TRUE(fails_with(
      ask<std::vector<TypeMonitorView>>(self, sub->monitor, reset_atom::value),
      ec::not_permitted));
  EXPECT_TRUE(fails_with(ask<SchedulerSettings>(self, sub->scheduler,
                                                settings_atom::value,
                                                SchedulerSettings{}),
                         ec::not_permitted));
  EXPECT_TRUE(
      fails_with(ask<SchedulerStats>(self, sub->scheduler, reset_atom::value),
                 ec::not_permitted));
  EXPECT_TRUE(fails_with(ask<MemoryStats>(self, sub->memory, reset_atom::value),
                         ec::not_permitted));
  EXPECT_TRUE(fails_with(
      ask<MemoryStats>(self, sub->memory, config_atom::value, Config{}),
      ec::not_permitted));
  EXPECT_TRUE(
      fails_with(ask<std::uint64_t>(self, sub->predictor, reset_atom::value),
                 ec::not_permitted));
  EXPECT_TRUE(
      fails_with(ask<std::uint64_t>(self, sub->balancer, reset_atom::value),
                 ec::not_permitted));
  EXPECT_TRUE(fails_with(
      ask<LoadBalancingStrategy>(self, sub->balancer, strategy_atom::value,
                                 LoadBalancingStrategy::LEAST_LOADED),
      ec::not_permitted));
  // Nothing changed: the settings in force and no type degraded.
  auto now = ask<MonitorSettings>(self, sub->monitor, settings_atom::value);
  ASSERT_TRUE(now) << describe(now.error());
  EXPECT_EQ(now->sample_interval, settings->sample_interval);
  auto degraded = ask<bool>(self, sub->monitor, is_degraded_atom::value);
  ASSERT_TRUE(degraded) << describe(degraded.error());
  EXPECT_FALSE(*degraded);
  // Reading stays open to clients.
  EXPECT_TRUE(
      ask<LoadBalancingStrategy>(self, sub->balancer, strategy_atom::value));
}

TEST(TrustRemote, SubscriptionsFromAnotherNodeAreBoundedAndOwn) {
  Node server;
  auto manager = spawn_manager(server.sys, Config{});
  StopOnExit stop{manager};
  auto port = server.sys.middleman().publish(manager, 0, "127.0.0.1");
  ASSERT_TRUE(port) << describe(port.error());
  Node client;
  auto remote =
      client.sys.middleman().remote_actor<manager_actor>("127.0.0.1", *port);
  ASSERT_TRUE(remote) << describe(remote.error());
  caf::scoped_actor self{client.sys};
  auto sub = ask<Subsystems>(self, *remote, subsystems_atom::value);
  ASSERT_TRUE(sub) << describe(sub.error());
  // Listeners of the client's node that ignore what they hear.
  std::vector<caf::actor> listeners;
  auto spawn_listener = [&] {
    listeners.push_back(client.sys.spawn(
        []() -> caf::behavior { return {[](caf::message&) {}}; }));
    return listeners.back();
  };
  MonitorTopics alerts{false, true, false};
  for (std::size_t i = 0; i < max_subscriptions_per_node; ++i) {
    ASSERT_TRUE(ask<MonitorTopics>(self, sub->monitor, subscribe_atom::value,
                                   spawn_listener(), alerts));
    ASSERT_TRUE(ask<bool>(self, sub->scheduler, subscribe_atom::value,
                          listeners.back(), true));
  }
  auto one_more = spawn_listener();
  EXPECT_TRUE(
      fails_with(ask<MonitorTopics>(self, sub->monitor, subscribe_atom::value,
                                    one_more, alerts),
                 ec::limit_exceeded));
  EXPECT_TRUE(fails_with(
      ask<bool>(self, sub->scheduler, subscribe_atom::value, one_more, true),
      ec::limit_exceeded));
  // Changing or ending a subscription still works; an ended one frees a
  // place.
  EXPECT_TRUE(ask<MonitorTopics>(self, sub->monitor, subscribe_atom::value,
                                 listeners.front(), MonitorTopics{}));
  EXPECT_TRUE(ask<MonitorTopics>(self, sub->monitor, subscribe_atom::value,
                                 one_more, alerts));
  // Nobody subscribes a third party: an actor of the node itself (the
  // manager) named by this client is refused, and so is an anonymous
  // subscription of the client's own listener.
  auto third = caf::actor_cast<caf::actor>(*remote);
  EXPECT_TRUE(fails_with(
      ask<bool>(self, sub->scheduler, subscribe_atom::value, third, true),
      ec::not_permitted));
  EXPECT_TRUE(
      fails_with(ask<MonitorTopics>(self, sub->monitor, subscribe_atom::value,
                                    third, alerts),
                 ec::not_permitted));
  caf::anon_send(sub->monitor, subscribe_atom::value, listeners.front(),
                 alerts);
  // The anonymous subscription took no place: the client's node is still
  // at its limit.
  auto last = spawn_listener();
  EXPECT_TRUE(
      fails_with(ask<MonitorTopics>(self, sub->monitor, subscribe_atom::value,
                                    last, alerts),
                 ec::limit_exceeded));
  for (auto& l : listeners)
    caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
}
