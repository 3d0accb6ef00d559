// A cluster for real: `rros node` processes on free loopback ports with
// 100 ms heartbeats and a 500 ms connection timeout. They form a full mesh
// (read back through `rros status --json`); one node is killed and one frozen
// while shell clients hold grants on the survivor; the survivor must mark
// both lost within timeout + interval (the measured times are printed) and
// have every pool back at its full capacity; a node joins late, a node
// restarted with the same name comes back with a higher incarnation, a
// draining node is seen leaving; bad joins give one line and status 2. The
// cluster client (rros::Cluster) of this test process places grants in the
// deterministic order, on a late joiner too, and gets node_lost notices.
// Every process is stopped by its pid; every wait is bounded.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "app/tls.hpp"
#include "facade/cluster.hpp"
#include "facade/connection_liveness.hpp"
#include "messages/network.hpp"
#include "process.hpp"

using namespace rros::test;

namespace {

std::string rros_program() {
  return test_binary_dir() + "/../rros";
}

using steady = std::chrono::steady_clock;

/// One `rros node` process of the test's cluster.
struct Node {
  std::string name;
  std::string endpoint;
  std::unique_ptr<ChildProcess> process;
};

/// A member's state and usage in a node's `status --json`.
struct Seen {
  std::string state;
  std::uint64_t incarnation = 0;
  bool reported = false;
};

class ClusterProgram : public ::testing::Test {
protected:
  void SetUp() override {
    if (!file_exists(rros_program()))
      GTEST_SKIP() << "the rros program is not built at " << rros_program();
    dir_ = make_temp_dir("rros-cluster");
  }

  void TearDown() override {
    for (auto& [name, node] : nodes_) {
      if (!node.process)
        continue;
      node.process->signal(SIGCONT);
      node.process->signal(SIGTERM);
      node.process->finish(15s);
    }
    if (!dir_.empty())
      std::filesystem::remove_all(dir_);
  }

  /// Starts `rros node --name NAME` (joining through `join` when not empty)
  /// with the test's timings plus `extra`; waits for its published port
  /// (and its join). The process is returned unstarted-checked: a node that
  /// exits instead has process->exited().
  Node start(const std::string& name, const std::string& join,
             std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"node",    "--port",
                                  "0",       "--name",
                                  name,      "--log-level",
                                  "warning", "--heartbeat-interval",
                                  "100ms",   "--connection-timeout",
                                  "500ms"};
    if (!join.empty()) {
      args.push_back("--join");
      args.push_back(join);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    Node node;
    node.name = name;
    node.process = std::make_unique<ChildProcess>(rros_program(), args, dir_);
    const std::string prefix = "published on 127.0.0.1:";
    const std::string ready = join.empty() ? "incarnation" : "joined cluster";
    node.process->wait_for(
        [&] {
          auto at = node.process->out.find(ready);
          return at != std::string::npos &&
                 node.process->out.find('\n', at) != std::string::npos;
        },
        15s);
    auto at = node.process->out.find(prefix);
    if (at != std::string::npos)
      node.endpoint =
          "127.0.0.1:" + std::to_string(std::stoul(
                             node.process->out.substr(at + prefix.size())));
    return node;
  }

  /// Starts a member and keeps it for TearDown; fails the test if it did not
  /// come up.
  Node& member(const std::string& name, const std::string& join = {}) {
    auto node = start(name, join);
    EXPECT_FALSE(node.endpoint.empty() || node.process->exited())
        << node.process->out << node.process->err;
    nodes_[name] = std::move(node);
    return nodes_[name];
  }

  /// `rros status --json` of `node`, parsed; an empty document when it
  /// could not be read.
  rapidjson::Document status(const Node& node) {
    rapidjson::Document doc;
    ChildProcess status(rros_program(),
                        {"status", "--json", "--heartbeat-interval", "100ms",
                         "--timeout", "5", "--connect", node.endpoint},
                        dir_);
    if (status.finish(15s).value_or(-1) != 0)
      return doc;
    doc.Parse(status.out.c_str());
    return doc;
  }

