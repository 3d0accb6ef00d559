// Several nodes on CAF's simulated network (caf/test/io_dsl.hpp): each
// "planet" is an actor system of its own with the deterministic coordinator
// and the middleman on CAF's test multiplexer, so the BASP traffic between
// them (handles, requests, monitors, down messages) runs in one thread, in
// a repeatable order, on virtual time. This program uses CAF's own unit test
// framework, which the network DSL is written for (the other tests use
// GoogleTest): a node is reached over the network, a client of another node
// places on it, a client that ends gives its grants back exactly, and a
// node that ends turns its grants into node_lost notices.
#define CAF_SUITE rros_network

#include <caf/test/io_dsl.hpp>

#include "actors/cluster_client.hpp"
#include "actors/manager.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "messages/validate.hpp"

using namespace rros;

namespace {

/// A node's configuration: the middleman (on the test multiplexer, set by
/// the fixture) and rros's message types.
struct planet_config : caf::actor_system_config {
  planet_config() {
    load<caf::io::middleman>();
    register_types(*this);
  }
};

using planet_base = test_coordinator_fixture<planet_config>;

using planet = test_node_fixture<planet_base>;

/// Mars runs a node (a manager published on port 4242); earth runs clients
/// that reach it over the simulated network. Like CAF's
/// point_to_point_fixture, but the nodes run until nothing moves without
/// firing timers: a node's monitor and predictor poll forever, so CAF's
/// exec_all (which fires every pending timer until none is left) would not
/// end. Virtual time stands still unless a test moves it.
struct fixture : test_network_fixture_base<planet> {
  planet earth;
  planet mars;

  fixture()
    : test_network_fixture_base<planet>({&earth, &mars})
    , earth([this] { run(); })
    , mars([this] { run(); }) {
    run();
    manager = spawn_manager(mars.sys);
    run();
    // The simulated connection first: it gives mars its acceptor.
    prepare_connection(mars, earth, "mars", 4242);
    mars.publish(manager, 4242);
    earth.sched.inline_next_enqueue();
    earth.sched.after_next_enqueue([this] { run(); });
    auto reached = earth.mm.remote_actor<manager_actor>("mars", 4242);
    if (!reached)
      CAF_FAIL("cannot reach mars: " << earth.sys.render(reached.error()));
    remote_manager = *reached;
    run();
    pools = ask_on_earth<PoolDirectory>(remote_manager, pools_atom::value);
  }

  ~fixture() {
    // A clean stop ends the node's children and their timers too.
    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
    run();
  }

  /// Every message of both nodes and every byte between them, until
  /// nothing moves.
  void run() {
    auto step = [](planet& p) {
      return p.sched.try_run_once() || p.mpx.read_data() ||
             p.mpx.try_exec_runnable() || p.mpx.try_accept_connection();
    };
    while (step(earth) || step(mars))
      ; // again
  }

  /// Runs both nodes until `done`, firing the next due timer of either
  /// node whenever nothing else moves (the middleman on the test
  /// multiplexer needs that now and then, as under CAF's exec_all), at
  /// most `max_timers` times.
  template <class Done>
  void settle(Done done, int max_timers = 100) {
    run();
    for (int fired = 0; !done() && fired < max_timers; ++fired) {
      if (!earth.sched.trigger_timeout() && !mars.sched.trigger_timeout())
        break;
      run();
    }
  }

