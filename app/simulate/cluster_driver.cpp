// The driver of `rros simulate --nodes N` (simulate_cluster() in
// cluster_simulation.hpp): N managers of one actor system stand in for the
// nodes, as in the deterministic cluster tests. Each workload module gets an
// actor and a cluster client of its own that places on every node alive when
// the module (re)starts. Virtual time moves to the next event (an arrival, a
// rate change, a module's death or restart, a node's loss, a sample), firing
// every actor timer on its due time. At the end every node alive is checked:
// its pools hold exactly what the tasks holding grants there add up to.
#include "app/simulate/cluster_simulation.hpp"

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <sstream>
#include <tuple>

#include <caf/all.hpp>

#include "actors/cluster_client.hpp"
#include "actors/manager.hpp"
#include "app/simulate/cluster_module.hpp"
#include "app/simulate/text.hpp"
#include "app/simulate/virtual_time.hpp"
#include "messages/error.hpp"
#include "messages/holders.hpp"
#include "messages/validate.hpp"

namespace rros::app {

using namespace sim;

namespace {

struct SimNode {
  manager_actor manager;
  PoolDirectory pools;
  bool alive = true;
};

/// Compares every node alive with the tasks: its pools list exactly the
/// grants (by holder and id) of the tasks holding grants there; each pool's
/// held units are the sum of its holders'; and each holder holds exactly
/// what its tasks there were granted (in units, as the pool converts the
/// amounts asked; a holder with a partial grant is compared by ids only).
void check_books(Driver& drv, const std::vector<SimNode>& nodes,
                 const ClusterShared& shared, ClusterSimResult& result) {
  using Key = std::tuple<ResourceType, std::string, GrantId>;
  using Holder = std::pair<ResourceType, std::string>;
  struct Expected {
    std::set<Key> grants;
    std::map<Holder, units> held; // -1: a partial grant, ids only
  };
  std::vector<Expected> expected(nodes.size());
  for (const auto& task : shared.tasks) {
    if (task.outcome != Outcome::held || task.node < 0)
      continue;
    auto& want = expected[static_cast<std::size_t>(task.node)];
    const auto& requester = shared.module_names[task.module];
    for (std::size_t k = 0; k < task.items.size(); ++k) {
      auto type = task.items[k].type;
      auto id = task.bundle == 0 ? task.grant : task.legs.at(k);
      want.grants.insert({type, requester, id});
      auto& held = want.held[{type, requester}];
      if (task.partial || held < 0)
        held = -1;
      else
        held += to_units(static_cast<double>(task.items[k].amount));
    }
  }
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    auto& series = result.nodes[n];
    if (!nodes[n].alive)
      continue;
    std::set<Key> found;
    bool exact = true;
    auto pools =
        drv.ask<std::vector<PoolStatus>>(nodes[n].manager, status_atom::value);
    if (!pools || pools->size() != resource_type_count)
      exact = false;
    for (auto type : all_resource_types) {
      auto holders =
          drv.ask<PoolHolders>(nodes[n].pools[type], holders_atom::value);
      if (!holders || !pools || pools->size() != resource_type_count) {
        exact = false;
        continue;
      }
      units sum = 0;
      for (const auto& entry : holders->holders) {
        sum += entry.held;
        for (auto id : entry.grants)
          found.insert({type, entry.requester, id});
        auto want = expected[n].held.find({type, entry.requester});
        auto want_units = want == expected[n].held.end() ? 0 : want->second;
        if (want_units >= 0 && entry.held != want_units)
          exact = false;
      }
      if (sum != (*pools)[static_cast<std::size_t>(type)].held)
        exact = false;
    }
    series.grants_at_end = found.size();
    series.task_grants_at_end = expected[n].grants.size();
    series.books_exact = exact && found == expected[n].grants;
  }
}

} // namespace