  /// What `node` says of each member of its cluster.
  std::map<std::string, Seen> members_seen_by(const Node& node) {
    std::map<std::string, Seen> result;
    auto doc = status(node);
    if (!doc.IsObject() || !doc.HasMember("cluster"))
      return result;
    for (const auto& m : doc["cluster"]["members"].GetArray()) {
      Seen seen;
      seen.state = m["state"].GetString();
      seen.incarnation = m["incarnation"].GetUint64();
      seen.reported = m["report_age_s"].GetDouble() >= 0;
      result[m["name"].GetString()] = seen;
    }
    return result;
  }

  /// Polls until `pred(members_seen_by(node))` holds (bounded).
  template <class Pred>
  bool eventually(const Node& node, Pred pred,
                  std::chrono::seconds limit = 15s) {
    auto until = steady::now() + limit;
    while (steady::now() < until)
      if (pred(members_seen_by(node)))
        return true;
    return false;
  }

  /// True when every pool of `node` holds and reserves nothing.
  bool all_pools_free(const Node& node) {
    auto doc = status(node);
    if (!doc.IsObject() || !doc.HasMember("pools"))
      return false;
    for (const auto& p : doc["pools"].GetArray())
      if (p["held"].GetDouble() != 0 || p["reserved"].GetDouble() != 0 ||
          p["available"].GetDouble() != p["capacity"].GetDouble())
        return false;
    return true;
  }

  /// `rros alloc` holding `amount` of computational on `node` until killed.
  std::unique_ptr<ChildProcess> holder(const Node& node, const char* type,
                                       const char* amount) {
    auto alloc = std::make_unique<ChildProcess>(
        rros_program(),
        std::vector<std::string>{"alloc", "--type", type, "--amount", amount,
                                 "--heartbeat-interval", "100ms", "--connect",
                                 node.endpoint},
        dir_);
    EXPECT_TRUE(alloc->wait_for(
        [&] { return alloc->out.find("granted ") != std::string::npos; }, 15s))
        << alloc->out << alloc->err;
    return alloc;
  }

  std::string dir_;
  std::map<std::string, Node> nodes_;
};

bool all_alive(const std::map<std::string, Seen>& seen,
               std::initializer_list<const char*> names) {
  if (seen.size() != names.size())
    return false;
  for (const char* name : names) {
    auto i = seen.find(name);
    if (i == seen.end() || i->second.state != "alive")
      return false;
  }
  return true;
}

/// Seconds from `from` until a line containing `text` appeared on the
/// node's stderr (read as it comes); -1 when it did not within `limit`.
double seconds_until_line(ChildProcess& process, const std::string& text,
                          steady::time_point from, std::chrono::seconds limit) {
  if (!process.wait_for(
          [&] { return process.err.find(text) != std::string::npos; },
          std::chrono::duration_cast<std::chrono::milliseconds>(limit)))
    return -1;
  return std::chrono::duration<double>(steady::now() - from).count();
}

} // namespace

