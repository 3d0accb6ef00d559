// End-to-end tests of the built `rros` program: they run the binary next to
// the test program (<dir>/../rros) as a child process, with bounded waits,
// and check what it prints and how it exits. Skipped when it is not built.
#include <arpa/inet.h>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "facade/connection_liveness.hpp"
#include "facade/resource_manager.hpp"
#include "messages/monitor_messages.hpp"
#include "messages/network.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::string program_path() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return {};
  std::string self(buf, static_cast<std::size_t>(n));
  auto dir = self.substr(0, self.rfind('/'));
  return dir + "/../rros";
}

bool exists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

/// The repository root: from CMake, else from this file's path.
std::string source_root() {
#ifdef RROS_SOURCE_DIR
  return RROS_SOURCE_DIR;
#endif
  std::string file = __FILE__;
  auto tests = file.rfind("/tests/");
  return tests == std::string::npos ? std::string{} : file.substr(0, tests);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string temp_dir() {
  char templ[] = "/tmp/rros-program-XXXXXX";
  auto dir = ::mkdtemp(templ);
  return dir ? dir : "/tmp";
}

std::size_t line_count(const std::string& text) {
  std::size_t lines = 0;
  for (char c : text)
    lines += c == '\n';
  if (!text.empty() && text.back() != '\n')
    ++lines;
  return lines;
}

/// A child process of the program with its stdout and stderr captured.
class Child {
public:
  Child(const std::vector<std::string>& args, const std::string& cwd = {}) {
    int out[2], err[2];
    if (::pipe(out) != 0 || ::pipe(err) != 0)
      return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::close(out[0]);
      ::close(err[0]);
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0)
        ::_exit(127);
      std::vector<char*> argv;
      auto program = program_path();
      argv.push_back(program.data());
      std::vector<std::string> copy = rros::test::node_args_for_test(args);
      for (auto& arg : copy)
        argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  }

  ~Child() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0)
      ::close(out_fd_);
    if (err_fd_ >= 0)
      ::close(err_fd_);
  }

  /// Reads what is there, waiting at most `wait`.
  void pump(std::chrono::milliseconds wait) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(wait.count())) <= 0)
      return;
    drain(out_fd_, out);
    drain(err_fd_, err);
  }

  /// Waits until `pred()` holds, reading output meanwhile; false on timeout.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds timeout) {
    auto until = steady::now() + timeout;
    while (!pred()) {
      if (steady::now() >= until)
        return false;
      pump(50ms);
    }
    return true;
  }

  /// Waits for the exit (reading output meanwhile); kills after `timeout`.
  std::optional<int> finish(std::chrono::milliseconds timeout) {
    auto until = steady::now() + timeout;
    while (!exit_code_) {
      int status = 0;
      auto r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exit_code_ =
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (steady::now() >= until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        exit_code_ = -1;
        return std::nullopt;
      }
      pump(20ms);
    }
    // Whatever is still in the pipes.
    for (int i = 0; i < 5; ++i)
      pump(1ms);
    return exit_code_;
  }

  void signal(int sig) {
    ::kill(pid_, sig);
  }

  bool started() const {
    return pid_ > 0;
  }

  std::string out, err;

