// TLS between nodes and clients (issue 12, docs/security.md): certificates
// made at test time by `rros certs init`, a real `rros node` on 127.0.0.1,
// clients with the right certificate, another CA's, none, or plaintext.
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "actors/manager.hpp"
#include "app/tls.hpp"
#include "messages/network.hpp"
#include "messages/type_ids.hpp"
#include "process.hpp"

using namespace rros;
using namespace rros::test;

namespace {

std::string rros_program() {
  return test_binary_dir() + "/../rros";
}

#define REQUIRE_RROS_AND_OPENSSL()                                             \
  if (!file_exists(rros_program()))                                            \
    GTEST_SKIP() << "the rros program is not built at " << rros_program();     \
  if (find_executable({"/usr/bin/openssl", "/usr/local/bin/openssl"}).empty()) \
  GTEST_SKIP() << "no openssl command line (scripts/setup.sh installs it)"

struct Run {
  int code = -1;
  std::string out, err;
};

Run run(const std::vector<std::string>& args,
        std::chrono::milliseconds timeout = 30s) {
  ChildProcess child(rros_program(), args);
  Run r;
  auto code = child.finish(timeout);
  EXPECT_TRUE(code.has_value())
      << "rros did not end within " << timeout.count() << " ms";
  r.code = code.value_or(-1);
  r.out = child.out;
  r.err = child.err;
  return r;
}

std::size_t lines_of(const std::string& text) {
  std::size_t n = 0;
  for (auto c : text)
    n += c == '\n';
  return n;
}

/// `rros certs init` into dir/name; the directory, or "" on failure.
std::string make_cluster(const std::string& dir, const std::string& name) {
  auto path = dir + "/" + name;
  auto r = run({"certs", "init", path});
  EXPECT_EQ(r.code, 0) << r.err;
  return r.code == 0 ? path : std::string{};
}

std::vector<std::string> tls_flags(const std::string& cert,
                                   const std::string& key,
                                   const std::string& ca) {
  return {"--tls-cert", cert, "--tls-key", key, "--tls-ca", ca};
}

std::vector<std::string> role_flags(const std::string& certs,
                                    const std::string& role,
                                    const std::string& ca = {}) {
  return tls_flags(certs + "/" + role + ".pem", certs + "/" + role + "-key.pem",
                   ca.empty() ? certs + "/ca.pem" : ca);
}

std::vector<std::string> operator+(std::vector<std::string> a,
                                   const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// Waits for "published on 127.0.0.1:PORT"; 0 when the node did not start.
std::uint16_t published_port(ChildProcess& node) {
  const std::string marker = "published on 127.0.0.1:";
  bool up = node.wait_for(
      [&] {
        auto at = node.out.find(marker);
        return at != std::string::npos &&
               node.out.find('\n', at) != std::string::npos;
      },
      15s);
  if (!up)
    return 0;
  return static_cast<std::uint16_t>(
      std::stoul(node.out.substr(node.out.find(marker) + marker.size())));
}

} // namespace

TEST(Tls, CertsInitMakesAClusterAndRefusesToOverwrite) {
  REQUIRE_RROS_AND_OPENSSL();
  auto dir = make_temp_dir("rros-tls");
  auto a = make_cluster(dir, "a");
  ASSERT_FALSE(a.empty());
  for (auto file :
       {"ca.pem", "ca-key.pem", "node.pem", "node-key.pem", "client.pem",
        "client-key.pem", "admin.pem", "admin-key.pem"})
    EXPECT_TRUE(file_exists(a + "/" + file)) << file;
  EXPECT_FALSE(file_exists(a + "/openssl.log"));
  // Each certificate is valid under its CA, not under another cluster's.
  auto b = make_cluster(dir, "b");
  ASSERT_FALSE(b.empty());
  for (auto role : {"node", "client", "admin"}) {
    app::TlsFiles own{a + "/" + role + ".pem", a + "/" + role + "-key.pem",
                      a + "/ca.pem"};
    EXPECT_FALSE(app::check_tls_files(own)) << role;
    auto foreign = own;
    foreign.ca = b + "/ca.pem";
    auto err = app::check_tls_files(foreign);
    ASSERT_TRUE(err) << role;
    EXPECT_NE(context_of(err).find("not valid under the CA"), std::string::npos)
        << context_of(err);
  }
  // A key that is not the certificate's, and a missing file, are named.
  auto err = app::check_tls_files(
      {a + "/node.pem", a + "/client-key.pem", a + "/ca.pem"});
  ASSERT_TRUE(err);
  EXPECT_NE(context_of(err).find("does not belong"), std::string::npos);
  err = app::check_tls_files(
      {a + "/nope.pem", a + "/node-key.pem", a + "/ca.pem"});
  ASSERT_TRUE(err);
  EXPECT_NE(context_of(err).find("nope.pem"), std::string::npos);
  // A second init would replace the CA that signed the cluster: refused.
  auto again = run({"certs", "init", a});
  EXPECT_EQ(again.code, 2);
  EXPECT_EQ(lines_of(again.err), 1u) << again.err;
  EXPECT_NE(again.err.find("holds a CA already"), std::string::npos)
      << again.err;
}

TEST(Tls, LoopbackHostsAreParsedNotMatchedByPrefix) {
  using rros::app::is_loopback_host;
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("127.example.com"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("::"));
  EXPECT_FALSE(is_loopback_host("1270.0.0.1"));
}

TEST(Tls, PlaintextNeedsLoopbackOrInsecureAndTlsFilesGoTogether) {
  REQUIRE_RROS_AND_OPENSSL();
  // Only the argument check runs: the node refuses before it binds.
  auto r = run({"node", "--host", "0.0.0.0", "--port", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines_of(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("refusing to serve 0.0.0.0 in plaintext"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  auto dir = make_temp_dir("rros-tls");
  auto a = make_cluster(dir, "a");
  ASSERT_FALSE(a.empty());
  r = run({"node", "--port", "0", "--tls-cert", a + "/node.pem"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("together"), std::string::npos) << r.err;
  r = run(std::vector<std::string>{"node", "--port", "0"} +
          tls_flags(a + "/node.pem", a + "/node-key.pem", a + "/missing.pem"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines_of(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("missing.pem"), std::string::npos) << r.err;
  r = run(std::vector<std::string>{"status", "--connect", "127.0.0.1:1"} +
          tls_flags(a + "/client.pem", a + "/node-key.pem", a + "/ca.pem"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("does not belong"), std::string::npos) << r.err;
  // A plaintext node on loopback says so.
  ChildProcess node(rros_program(), {"node", "--port", "0", "--quiet"}, dir);
  ASSERT_NE(published_port(node), 0) << node.out << node.err;
  EXPECT_NE(node.out.find("(plaintext, loopback only"), std::string::npos)
      << node.out;
}

TEST(Tls, OnlyClientsOfTheClusterCaAreServed) {
  REQUIRE_RROS_AND_OPENSSL();
  auto dir = make_temp_dir("rros-tls");
  auto a = make_cluster(dir, "a");
  auto b = make_cluster(dir, "b");
  ASSERT_FALSE(a.empty() || b.empty());
  // Trusts both CAs: a client that accepts the node's certificate while
  // presenting one of the other cluster's, so that the node's check is what
  // refuses it.
  auto both = dir + "/both-ca.pem";
  {
    std::ofstream out{both};
    std::ifstream ca_a{a + "/ca.pem"}, ca_b{b + "/ca.pem"};
    out << ca_a.rdbuf() << ca_b.rdbuf();
  }
  ChildProcess node(rros_program(),
                    std::vector<std::string>{"node", "--port", "0", "--quiet"} +
                        role_flags(a, "node"),
                    dir);
  auto port = published_port(node);
  ASSERT_NE(port, 0) << node.out << node.err;
  EXPECT_NE(node.out.find("(TLS"), std::string::npos) << node.out;
  auto endpoint = "127.0.0.1:" + std::to_string(port);
  auto alloc = [&](const std::vector<std::string>& flags,
                   const std::string& requester) {
    return run(std::vector<std::string>{
                   "alloc", "--connect", endpoint, "--timeout", "3", "--type",
                   "computational", "--amount", "10", "--hold", "0",
                   "--requester", requester} +
               flags);
  };
  // The right certificate: served.
  auto good = alloc(role_flags(a, "client"), "good");
  EXPECT_EQ(good.code, 0) << good.err;
  EXPECT_NE(good.out.find("granted 10.00 computational to good"),
            std::string::npos)
      << good.out;
  // Another CA's certificate (the client trusts the node), another cluster
  // altogether, and plaintext: refused.
  auto foreign = alloc(role_flags(b, "client", both), "tls-foreign");
  EXPECT_EQ(foreign.code, 2) << foreign.out << foreign.err;
  EXPECT_NE(foreign.err.find("cannot reach a manager at " + endpoint),
            std::string::npos)
      << foreign.err;
  auto other = alloc(role_flags(b, "client"), "tls-other");
  EXPECT_EQ(other.code, 2) << other.out << other.err;
  auto plain = alloc({}, "tls-plain");
  EXPECT_EQ(plain.code, 2) << plain.out << plain.err;
  EXPECT_NE(plain.err.find("cannot reach a manager at " + endpoint),
            std::string::npos)
      << plain.err;
  // They hold nothing: the node lists no holder but the good one's (which
  // returned its grant), and it still serves.
  auto status = run(std::vector<std::string>{"status", "--connect", endpoint,
                                             "--holders", "--timeout", "5"} +
                    role_flags(a, "admin"));
  ASSERT_EQ(status.code, 0) << status.err;
  for (auto name : {"tls-foreign", "tls-other", "tls-plain"})
    EXPECT_EQ(status.out.find(name), std::string::npos) << status.out;
  EXPECT_FALSE(node.exited()) << node.err;
}

TEST(Tls, NodeToNodeNeedsTheClustersCertificate) {
  REQUIRE_RROS_AND_OPENSSL();
  auto dir = make_temp_dir("rros-tls");
  auto a = make_cluster(dir, "a");
  auto b = make_cluster(dir, "b");
  ASSERT_FALSE(a.empty() || b.empty());
  // The node reads its TLS files from its configuration file (relative to
  // the file's directory).
  {
    std::ofstream out{a + "/node.json"};
    out << R"({"tls_certificate": "node.pem", "tls_key": "node-key.pem",)"
        << R"( "tls_ca": "ca.pem"})";
  }
  ChildProcess node(
      rros_program(),
      {"node", "--port", "0", "--quiet", "--config", a + "/node.json"}, dir);
  auto port = published_port(node);
  ASSERT_NE(port, 0) << node.out << node.err;
  EXPECT_NE(node.out.find("(TLS: peers need a certificate of the CA " + a +
                          "/ca.pem)"),
            std::string::npos)
      << node.out;
  // Another actor system with a node certificate of the same cluster (as a
  // second node would connect): served, over TLS.
  {
    caf::actor_system_config cfg;
    register_types(cfg);
    app::TlsFiles files{a + "/node.pem", a + "/node-key.pem", a + "/ca.pem"};
    ASSERT_FALSE(app::check_tls_files(files));
    app::configure_network(cfg, files);
    caf::actor_system sys{cfg};
    auto manager = app::remote_on<manager_actor>(sys, "127.0.0.1", port, true);
    ASSERT_TRUE(manager) << describe(manager.error());
    caf::scoped_actor self{sys};
    bool answered = false;
    self->request(*manager, std::chrono::seconds(10), status_atom::value)
        .receive(
            [&](std::vector<PoolStatus>& pools) {
              answered = pools.size() == resource_type_count;
            },
            [&](caf::error& err) { ADD_FAILURE() << describe(err); });
    EXPECT_TRUE(answered);
  }
  // TLS without a certificate (CAF's anonymous cipher): refused.
  {
    caf::actor_system_config cfg;
    register_types(cfg);
    cfg.load<caf::io::middleman>();
    use_rros_network(cfg);
    cfg.load<caf::openssl::manager>();
    caf::actor_system sys{cfg};
    auto manager =
        caf::openssl::remote_actor<manager_actor>(sys, "127.0.0.1", port);
    EXPECT_FALSE(manager);
  }
  // A node of another cluster, and one that trusts both CAs but presents
  // the other cluster's certificate: no connection (each is its own
  // process, so that a connect that never completes is bounded).
  auto endpoint = "127.0.0.1:" + std::to_string(port);
  auto both = dir + "/both-ca.pem";
  {
    std::ofstream out{both};
    std::ifstream ca_a{a + "/ca.pem"}, ca_b{b + "/ca.pem"};
    out << ca_a.rdbuf() << ca_b.rdbuf();
  }
  for (const auto& flags :
       {role_flags(b, "node"), role_flags(b, "node", both)}) {
    auto r = run(std::vector<std::string>{"status", "--connect", endpoint,
                                          "--timeout", "3"} +
                 flags);
    EXPECT_EQ(r.code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("cannot reach a manager at " + endpoint),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(node.exited()) << node.err;
}