TEST_F(ClusterProgram, AMeshLosesAKilledAndAFrozenNodeAndTheSurvivorIsWhole) {
  auto& a = member("a");
  auto& b = member("b", a.endpoint);
  auto& c = member("c", b.endpoint); // through b: learns a from b's list
  ASSERT_FALSE(HasFailure());
  // Full mesh: every node sees the three alive, with reports from the others.
  for (auto* node : {&a, &b, &c})
    EXPECT_TRUE(eventually(*node,
                           [](const std::map<std::string, Seen>& seen) {
                             if (!all_alive(seen, {"a", "b", "c"}))
                               return false;
                             int reported = 0;
                             for (const auto& [name, s] : seen)
                               reported += s.reported ? 1 : 0;
                             return reported ==
                                    2; // every peer's report arrived
                           }))
        << node->name << " never saw a, b and c alive with reports";

  // Grants on every node; on c, two clients that will die with the nodes.
  auto on_a = holder(a, "computational", "10");
  auto on_b = holder(b, "memory", "1024");
  auto killed = holder(c, "computational", "25");
  auto frozen = holder(c, "io", "7");
  EXPECT_FALSE(all_pools_free(c));

  auto lost_at = steady::now();
  a.process->signal(SIGKILL);
  killed->signal(SIGKILL);
  b.process->signal(SIGSTOP);
  frozen->signal(SIGSTOP);
  // c prints one line per lost member as it happens.
  auto a_lost = seconds_until_line(*c.process, "member a (incarnation 1) lost",
                                   lost_at, 20s);
  auto b_lost = seconds_until_line(*c.process, "member b (incarnation 1) lost",
                                   lost_at, 20s);
  double reclaimed = -1;
  for (auto until = lost_at + 20s; steady::now() < until;)
    if (all_pools_free(c)) {
      reclaimed =
          std::chrono::duration<double>(steady::now() - lost_at).count();
      break;
    }
  std::cout << "[ measured ] killed node a marked lost by c after " << a_lost
            << " s, frozen node b after " << b_lost
            << " s, every pool of c back at full capacity after " << reclaimed
            << " s (timeout 0.5 s + interval 0.1 s; the last includes a "
               "status query)\n";
  EXPECT_GE(a_lost, 0) << c.process->err;
  EXPECT_GE(b_lost, 0) << c.process->err;
  EXPECT_GE(reclaimed, 0) << "c's pools were not all returned";
  // Bound for a loaded CI machine; the target is timeout + interval.
  EXPECT_LT(b_lost, 5.0);
  auto seen = members_seen_by(c);
  EXPECT_EQ(seen["a"].state, "lost");
  EXPECT_EQ(seen["b"].state, "lost");

  // The frozen ones are stopped for good; the killed ones are reaped.
  b.process->signal(SIGKILL);
  b.process->signal(SIGCONT);
  b.process->finish(5s);
  frozen->signal(SIGKILL);
  frozen->signal(SIGCONT);
  frozen->finish(5s);
  killed->finish(5s);
  a.process->finish(5s);
  on_a->signal(SIGKILL);
  on_a->finish(5s);
  on_b->signal(SIGKILL);
  on_b->finish(5s);

  // a restarts with its name (same directory): incarnation 2, admitted.
  auto& a2 = member("a", c.endpoint);
  EXPECT_NE(a2.process->out.find("incarnation 2"), std::string::npos)
      << a2.process->out;
  EXPECT_TRUE(eventually(c, [](const std::map<std::string, Seen>& s) {
    auto i = s.find("a");
    return i != s.end() && i->second.state == "alive" &&
           i->second.incarnation == 2;
  })) << "c did not see a's second incarnation";

  // d joins late through a and meets c.
  auto& d = member("d", a2.endpoint);
  EXPECT_TRUE(eventually(d, [](const std::map<std::string, Seen>& s) {
    return s.count("c") && s.at("c").state == "alive" && s.at("c").reported &&
           s.count("a") && s.at("a").state == "alive";
  })) << "d did not meet a and c";
  EXPECT_TRUE(eventually(c, [](const std::map<std::string, Seen>& s) {
    return s.count("d") && s.at("d").state == "alive";
  })) << "c did not see d";

  // d drains on SIGTERM: its peers see it leave, it exits 0.
  d.process->signal(SIGTERM);
  EXPECT_EQ(d.process->finish(15s).value_or(-1), 0) << d.process->err;
  EXPECT_NE(d.process->err.find("left the cluster"), std::string::npos)
      << d.process->err;
  EXPECT_TRUE(eventually(c, [](const std::map<std::string, Seen>& s) {
    return s.count("d") && s.at("d").state == "left";
  })) << "c did not see d leave";
}

