// `rros bench`: the performance protocol of docs (DESIGN.md "Performance
// protocol"). Everything runs in one process and one invocation, so that the
// ratios between the paths are meaningful on any machine:
//
//   actor   an event-based client actor drives the COMPUTATIONAL pool of a
//           manager spawned in a shared actor_system, one request in flight
//   floor   the same client against a bare typed echo actor answering the
//           same message shapes with no logic (the framework's floor)
//   mutex   a plain class with the seed's lock-per-pool design, called
//           directly by 1 and by `threads` plain threads
//   facade  rros::ResourceManager (its own actor_system), called by 1 and by
//           `threads` plain threads
//   mixed   4 event-based client actors at once in the shared system against
//           a second manager's COMPUTATIONAL pool of capacity 25: each cycle
//           allocates 10 units (NORMAL, deadline 1 s, so some wait) and
//           releases the grant by id, every 10th cycle by requester and
//           amount (exact); at the same time 2 bundle client actors ask
//           the bundle coordinator for HIGH bundles of IO 60 + NETWORK 60
//           (every other cycle + COMPUTATIONAL 2: 2 and 3 types, so one
//           bundle is held at a time and the other waits) and release
//           each as one; latencies are whole cycles
//   pipelined  10 event-based client actors at once against the pool, each
//           keeping 256 items in flight through a PoolPipeline (batched
//           calls, at most 2 batches in flight per client); the aggregate
//           throughput beside the mutex baseline's
//   books   bytes of a pool's books per live grant at 100,000 grants
//   memory  an event-based client actor allocates and frees tracked blocks
//           of 256 bytes through the manager's memory manager actor, beside
//           malloc/free of the same size in a loop (the baseline)
//
// One "op" is one allocate or one release round trip (call); a cycle is an
// allocate followed by an exact release of the same amount. Each figure is
// the median over the runs; latencies are p50 / p99 of single ops. Every
// allocate must be fully satisfied and every release exact, and after each
// part the ledger must be back to nothing held; otherwise the bench prints
//
// This file is the orchestration: it sets up the actor systems and managers,
// runs every part `runs` times, checks the ledgers after each, and prints
// the medians and ratios. The parts live beside it in app/bench/. With
// --scale it runs only the scale measurement instead (scale.hpp).

#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/manager.hpp"
#include "app/bench/book_memory.hpp"
#include "app/bench/checks.hpp"
#include "app/bench/cluster.hpp"
#include "app/bench/durability.hpp"
#include "app/bench/flood.hpp"
#include "app/bench/floor_actor.hpp"
#include "app/bench/mixed_workload.hpp"
#include "app/bench/mutex_baseline.hpp"
#include "app/bench/parameters.hpp"
#include "app/bench/pipelined_clients.hpp"
#include "app/bench/plain_client.hpp"
#include "app/bench/plain_threads.hpp"
#include "app/bench/scale.hpp"
#include "app/bench/scheduler_dispatch.hpp"
#include "app/bench/statistics.hpp"
#include "app/bench/tracked_memory.hpp"
#include "app/commands.hpp"
#include "facade/resource_manager.hpp"
#include "messages/actors.hpp"
#include "messages/error.hpp"
#include "messages/memory_messages.hpp"
#include "messages/type_ids.hpp"

