// `rros node --metrics-port` for real: a node process on free loopback ports,
// a grant taken through the facade from this process, /metrics scraped with a
// plain HTTP GET and checked with `promtool check metrics`, then scraped by a
// real Prometheus server (Debian's prometheus, 1 s scrape interval, its own
// temp dir) whose query API must return the held amount. Every wait is
// bounded; every process is stopped by its pid.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "facade/connection_liveness.hpp"
#include "facade/resource_manager.hpp"
#include "messages/network.hpp"
#include "process.hpp"

using namespace rros;
using namespace rros::test;

namespace {

std::string rros_program() {
  return test_binary_dir() + "/../rros";
}

#define REQUIRE_RROS()                                                         \
  if (!file_exists(rros_program()))                                            \
  GTEST_SKIP() << "the rros program is not built at " << rros_program()

/// The number after `prefix` on stdout once the line is complete.
std::optional<std::uint16_t> printed_port(ChildProcess& node,
                                          const std::string& prefix) {
  std::optional<std::uint16_t> port;
  node.wait_for(
      [&] {
        auto at = node.out.find(prefix);
        if (at == std::string::npos ||
            node.out.find('\n', at) == std::string::npos)
          return false;
        port = static_cast<std::uint16_t>(
            std::stoul(node.out.substr(at + prefix.size())));
        return true;
      },
      15s);
  return port;
}

/// Scrapes until the body matches `pattern` (bounded); returns the last body.
/// A poll, because nothing outside the node tells when the collector's next
/// round (every --metrics-interval) has written a grant into the registry.
std::string scrape_until(std::uint16_t port, const std::regex& pattern,
                         std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  std::string body;
  for (;;) {
    auto reply = http_get(port, "/metrics");
    body = reply.body;
    if (reply.status == 200 && std::regex_search(body, pattern))
      return body;
    if (std::chrono::steady_clock::now() >= until)
      return body;
    std::this_thread::sleep_for(100ms);
  }
}

void stop(ChildProcess& process, const char* what) {
  process.signal(SIGTERM);
  auto code = process.finish(15s);
  EXPECT_TRUE(code.has_value()) << what << " did not stop on SIGTERM";
  EXPECT_EQ(code.value_or(-1), 0) << what << ": " << process.err;
}

/// A node with metrics on free loopback ports and a client holding 42
/// computational (through the facade, held by this process).
class MetricsNode : public ::testing::Test {
protected:
  void start_node() {
    dir_ = make_temp_dir("rros-metrics");
    node_ = std::make_unique<ChildProcess>(
        rros_program(),
        std::vector<std::string>{"node", "--port", "0", "--metrics-port", "0",
                                 "--metrics-interval", "0.2", "--quiet"},
        dir_);
    ASSERT_TRUE(node_->started());
    auto metrics = printed_port(*node_, "metrics on http://127.0.0.1:");
    auto manager = printed_port(*node_, "published on 127.0.0.1:");
    ASSERT_TRUE(metrics && manager) << node_->out << node_->err;
    metrics_port_ = *metrics;
    rros::register_types(cfg_);
    cfg_.load<caf::io::middleman>();
    // The node cuts peers silent for 5 s; scraping may take longer.
    set_connection_liveness(cfg_, client_liveness_defaults());
    use_rros_network(cfg_); // the node's identifier, or no handshake
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    auto handle =
        sys_->middleman().remote_actor<manager_actor>("127.0.0.1", *manager);
    ASSERT_TRUE(handle) << describe(handle.error());
    client_ = std::make_unique<ResourceManager>(*sys_, *handle);
    auto grant = client_->try_allocate_resource(
        {"metrics-test", ResourceType::COMPUTATIONAL, Priority::HIGH, 42});
    ASSERT_TRUE(grant && grant->fully_satisfied);
  }