TEST_F(ClusterProgram, BadJoinsAreRefusedWithOneLine) {
  auto& a = member("a", {});
  ASSERT_FALSE(HasFailure());

  auto other_cluster = start("x", a.endpoint, {"--cluster", "other"});
  EXPECT_EQ(other_cluster.process->finish(15s).value_or(-1), 2);
  EXPECT_NE(other_cluster.process->err.find(
                "cannot join cluster other: seed " + a.endpoint +
                " refused the join: cluster name 'other' is not this "
                "cluster's ('rros')"),
            std::string::npos)
      << other_cluster.process->err;

  // Another process named a, in another directory (its own incarnation 1).
  auto other_dir = make_temp_dir("rros-cluster-twin");
  std::vector<std::string> twin_args{"node",     "--port",
                                     "0",        "--name",
                                     "a",        "--join",
                                     a.endpoint, "--heartbeat-interval",
                                     "100ms",    "--connection-timeout",
                                     "500ms"};
  ChildProcess twin(rros_program(), twin_args, other_dir);
  EXPECT_EQ(twin.finish(15s).value_or(-1), 2);
  EXPECT_NE(twin.err.find("node name 'a' is alive in cluster 'rros'"),
            std::string::npos)
      << twin.err;
  std::filesystem::remove_all(other_dir);

  // The same name in the same directory: the incarnation file is locked.
  auto same_dir = start("a", a.endpoint);
  EXPECT_EQ(same_dir.process->finish(15s).value_or(-1), 2);
  EXPECT_NE(same_dir.process->err.find("locked by another running node"),
            std::string::npos)
      << same_dir.process->err;

  auto port = free_loopback_port();
  auto unreachable =
      start("y", "127.0.0.1:" + std::to_string(port) + ",127.0.0.1:1");
  EXPECT_EQ(unreachable.process->finish(15s).value_or(-1), 2);
  EXPECT_NE(unreachable.process->err.find(
                "cannot join cluster rros: no seed answered: 127.0.0.1:" +
                std::to_string(port) + " ("),
            std::string::npos)
      << unreachable.process->err;

  ChildProcess no_name(rros_program(),
                       {"node", "--port", "0", "--join", a.endpoint}, dir_);
  EXPECT_EQ(no_name.finish(15s).value_or(-1), 2);
  EXPECT_NE(no_name.err.find("--join needs --name"), std::string::npos)
      << no_name.err;

  // None of these changed a's cluster.
  auto seen = members_seen_by(a);
  EXPECT_EQ(seen.size(), 1u);
}