private:
  static void drain(int fd, std::string& into) {
    char buf[65536];
    for (;;) {
      auto n = ::read(fd, buf, sizeof buf);
      if (n <= 0)
        return;
      into.append(buf, static_cast<std::size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::optional<int> exit_code_;
};

struct Result {
  int code = -1;
  std::string out, err;
};

Result run(const std::vector<std::string>& args, const std::string& cwd = {},
           std::chrono::milliseconds timeout = 20s) {
  Child child(args, cwd);
  Result result;
  auto code = child.finish(timeout);
  EXPECT_TRUE(code.has_value())
      << "the program did not end within " << timeout.count() << " ms";
  result.code = code.value_or(-1);
  result.out = child.out;
  result.err = child.err;
  return result;
}

#define REQUIRE_PROGRAM()                                                      \
  if (!exists(program_path()))                                                 \
  GTEST_SKIP() << "the rros program is not built at " << program_path()        \
               << " (build the rros_app target)"

/// A loopback port nobody listens on (bound, read, closed).
std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Starts `rros node --port 0` with the shipped configuration and waits for
/// the port it prints; the endpoint is empty when it did not start.
std::string start_node(Child& node) {
  std::string marker = "published on 127.0.0.1:";
  bool up = node.wait_for(
      [&] {
        auto at = node.out.find(marker);
        return at != std::string::npos &&
               node.out.find('\n', at) != std::string::npos;
      },
      10s);
  if (!up)
    return {};
  auto port_text = node.out.substr(node.out.find(marker) + marker.size());
  return "127.0.0.1:" + std::to_string(std::stoul(port_text));
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

/// Expects a failure: non-zero exit, nothing on stdout, one line on stderr
/// containing `needle`.
void expect_one_line_failure(const Result& r, const std::string& needle) {
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.code, -1) << "timed out";
  EXPECT_LT(r.code, 128) << "crashed: " << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos)
      << "expected '" << needle << "' in: " << r.err;
}

// -- node and status
// -----------------------------------------------------------

TEST(ProgramStatus, ShowsARealNodeAsTextAndJson) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  Child node({"node", "--port", "0", "--config",
              source_root() + "/config/default.json"},
             dir);
  ASSERT_TRUE(node.started());
  std::string marker = "published on 127.0.0.1:";
  ASSERT_TRUE(node.wait_for(
      [&] {
        return node.out.find('\n', node.out.find(marker)) !=
                   std::string::npos &&
               node.out.find(marker) != std::string::npos;
      },
      10s))
      << "the node did not print its port: " << node.out << node.err;
  auto port_text = node.out.substr(node.out.find(marker) + marker.size());
  auto port = static_cast<std::uint16_t>(std::stoul(port_text));
  auto endpoint = "127.0.0.1:" + std::to_string(port);

  // A client takes 90 of computational's 100 (an alert at 85%) and degrades
  // attention by hand through the node's monitor.
  caf::actor_system_config cfg;
  rros::register_types(cfg);
  cfg.load<caf::io::middleman>();
  // The node cuts peers silent for 5 s; this client may idle that long.
  rros::set_connection_liveness(cfg, rros::client_liveness_defaults());
  rros::use_rros_network(cfg); // the node's identifier, or no handshake
  caf::actor_system sys{cfg};
  auto manager =
      sys.middleman().remote_actor<rros::manager_actor>("127.0.0.1", port);
  ASSERT_TRUE(manager) << rros::describe(manager.error());
  rros::ResourceManager client(sys, *manager);
  auto grant = client.try_allocate_resource({"e2e-vision",
                                             rros::ResourceType::COMPUTATIONAL,
                                             rros::Priority::HIGH, 90});
  ASSERT_TRUE(grant && grant->fully_satisfied);
  {
    caf::scoped_actor self{sys};
    rros::monitor_actor monitor;
    self->request(*manager, 5s, rros::subsystems_atom::value)
        .receive([&](const rros::Subsystems& sub) { monitor = sub.monitor; },
                 [&](caf::error& err) { FAIL() << rros::describe(err); });
    ASSERT_TRUE(monitor);
    self->request(monitor, 5s, rros::degrade_atom::value,
                  rros::ResourceType::ATTENTION, true)
        .receive([](const rros::TypeMonitorView&) {},
                 [&](caf::error& err) { FAIL() << rros::describe(err); });
  }

  // The node prints one line per event on stderr.
  EXPECT_TRUE(node.wait_for(
      [&] {
        return node.err.find("computational alert WARNING") !=
                   std::string::npos &&
               node.err.find("attention degraded") != std::string::npos;
      },
      10s))
      << node.err;

  // Text: the pools with bars, the alert, the degraded type.
  auto text = run({"status", "--connect", endpoint});
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("node " + endpoint), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("computational         100.00         90.00"
                          "          0.00         10.00  "
                          "[##################..]  90.0%"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("WARNING  computational"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("degraded:\n  attention"), std::string::npos)
      << text.out;
  EXPECT_TRUE(text.out.find("scheduler: not running") != std::string::npos ||
              text.out.find("scheduler: ") != std::string::npos);

  // JSON: the same figures, machine-readable.
  auto json = run({"status", "--connect", endpoint, "--json"});
  EXPECT_EQ(json.code, 0) << json.err;
  rapidjson::Document doc;
  doc.Parse(json.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json.out;
  ASSERT_TRUE(doc["pools"].IsArray());
  ASSERT_EQ(doc["pools"].Size(), 5u);
  EXPECT_STREQ(doc["pools"][0]["type"].GetString(), "computational");
  EXPECT_DOUBLE_EQ(doc["pools"][0]["held"].GetDouble(), 90.0);
  EXPECT_DOUBLE_EQ(doc["pools"][0]["available"].GetDouble(), 10.0);
  EXPECT_NEAR(doc["pools"][0]["utilization"].GetDouble(), 0.9, 1e-9);
  ASSERT_TRUE(doc["alerts"].IsArray());
  bool computational_alert = false;
  for (const auto& alert : doc["alerts"].GetArray())
    computational_alert |=
        std::string{alert["type"].GetString()} == "computational";
  EXPECT_TRUE(computational_alert) << json.out;
  ASSERT_TRUE(doc["degraded"].IsArray());
  ASSERT_EQ(doc["degraded"].Size(), 1u);
  EXPECT_STREQ(doc["degraded"][0]["type"].GetString(), "attention");
  EXPECT_TRUE(doc["scheduler"]["active"].IsBool());

  // --watch refreshes (bounded by --count here).
  auto watch = run({"status", "--connect", endpoint, "--json", "--watch",
                    "--interval", "0.1", "--count", "2"});
  EXPECT_EQ(watch.code, 0) << watch.err;
  EXPECT_EQ(line_count(watch.out), 2u) << watch.out;

  // A clean shutdown on SIGTERM.
  node.signal(SIGTERM);
  auto code = node.finish(10s);
  ASSERT_TRUE(code.has_value()) << "the node did not stop on SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_NE(node.err.find("SIGTERM, shutting down"), std::string::npos);
}

TEST(ProgramStatus, UnreachableNodeIsOneLineAndNonZero) {
  REQUIRE_PROGRAM();
  auto port = free_port();
  auto r = run({"status", "--connect", "127.0.0.1:" + std::to_string(port),
                "--timeout", "3"});
  expect_one_line_failure(r, "cannot reach a manager at 127.0.0.1:" +
                                 std::to_string(port));
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(ProgramStatus, MalformedEndpointIsOneLine) {
  REQUIRE_PROGRAM();
  expect_one_line_failure(run({"status", "--connect", "localhost"}),
                          "HOST:PORT");
}

TEST(ProgramNode, PortInUseIsOneLineAndNonZero) {
  REQUIRE_PROGRAM();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto port = std::to_string(ntohs(addr.sin_port));
  auto r = run({"node", "--port", port}, temp_dir(), 15s);
  ::close(fd);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("cannot publish on 127.0.0.1:" + port),
            std::string::npos)
      << r.err;
  // The problem is one line (the pool capacities are never printed).
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
}

TEST(ProgramNode, MalformedConfigIsOneLineAndNonZero) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  std::ofstream(dir + "/bad.json") << "{ \"computational_capacity\": 100, ";
  expect_one_line_failure(
      run({"node", "--config", dir + "/bad.json", "--port", "0"}), "bad.json");
}

// -- simulate
// ------------------------------------------------------------------

TEST(ProgramSimulate, SameSeedGivesTheSameSummaryAndAWellFormedReport) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  auto first = run({"simulate", "--seed", "5", "--duration", "90", "--report",
                    dir + "/a.html"});
  auto second = run({"simulate", "--seed", "5", "--duration", "90", "--report",
                     dir + "/b.html"});
  auto other =
      run({"simulate", "--seed", "6", "--duration", "90", "--report", ""});
  ASSERT_EQ(first.code, 0) << first.err;
  ASSERT_EQ(second.code, 0) << second.err;
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_EQ(first.out, second.out);
  EXPECT_NE(first.out, other.out);
  for (auto section : {"seed 5, 90 s of virtual time", "Utilization per type",
                       "Requests by priority",
                       "Grants taken back:", "Forecast error", "Timeline"})
    EXPECT_NE(first.out.find(section), std::string::npos)
        << section << " missing in:\n"
        << first.out;
  EXPECT_NE(first.err.find("report written to " + dir + "/a.html"),
            std::string::npos)
      << first.err;

  auto html = read_file(dir + "/a.html");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("class=\"actual\""), std::string::npos);
  EXPECT_NE(html.find("class=\"forecast\""), std::string::npos);
  ASSERT_GE(html.size(), 8u);
  EXPECT_EQ(html.substr(html.size() - 8), "</html>\n");
  // Self-contained: nothing is fetched from elsewhere.
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
}