  void TearDown() override {
    client_.reset();
    if (node_)
      stop(*node_, "the node");
    if (!dir_.empty())
      std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  std::unique_ptr<ChildProcess> node_;
  std::uint16_t metrics_port_ = 0;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<ResourceManager> client_;
};

const std::regex held_42{R"(\nrros_pool_held\{type="computational"\} 42\n)"};

} // namespace

TEST_F(MetricsNode, ScrapeShowsTheGrantAndPassesPromtool) {
  REQUIRE_RROS();
  auto promtool = find_executable({"/usr/bin/promtool"});
  if (promtool.empty())
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  ASSERT_NO_FATAL_FAILURE(start_node());

  auto body = scrape_until(metrics_port_, held_42, 10s);
  ASSERT_TRUE(std::regex_search(body, held_42)) << body;
  // Every family the docs promise, with its type line.
  for (const char* line :
       {"# TYPE rros_pool_capacity gauge",
        "rros_pool_capacity{type=\"memory\"} 1048576",
        "rros_pool_available{type=\"computational\"} 58",
        "rros_pool_utilization_ratio{type=\"computational\"} 0.42",
        "# TYPE rros_pool_grants_total counter",
        "rros_pool_grants_total{type=\"computational\"} 1",
        "# TYPE rros_pool_refusals_total counter",
        "# TYPE rros_pool_refusals_by_reason_total counter",
        "rros_pool_refusals_by_reason_total{reason=\"insufficient_resources\","
        "type=\"computational\"} 0",
        "# TYPE rros_pool_preemptions_total counter",
        "# TYPE rros_pool_lease_expiries_total counter",
        "# TYPE rros_pool_wait_seconds histogram",
        "rros_pool_wait_seconds_bucket{type=\"memory\",le=\"+Inf\"} 0",
        "rros_degraded{type=\"attention\"} 0",
        "# TYPE rros_alerts_active gauge", "# TYPE rros_tasks_pending gauge",
        "# TYPE rros_task_deadline_misses_total counter",
        "# TYPE rros_bundle_grants_total counter", "rros_monitor_up 1"})
    EXPECT_NE(body.find(line), std::string::npos) << line << "\n" << body;

  auto scrape_file = dir_ + "/scrape.txt";
  std::ofstream(scrape_file) << body;
  ChildProcess check(promtool, {"check", "metrics"}, dir_, scrape_file);
  auto code = check.finish(30s);
  ASSERT_TRUE(code.has_value()) << "promtool did not finish";
  EXPECT_EQ(*code, 0) << check.out << check.err;
  EXPECT_EQ(check.out + check.err, "") << "promtool lint findings";

  // Anything but /metrics is not served.
  EXPECT_EQ(http_get(metrics_port_, "/").status, 404);
}

TEST_F(MetricsNode, ARealPrometheusScrapesTheHeldAmount) {
  REQUIRE_RROS();
  auto prometheus = find_executable({"/usr/bin/prometheus"});
  if (prometheus.empty())
    GTEST_SKIP() << "prometheus is not installed (Debian package prometheus)";
  ASSERT_NO_FATAL_FAILURE(start_node());

  auto prom_dir = make_temp_dir("rros-prometheus");
  std::ofstream(prom_dir + "/prometheus.yml") << "global:\n"
                                                 "  scrape_interval: 1s\n"
                                                 "  evaluation_interval: 1s\n"
                                                 "scrape_configs:\n"
                                                 "  - job_name: rros\n"
                                                 "    static_configs:\n"
                                                 "      - targets: ['127.0.0.1:"
                                              << metrics_port_ << "']\n";
  auto prom_port = free_loopback_port();
  ChildProcess server(
      prometheus,
      {"--config.file=" + prom_dir + "/prometheus.yml",
       "--storage.tsdb.path=" + prom_dir + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
      prom_dir);
  ASSERT_TRUE(server.started());
  // Its log says when it serves queries.
  ASSERT_TRUE(server.wait_for(
      [&] {
        return server.err.find("Server is ready to receive web requests") !=
               std::string::npos;
      },
      60s))
      << server.err.substr(0, 4000);

  // Poll the query API (bounded) until the held amount arrives: a poll,
  // since Prometheus tells of no finished scrape but through this API. Each
  // pause reads the server's log, so that an early exit ends the loop.
  const std::string query =
      "/api/v1/query?query=rros_pool_held%7Btype%3D%22computational%22%7D";
  std::string last;
  double held = -1;
  auto until = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < until && !server.exited()) {
    server.pump(10ms);
    auto reply = http_get(prom_port, query, 2s);
    last = reply.body;
    if (reply.status == 200) {
      rapidjson::Document doc;
      doc.Parse(reply.body.c_str());
      if (!doc.HasParseError() && doc.HasMember("data") &&
          doc["data"]["result"].IsArray() &&
          doc["data"]["result"].Size() == 1) {
        held = std::stod(doc["data"]["result"][0]["value"][1].GetString());
        if (held == 42)
          break;
      }
    }
    server.pump(250ms);
  }
  EXPECT_EQ(held, 42) << "last answer: " << last
                      << "\nprometheus: " << server.err.substr(0, 4000);

  // The target is up as Prometheus sees it.
  auto up = http_get(prom_port, "/api/v1/query?query=up%7Bjob%3D%22rros%22%7D");
  EXPECT_NE(up.body.find(R"("value":[)"), std::string::npos) << up.body;
  EXPECT_NE(up.body.find(R"(,"1"])"), std::string::npos) << up.body;

  stop(server, "prometheus");
  std::filesystem::remove_all(prom_dir);
}

TEST(MetricsProgram, PortInUseIsOneLineAndExitTwo) {
  REQUIRE_RROS();
  // A listener on a free loopback port: the node cannot bind it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto port = std::to_string(ntohs(addr.sin_port));
  ChildProcess node(rros_program(), {"node", "--metrics-port", port, "--quiet"},
                    make_temp_dir("rros-metrics"));
  auto code = node.finish(15s);
  ::close(fd);
  ASSERT_TRUE(code.has_value()) << "the node did not exit";
  EXPECT_EQ(*code, 2) << node.err;
  EXPECT_NE(node.err.find("cannot serve metrics on 127.0.0.1:" + port),
            std::string::npos)
      << node.err;
}

TEST(MetricsProgram, ConfigKeyServesMetricsAndBadValuesAreRefused) {
  REQUIRE_RROS();
  auto dir = make_temp_dir("rros-metrics");
  auto port = free_loopback_port();
  std::ofstream(dir + "/node.json")
      << "{\"computational_capacity\": 50, \"metrics_port\": " << port << "}\n";
  ChildProcess node(rros_program(),
                    {"node", "--config", dir + "/node.json", "--quiet"}, dir);
  auto printed = printed_port(node, "metrics on http://127.0.0.1:");
  ASSERT_TRUE(printed) << node.out << node.err;
  EXPECT_EQ(*printed, port);
  const std::regex capacity_50{
      R"(\nrros_pool_capacity\{type="computational"\} 50\n)"};
  auto body = scrape_until(port, capacity_50, 10s);
  EXPECT_TRUE(std::regex_search(body, capacity_50)) << body;
  stop(node, "the node");

  for (const char* bad : {"-1", "65536", "1.5", "\"9100\""}) {
    std::ofstream(dir + "/bad.json") << "{\"metrics_port\": " << bad << "}\n";
    ChildProcess refused(rros_program(),
                         {"node", "--config", dir + "/bad.json"}, dir);
    auto code = refused.finish(15s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 2) << bad;
    EXPECT_NE(refused.err.find("'metrics_port' must be a whole number"),
              std::string::npos)
        << bad << ": " << refused.err;
  }
  // Other keys are still checked.
  std::ofstream(dir + "/unknown.json")
      << "{\"metrics_port\": 0, \"colour\": 1}\n";
  ChildProcess unknown(rros_program(),
                       {"node", "--config", dir + "/unknown.json"}, dir);
  ASSERT_TRUE(unknown.finish(15s).has_value());
  EXPECT_NE(unknown.err.find("unknown configuration key 'colour'"),
            std::string::npos)
      << unknown.err;
  std::filesystem::remove_all(dir);
}