TEST_F(ClusterProgram, AMemberTakesItsClusterSettingsFromItsConfigurationFile) {
  auto& a = member("a");
  ASSERT_FALSE(HasFailure());
  // Name, cluster, seeds, timings and data directory as keys, no flags.
  std::ofstream(dir_ + "/b.json")
      << R"({"name": "b", "cluster": "rros", "join": [")" << a.endpoint
      << R"("], "heartbeat_interval": 0.1, "connection_timeout": 0.5,)"
      << R"( "data_dir": "b-books", "computational_capacity": 50})"
      << "\n";
  Node b;
  b.name = "b";
  b.process = std::make_unique<ChildProcess>(
      rros_program(),
      std::vector<std::string>{"node", "--port", "0", "--log-level", "warning",
                               "--config", dir_ + "/b.json"},
      dir_);
  ASSERT_TRUE(b.process->wait_for(
      [&] {
        auto at = b.process->out.find("joined cluster rros");
        return at != std::string::npos &&
               b.process->out.find('\n', at) != std::string::npos;
      },
      15s))
      << b.process->out << b.process->err;
  EXPECT_NE(b.process->out.find("books kept in " + dir_ + "/b-books"),
            std::string::npos)
      << b.process->out;
  nodes_["b"] = std::move(b);
  EXPECT_TRUE(eventually(a, [](const auto& seen) {
    return all_alive(seen, {"a", "b"});
  })) << "a does not see b alive";
  // b heartbeats every 100 ms as its file says: at the default 1 s, a (which
  // cuts a peer silent for 500 ms) would lose it. Watched for 1.5 s.
  auto until = steady::now() + 1500ms;
  while (steady::now() < until)
    ASSERT_TRUE(all_alive(members_seen_by(a), {"a", "b"}));
  EXPECT_EQ(a.process->err.find("member b (incarnation 1) lost"),
            std::string::npos)
      << a.process->err;

  // A flag wins over its key.
  std::ofstream(dir_ + "/c.json") << R"({"name": "from-file"})"
                                  << "\n";
  ChildProcess flagged(rros_program(),
                       {"node", "--port", "0", "--name", "c", "--log-level",
                        "warning", "--no-persist", "--config",
                        dir_ + "/c.json"},
                       dir_);
  EXPECT_TRUE(flagged.wait_for(
      [&] {
        return flagged.out.find("member c of cluster rros") !=
               std::string::npos;
      },
      15s))
      << flagged.out << flagged.err;
  flagged.signal(SIGTERM);
  flagged.finish(15s);

  // A flag and a key together are checked once both are known: a 10 s
  // interval (flag) under a 60 s timeout (key) is fine.
  std::ofstream(dir_ + "/d.json") << R"({"connection_timeout": 60})"
                                  << "\n";
  ChildProcess mixed(rros_program(),
                     {"node", "--port", "0", "--no-persist",
                      "--heartbeat-interval", "10s", "--config",
                      dir_ + "/d.json"},
                     dir_);
  EXPECT_TRUE(mixed.wait_for(
      [&] { return mixed.out.find("published on") != std::string::npos; }, 15s))
      << mixed.out << mixed.err;
  mixed.signal(SIGTERM);
  mixed.finish(15s);

  // Bad values: one line naming the file and the key, exit 2.
  const std::pair<std::string, std::string> bad[] = {
      {R"({"join": "127.0.0.1:1"})", "'join' must be an array"},
      {R"({"join": ["127.0.0.1"]})", "'join' must be an array"},
      {R"({"name": ""})", "'name' must be a non-empty string"},
      {R"({"heartbeat_interval": -1})",
       "'heartbeat_interval' must be a number"},
      {R"({"name": "d", "heartbeat_interval": 1, "connection_timeout": 0.5})",
       "must be longer than the heartbeat interval"},
  };
  for (const auto& [text, expected] : bad) {
    std::ofstream(dir_ + "/bad.json", std::ios::trunc) << text << "\n";
    ChildProcess refused(
        rros_program(),
        {"node", "--port", "0", "--no-persist", "--config", dir_ + "/bad.json"},
        dir_);
    EXPECT_EQ(refused.finish(15s).value_or(-1), 2) << text;
    EXPECT_NE(refused.err.find(expected), std::string::npos)
        << text << ": " << refused.err;
  }
}

namespace {

/// This test process's own actor system, reaching the nodes like a client:
/// heartbeats every 100 ms (the nodes cut silent peers after 500 ms).
caf::actor_system_config& client_config(caf::actor_system_config& cfg) {
  rros::register_types(cfg);
  rros::app::configure_network(cfg, {});
  rros::set_connection_liveness(cfg, {100ms, caf::timespan{0}});
  return cfg;
}

rros::ResourceRequest computational(const std::string& requester,
                                    float amount) {
  return rros::ResourceRequest{requester, rros::ResourceType::COMPUTATIONAL,
                               rros::Priority::NORMAL, amount};
}

} // namespace