TEST(ProgramSimulate, RunsWithNoArgumentsFromAnyDirectory) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  auto r = run({"simulate"}, dir, 25s);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("workload \"default\""), std::string::npos) << r.out;
  EXPECT_TRUE(exists(dir + "/rros-report.html"));
  // Longer runs show their progress on stderr.
  EXPECT_NE(r.err.find("100% (300 of 300 s virtual"), std::string::npos)
      << r.err;
  // Before the end, with an estimate of the time left.
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex{"% \\([0-9]+ of 300 s virtual, [0-9.]+ s wall, "
                        "about [0-9.]+ s left\\)"}))
      << r.err;
}

TEST(ProgramSimulate, EmbeddedWorkloadIsTheShippedFile) {
  REQUIRE_PROGRAM();
  auto path = source_root() + "/config/workloads/default.json";
  if (!exists(path))
    GTEST_SKIP() << "no source tree at " << path;
  auto r = run({"simulate", "--print-workload"});
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out, read_file(path))
      << "app/simulate/default_workload.cpp embeds a different default "
         "workload";
  auto from_file = run({"simulate", "--workload", path, "--seed", "3",
                        "--duration", "30", "--report", ""});
  auto embedded =
      run({"simulate", "--seed", "3", "--duration", "30", "--report", ""});
  EXPECT_EQ(from_file.code, 0) << from_file.err;
  EXPECT_EQ(from_file.out, embedded.out);
}