namespace rros::app {

using namespace benchmark;

namespace {

/// Scheduler settings of an actor system, as printed.
struct SchedulerSettings {
  caf::atom_value policy = caf::defaults::scheduler::policy;
  std::size_t workers = 0;
  std::size_t aggressive_poll_attempts = 0;
};

SchedulerSettings settings_of(caf::actor_system& sys) {
  SchedulerSettings result;
  const auto& cfg = sys.config();
  result.policy =
      caf::get_or(cfg, "scheduler.policy", caf::defaults::scheduler::policy);
  result.workers = sys.scheduler().num_workers();
  result.aggressive_poll_attempts =
      caf::get_or(cfg, "work-stealing.aggressive-poll-attempts",
                  caf::defaults::work_stealing::aggressive_poll_attempts);
  return result;
}

void print_settings(const std::string& prefix, const SchedulerSettings& x) {
  print(prefix + ".scheduler_policy", caf::to_string(x.policy));
  print(prefix + ".workers", std::to_string(x.workers));
  print(prefix + ".aggressive_poll_attempts",
        std::to_string(x.aggressive_poll_attempts));
}

/// The bench proper; returns an error text or "" (errors end it early).
std::string bench(const BenchOptions& opts) {
  const int n = opts.threads;
  const std::string tn = "t" + std::to_string(n);
  std::cout << "rros bench: cores=" << std::thread::hardware_concurrency()
            << " runs=" << opts.runs << " operations=" << opts.operations
            << " threads=" << n << " warmup_cycles=" << warmup_cycles
            << " amount=" << cycle_amount << " capacity=" << bench_capacity
            << " (op = one allocate or one release round trip; medians over "
               "runs; tN = N plain threads)\n";
  print("clock.steady_now_ns", fixed(clock_overhead_ns(), 1));

  // The facade owns its system; the shared system copies its scheduler
  // settings so that both paths run on the same scheduler configuration.
  ConfigMap capacity{
      {Config::capacity_key(ResourceType::COMPUTATIONAL), bench_capacity}};
  std::unique_ptr<ResourceManager> facade;
  try {
    facade = std::make_unique<ResourceManager>(capacity);
  } catch (const std::exception& e) {
    return std::string{"cannot start the facade: "} + e.what();
  }
  auto facade_settings = settings_of(facade->system());
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("scheduler.policy", facade_settings.policy);
  cfg.set("work-stealing.aggressive-poll-attempts",
          facade_settings.aggressive_poll_attempts);
  cfg.set("scheduler.max-threads", facade_settings.workers);
  caf::actor_system sys{cfg};
  print_settings("settings.shared_system", settings_of(sys));
  print_settings("settings.facade_system", facade_settings);
  print("settings.client_actor.request_timeout", "infinite");
  print("settings.mixed",
        "clients=" + std::to_string(mixed_clients) + " capacity=" +
            fixed(mixed_capacity, 0) + " amount=" + fixed(mixed_amount, 0) +
            " deadline_ms=" + std::to_string(mixed_deadline.count()) +
            " release_by_amount_every=" +
            std::to_string(mixed_release_by_amount_every) + " slow=allocate>" +
            fixed(mixed_slow_factor, 0) + "x_run_median_allocate");
  print("settings.mixed_bundles",
        "clients=" + std::to_string(mixed_bundle_clients) +
            " priority=" + to_string(mixed_bundle_priority) +
            " items=io:" + fixed(mixed_bundle_amount, 0) +
            "+network:" + fixed(mixed_bundle_amount, 0) +
            "[+computational:" + fixed(mixed_bundle_compute, 0) +
            " every other cycle] deadline_ms=" +
            std::to_string(mixed_deadline.count()) + " release=as_one");
  print("settings.memory", "block_bytes=" + std::to_string(memory_block_size) +
                               " in_flight=1 baseline=malloc+free");

  auto config = Config{}.with(capacity);
  if (!config)
    return "bad bench configuration: " + describe(config.error());
  auto manager = spawn_manager(sys, *config);
  auto mixed_config = Config{}.with(ConfigMap{
      {Config::capacity_key(ResourceType::COMPUTATIONAL), mixed_capacity}});
  if (!mixed_config)
    return "bad mixed configuration: " + describe(mixed_config.error());
  auto mixed_manager = spawn_manager(sys, *mixed_config);
  auto floor_actor = sys.spawn(echo);
  // Ends both before the system's destructor waits for every actor.
  struct ShutDown {
    std::function<void()> fn;
    ~ShutDown() {
      fn();
    }
  } shut_down{[&] {
    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(mixed_manager, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(floor_actor, caf::exit_reason::user_shutdown);
  }};
  auto computational_pool = [&](const manager_actor& owner,
                                pool_actor& result) {
    caf::scoped_actor self{sys};
    std::string err;
    self->request(owner, std::chrono::seconds(10), pools_atom::value)
        .receive(
            [&](PoolDirectory& dir) {
              if (dir.pools.size() != resource_type_count)
                err = "the manager lists " + std::to_string(dir.pools.size()) +
                      " pools";
              else
                result = dir[ResourceType::COMPUTATIONAL];
            },
            [&](caf::error& e) { err = "pools_atom failed: " + describe(e); });
    return err;
  };
  pool_actor pool;
  if (auto err = computational_pool(manager, pool); !err.empty())
    return err;
  pool_actor mixed_pool;
  if (auto err = computational_pool(mixed_manager, mixed_pool); !err.empty())
    return "mixed manager: " + err;
  // The mixed manager's bundle coordinator and every pool its bundles use;
  // the main manager's memory manager.
  bundle_actor mixed_bundles;
  PoolDirectory mixed_dir;
  memory_manager_actor memory;
  {
    caf::scoped_actor self{sys};
    std::string err;
    auto on_error = [&](caf::error& e) { err = describe(e); };
    self->request(mixed_manager, std::chrono::seconds(10), bundles_atom::value)
        .receive([&](bundle_actor& x) { mixed_bundles = x; }, on_error);
    self->request(mixed_manager, std::chrono::seconds(10), pools_atom::value)
        .receive([&](PoolDirectory& x) { mixed_dir = x; }, on_error);
    self->request(manager, std::chrono::seconds(10), subsystems_atom::value)
        .receive([&](Subsystems& x) { memory = x.memory; }, on_error);
    if (!err.empty())
      return "cannot reach the subsystems: " + err;
    if (!mixed_bundles || !memory ||
        mixed_dir.pools.size() != resource_type_count)
      return "the managers lack a bundle coordinator, memory manager or pool";
  }
  auto check_memory = [&](const std::string& part) -> std::string {
    caf::scoped_actor self{sys};
    std::string err;
    self->request(memory, std::chrono::seconds(10), stats_atom::value)
        .receive(
            [&](MemoryStats& x) {
              if (x.blocks != 0 || x.allocated_bytes != 0)
                err = part + ": " + std::to_string(x.blocks) +
                      " tracked blocks (" + std::to_string(x.allocated_bytes) +
                      " bytes) still live";
            },
            [&](caf::error& e) {
              err = part + ": stats_atom failed: " + describe(e);
            });
    return err;
  };

  MutexBaseline baseline{bench_capacity};
  ThreadClients mutex_one{"mutex", 1};
  ThreadClients mutex_n{"mutex", n};
  ThreadClients facade_one{"facade", 1};
  ThreadClients facade_n{"facade", n};

  Series actor{"actor.alloc_release", {}};
  Series floor{"floor.alloc_release", {}};
  Series floor_timeout{"diag.floor_with_request_timeout.alloc_release", {}};
  Series mutex1{"mutex.t1.alloc_release", {}};
  Series mutexn{"mutex." + tn + ".alloc_release", {}};
  Series facade1{"facade.t1.alloc_release", {}};
  Series facaden{"facade." + tn + ".alloc_release", {}};
  const std::string mixed_name = "mixed.c" + std::to_string(mixed_clients);
  Series mixed{mixed_name, {}};
  std::vector<double> mixed_slow;
  const std::string bundles_name =
      "mixed.b" + std::to_string(mixed_bundle_clients);
  Series mixed_b{bundles_name, {}};
  std::vector<double> mixed_b_slow;
  const std::string pipelined_name =
      "pipelined.c" + std::to_string(pipelined_clients);
  Series pipelined{pipelined_name, {}};
  Series memory_actor{"memory.actor.alloc_free", {}};
  Series memory_malloc{"memory.malloc.alloc_free", {}};

  auto check_mutex = [&](const std::string& part) -> std::string {
    auto [usage, holders] = baseline.status(ResourceType::COMPUTATIONAL);
    if (usage != 0 || holders != 0)
      return part + ": mutex baseline not back to capacity (usage " +
             std::to_string(usage) + ", holders " + std::to_string(holders) +
             ")";
    return {};
  };
  auto check_facade = [&](const std::string& part) {
    return check_ledger(facade->get_pool_status(ResourceType::COMPUTATIONAL),
                        part);
  };

  for (int r = 0; r < opts.runs; ++r) {
    auto part = [&](const std::string& name) {
      return name + " (run " + std::to_string(r + 1) + ")";
    };
    // Actor path and floor: the shared system. Their order alternates from
    // run to run, so that neither always meets the system in the same state.
    std::this_thread::sleep_for(settle_time);
    auto run_actor = [&]() -> std::string {
      auto s = drive(sys, pool, requester_name("actor", r), opts.operations);
      if (!s.error.empty())
        return part("actor") + ": " + s.error;
      if (auto err = check_ledger(pool_status(sys, pool), part("actor"));
          !err.empty())
        return err;
      actor.runs.push_back(figures_of(s, s));
      return {};
    };
    auto run_floor = [&]() -> std::string {
      auto s =
          drive(sys, floor_actor, requester_name("floor", r), opts.operations);
      if (!s.error.empty())
        return part("floor") + ": " + s.error;
      floor.runs.push_back(figures_of(s, s));
      return {};
    };
    for (int i = 0; i < 2; ++i)
      if (auto err = (i + r) % 2 == 0 ? run_actor() : run_floor(); !err.empty())
        return err;
    // Diagnostic: the floor again, each request with a CAF request timeout.
    auto s = drive(sys, floor_actor, requester_name("floor-timeout", r),
                   opts.operations, caf::duration{diag_request_timeout});
    if (!s.error.empty())
      return part("diag.floor_with_request_timeout") + ": " + s.error;
    floor_timeout.runs.push_back(figures_of(s, s));

    // Pipelined clients: batches through PoolPipeline, many at once.
    {
      auto p = drive_pipelined(sys, pool, r, opts.operations);
      if (!p.error.empty())
        return part(pipelined_name) + ": " + p.error;
      if (auto err = check_ledger(pool_status(sys, pool), part(pipelined_name));
          !err.empty())
        return err;
      pipelined.runs.push_back(figures_of(p, p));
    }

    // Mixed workload: concurrent clients that wait for each other.
    {
      auto m = drive_mixed(sys, mixed_pool, mixed_bundles, r, opts.operations);
      if (!m.sample.error.empty())
        return part(mixed_name) + ": " + m.sample.error;
      for (auto type : {ResourceType::COMPUTATIONAL, ResourceType::IO,
                        ResourceType::NETWORK})
        if (auto err = check_ledger(pool_status(sys, mixed_dir[type]),
                                    part(mixed_name) + " " + to_string(type));
            !err.empty())
          return err;
      mixed.runs.push_back(figures_of(m.sample, m.sample));
      mixed_slow.push_back(m.slow_allocations);
      mixed_b.runs.push_back(figures_of(m.bundles, m.bundles));
      mixed_b_slow.push_back(m.slow_bundle_allocations);
    }

    // Tracked memory through the memory manager actor, then malloc/free.
    {
      auto s = drive_memory(sys, memory, requester_name("memory", r),
                            opts.operations);
      if (!s.error.empty())
        return part("memory.actor") + ": " + s.error;
      if (auto err = check_memory(part("memory.actor")); !err.empty())
        return err;
      memory_actor.runs.push_back(figures_of(s, s));
      // Untimed only: a clock read costs ten times a malloc/free pair.
      auto counted = malloc_free(opts.operations);
      if (!counted.error.empty())
        return part("memory.malloc") + ": " + counted.error;
      memory_malloc.runs.push_back(figures_of(counted, counted));
    }

    // Mutex baseline: latencies from a timed pass, throughput from an
    // untimed one (a clock read costs about as much as a whole call here).
    // With --threads 1 the N-thread pass would repeat t1 under the same key.
    for (auto* clients : {&mutex_one, &mutex_n}) {
      if (clients == &mutex_n && n == 1)
        continue;
      auto threads = static_cast<int>(clients->ids.size());
      auto calls = mutex_calls(baseline, *clients);
      auto timed = run_threads(threads, opts.operations, true, calls);
      auto counted = run_threads(threads, opts.operations, false, calls);
      auto name = part(clients == &mutex_one ? "mutex.t1" : "mutex." + tn);
      for (auto* x : {&timed, &counted})
        if (!x->error.empty())
          return name + ": " + x->error;
      if (auto err = check_mutex(name); !err.empty())
        return err;
      (clients == &mutex_one ? mutex1 : mutexn)
          .runs.push_back(figures_of(timed, counted));
    }

    // Facade: its own system.
    std::this_thread::sleep_for(settle_time);
    for (auto* clients : {&facade_one, &facade_n}) {
      if (clients == &facade_n && n == 1)
        continue;
      auto threads = static_cast<int>(clients->ids.size());
      auto timed = run_threads(threads, opts.operations, true,
                               facade_calls(*facade, *clients));
      auto name = part(clients == &facade_one ? "facade.t1" : "facade." + tn);
      if (!timed.error.empty())
        return name + ": " + timed.error;
      if (auto err = check_facade(name); !err.empty())
        return err;
      (clients == &facade_one ? facade1 : facaden)
          .runs.push_back(figures_of(timed, timed));
    }
  }

  for (const auto* series :
       {&actor, &floor, &mutex1, &mutexn, &facade1, &facaden})
    if (n > 1 || (series != &mutexn && series != &facaden))
      print(*series);
  auto a = actor.medians();
  auto f = floor.medians();
  auto m = mutex1.medians();
  auto c = facade1.medians();
  auto ratio = [](double x, double y) { return y > 0 ? x / y : 0.0; };
  print("ratio.actor_vs_floor_p50", fixed(ratio(a.p50_us, f.p50_us), 2));
  print("ratio.actor_vs_floor_throughput",
        fixed(ratio(f.throughput, a.throughput), 2));
  print("ratio.facade_vs_mutex_p50", fixed(ratio(c.p50_us, m.p50_us), 2));
  print("ratio.facade_vs_floor_p50", fixed(ratio(c.p50_us, f.p50_us), 2));
  if (n > 1)
    print(
        "ratio.facade_" + tn + "_vs_mutex_" + tn + "_throughput",
        fixed(ratio(facaden.medians().throughput, mutexn.medians().throughput),
              3));
  // Pipelined: aggregate items per second of all clients (no latencies: a
  // batch answers many items at once).
  auto pl = pipelined.medians();
  print(pipelined_name + ".throughput_ops_per_s", fixed(pl.throughput, 0));
  print("ratio.pipelined_vs_actor_throughput",
        fixed(ratio(pl.throughput, a.throughput), 2));
  print("ratio.pipelined_vs_mutex_t1_throughput",
        fixed(ratio(pl.throughput, m.throughput), 3));
  if (n > 1)
    print("ratio.pipelined_vs_mutex_" + tn + "_throughput",
          fixed(ratio(pl.throughput, mutexn.medians().throughput), 3));
  // The books: bytes per live grant (deterministic; measured once).
  auto books = measure_book_memory(100'000);
  if (!books.error.empty())
    return "books: " + books.error;
  print("books.live_grants", std::to_string(books.grants));
  print("books.bytes_per_live_grant", fixed(books.bytes_per_grant, 1));
  print("books.preemptable.bytes_per_live_grant",
        fixed(books.preemptable_bytes_per_grant, 1));
  // Mixed: one line per figure; its latencies are whole cycles (two ops), so
  // a p50 ratio of 2.00 is per-op parity with the uncontended actor path.
  print(mixed);
  print(mixed_name + ".slow_allocations_per_run", fixed(median(mixed_slow), 1));
  print("ratio.mixed_vs_actor_p50",
        fixed(ratio(mixed.medians().p50_us, a.p50_us), 2));
  // Bundle clients of the same runs: a cycle is a bundle allocate (maybe
  // waiting for the other bundle client) + its release as one.
  print(mixed_b);
  print(bundles_name + ".slow_allocations_per_run",
        fixed(median(mixed_b_slow), 1));
  print("ratio.mixed_bundles_vs_actor_p50",
        fixed(ratio(mixed_b.medians().p50_us, a.p50_us), 2));
  print("ratio.mixed_bundles_vs_mixed_p50",
        fixed(ratio(mixed_b.medians().p50_us, mixed.medians().p50_us), 2));
  // Tracked memory: one op is one allocate or one free round trip.
  print(memory_actor);
  print(memory_malloc.name + ".throughput_ops_per_s",
        fixed(memory_malloc.medians().throughput, 0));
  print("memory.actor.ns_per_op", fixed(ns_per_op(memory_actor), 1));
  print("memory.malloc.ns_per_op", fixed(ns_per_op(memory_malloc), 1));
  print("ratio.memory_actor_vs_malloc_ns_per_op",
        fixed(ratio(ns_per_op(memory_actor), ns_per_op(memory_malloc)), 1));
  print("ratio.memory_actor_vs_actor_p50",
        fixed(ratio(memory_actor.medians().p50_us, a.p50_us), 2));
  // Diagnostic: what a finite CAF request timeout adds to the floor.
  print(floor_timeout);
  auto t = floor_timeout.medians();
  print("diag.ratio.floor_with_request_timeout_vs_floor_p50",
        fixed(ratio(t.p50_us, f.p50_us), 2));
  print("diag.ratio.floor_with_request_timeout_vs_floor_throughput",
        fixed(ratio(f.throughput, t.throughput), 2));
  return {};
}

} // namespace

int run_bench(const BenchOptions& opts) {
  if (opts.runs < 1 || opts.operations < 1 || opts.threads < 1) {
    std::cerr << "error: runs, operations and threads must be at least 1 (got "
              << opts.runs << ", " << opts.operations << ", " << opts.threads
              << ")\n";
    return 1;
  }
  std::string err;
  try {
    if (opts.scale) {
      // Only the growth of one event's cost with N waiting (scale.hpp).
      err = bench_scale(opts.runs, static_cast<std::size_t>(opts.scale_max));
    } else if (opts.durability) {
      // Only persistence: memory, group commit, fsync per record.
      err = bench_durability(opts.runs, opts.operations);
    } else if (opts.cluster) {
      // Only the cluster: placement and detection (cluster.hpp).
      err = bench_cluster(opts.runs, opts.operations);
    } else if (opts.flood) {
      // Only the flood: limits and another client's latency (flood.hpp).
      err = bench_flood(opts.runs, opts.operations);
    } else {
      err = bench(opts);
      if (err.empty()) {
        // Scheduler dispatch throughput (tasks/s with empty bodies).
        std::cout << "\n";
        bench_scheduler_dispatch(std::cout, 10000);
      }
    }
  } catch (const std::exception& e) {
    err = std::string{"unexpected exception: "} + e.what();
  }
  std::cout.flush();
  if (!err.empty()) {
    std::cerr << "error: " << err << '\n';
    return 1;
  }
  return 0;
}

} // namespace rros::app