TEST_F(ClusterProgram, TheClusterClientPlacesInOrderAndHearsOfALostNode) {
  auto& a = member("a");
  auto& b = member("b", a.endpoint);
  auto& c = member("c", a.endpoint);
  ASSERT_FALSE(HasFailure());
  for (auto* node : {&a, &b})
    ASSERT_TRUE(eventually(*node, [](const std::map<std::string, Seen>& s) {
      return all_alive(s, {"a", "b", "c"});
    })) << node->name;
  caf::actor_system_config cfg;
  caf::actor_system sys{client_config(cfg)};
  auto cluster = rros::Cluster::connect(
      sys, {"127.0.0.1:1", b.endpoint}); // the first seed is not there
  ASSERT_TRUE(cluster) << rros::describe(cluster.error());
  auto& client = **cluster;
  EXPECT_EQ(client.nodes(), (std::vector<std::string>{"a", "b", "c"}));

  // Equal nodes: by name; then the least utilized after placement.
  std::vector<std::string> order;
  std::vector<rros::ClusterGrant> grants;
  for (int i = 0; i < 4; ++i) {
    auto grant = client.allocate(computational("p" + std::to_string(i), 10));
    ASSERT_TRUE(grant) << rros::describe(grant.error());
    order.push_back(grant->node);
    grants.push_back(*grant);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "a"}));

  // d joins late: empty, it gets the next placement.
  auto& d = member("d", c.endpoint);
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(eventually(c, [](const std::map<std::string, Seen>& s) {
    return s.count("d") && s.at("d").state == "alive";
  }));
  EXPECT_EQ(client.refresh(), 1u);
  auto on_d = client.allocate(computational("late", 10));
  ASSERT_TRUE(on_d) << rros::describe(on_d.error());
  EXPECT_EQ(on_d->node, "d");

  // b's grant returns: b is now the least utilized (utilization after
  // placement decides before forecasts and names).
  auto returned = client.release(grants[1]);
  ASSERT_TRUE(returned) << rros::describe(returned.error());
  EXPECT_EQ(returned->released_amount, 10.0f);

  // A task's requirements are held on one node while its body runs here.
  rros::ClusterTask task;
  task.task_id = "t1";
  task.requirements = {{rros::ResourceType::COMPUTATIONAL, 5},
                       {rros::ResourceType::IO, 5}};
  bool ran = false;
  task.body = [&] { ran = true; };
  auto result = client.run_task(task);
  ASSERT_TRUE(result) << rros::describe(result.error());
  EXPECT_TRUE(ran);
  EXPECT_TRUE(result->succeeded);
  EXPECT_EQ(result->node, "b");
  EXPECT_EQ(result->returned.size(), 2u);
  task.body = [] { throw std::runtime_error("boom"); };
  result = client.run_task(task);
  ASSERT_TRUE(result) << rros::describe(result.error());
  EXPECT_FALSE(result->succeeded);
  EXPECT_EQ(result->detail, "boom");
  EXPECT_EQ(result->returned.size(), 2u); // given back after a throw too
  task.requirements[1].amount = 101;      // fits nowhere: does not run
  ran = false;
  task.body = [&] { ran = true; };
  EXPECT_FALSE(client.run_task(task));
  EXPECT_FALSE(ran);
  // A bundle held on b when it dies.
  rros::BundleRequest both;
  both.requester_id = "both";
  both.items = {{rros::ResourceType::COMPUTATIONAL, 5},
                {rros::ResourceType::IO, 5}};
  auto bundle = client.allocate(both);
  ASSERT_TRUE(bundle) << rros::describe(bundle.error());
  EXPECT_EQ(bundle->node, "b");

  // b is killed: the bundle's legs become node_lost notices,
  // their late release is refused, the others' pools are untouched.
  b.process->signal(SIGKILL);
  b.process->finish(5s);
  std::vector<rros::ClusterNotice> notices;
  for (auto until = steady::now() + 10s;
       notices.empty() && steady::now() < until;) {
    notices = client.notices();
    if (notices.empty())
      std::this_thread::sleep_for(20ms); // the connection's end is async
  }
  ASSERT_EQ(notices.size(), 2u);
  for (const auto& notice : notices) {
    EXPECT_EQ(notice.reason, "node_lost");
    EXPECT_EQ(notice.node, "b");
    EXPECT_EQ(notice.grant.requester_id, "both");
  }
  EXPECT_EQ(notices[0].grant.grant_id, bundle->bundle.legs[0].grant_id);
  auto stale_bundle = client.release(*bundle);
  ASSERT_FALSE(stale_bundle);
  EXPECT_TRUE(rros::is(stale_bundle.error(), rros::ec::unknown_bundle));
  EXPECT_EQ(client.nodes(), (std::vector<std::string>{"a", "c", "d"}));
  for (const auto& grant : {grants[0], grants[2], grants[3], *on_d}) {
    auto receipt = client.release(grant);
    ASSERT_TRUE(receipt) << rros::describe(receipt.error());
    EXPECT_EQ(receipt->released_amount, 10.0f);
  }
  for (auto* node : {&a, &c, &d})
    EXPECT_TRUE(all_pools_free(*node)) << node->name;
}