TEST(ProgramSimulate, BadWorkloadsAreOneLineAndNonZero) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  const std::string module =
      R"({"name": "m", "rate": 1, "demand": {"computational": 5}})";
  struct Case {
    std::string file;
    std::string needle;
  };
  std::vector<Case> cases{
      {write("unknown_top.json",
             R"({"modules": [)" + module + R"(], "bogus": 1})"),
       "unknown key 'bogus' in the workload"},
      {write("unknown_module.json",
             R"({"modules": [{"name": "m", "rate": 1, "demand": )"
             R"({"computational": 5}, "colour": "red"}]})"),
       "unknown key 'colour' in modules[0] (m)"},
      {write(
           "unknown_type.json",
           R"({"modules": [{"name": "m", "rate": 1, "demand": {"gpu": 5}}]})"),
       "unknown key 'gpu' in modules[0] (m).demand"},
      {write("malformed.json", "{\n  \"modules\": [\n    {\"name\": }\n]}"),
       "malformed JSON at line 3"},
      {write("too_big.json",
             R"({"modules": [{"name": "m", "rate": 1, "demand": )"
             R"({"computational": 500}}]})"),
       "modules[0] (m).demand.computational"},
      {write("bad_config.json",
             R"({"config": {"warp_capacity": 1}, "modules": [)" + module +
                 "]}"),
       "warp_capacity"},
      {write("no_modules.json", R"({"duration": 10})"), "\"modules\""},
      {dir + "/missing.json", "cannot read workload file"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    auto r = run(
        {"simulate", "--workload", c.file, "--report", dir + "/never.html"});
    expect_one_line_failure(r, c.needle);
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  EXPECT_FALSE(exists(dir + "/never.html"));
}

TEST(ProgramSimulate, UnwritableReportIsOneLineAndNonZero) {
  REQUIRE_PROGRAM();
  expect_one_line_failure(run({"simulate", "--duration", "5", "--report",
                               "/nonexistent-dir/r.html"}),
                          "cannot write the report");
}

namespace {

/// The number before `label` in `text` ("12 lost with their node"), or -1.
long count_before(const std::string& text, const std::string& label) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("(\\d+) " + label)))
    return -1;
  return std::stol(m[1]);
}

/// The summary's row of `node` in the Nodes table.
std::string node_row(const std::string& out, const std::string& node) {
  auto table = out.find("\nNodes\n");
  if (table == std::string::npos)
    return {};
  auto at = out.find("\n" + node + " ", table + 1);
  if (at == std::string::npos)
    return {};
  return out.substr(at + 1, out.find('\n', at + 1) - at - 1);
}

} // namespace

TEST(ProgramSimulate, AClusterRunShowsEachNodeAndTheSurvivorsBooksAreExact) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  std::vector<std::string> args{"simulate", "--nodes",      "3", "--lose",
                                "b@60",     "--seed",       "4", "--duration",
                                "120",      "--no-progress"};
  auto with_report = args;
  with_report.insert(with_report.end(), {"--report", dir + "/c.html"});
  auto first = run(with_report);
  args.insert(args.end(), {"--report", ""});
  auto second = run(args);
  ASSERT_EQ(first.code, 0) << first.err << first.out;
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(first.out, second.out); // one seed, one summary
  EXPECT_NE(first.out.find("on 3 nodes, seed 4, 120 s of virtual time, node b "
                           "lost at 60 s"),
            std::string::npos)
      << first.out;
  // b held grants when it was killed: they are reported lost with it, and
  // the survivors' pools list exactly the grants their tasks hold.
  auto row_b = node_row(first.out, "b");
  EXPECT_NE(row_b.find("lost at 60.0 s"), std::string::npos) << first.out;
  auto lost = count_before(first.out, "lost with their node");
  EXPECT_GT(lost, 0) << first.out;
  EXPECT_NE(first.out.find("node b lost with " + std::to_string(lost) +
                           " tasks holding grants there"),
            std::string::npos)
      << first.out;
  for (auto node : {"a", "c"}) {
    auto row = node_row(first.out, node);
    EXPECT_NE(row.find("alive"), std::string::npos) << first.out;
    EXPECT_NE(row.find("exact ("), std::string::npos) << first.out;
    // Something was placed on every node.
    std::istringstream cells(row);
    std::string name, state;
    long grants = -1;
    cells >> name >> state >> grants;
    EXPECT_GT(grants, 0) << row;
  }
  EXPECT_EQ(first.out.find("MISMATCH"), std::string::npos) << first.out;

  auto html = read_file(dir + "/c.html");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (auto title :
       {"Node a (alive)", "Node b (lost at 60.0 s)", "Node c (alive)"})
    EXPECT_NE(html.find(title), std::string::npos) << title;
  EXPECT_NE(html.find("class=\"node-line\""), std::string::npos);
  ASSERT_GE(html.size(), 8u);
  EXPECT_EQ(html.substr(html.size() - 8), "</html>\n");
}

