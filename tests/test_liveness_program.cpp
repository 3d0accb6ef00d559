// A peer that hangs instead of dying, for real: an `rros node` process with a
// short heartbeat interval and connection timeout, shell clients holding
// grants, one of them frozen with SIGSTOP. The node must cut the frozen one
// and take its grant back; a healthy idle client that sends heartbeats must
// keep its grant; one that sends them too rarely is cut. Every process is
// stopped by its pid; every wait is bounded.
#include <csignal>
#include <filesystem>
#include <iostream>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "process.hpp"

using namespace rros::test;

namespace {

std::string rros_program() {
  return test_binary_dir() + "/../rros";
}

/// A node on a free loopback port: heartbeats every 100 ms, peers silent for
/// 500 ms cut.
class FastLivenessNode : public ::testing::Test {
protected:
  void SetUp() override {
    if (!file_exists(rros_program()))
      GTEST_SKIP() << "the rros program is not built at " << rros_program();
    dir_ = make_temp_dir("rros-liveness");
    node_ = std::make_unique<ChildProcess>(
        rros_program(),
        std::vector<std::string>{"node", "--port", "0", "--quiet",
                                 "--heartbeat-interval", "100ms",
                                 "--connection-timeout", "500ms"},
        dir_);
    ASSERT_TRUE(node_->started());
    const std::string prefix = "published on 127.0.0.1:";
    ASSERT_TRUE(node_->wait_for(
        [&] {
          auto at = node_->out.find(prefix);
          return at != std::string::npos &&
                 node_->out.find('\n', at) != std::string::npos;
        },
        15s))
        << node_->out << node_->err;
    auto at = node_->out.find(prefix) + prefix.size();
    endpoint_ =
        "127.0.0.1:" + std::to_string(std::stoul(node_->out.substr(at)));
  }

  void TearDown() override {
    if (node_) {
      node_->signal(SIGTERM);
      auto code = node_->finish(15s);
      EXPECT_EQ(code.value_or(-1), 0) << node_->err;
    }
    if (!dir_.empty())
      std::filesystem::remove_all(dir_);
  }

  /// `rros ARGS... --connect ENDPOINT` as a child process.
  std::unique_ptr<ChildProcess> client(std::vector<std::string> args) {
    args.push_back("--connect");
    args.push_back(endpoint_);
    return std::make_unique<ChildProcess>(rros_program(), args, dir_);
  }

  /// The computational amount held, from `rros status --json`; -1 when the
  /// status could not be read.
  double held_computational() {
    auto status = client({"status", "--json", "--heartbeat-interval", "100ms"});
    if (status->finish(15s).value_or(-1) != 0)
      return -1;
    std::smatch m;
    static const std::regex held{
        R"re("type":"computational"[^}]*?"held":([0-9.]+))re"};
    if (!std::regex_search(status->out, m, held))
      return -1;
    return std::stod(m[1]);
  }

  std::string dir_;
  std::string endpoint_;
  std::unique_ptr<ChildProcess> node_;
};

/// Waits until `alloc` printed its grant line.
bool granted(ChildProcess& alloc) {
  return alloc.wait_for(
      [&] { return alloc.out.find("granted ") != std::string::npos; }, 15s);
}

} // namespace

TEST_F(FastLivenessNode, AFrozenClientIsCutAndItsGrantComesBack) {
  auto frozen = client({"alloc", "--type", "computational", "--amount", "30",
                        "--heartbeat-interval", "100ms"});
  ASSERT_TRUE(granted(*frozen)) << frozen->out << frozen->err;
  ASSERT_EQ(held_computational(), 30.0);

  frozen->signal(SIGSTOP);
  auto stopped_at = std::chrono::steady_clock::now();
  // The node notices within timeout + interval (600 ms); the test allows far
  // more for a loaded machine and prints what it measured.
  double held = -1;
  auto until = stopped_at + 20s;
  while ((held = held_computational()) != 0.0 &&
         std::chrono::steady_clock::now() < until) {
    // Each status query is a fresh process and connection (tens of ms): the
    // loop polls the node's books, bounded by `until`.
  }
  auto seconds = std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - stopped_at)
                     .count();
  std::cout << "[ measured ] frozen client's grant returned " << seconds
            << " s after SIGSTOP (timeout 0.5 s + interval 0.1 s, plus one "
               "status query)\n";
  EXPECT_EQ(held, 0.0) << "the frozen client's grant was not reclaimed";
  frozen->signal(SIGKILL);
  frozen->signal(SIGCONT);
  frozen->finish(5s);
}

TEST_F(FastLivenessNode, AnIdleClientThatSendsHeartbeatsKeepsItsGrant) {
  // Held for 1.5 s, three times the node's timeout, without a single
  // request: only heartbeats keep the connection. The release at the end
  // succeeds only if the node still knows the grant.
  auto idle = client({"alloc", "--type", "computational", "--amount", "10",
                      "--hold", "1500ms", "--heartbeat-interval", "100ms"});
  auto code = idle->finish(30s);
  EXPECT_EQ(code.value_or(-1), 0) << idle->out << idle->err;
  EXPECT_NE(idle->err.find("released"), std::string::npos) << idle->err;
  EXPECT_EQ(held_computational(), 0.0);
}

TEST_F(FastLivenessNode, AClientWhoseHeartbeatsAreTooRareIsCut) {
  // Heartbeats every 5 s against a 500 ms timeout: the node cuts the idle
  // client and takes its grant back; the client's release then fails.
  auto rare = client({"alloc", "--type", "computational", "--amount", "10",
                      "--hold", "1500ms", "--heartbeat-interval", "5s"});
  auto code = rare->finish(30s);
  EXPECT_NE(code.value_or(0), 0) << rare->out << rare->err;
  EXPECT_NE(rare->err.find("lost the pool"), std::string::npos) << rare->err;
  EXPECT_EQ(held_computational(), 0.0);
}

TEST(ProgramLiveness, ATimeoutNotLongerThanTheIntervalIsRefused) {
  if (!file_exists(rros_program()))
    GTEST_SKIP() << "the rros program is not built at " << rros_program();
  ChildProcess node(rros_program(), {"node", "--heartbeat-interval", "1s",
                                     "--connection-timeout", "500ms"});
  EXPECT_EQ(node.finish(15s).value_or(-1), 2);
  EXPECT_NE(node.err.find("must be longer than the heartbeat interval"),
            std::string::npos)
      << node.err;
}