TEST_F(ClusterProgram, TheClusterClientTakesItsGrantsBackFromARestartedNode) {
  auto& a = member("a");
  // b keeps its books (test nodes run with --no-persist unless given a
  // directory).
  auto start_b = [&] {
    auto node = start("b", a.endpoint, {"--data-dir", dir_ + "/books-b"});
    EXPECT_FALSE(node.endpoint.empty() || node.process->exited())
        << node.process->out << node.process->err;
    nodes_["b"] = std::move(node);
    return &nodes_["b"];
  };
  start_b();
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(eventually(a, [](const std::map<std::string, Seen>& s) {
    return all_alive(s, {"a", "b"});
  }));
  caf::actor_system_config cfg;
  caf::actor_system sys{client_config(cfg)};
  auto cluster = rros::Cluster::connect(sys, {a.endpoint}, {}, 200ms);
  ASSERT_TRUE(cluster) << rros::describe(cluster.error());
  auto& client = **cluster;
  auto on_a = client.allocate(computational("p0", 10));
  auto on_b = client.allocate(computational("p1", 10));
  ASSERT_TRUE(on_a && on_b);
  ASSERT_EQ(on_b->node, "b");
  ASSERT_NE(on_b->allocation.reattach_token, 0u) << "b keeps no books";

  // b is killed and restarts from its data directory (same name, same
  // working directory): the client takes its grant back by itself.
  nodes_["b"].process->signal(SIGKILL);
  nodes_["b"].process->finish(5s);
  auto wait_for = [&](const char* reason, std::chrono::seconds limit) {
    for (auto until = steady::now() + limit; steady::now() < until;) {
      for (const auto& notice : client.notices())
        if (notice.reason == reason)
          return notice;
      std::this_thread::sleep_for(20ms); // notices come asynchronously
    }
    return rros::ClusterNotice{};
  };
  auto lost = wait_for("node_lost", 10s);
  EXPECT_EQ(lost.grant.grant_id, on_b->allocation.grant_id);
  ASSERT_TRUE(eventually(a, [](const std::map<std::string, Seen>& s) {
    return !s.count("b") || s.at("b").state == "lost";
  })) << "a did not see b lost"; // a name still alive is refused
  auto& b2 = *start_b();
  ASSERT_FALSE(HasFailure());
  auto restarted = steady::now();
  auto back = wait_for("reattached", 15s);
  std::cout << "[ reattach ] the client took its grant back "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   steady::now() - restarted)
                   .count()
            << " ms after b's restart (poll 200 ms)\n";
  EXPECT_EQ(back.grant.grant_id, on_b->allocation.grant_id);
  EXPECT_EQ(back.incarnation, 1u); // the run the grant was placed on
  EXPECT_EQ(client.nodes(), (std::vector<std::string>{"a", "b"}));
  // Released through the grant the caller was given at first, exactly once.
  auto receipt = client.release(*on_b);
  ASSERT_TRUE(receipt) << rros::describe(receipt.error());
  EXPECT_EQ(receipt->released_amount, 10.0f);
  EXPECT_FALSE(client.release(*on_b));
  EXPECT_TRUE(all_pools_free(b2));
  ASSERT_TRUE(client.release(*on_a));
  EXPECT_TRUE(all_pools_free(a));
}

TEST(ClusterBench, PlacesThroughThreeNodesAndMeasuresDetection) {
  if (!file_exists(rros_program()))
    GTEST_SKIP() << "the rros program is not built at " << rros_program();
  ChildProcess bench(rros_program(),
                     {"bench", "--cluster", "--runs", "1", "--ops", "100"});
  ASSERT_EQ(bench.finish(60s).value_or(-1), 0) << bench.out << bench.err;
  for (const char* line :
       {"cluster.placement_allocate_release.throughput_ops_per_s: ",
        "cluster.placed_on.a: ", "cluster.placed_on.b: ",
        "cluster.placed_on.c: ", "cluster.detect_killed_node_s: ",
        "cluster.detect_frozen_node_s: "})
    EXPECT_NE(bench.out.find(line), std::string::npos) << line << bench.out;
  std::cout << bench.out;
}