std::string check_cluster_options(const ClusterSimOptions& options,
                                  double duration) {
  if (options.nodes < 2 || options.nodes > max_simulated_nodes)
    return "--nodes: " + std::to_string(options.nodes) +
           " is out of range (2 to " + std::to_string(max_simulated_nodes) +
           ")";
  if (options.lose.empty())
    return {};
  auto last = static_cast<char>('a' + options.nodes - 1);
  if (options.lose.size() != 1 || options.lose[0] < 'a' ||
      options.lose[0] > last)
    return "--lose: no node '" + options.lose + "' (the nodes are a to " +
           std::string(1, last) + ")";
  if (options.lose_at < 0 || options.lose_at >= duration)
    return "--lose: " + number_text(options.lose_at) +
           " s is not within the run (0 to " + number_text(duration) + " s)";
  return {};
}

bool simulate_cluster(const Workload& workload, std::uint64_t seed,
                      double duration, const ClusterSimOptions& options,
                      const ProgressFn& progress, ClusterSimResult& result,
                      std::string& error) {
  result = ClusterSimResult{};
  result.workload = workload;
  result.seed = seed;
  result.duration = duration;
  result.options = options;
  auto fail = [&](std::string message) {
    error = std::move(message);
    return false;
  };
  if (auto problem = check_cluster_options(options, duration); !problem.empty())
    return fail(problem);
  std::vector<std::string> names;
  for (int i = 0; i < options.nodes; ++i)
    names.emplace_back(1, static_cast<char>('a' + i));
  std::size_t lost_node = names.size();
  if (!options.lose.empty())
    lost_node = static_cast<std::size_t>(options.lose[0] - 'a');

  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  Driver drv{sys};

  ClusterShared shared; // outlives stop_all: the actors point at it
  std::vector<caf::actor> spawned;
  StopAll stop_all{spawned, drv};

  std::vector<SimNode> nodes(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    nodes[i].manager = spawn_manager(sys, workload.config);
    spawned.push_back(caf::actor_cast<caf::actor>(nodes[i].manager));
    drv.sched.run();
    auto pools = drv.ask<PoolDirectory>(nodes[i].manager, pools_atom::value);
    if (!pools)
      return fail("node " + names[i] + " did not start its pools");
    nodes[i].pools = *pools;
    NodeSeries series;
    series.name = names[i];
    result.nodes.push_back(std::move(series));
  }
  shared.node_names = names;
  shared.t0 = drv.sched.clock().now();
  for (const auto& m : workload.modules)
    shared.module_names.push_back(m.name);

  // A module's client knows the nodes alive when the module starts.
  auto spawn_module = [&](std::size_t i) {
    std::vector<ClusterNode> live;
    for (std::size_t n = 0; n < nodes.size(); ++n)
      if (nodes[n].alive)
        live.push_back(
            ClusterNode{names[n], 1, nodes[n].manager, nodes[n].pools});
    auto client = sys.spawn(cluster_client);
    // From a local actor: the client takes its node list from no one else.
    drv.self->send(client, nodes_atom::value, std::move(live));
    spawned.push_back(caf::actor_cast<caf::actor>(client));
    auto actor = sys.spawn(sim_cluster_module, &shared, i, client);
    spawned.push_back(actor);
    drv.sched.run();
    return std::make_pair(actor, caf::actor_cast<caf::actor>(client));
  };

  Timeline timeline{workload, seed, duration};
  auto& runs = timeline.runs;
  std::vector<caf::actor> clients(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i)
    std::tie(runs[i].actor, clients[i]) = spawn_module(i);
  for (double t = 1; t <= duration; t += 1)
    timeline.push(span_of(t), EventKind::sample, 0);
  if (lost_node < nodes.size())
    timeline.push(span_of(options.lose_at), EventKind::node_loss, lost_node);

  auto sample = [&](double now_s) {
    for (std::size_t n = 0; n < nodes.size(); ++n) {
      if (!nodes[n].alive)
        continue;
      auto pools = drv.ask<std::vector<PoolStatus>>(nodes[n].manager,
                                                    status_atom::value);
      if (!pools)
        continue;
      for (const auto& pool : *pools)
        if (is_valid(pool.type))
          result.nodes[n]
              .samples[static_cast<std::size_t>(pool.type)]
              .emplace_back(now_s, static_cast<float>(pool.utilization()));
    }
  };

  DeathCounts deaths{result.deaths, result.restarts, result.held_at_death};
  auto handle = [&](const Event& ev) {
    double now_s = seconds_of(ev.at);
    switch (ev.kind) {
      case EventKind::sample:
        sample(now_s);
        return;
      case EventKind::node_loss: {
        auto& node = nodes[ev.module];
        node.alive = false;
        result.nodes[ev.module].lost_at = now_s;
        std::uint64_t held = 0;
        for (const auto& task : shared.tasks)
          if (task.outcome == Outcome::held &&
              task.node == static_cast<int>(ev.module))
            ++held;
        // Killed like a crashed process: no goodbye to anyone. The clients
        // talk to its manager and pools; both end.
        caf::anon_send_exit(node.manager, caf::exit_reason::kill);
        for (const auto& pool : node.pools.pools)
          caf::anon_send_exit(pool, caf::exit_reason::kill);
        result.events.push_back(
            {now_s,
             "node " + names[ev.module] + " lost with " + std::to_string(held) +
                 " tasks holding grants there; placements go to the others",
             false, -1, std::string{}, "node " + names[ev.module] + " lost"});
        return;
      }
      case EventKind::arrival:
        if (auto task = timeline.arrive(ev, shared.tasks))
          caf::anon_send(runs[ev.module].actor, sim_task_atom::value, *task);
        return;
      case EventKind::rate_change:
        timeline.schedule_arrival(ev.module, now_s);
        return;
      case EventKind::death:
        // The module's process ends, its cluster client with it: every
        // node's pools see the client go and take its grants back.
        if (die(timeline, ev, shared.tasks, result.events, "every node",
                deaths)) {
          caf::anon_send_exit(runs[ev.module].actor, caf::exit_reason::kill);
          caf::anon_send_exit(clients[ev.module], caf::exit_reason::kill);
        }
        return;
      case EventKind::restart:
        std::tie(runs[ev.module].actor, clients[ev.module]) =
            spawn_module(ev.module);
        restarted(timeline, ev, result.events, deaths);
        return;
      case EventKind::forecast:
        return; // a one-node run's
    }
  };

  add_bursts(workload, duration, result.events);
  timeline.run(drv, shared.t0, progress, handle);
  std::stable_sort(
      result.events.begin(), result.events.end(),
      [](const SimEvent& x, const SimEvent& y) { return x.at < y.at; });

  // Notices since the last poll (an expiry, a preemption) settle their
  // tasks before the books are compared.
  for (const auto& run : runs)
    if (run.alive)
      caf::anon_send(run.actor, sim_poll_atom::value, false);
  drv.sched.run();

  // -- figures at the end
  tally_tasks(shared.tasks, result);
  for (const auto& task : shared.tasks) {
    if (task.node < 0 || !was_granted(task.outcome))
      continue;
    auto& node = result.nodes[static_cast<std::size_t>(task.node)];
    if (task.bundle != 0)
      ++node.bundles;
    else
      ++node.grants;
    if (task.outcome == Outcome::node_lost) {
      ++result.node_lost;
      ++node.lost_tasks;
    }
  }
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    auto& series = result.nodes[n];
    for (std::size_t t = 0; t < resource_type_count; ++t) {
      const auto& s = series.samples[t];
      double sum = 0;
      for (const auto& [at, u] : s) {
        sum += u;
        series.peak[t] = std::max(series.peak[t], static_cast<double>(u));
      }
      series.mean[t] = s.empty() ? 0 : sum / static_cast<double>(s.size());
    }
  }
  check_books(drv, nodes, shared, result);
  return true; // stop_all ends the actors
}

} // namespace rros::app
