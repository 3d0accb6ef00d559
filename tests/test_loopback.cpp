// Integration on real sockets: one actor system publishes the manager through
// CAF's middleman on 127.0.0.1 (port 0: any free port); a second actor system
// connects and allocates and releases through the pool proxies it is given.
#include <atomic>
#include <cmath>
#include <memory>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <gtest/gtest.h>

#include "actors/manager.hpp"
#include "facade/resource_manager.hpp"

using namespace rros;

namespace {

caf::actor_system_config& networked(caf::actor_system_config& cfg) {
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  return cfg;
}

struct Node {
  caf::actor_system_config cfg;
  caf::actor_system sys{networked(cfg)};
};

/// Stops the manager on every way out of the test, so that a failed assertion
/// does not leave the server's actor system waiting for it forever.
struct StopOnExit {
  manager_actor manager;
  ~StopOnExit() {
    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  }
};

} // namespace

TEST(Loopback, ASecondNodeAllocatesAndReleasesThroughTheMiddleman) {
  Node server;
  auto manager = spawn_manager(server.sys, Config{});
  StopOnExit stop{manager};
  auto port = server.sys.middleman().publish(manager, 0, "127.0.0.1");
  ASSERT_TRUE(port) << describe(port.error());
  ASSERT_NE(*port, 0);

  Node client;
  auto remote =
      client.sys.middleman().remote_actor<manager_actor>("127.0.0.1", *port);
  ASSERT_TRUE(remote) << describe(remote.error());
  {
    ResourceManager facade(client.sys, *remote);
    ResourceRequest req("remote_vision", ResourceType::COMPUTATIONAL,
                        Priority::HIGH, 30.0f);
    auto grant = facade.try_allocate_resource(req);
    ASSERT_TRUE(grant) << describe(grant.error());
    EXPECT_TRUE(grant->fully_satisfied);
    EXPECT_FLOAT_EQ(grant->allocated_amount, 30.0f);
    // Errors travel back with their category and text.
    auto refused = facade.try_allocate_resource({"remote_vision",
                                                 ResourceType::COMPUTATIONAL,
                                                 Priority::NORMAL, 500.0f});
    ASSERT_FALSE(refused);
    EXPECT_TRUE(is(refused.error(), ec::exceeds_capacity))
        << describe(refused.error());
    EXPECT_FLOAT_EQ(facade.get_available_resources(ResourceType::COMPUTATIONAL),
                    70.0f);
    auto receipt = facade.try_release_resource(
        "remote_vision", ResourceType::COMPUTATIONAL, 30.0f);
    ASSERT_TRUE(receipt) << describe(receipt.error());
    EXPECT_FLOAT_EQ(receipt->released_amount, 30.0f);
    auto status = facade.get_status();
    ASSERT_TRUE(status);
    EXPECT_EQ((*status)[0].available, (*status)[0].capacity);
    EXPECT_EQ((*status)[0].held, 0);
  }
  // The server's own view agrees: the ledger is back at capacity.
  caf::scoped_actor self{server.sys};
  self->request(manager, caf::infinite, status_atom::value)
      .receive(
          [](const std::vector<PoolStatus>& pools) {
            EXPECT_EQ(pools[0].held, 0);
            EXPECT_EQ(pools[0].available, pools[0].capacity);
          },
          [](caf::error& err) { FAIL() << describe(err); });
}

