#include "app/bench/cluster.hpp"

#include <csignal>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "app/bench/statistics.hpp"
#include "app/tls.hpp"
#include "facade/cluster.hpp"
#include "facade/connection_liveness.hpp"
#include "messages/type_ids.hpp"

extern char** environ;

namespace rros::app::benchmark {

namespace {

/// One node process; killed (and reaped) when it goes out of scope.
class NodeProcess {
public:
  NodeProcess(const std::string& dir, const std::string& name,
              const std::string& join)
    : out_(dir + "/" + name + ".out")
    , err_(dir + "/" + name + ".err") {
    std::vector<std::string> args{
        "rros", "node", "--port", "0", "--name", name, "--log-level", "warning",
        "--heartbeat-interval", "100ms", "--connection-timeout", "500ms",
        // Placement is measured, not the disk.
        "--no-persist"};
    if (!join.empty()) {
      args.push_back("--join");
      args.push_back(join);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    // Each node keeps its incarnation file in the bench's directory.
    posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
    std::vector<char*> argv;
    for (auto& arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, "/proc/self/exe", &actions, nullptr, argv.data(),
                    environ) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }

  ~NodeProcess() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);
    ::waitpid(pid_, nullptr, 0);
  }

  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  void signal(int sig) {
    if (pid_ > 0)
      ::kill(pid_, sig);
  }

  std::string out() const {
    return read(out_);
  }

  std::string err() const {
    return read(err_);
  }

  /// Waits (bounded) until stdout holds `text`; false when it did not.
  bool wait_out(const std::string& text, std::chrono::seconds limit) const {
    return wait_in(out_, text, limit) >= 0;
  }

  /// Seconds until stderr holds `text`, polled every millisecond; -1
  /// when it did not within `limit`.
  double wait_err(const std::string& text, std::chrono::seconds limit) const {
    return wait_in(err_, text, limit);
  }

  /// "127.0.0.1:PORT" from the published line, or "".
  std::string endpoint() const {
    const std::string prefix = "published on 127.0.0.1:";
    auto text = out();
    auto at = text.find(prefix);
    if (at == std::string::npos)
      return {};
    return "127.0.0.1:" + std::to_string(std::strtoul(
                              text.c_str() + at + prefix.size(), nullptr, 10));
  }

  bool started() const {
    return pid_ > 0;
  }

private:
  static std::string read(const std::string& path) {
    std::ifstream in{path};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  static double wait_in(const std::string& path, const std::string& text,
                        std::chrono::seconds limit) {
    auto start = steady::now();
    while (steady::now() - start < limit) {
      if (read(path).find(text) != std::string::npos)
        return std::chrono::duration<double>(steady::now() - start).count();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return -1;
  }

  std::string out_, err_;
  pid_t pid_ = -1;
};

std::string make_dir() {
  char templ[] = "/tmp/rros-bench-cluster-XXXXXX";
  auto* dir = ::mkdtemp(templ);
  return dir ? std::string{dir} : std::string{};
}

} // namespace

std::string bench_cluster(int runs, int operations) {
  auto dir = make_dir();
  if (dir.empty())
    return "cannot make a temporary directory";
  std::string error;
  {
    NodeProcess a{dir, "a", ""};
    if (!a.started() || !a.wait_out("incarnation", std::chrono::seconds(15)))
      return "node a did not start: " + a.err();
    NodeProcess b{dir, "b", a.endpoint()};
    NodeProcess c{dir, "c", a.endpoint()};
    for (auto* node : {&b, &c})
      if (!node->wait_out("joined cluster", std::chrono::seconds(15)))
        return "a node did not join: " + node->err();
    // Full mesh: every node printed the two others' join.
    for (auto* node : {&a, &b, &c})
      for (const char* name : {"a", "b", "c"})
        if (node != (name[0] == 'a'   ? &a
                     : name[0] == 'b' ? &b
                                      : &c) &&
            node->wait_err(std::string{"member "} + name + " (",
                           std::chrono::seconds(10)) < 0)
          return std::string{"the mesh did not form: a node never saw "} + name;

    caf::actor_system_config cfg;
    register_types(cfg);
    configure_network(cfg, {});
    set_connection_liveness(cfg,
                            {std::chrono::milliseconds(100), caf::timespan{0}});
    caf::actor_system sys{cfg};
    auto cluster = Cluster::connect(sys, {a.endpoint()});
    if (!cluster)
      return "cluster client: " + describe(cluster.error());
    auto& client = **cluster;
    if (client.nodes().size() != 3)
      return "the cluster client reaches " +
             std::to_string(client.nodes().size()) + " nodes, not 3";

    Series placement{"cluster.placement_allocate_release", {}};
    std::map<std::string, std::size_t> placed;
    for (int run = 0; run < runs && error.empty(); ++run) {
      Sample sample;
      std::deque<ClusterGrant> held;
      auto start = steady::now();
      for (int i = 0; i < operations; ++i) {
        auto t0 = steady::now();
        auto grant = client.allocate(ResourceRequest{
            "bench", ResourceType::COMPUTATIONAL, Priority::NORMAL, 1});
        if (!grant) {
          error = "placement: " + describe(grant.error());
          break;
        }
        sample.latency_ns.push_back(ns_between(t0, steady::now()));
        ++placed[grant->node];
        held.push_back(*grant);
        // 30 grants held at a time, so that placement spreads them.
        if (held.size() > 30) {
          auto receipt = client.release(held.front());
          held.pop_front();
          if (!receipt) {
            error = "release: " + describe(receipt.error());
            break;
          }
        }
        ++sample.ops;
      }
      for (; !held.empty() && error.empty(); held.pop_front())
        if (auto receipt = client.release(held.front()); !receipt)
          error = "release: " + describe(receipt.error());
      sample.seconds =
          std::chrono::duration<double>(steady::now() - start).count();
      placement.runs.push_back(figures_of(sample, sample));
    }
    if (!error.empty())
      return error;
    print(placement);
    print("cluster.placement_note",
          "one allocate of 1 computational (a status round trip to each of "
          "3 nodes, then the chosen pool) and, with 30 held, one release of "
          "the oldest per op; latency is the allocate");
    for (const auto& [node, count] : placed)
      print("cluster.placed_on." + node, std::to_string(count));

    // Detection: c is killed, then b is frozen; a's stderr says when it
    // marked each lost.
    c.signal(SIGKILL);
    auto killed =
        a.wait_err("member c (incarnation 1) lost", std::chrono::seconds(10));
    b.signal(SIGSTOP);
    auto frozen =
        a.wait_err("member b (incarnation 1) lost", std::chrono::seconds(10));
    if (killed < 0 || frozen < 0)
      return "a did not mark the killed or the frozen node lost within 10 s";
    print("cluster.detect_killed_node_s", fixed(killed, 3));
    print("cluster.detect_frozen_node_s", fixed(frozen, 3));
    print("cluster.detect_bound_s",
          "0.600 (connection timeout 0.5 s + heartbeat interval 0.1 s)");
    print("anchor.ray_gcs_node_death_s",
          "about 20-55 with its default health checks");
    print("anchor.kubernetes_node_monitor_grace_period_s", "40-50");
    b.signal(SIGCONT);
  }
  for (const char* name : {"a", "b", "c"}) {
    ::unlink((dir + "/" + name + ".out").c_str());
    ::unlink((dir + "/" + name + ".err").c_str());
    ::unlink((dir + "/rros-node-" + name + ".incarnation").c_str());
  }
  ::rmdir(dir.c_str());
  return error;
}

} // namespace rros::app::benchmark