TEST(ProgramSimulate, BadClusterOptionsAreOneLineAndNonZero) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  auto report = dir + "/never.html";
  expect_one_line_failure(run({"simulate", "--nodes", "9", "--report", report}),
                          "--nodes");
  expect_one_line_failure(
      run({"simulate", "--nodes", "3", "--lose", "z@10", "--report", report}),
      "no node 'z' (the nodes are a to c)");
  expect_one_line_failure(
      run({"simulate", "--nodes", "3", "--lose", "b", "--report", report}),
      "'b' is not NODE@SECONDS");
  expect_one_line_failure(
      run({"simulate", "--nodes", "3", "--lose", "b@x", "--report", report}),
      "is not NODE@SECONDS");
  expect_one_line_failure(
      run({"simulate", "--lose", "b@10", "--report", report}),
      "--lose needs a cluster");
  expect_one_line_failure(run({"simulate", "--nodes", "2", "--duration", "100",
                               "--lose", "b@500", "--report", report}),
                          "not within the run");
  EXPECT_FALSE(exists(report));
}

// -- help and the command line
// -------------------------------------------------

TEST(ProgramHelp, EveryCommandHasHelpWithExamples) {
  REQUIRE_PROGRAM();
  for (auto command :
       {"", "simulate", "node", "status", "demo", "bench", "alloc", "release",
        "renew", "reserve", "cancel", "quota", "degrade", "completion"}) {
    SCOPED_TRACE(command);
    std::vector<std::string> args;
    if (*command)
      args.push_back(command);
    args.push_back("--help");
    auto r = run(args);
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("Example"), std::string::npos) << r.out;
  }
  // bench keeps its options.
  auto bench = run({"bench", "--help"});
  for (auto option : {"--runs", "--ops", "--threads"})
    EXPECT_NE(bench.out.find(option), std::string::npos) << option;
}

TEST(ProgramHelp, BadArgumentsAreOneLineAndNonZero) {
  REQUIRE_PROGRAM();
  expect_one_line_failure(run({"simulate", "--seed", "abc"}), "--seed");
  expect_one_line_failure(run({"simulate", "--frobnicate"}), "frobnicate");
  expect_one_line_failure(run({}), "a command is required");
}

// -- defects of the command line (issue 16)
// -------------------------------------------------------------

TEST(ProgramHelp, UnknownCommandsAreNamed) {
  REQUIRE_PROGRAM();
  auto r = run({"frobnicate"});
  expect_one_line_failure(r, "unknown command 'frobnicate'");
  EXPECT_NE(r.err.find("simulate"), std::string::npos) << r.err;
  expect_one_line_failure(run({"help", "frobnicate"}),
                          "unknown command 'frobnicate'");
}

TEST(ProgramHelp, VersionAndHelpCommandWork) {
  REQUIRE_PROGRAM();
  auto version = run({"--version"});
  EXPECT_EQ(version.code, 0) << version.err;
  EXPECT_EQ(version.out.rfind("rros ", 0), 0u) << version.out;
  EXPECT_TRUE(std::regex_search(version.out, std::regex{"[0-9]+\\.[0-9]+"}))
      << version.out;
  auto help = run({"help"});
  EXPECT_EQ(help.code, 0) << help.err;
  EXPECT_NE(help.out.find("simulate"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("Examples"), std::string::npos) << help.out;
  auto sub = run({"help", "simulate"});
  EXPECT_EQ(sub.code, 0) << sub.err;
  EXPECT_NE(sub.out.find("--workload"), std::string::npos) << sub.out;
  auto none = run({});
  expect_one_line_failure(none, "a command is required");
}

TEST(ProgramHelp, AMissingValueDoesNotSwallowTheNextOption) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  auto r =
      run({"simulate", "--duration", "5", "--report", "--no-progress"}, dir);
  expect_one_line_failure(r, "--report: missing value");
  EXPECT_NE(r.err.find("(see rros simulate --help)"), std::string::npos)
      << r.err;
  EXPECT_FALSE(exists(dir + "/--no-progress"));
  expect_one_line_failure(run({"status", "--connect", "--json"}, dir),
                          "--connect: missing value");
}

TEST(ProgramHelp, NumbersAreCheckedAsNumbers) {
  REQUIRE_PROGRAM();
  auto duration = run({"simulate", "--duration", "abc"});
  expect_one_line_failure(duration, "'abc' is not a number");
  EXPECT_NE(duration.err.find("rros simulate: --duration"), std::string::npos)
      << duration.err;
  EXPECT_NE(duration.err.find("(see rros simulate --help)"), std::string::npos)
      << duration.err;
  expect_one_line_failure(run({"simulate", "--duration", "0"}), "out of range");
  expect_one_line_failure(run({"simulate", "--seed", "-1"}),
                          "'-1' is not a whole number");
  expect_one_line_failure(
      run({"simulate", "--seed", "99999999999999999999999"}),
      "99999999999999999999999 is out of range");
  expect_one_line_failure(run({"simulate", "--seed", "1.5"}),
                          "not a whole number");
  expect_one_line_failure(run({"bench", "--threads", "0"}), "out of range");
  expect_one_line_failure(run({"node", "--port", "70000"}), "out of range");
  expect_one_line_failure(
      run({"status", "--connect", "127.0.0.1:1", "--interval", "x"}),
      "'x' is not a number");
  // The largest seed is still a seed.
  auto largest = run({"simulate", "--seed", "18446744073709551615",
                      "--duration", "5", "--report", ""});
  EXPECT_EQ(largest.code, 0) << largest.err;
  EXPECT_NE(largest.out.find("seed 18446744073709551615"), std::string::npos)
      << largest.out;
}