TEST(Loopback, GrantsOfAHolderOnANodeThatDisconnectsReturn) {
  Node server;
  auto manager = spawn_manager(server.sys, Config{});
  StopOnExit stop{manager};
  auto port = server.sys.middleman().publish(manager, 0, "127.0.0.1");
  ASSERT_TRUE(port) << describe(port.error());
  caf::scoped_actor self{server.sys};
  auto server_status = [&] {
    std::vector<PoolStatus> result;
    self->request(manager, caf::infinite, status_atom::value)
        .receive([&](std::vector<PoolStatus>& xs) { result = std::move(xs); },
                 [&](caf::error& err) { ADD_FAILURE() << describe(err); });
    return result;
  };
  {
    auto client = std::make_unique<Node>();
    auto remote =
        client->sys.middleman().remote_actor<manager_actor>("127.0.0.1", *port);
    ASSERT_TRUE(remote) << describe(remote.error());
    // An actor on the client node takes grants in two pools and keeps them.
    caf::scoped_actor client_self{client->sys};
    PoolDirectory pools;
    client_self->request(*remote, caf::infinite, pools_atom::value)
        .receive([&](PoolDirectory& d) { pools = std::move(d); },
                 [&](caf::error& err) { FAIL() << describe(err); });
    auto granted = std::make_shared<std::atomic<int>>(0);
    auto module =
        client->sys.spawn([=](caf::event_based_actor* me) -> caf::behavior {
          for (auto type : {ResourceType::COMPUTATIONAL, ResourceType::MEMORY})
            me->request(pools[type], caf::infinite, allocate_atom::value,
                        ResourceRequest{"remote-module", type, Priority::NORMAL,
                                        40.0f})
                .then([=](ResourceAllocation&) { ++*granted; });
          return {[](revoke_atom, const GrantNotice&) {}};
        });
    // Real sockets: wait (bounded, each check a real round trip) until both
    // sides have seen what the test expects.
    auto eventually = [&](auto condition) {
      auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
          return false;
        std::this_thread::yield();
      }
      return true;
    };
    auto holds = [&](bool expected) {
      auto pools = server_status();
      return (pools[0].held > 0) == expected && (pools[1].held > 0) == expected;
    };
    ASSERT_TRUE(eventually([&] { return granted->load() == 2 && holds(true); }))
        << "grants never arrived";
    // The client node's network layer (the BASP broker) dies while the
    // module lives on: for the server, that node has disconnected.
    auto basp = client->sys.middleman().named_broker<caf::io::basp_broker>(
        caf::atom("BASP"));
    ASSERT_TRUE(basp);
    caf::anon_send_exit(basp, caf::exit_reason::kill);
    // The connection is gone: the pools heard their holder's proxy go down.
    EXPECT_TRUE(eventually([&] { return holds(false); }))
        << "grants of a disconnected node were not returned";
    caf::anon_send_exit(module, caf::exit_reason::user_shutdown);
  }
}

TEST(Loopback, ARemoteHolderReceivesItsRevokeNoticeAndQuotasAreRefused) {
  Node server;
  auto manager = spawn_manager(server.sys, Config{});
  StopOnExit stop{manager};
  auto port = server.sys.middleman().publish(manager, 0, "127.0.0.1");
  ASSERT_TRUE(port) << describe(port.error());
  Node client;
  auto remote =
      client.sys.middleman().remote_actor<manager_actor>("127.0.0.1", *port);
  ASSERT_TRUE(remote) << describe(remote.error());
  caf::scoped_actor client_self{client.sys};
  PoolDirectory pools;
  client_self->request(*remote, caf::infinite, pools_atom::value)
      .receive([&](PoolDirectory& d) { pools = std::move(d); },
               [&](caf::error& err) { FAIL() << describe(err); });
  // A quota travels to the pool, where administration from another node is
  // refused by name (docs/security.md).
  Quota quota{"perception", {"remote-module"}, 0.0f, 50.0f, 2.0f};
  client_self
      ->request(pools[ResourceType::ATTENTION], caf::infinite,
                quota_atom::value, quota)
      .receive([&](Quota&) { ADD_FAILURE() << "a remote quota was set"; },
               [&](caf::error& err) {
                 EXPECT_TRUE(is(err, ec::not_permitted)) << describe(err);
               });
  // A remote module takes a grant with a short time-to-live: at expiry the
  // notice must reach it across the wire; it forwards it to the test.
  caf::actor test_inbox = client_self;
  auto module =
      client.sys.spawn([=](caf::event_based_actor* me) -> caf::behavior {
        ResourceRequest req{"remote-module", ResourceType::ATTENTION,
                            Priority::NORMAL, 0.25f};
        req.ttl = std::chrono::milliseconds(50);
        me->request(pools[ResourceType::ATTENTION], caf::infinite,
                    allocate_atom::value, req)
            .then([](ResourceAllocation&) {});
        return {[=](revoke_atom, const GrantNotice& notice) {
          me->send(test_inbox, revoke_atom::value, notice);
        }};
      });
  // Bounded by a receive timeout on the real clock, not by sleeping.
  bool arrived = false;
  client_self->receive(
      [&](revoke_atom, const GrantNotice& notice) {
        arrived = true;
        EXPECT_EQ(notice.reason, RevokeReason::expired);
        EXPECT_EQ(notice.resource_type, ResourceType::ATTENTION);
      },
      caf::after(std::chrono::seconds(10)) >> [] {});
  EXPECT_TRUE(arrived) << "the revoke notice never arrived";
  caf::anon_send_exit(module, caf::exit_reason::user_shutdown);
}