  /// A request from earth's test actor, with every node and the network
  /// run until nothing moves; the reply, or the error.
  template <class Result, class Handle, class... Ts>
  caf::expected<Result> ask_on_earth(const Handle& dest, Ts&&... xs) {
    auto handle =
        earth.self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    settle([&] { return !earth.self->mailbox().empty(); });
    caf::expected<Result> result{caf::sec::request_timeout};
    if (earth.self->mailbox().empty())
      return result;
    handle.receive([&](Result& reply) { result = std::move(reply); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// The COMPUTATIONAL pool as mars itself sees it.
  PoolStatus on_mars() {
    auto handle =
        mars.self->request(manager, caf::infinite, status_atom::value);
    settle([&] { return !mars.self->mailbox().empty(); });
    PoolStatus status;
    handle.receive(
        [&](std::vector<PoolStatus>& pools) { status = pools.at(0); },
        [&](caf::error& err) { CAF_FAIL("status: " << describe(err)); });
    return status;
  }

  /// A cluster client on earth that knows mars as node "m", run 1.
  cluster_client_actor earth_client() {
    auto client = earth.sys.spawn(cluster_client);
    earth.self->send(
        client, nodes_atom::value,
        std::vector<ClusterNode>{ClusterNode{"m", 1, remote_manager, *pools}});
    run();
    return client;
  }

  ResourceRequest request(float amount) {
    return ResourceRequest{"earthling", ResourceType::COMPUTATIONAL,
                           Priority::NORMAL, amount};
  }

  manager_actor manager;
  manager_actor remote_manager;
  caf::expected<PoolDirectory> pools{caf::sec::none};
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(network_tests, fixture)

CAF_TEST(a node reached over the network grants and takes back exactly) {
  CAF_REQUIRE(pools);
  CAF_REQUIRE_EQUAL(pools->pools.size(), resource_type_count);
  auto grant = ask_on_earth<ResourceAllocation>(
      pools->pools[0], allocate_atom::value, request(30));
  CAF_REQUIRE(grant);
  CAF_CHECK_EQUAL(on_mars().held, to_units(30));
  auto receipt = ask_on_earth<ReleaseReceipt>(
      pools->pools[0], release_atom::value, grant->grant_id);
  CAF_REQUIRE(receipt);
  auto status = on_mars();
  CAF_CHECK_EQUAL(status.held, 0);
  CAF_CHECK_EQUAL(status.available, status.capacity);
}

CAF_TEST(a cluster client of another node places and releases there) {
  auto client = earth_client();
  auto placed =
      ask_on_earth<ClusterGrant>(client, allocate_atom::value, request(40));
  CAF_REQUIRE(placed);
  CAF_CHECK_EQUAL(placed->node, "m");
  CAF_CHECK_EQUAL(on_mars().held, to_units(40));
  auto receipt =
      ask_on_earth<ReleaseReceipt>(client, release_atom::value, *placed);
  CAF_REQUIRE(receipt);
  CAF_CHECK_EQUAL(on_mars().held, 0);
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(the grants of a holder that ends on another node return exactly) {
  auto client = earth_client();
  for (float amount : {10.0f, 15.0f, 20.0f})
    CAF_REQUIRE(ask_on_earth<ClusterGrant>(client, allocate_atom::value,
                                           request(amount)));
  CAF_CHECK_EQUAL(on_mars().held, to_units(45));
  // The client's process crashes: mars's pools hear of it over BASP.
  caf::anon_send_exit(client, caf::exit_reason::kill);
  run();
  auto status = on_mars();
  CAF_CHECK_EQUAL(status.held, 0);
  CAF_CHECK_EQUAL(status.holders, 0u);
  CAF_CHECK_EQUAL(status.available, status.capacity);
}

CAF_TEST(a node that ends turns its grants into node_lost notices) {
  auto client = earth_client();
  auto placed =
      ask_on_earth<ClusterGrant>(client, allocate_atom::value, request(25));
  CAF_REQUIRE(placed);
  // Mars's node ends: earth's client hears of it over BASP (a down message
  // for the manager's proxy) within a few of the nodes' timer events.
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  auto t0 = earth.sched.clock().now();
  caf::expected<std::vector<ClusterNotice>> notices{caf::sec::none};
  for (int i = 0; i < 20; ++i) {
    notices =
        ask_on_earth<std::vector<ClusterNotice>>(client, notices_atom::value);
    if (!notices || !notices->empty())
      break;
    earth.sched.trigger_timeout() || mars.sched.trigger_timeout();
  }
  CAF_MESSAGE("node_lost after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     earth.sched.clock().now() - t0)
                     .count()
              << " ms of virtual time");
  CAF_REQUIRE(notices);
  CAF_REQUIRE_EQUAL(notices->size(), 1u);
  CAF_CHECK_EQUAL(notices->at(0).reason, "node_lost");
  CAF_CHECK_EQUAL(notices->at(0).grant.grant_id, placed->allocation.grant_id);
  // A late release is refused and credits nothing anywhere.
  auto late =
      ask_on_earth<ReleaseReceipt>(client, release_atom::value, *placed);
  CAF_REQUIRE(!late);
  CAF_CHECK(is(late.error(), ec::unknown_grant));
  auto nodes =
      ask_on_earth<std::vector<ClusterNode>>(client, nodes_atom::value);
  CAF_REQUIRE(nodes);
  CAF_CHECK(nodes->empty());
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST_FIXTURE_SCOPE_END()
