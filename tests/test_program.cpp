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
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "facade/resource_manager.hpp"
#include "messages/monitor_messages.hpp"

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

/// The repository root, from this file's path (CMake passes absolute paths).
std::string source_root() {
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
      std::vector<std::string> copy = args;
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

// -- help and the command line
// -------------------------------------------------

TEST(ProgramHelp, EveryCommandHasHelpWithExamples) {
  REQUIRE_PROGRAM();
  for (auto command : {"", "simulate", "node", "status", "demo", "bench"}) {
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
  expect_one_line_failure(run({}), "subcommand");
}

} // namespace