TEST(ProgramSimulate, AWorkloadDirectoryIsNamedAsOne) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  auto r = run({"simulate", "--workload", dir});
  expect_one_line_failure(r, "is a directory");
  auto node = run({"node", "--config", dir});
  expect_one_line_failure(node, "is a directory");
}

TEST(ProgramSimulate, RefusedMonitorThresholdsEndWithTheMessage) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  const std::string modules =
      R"("modules": [{"name": "m", "rate": 1, "demand": {"computational": 5}}])";
  for (auto [enter, exit] : std::vector<std::pair<std::string, std::string>>{
           {"0.9", "0.9"}, {"0.95", "0.96"}, {"0.5", "0.9"}}) {
    SCOPED_TRACE(enter + "/" + exit);
    auto path = dir + "/w" + enter + "-" + exit + ".json";
    std::ofstream(path) << R"({"monitor": {"degrade_enter": )" << enter
                        << R"(, "degrade_exit": )" << exit << "}, " << modules
                        << "}";
    // Before the fix this hung forever: bounded here by 15 s.
    auto r = run({"simulate", "--workload", path, "--report", ""}, {}, 15s);
    expect_one_line_failure(r, "monitor");
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST(ProgramSimulate, TheReportPrintsPlainNumbers) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  auto r = run({"simulate", "--duration", "10", "--report", dir + "/r.html"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto html = read_file(dir + "/r.html");
  EXPECT_EQ(html.find("e+0"), std::string::npos);
  EXPECT_NE(html.find("<td>memory</td><td>1.00 MiB</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>computational</td><td>100</td>"), std::string::npos);
}

TEST(ProgramBench, OneThreadPrintsEveryKeyOnce) {
  REQUIRE_PROGRAM();
  auto r =
      run({"bench", "--runs", "1", "--ops", "200", "--threads", "1"}, {}, 120s);
  ASSERT_EQ(r.code, 0) << r.err;
  std::set<std::string> keys;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    auto colon = line.find(": ");
    if (colon == std::string::npos || line.find(' ') < colon)
      continue; // not a "key: value" line
    auto key = line.substr(0, colon);
    EXPECT_TRUE(keys.insert(key).second) << "printed twice: " << key;
  }
  EXPECT_TRUE(keys.count("mutex.t1.alloc_release.p50_us")) << r.out;
  EXPECT_TRUE(keys.count("facade.t1.alloc_release.p50_us")) << r.out;
}

// -- the shell client against a real node
// ---------------------------------------------------

TEST(ProgramClient, DrivesARealNode) {
  REQUIRE_PROGRAM();
  auto dir = temp_dir();
  Child node({"node", "--port", "0", "--config",
              source_root() + "/config/default.json"},
             dir);
  ASSERT_TRUE(node.started());
  auto endpoint = start_node(node);
  ASSERT_FALSE(endpoint.empty()) << node.out << node.err;
  auto client = [&](std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--connect", endpoint});
    return args;
  };
  auto grant_of = [](const std::string& out) -> std::string {
    std::smatch m;
    return std::regex_search(out, m, std::regex{"grant ([0-9]+)"}) ? m.str(1)
                                                                   : "";
  };

  // A takes 90 of computational's 100 with a time-to-live and holds it.
  Child a(client({"alloc", "--type", "computational", "--amount", "90", "--ttl",
                  "60s", "--requester", "shell-a"}));
  ASSERT_TRUE(a.wait_for([&] { return !grant_of(a.out).empty(); }, 10s))
      << a.out << a.err;
  EXPECT_NE(a.out.find("granted 90.00 computational to shell-a: grant"),
            std::string::npos)
      << a.out;
  auto grant = grant_of(a.out);
  EXPECT_TRUE(node.wait_for(
      [&] {
        return node.err.find("computational alert WARNING") !=
               std::string::npos;
      },
      10s))
      << node.err;
  EXPECT_EQ(node.err.find("computational computational"), std::string::npos)
      << node.err;

  // status: the holder with its grant, the alert once named, memory in
  // binary units, plain JSON numbers.
  auto status = run({"status", "--connect", endpoint, "--holders"});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_TRUE(std::regex_search(
      status.out, std::regex{"shell-a +90\\.00 +0\\.00  " + grant}))
      << status.out;
  EXPECT_NE(status.out.find("WARNING  computational utilization 90.0%"),
            std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("1.00 MiB"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("waiting: none"), std::string::npos) << status.out;
  auto json = run({"status", "--connect", endpoint, "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_NE(json.out.find("\"threshold\":0.85}"), std::string::npos)
      << json.out;

  // B waits for 20 (HIGH): status shows the demand. Another shell may not
  // cancel B's request (a request belongs to the process that made it,
  // docs/security.md); B, interrupted, ends its wait itself.
  Child b(client({"alloc", "--type", "computational", "--amount", "20",
                  "--priority", "HIGH", "--wait", "30s", "--requester",
                  "shell-b", "--request-id", "42"}));
  ASSERT_TRUE(b.wait_for(
      [&] { return b.err.find("waiting up to") != std::string::npos; }, 10s))
      << b.err;
  Result waiting;
  for (int i = 0; i < 50; ++i) {
    waiting = run({"status", "--connect", endpoint, "--holders"});
    if (waiting.out.find("1 request for 20.00 (HIGH 1)") != std::string::npos)
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(waiting.out.find("computational 1 request for 20.00 (HIGH 1)"),
            std::string::npos)
      << waiting.out;
  EXPECT_TRUE(
      std::regex_search(waiting.out, std::regex{"shell-b +42 +HIGH +20\\.00"}))
      << waiting.out;
  auto cancel = run(client({"cancel", "--type", "computational", "--requester",
                            "shell-b", "--request", "42"}));
  expect_one_line_failure(cancel, "unknown_request");
  EXPECT_EQ(cancel.code, 3);
  b.signal(SIGTERM);
  EXPECT_TRUE(b.finish(10s).has_value()) << b.err;

  // Renewing A's grant from another shell is refused like an unknown id;
  // quota (used / hard; administration from a loopback peer), removed.
  auto renew = run(client(
      {"renew", "--type", "computational", "--grant", grant, "--ttl", "2m"}));
  expect_one_line_failure(renew, "unknown_grant");
  EXPECT_EQ(renew.code, 3);
  auto quota = run(client({"quota", "--type", "computational", "--group",
                           "batch", "--member", "shell-a", "--max", "95"}));
  EXPECT_EQ(quota.code, 0) << quota.err;
  status = run({"status", "--connect", endpoint, "--holders"});
  EXPECT_TRUE(std::regex_search(
      status.out, std::regex{"batch +90\\.00 / 95\\.00 .*shell-a"}))
      << status.out;
  EXPECT_EQ(run(client({"quota", "--type", "computational", "--group", "batch",
                        "--remove"}))
                .code,
            0);

  // Another shell cannot release A's grant; A, interrupted, releases it.
  auto release =
      run(client({"release", "--type", "computational", "--grant", grant}));
  expect_one_line_failure(release, "unknown_grant");
  EXPECT_EQ(release.code, 3);
  a.signal(SIGTERM);
  EXPECT_EQ(a.finish(10s).value_or(-1), 0) << a.err;
  EXPECT_NE(a.err.find("released grant " + grant), std::string::npos) << a.err;
  // The node says which alert cleared.
  EXPECT_TRUE(node.wait_for(
      [&] {
        return node.err.find("computational alert cleared (was WARNING: "
                             "utilization 90.0%") != std::string::npos;
      },
      10s))
      << node.err;

  // Degraded by hand and back: one "recovered" line, no "alert cleared".
  auto degrade = run(client({"degrade", "--type", "io"}));
  EXPECT_EQ(degrade.code, 0) << degrade.err;
  EXPECT_NE(degrade.out.find("io degraded by hand: refusing"),
            std::string::npos)
      << degrade.out;
  auto back = run(client({"degrade", "--type", "io", "--off"}));
  EXPECT_EQ(back.code, 0) << back.err;
  EXPECT_NE(back.out.find("io not degraded"), std::string::npos) << back.out;
  EXPECT_TRUE(node.wait_for(
      [&] {
        return node.err.find("io recovered from degraded mode") !=
               std::string::npos;
      },
      10s))
      << node.err;
  node.pump(300ms);
  EXPECT_EQ(occurrences(node.err, "io alert cleared"), 0u) << node.err;
  EXPECT_EQ(occurrences(node.err, "io recovered"), 1u) << node.err;

  // --hold ends by itself; a reservation is returned at its end.
  auto held = run(
      client({"alloc", "--type", "io", "--amount", "10", "--hold", "300ms"}));
  EXPECT_EQ(held.code, 0) << held.err;
  EXPECT_NE(held.err.find("held 0.3 s: released grant"), std::string::npos)
      << held.err;
  auto reserved = run(client({"reserve", "--type", "attention", "--amount",
                              "0.5", "--hold", "300ms"}));
  EXPECT_EQ(reserved.code, 0) << reserved.err;
  EXPECT_NE(reserved.out.find("reserved 0.50 attention"), std::string::npos)
      << reserved.out;
  EXPECT_NE(reserved.err.find("returned 0.50 attention"), std::string::npos)
      << reserved.err;

  // A holder that dies: the node takes its grant back.
  Child c(client({"alloc", "--type", "network", "--amount", "40"}));
  ASSERT_TRUE(c.wait_for([&] { return !grant_of(c.out).empty(); }, 10s))
      << c.err;
  c.signal(SIGKILL);
  c.finish(5s);
  bool returned = false;
  for (int i = 0; i < 100 && !returned; ++i) {
    auto json_now = run({"status", "--connect", endpoint, "--json"});
    rapidjson::Document doc;
    doc.Parse(json_now.out.c_str());
    returned =
        !doc.HasParseError() && doc["pools"][4]["held"].GetDouble() == 0.0;
    if (!returned)
      std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(returned) << "the killed holder's grant did not come back";

  // A degradation entered by itself says its dwell plainly ("for 2 s").
  Child e(client(
      {"alloc", "--type", "attention", "--amount", "1", "--hold", "4s"}));
  EXPECT_TRUE(node.wait_for(
      [&] { return node.err.find("attention degraded:") != std::string::npos; },
      15s))
      << node.err;
  EXPECT_TRUE(
      std::regex_search(node.err, std::regex{"above 95\\.0% for [0-9.]+ s;"}))
      << node.err;
  EXPECT_FALSE(std::regex_search(node.err, std::regex{"[0-9]\\.[0-9]{3,}s"}))
      << node.err;
  EXPECT_EQ(e.finish(15s).value_or(-1), 0) << e.err;

  // Refusals: exit 3 and one line; bad input: exit 2.
  auto unknown =
      run(client({"release", "--type", "computational", "--grant", "999999"}));
  expect_one_line_failure(unknown, "unknown_grant");
  EXPECT_EQ(unknown.code, 3);
  auto too_big =
      run(client({"alloc", "--type", "computational", "--amount", "500"}));
  expect_one_line_failure(too_big, "exceeds_capacity");
  EXPECT_EQ(too_big.code, 3);
  auto bad_hold = run(client(
      {"alloc", "--type", "computational", "--amount", "5", "--hold", "5x"}));
  expect_one_line_failure(bad_hold, "not a duration");
  EXPECT_EQ(bad_hold.code, 2);
  auto bad_type = run(client({"alloc", "--type", "gpu", "--amount", "5"}));
  expect_one_line_failure(bad_type, "--type");
  EXPECT_EQ(bad_type.code, 2);
  auto neither = run(client({"release", "--type", "io"}));
  expect_one_line_failure(neither, "give --grant ID");

  node.signal(SIGTERM);
  EXPECT_EQ(node.finish(10s).value_or(-1), 0);
}

TEST(ProgramClient, UnreachableNodeIsOneLineAndExitTwo) {
  REQUIRE_PROGRAM();
  auto port = free_port();
  auto r = run({"alloc", "--connect", "127.0.0.1:" + std::to_string(port),
                "--type", "io", "--amount", "1", "--timeout", "3"});
  expect_one_line_failure(r, "rros alloc: cannot reach a manager at");
  EXPECT_EQ(r.code, 2);
}

TEST(ProgramNode, LogLevelChoosesTheLines) {
  REQUIRE_PROGRAM();
  Child node({"node", "--port", "0", "--log-level", "warning"}, temp_dir());
  auto endpoint = start_node(node);
  ASSERT_FALSE(endpoint.empty()) << node.out << node.err;
  node.pump(200ms);
  EXPECT_EQ(node.err.find("pool computational capacity"), std::string::npos)
      << node.err;
  node.signal(SIGTERM);
  EXPECT_EQ(node.finish(10s).value_or(-1), 0);
  expect_one_line_failure(run({"node", "--log-level", "chatty"}),
                          "--log-level");
  // debug adds the monitor's samples, memory in binary units.
  Child chatty({"node", "--port", "0", "--log-level", "debug"}, temp_dir());
  ASSERT_FALSE(start_node(chatty).empty()) << chatty.out << chatty.err;
  EXPECT_TRUE(chatty.wait_for(
      [&] {
        return chatty.err.find("memory sample: 0 B of 1.00 MiB (0.0%)") !=
               std::string::npos;
      },
      10s))
      << chatty.err;
  chatty.signal(SIGTERM);
  EXPECT_EQ(chatty.finish(10s).value_or(-1), 0);
}

TEST(ProgramHelp, BashCompletionComesFromTheDefinition) {
  REQUIRE_PROGRAM();
  auto r = run({"completion", "bash"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("complete -F _rros rros"), std::string::npos);
  for (auto word : {"simulate", "alloc", "degrade", "--holders", "--hold",
                    "--log-level", "computational", "CRITICAL"})
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  if (::system("bash -n /dev/null 2>/dev/null") == 0) {
    auto dir = temp_dir();
    std::ofstream(dir + "/c.bash") << r.out;
    EXPECT_EQ(::system(("bash -n " + dir + "/c.bash").c_str()), 0)
        << "bash does not parse the completion script";
  }
}

} // namespace
