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
//   memory  an event-based client actor allocates and frees tracked blocks
//           of 256 bytes through the manager's memory manager actor, beside
//           malloc/free of the same size in a loop (the baseline)
//
// One "op" is one allocate or one release round trip (call); a cycle is an
// allocate followed by an exact release of the same amount. Each figure is
// the median over the runs; latencies are p50 / p99 of single ops. Every
// allocate must be fully satisfied and every release exact, and after each
// part the ledger must be back to nothing held; otherwise the bench prints
// `error: ...` to stderr and returns 1.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <future>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/manager.hpp"
#include "facade/resource_manager.hpp"
#include "app/bench_scheduler.hpp"
#include "app/commands.hpp"
#include "messages/actors.hpp"
#include "messages/error.hpp"
#include "messages/memory_messages.hpp"
#include "messages/type_ids.hpp"

namespace rros::app {

namespace {

using steady = std::chrono::steady_clock;

/// Warm-up cycles before each measured part (per client and run).
constexpr int warmup_cycles = 1000;

/// Amount allocated and released by every cycle. A small integer, so that
/// float sums in the mutex baseline stay exact too.
constexpr float cycle_amount = 1.0f;

/// Capacity of the COMPUTATIONAL pool everywhere: nothing is ever refused.
constexpr float bench_capacity = 1e9f;

/// A diagnostic part runs the floor with this CAF request timeout: it shows
/// why the facade keeps its deadline on the caller's side instead (CAF 0.17
/// schedules every request timeout through its clock thread).
constexpr auto diag_request_timeout = std::chrono::seconds(30);

/// How long the main thread waits for one measured part before giving up.
constexpr auto part_deadline = std::chrono::seconds(120);

/// Pause before a part that uses a different actor_system than the previous
/// one: the idle system's workers first poll aggressively, then every 50 us,
/// and only then sleep; this keeps them from sharing the cores with the part
/// being measured.
constexpr auto settle_time = std::chrono::milliseconds(100);

double ns_between(steady::time_point from, steady::time_point to) {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

// -- statistics ---------------------------------------------------------------

/// What one run of one part measured.
struct Sample {
  std::vector<double> latency_ns; // one entry per timed op (may be empty)
  std::size_t ops = 0;            // ops counted for the throughput
  double seconds = 0;             // wall time of those ops
  std::string error;              // empty when everything checked out
};

/// The figures of one run.
struct Figures {
  double throughput = 0; // ops per second
  double p50_us = 0;
  double p99_us = 0;
};

/// Nearest-rank percentile; reorders `xs`.
double percentile(std::vector<double>& xs, double q) {
  if (xs.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(q * xs.size()));
  auto index = rank == 0 ? 0 : std::min(rank - 1, xs.size() - 1);
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(index),
                   xs.end());
  return xs[index];
}

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// Latencies from `timed`, throughput from `counted` (the same sample unless
/// the throughput pass ran without per-op timestamps).
Figures figures_of(Sample& timed, const Sample& counted) {
  Figures result;
  result.throughput = counted.seconds > 0
                          ? static_cast<double>(counted.ops) / counted.seconds
                          : 0;
  result.p50_us = percentile(timed.latency_ns, 0.50) / 1000.0;
  result.p99_us = percentile(timed.latency_ns, 0.99) / 1000.0;
  return result;
}

/// Per-run figures of one part; reported as medians over the runs.
struct Series {
  std::string name;
  std::vector<Figures> runs;

  Figures medians() const {
    std::vector<double> throughput;
    std::vector<double> p50;
    std::vector<double> p99;
    for (const auto& x : runs) {
      throughput.push_back(x.throughput);
      p50.push_back(x.p50_us);
      p99.push_back(x.p99_us);
    }
    return {median(throughput), median(p50), median(p99)};
  }
};

std::string fixed(double x, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << x;
  return out.str();
}

void print(const std::string& name, const std::string& value) {
  std::cout << name << ": " << value << '\n';
}

void print(const Series& series) {
  auto m = series.medians();
  print(series.name + ".throughput_ops_per_s", fixed(m.throughput, 0));
  print(series.name + ".p50_us", fixed(m.p50_us, 3));
  print(series.name + ".p99_us", fixed(m.p99_us, 3));
}

/// Checks the outcome of one allocate; returns an error text or "".
std::string check_allocation(const ResourceAllocation& x,
                             const std::string& requester) {
  if (!x.fully_satisfied || x.allocated_amount != cycle_amount ||
      x.requester_id != requester ||
      x.resource_type != ResourceType::COMPUTATIONAL) {
    std::ostringstream out;
    out << "allocate of " << cycle_amount << " for '" << requester
        << "' was not fully satisfied (got " << x.allocated_amount
        << ", fully_satisfied=" << x.fully_satisfied << ")";
    return out.str();
  }
  return {};
}

/// Checks the outcome of one exact release; returns an error text or "".
std::string check_receipt(const ReleaseReceipt& x,
                          const std::string& requester) {
  if (x.released_amount != cycle_amount || x.still_held != 0 ||
      x.requester_id != requester ||
      x.resource_type != ResourceType::COMPUTATIONAL) {
    std::ostringstream out;
    out << "release of " << cycle_amount << " by '" << requester
        << "' was not exact (released " << x.released_amount << ", still held "
        << x.still_held << ")";
    return out.str();
  }
  return {};
}

// -- the framework floor -----------------------------------------------------

/// A bare actor answering the pool's allocate and release shapes.
using echo_actor = caf::typed_actor<
    caf::replies_to<allocate_atom, ResourceRequest>::with<ResourceAllocation>,
    caf::replies_to<release_atom, std::string, float,
                    ReleaseMode>::with<ReleaseReceipt>>;

echo_actor::behavior_type echo() {
  return {
      [](allocate_atom, const ResourceRequest& req) {
        ResourceAllocation result;
        result.requester_id = req.requester_id;
        result.resource_type = req.resource_type;
        result.allocated_amount = req.amount;
        result.fully_satisfied = true;
        return result;
      },
      [](release_atom, const std::string& requester, float amount,
         ReleaseMode) {
        ReleaseReceipt result;
        result.requester_id = requester;
        result.resource_type = ResourceType::COMPUTATIONAL;
        result.released_amount = amount;
        return result;
      },
  };
}

// -- the client actor --------------------------------------------------------

/// State of one client actor: warm-up, then `measured` timed cycles.
template <class Handle>
struct ClientRun {
  Handle target;
  std::string requester;
  ResourceRequest request;
  caf::duration timeout{caf::infinite};
  int warmup = 0;
  int measured = 0;
  int done = 0;
  steady::time_point op_start;
  steady::time_point started;
  Sample sample;
  std::promise<Sample> result;
};

template <class Handle>
using client_run_ptr = std::shared_ptr<ClientRun<Handle>>;

template <class Handle>
void finish(caf::event_based_actor* self, const client_run_ptr<Handle>& run) {
  run->result.set_value(std::move(run->sample));
  self->quit();
}

template <class Handle>
void fail(caf::event_based_actor* self, const client_run_ptr<Handle>& run,
          std::string what) {
  run->sample.error = std::move(what);
  finish(self, run);
}

/// One allocate / release cycle, one request in flight; chains the next.
template <class Handle>
void next_cycle(caf::event_based_actor* self, client_run_ptr<Handle> run) {
  if (run->done == run->warmup) {
    run->started = steady::now();
  } else if (run->done == run->warmup + run->measured) {
    run->sample.ops = 2 * static_cast<std::size_t>(run->measured);
    run->sample.seconds = ns_between(run->started, steady::now()) / 1e9;
    finish(self, run);
    return;
  }
  run->op_start = steady::now();
  self->request(run->target, run->timeout, allocate_atom::value, run->request)
      .then(
          [=](ResourceAllocation& allocation) {
            auto now = steady::now();
            bool timed = run->done >= run->warmup;
            if (timed)
              run->sample.latency_ns.push_back(ns_between(run->op_start, now));
            if (auto err = check_allocation(allocation, run->requester);
                !err.empty()) {
              fail(self, run, err);
              return;
            }
            run->op_start = steady::now();
            self->request(run->target, run->timeout, release_atom::value,
                          run->requester, cycle_amount, ReleaseMode::exact)
                .then(
                    [=](ReleaseReceipt& receipt) {
                      auto now = steady::now();
                      if (timed)
                        run->sample.latency_ns.push_back(
                            ns_between(run->op_start, now));
                      if (auto err = check_receipt(receipt, run->requester);
                          !err.empty()) {
                        fail(self, run, err);
                        return;
                      }
                      ++run->done;
                      next_cycle(self, run);
                    },
                    [=](caf::error& err) {
                      fail(self, run, "release failed: " + describe(err));
                    });
          },
          [=](caf::error& err) {
            fail(self, run, "allocate failed: " + describe(err));
          });
}

template <class Handle>
caf::behavior client(caf::event_based_actor* self, client_run_ptr<Handle> run) {
  next_cycle(self, std::move(run));
  // Keeps the actor alive between replies; it quits when the run is done.
  return {[](caf::atom_value) {}};
}

/// Spawns one client against `target` and waits for its sample.
template <class Handle>
Sample drive(caf::actor_system& sys, const Handle& target,
             const std::string& requester, int operations,
             caf::duration timeout = caf::infinite) {
  auto run = std::make_shared<ClientRun<Handle>>();
  run->target = target;
  run->requester = requester;
  run->request = ResourceRequest{requester, ResourceType::COMPUTATIONAL,
                                 Priority::NORMAL, cycle_amount};
  run->timeout = timeout;
  run->warmup = warmup_cycles;
  run->measured = operations;
  run->sample.latency_ns.reserve(2 * static_cast<std::size_t>(operations));
  auto future = run->result.get_future();
  sys.spawn(client<Handle>, run);
  run.reset(); // the actor owns the run now
  if (future.wait_for(part_deadline) != std::future_status::ready) {
    Sample timeout;
    timeout.error = "the client actor did not finish within " +
                    std::to_string(part_deadline.count()) + " s";
    return timeout;
  }
  return future.get();
}

/// The pool's exact ledger, asked with status_atom.
caf::expected<PoolStatus> pool_status(caf::actor_system& sys,
                                      const pool_actor& pool) {
  caf::scoped_actor self{sys};
  caf::expected<PoolStatus> result{caf::sec::unexpected_response};
  self->request(pool, std::chrono::seconds(10), status_atom::value)
      .receive([&](PoolStatus& status) { result = status; },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// An error text unless nothing is held and all of the capacity is available.
std::string check_ledger(const caf::expected<PoolStatus>& status,
                         const std::string& part) {
  if (!status)
    return part + ": status_atom failed: " + describe(status.error());
  if (status->held != 0 || status->reserved != 0 ||
      status->available != status->capacity) {
    std::ostringstream out;
    out << part << ": ledger not back to capacity (capacity "
        << status->capacity << ", held " << status->held << ", reserved "
        << status->reserved << ", available " << status->available << " units)";
    return out.str();
  }
  return {};
}

// -- the mixed workload ------------------------------------------------------

/// Concurrent client actors of the mixed part.
constexpr int mixed_clients = 4;

/// Units every mixed allocation asks for.
constexpr float mixed_amount = 10.0f;

/// Capacity of the mixed part's COMPUTATIONAL pool: two grants of
/// `mixed_amount` fit, three do not, so some of the four clients must wait.
constexpr float mixed_capacity = 25.0f;

/// Deadline of every mixed allocation: it waits at most this long.
constexpr auto mixed_deadline = std::chrono::milliseconds(1000);

/// Every this many cycles a client releases by requester and amount
/// (ReleaseMode::exact) instead of by grant id.
constexpr int mixed_release_by_amount_every = 10;

/// An allocation is "slow" when it took longer than this many times the
/// run's median allocation (the wait itself is not observable).
constexpr double mixed_slow_factor = 10.0;

/// State of one mixed client actor, shared with the main thread (which reads
/// it only after `finished` is ready).
struct MixedClient {
  pool_actor pool;
  std::string requester;
  ResourceRequest request;
  int warmup = 0;
  int measured = 0;
  int done = 0;
  steady::time_point cycle_start;
  steady::time_point started;
  steady::time_point stopped;
  std::vector<double> cycle_ns;    // allocate (with any wait) + release
  std::vector<double> allocate_ns; // allocate alone (with any wait)
  std::string error;
  bool reported = false;
  std::promise<void> finished;
};

using mixed_client_ptr = std::shared_ptr<MixedClient>;

void mixed_finish(caf::event_based_actor* self, const mixed_client_ptr& c) {
  if (!c->reported) {
    c->reported = true;
    c->stopped = steady::now();
    c->finished.set_value();
  }
  self->quit();
}

void mixed_fail(caf::event_based_actor* self, const mixed_client_ptr& c,
                std::string what) {
  if (!c->reported)
    c->error = std::move(what);
  mixed_finish(self, c);
}

/// Checks one mixed allocate; returns an error text or "".
std::string check_mixed_allocation(const ResourceAllocation& x,
                                   const std::string& requester) {
  if (!x.fully_satisfied || x.allocated_amount != mixed_amount ||
      x.grant_id == 0 || x.requester_id != requester ||
      x.resource_type != ResourceType::COMPUTATIONAL) {
    std::ostringstream out;
    out << "allocate of " << mixed_amount << " for '" << requester
        << "' was not fully satisfied (got " << x.allocated_amount
        << ", fully_satisfied=" << x.fully_satisfied
        << ", grant_id=" << x.grant_id << ")";
    return out.str();
  }
  return {};
}

/// Checks one mixed release (by id or exact); returns an error text or "".
std::string check_mixed_receipt(const ReleaseReceipt& x,
                                const std::string& requester) {
  if (x.released_amount != mixed_amount || x.still_held != 0 ||
      x.requester_id != requester ||
      x.resource_type != ResourceType::COMPUTATIONAL) {
    std::ostringstream out;
    out << "release of " << mixed_amount << " by '" << requester
        << "' was not exact (released " << x.released_amount << ", still held "
        << x.still_held << ")";
    return out.str();
  }
  return {};
}

/// One mixed cycle: allocate (may wait), then release the grant by id, or
/// every `mixed_release_by_amount_every`th cycle by requester and amount.
void mixed_next_cycle(caf::event_based_actor* self, mixed_client_ptr c) {
  if (c->done == c->warmup) {
    c->started = steady::now();
  } else if (c->done == c->warmup + c->measured) {
    mixed_finish(self, c);
    return;
  }
  bool timed = c->done >= c->warmup;
  bool by_amount = (c->done + 1) % mixed_release_by_amount_every == 0;
  c->request.request_id = static_cast<std::uint64_t>(c->done) + 1;
  c->cycle_start = steady::now();
  self->request(c->pool, caf::infinite, allocate_atom::value, c->request)
      .then(
          [=](ResourceAllocation& allocation) {
            auto allocated = steady::now();
            if (auto err = check_mixed_allocation(allocation, c->requester);
                !err.empty()) {
              mixed_fail(self, c, err);
              return;
            }
            auto on_receipt = [=](ReleaseReceipt& receipt) {
              auto now = steady::now();
              if (auto err = check_mixed_receipt(receipt, c->requester);
                  !err.empty()) {
                mixed_fail(self, c, err);
                return;
              }
              if (timed) {
                c->allocate_ns.push_back(ns_between(c->cycle_start, allocated));
                c->cycle_ns.push_back(ns_between(c->cycle_start, now));
              }
              ++c->done;
              mixed_next_cycle(self, c);
            };
            auto on_error = [=](caf::error& err) {
              mixed_fail(self, c, "release failed: " + describe(err));
            };
            if (by_amount)
              self->request(c->pool, caf::infinite, release_atom::value,
                            c->requester, mixed_amount, ReleaseMode::exact)
                  .then(on_receipt, on_error);
            else
              self->request(c->pool, caf::infinite, release_atom::value,
                            allocation.grant_id)
                  .then(on_receipt, on_error);
          },
          [=](caf::error& err) {
            mixed_fail(self, c, "allocate failed: " + describe(err));
          });
}

caf::behavior mixed_client(caf::event_based_actor* self, mixed_client_ptr c) {
  mixed_next_cycle(self, c);
  // No lease here has a time-to-live or is preemptable: a revoke is a bug.
  return {
      [=](revoke_atom, const GrantNotice& notice) {
        mixed_fail(self, c,
                   "grant " + std::to_string(notice.grant_id) + " was revoked");
      },
  };
}

/// Bundle client actors of the mixed part, running beside the single ones.
constexpr int mixed_bundle_clients = 2;

/// IO and NETWORK (capacity 100 each) per bundle: two do not fit at once, so
/// one bundle client waits in the coordinator for the other's release.
constexpr float mixed_bundle_amount = 60.0f;

/// COMPUTATIONAL of every other bundle (the 3-type ones): it fits beside the
/// single clients' two grants of 10 in the pool of 25.
constexpr float mixed_bundle_compute = 2.0f;

/// A bundle leg never passes a better-ranked waiting request in its pool: at
/// NORMAL the single clients' waiting requests (earlier deadlines) would keep
/// the COMPUTATIONAL leg out until the bundle's deadline.
constexpr Priority mixed_bundle_priority = Priority::HIGH;

/// State of one bundle client of the mixed part (read by the main thread
/// only after `finished` is ready).
struct MixedBundleClient {
  bundle_actor bundles;
  std::string requester;
  std::array<BundleRequest, 2> requests; // 2 types, 3 types: alternating
  int warmup = 0;
  int measured = 0;
  int done = 0;
  steady::time_point cycle_start;
  steady::time_point started;
  steady::time_point stopped;
  std::vector<double> cycle_ns;    // allocate (with any wait) + release
  std::vector<double> allocate_ns; // allocate alone (with any wait)
  std::string error;
  bool reported = false;
  std::promise<void> finished;
};

using mixed_bundle_ptr = std::shared_ptr<MixedBundleClient>;

void bundle_finish(caf::event_based_actor* self, const mixed_bundle_ptr& c) {
  if (!c->reported) {
    c->reported = true;
    c->stopped = steady::now();
    c->finished.set_value();
  }
  self->quit();
}

void bundle_fail(caf::event_based_actor* self, const mixed_bundle_ptr& c,
                 std::string what) {
  if (!c->reported)
    c->error = std::move(what);
  bundle_finish(self, c);
}

/// Checks one bundle grant: every leg full, in item order; "" when fine.
std::string check_bundle_grant(const BundleGrant& g, const BundleRequest& r) {
  bool ok = g.bundle_id != 0 && g.requester_id == r.requester_id &&
            g.legs.size() == r.items.size();
  for (std::size_t i = 0; ok && i < g.legs.size(); ++i)
    ok = g.legs[i].fully_satisfied && g.legs[i].grant_id != 0 &&
         g.legs[i].resource_type == r.items[i].type &&
         g.legs[i].allocated_amount == r.items[i].amount;
  if (ok)
    return {};
  return "bundle of " + std::to_string(r.items.size()) + " items for '" +
         r.requester_id + "' was not granted in full (" +
         std::to_string(g.legs.size()) + " legs)";
}

/// Checks the receipts of a bundle released as one; "" when fine.
std::string check_bundle_receipts(const std::vector<ReleaseReceipt>& xs,
                                  const BundleRequest& r) {
  bool ok = xs.size() == r.items.size();
  for (const auto& x : xs) {
    auto item =
        std::find_if(r.items.begin(), r.items.end(), [&](const BundleItem& i) {
          return i.type == x.resource_type;
        });
    ok = ok && item != r.items.end() && x.released_amount == item->amount &&
         x.still_held == 0 && x.requester_id == r.requester_id;
  }
  if (ok)
    return {};
  return "bundle of '" + r.requester_id + "' was not released exactly (" +
         std::to_string(xs.size()) + " receipts for " +
         std::to_string(r.items.size()) + " items)";
}

/// One bundle cycle: allocate (may wait), then release the bundle as one.
void bundle_next_cycle(caf::event_based_actor* self, mixed_bundle_ptr c) {
  if (c->done == c->warmup) {
    c->started = steady::now();
  } else if (c->done == c->warmup + c->measured) {
    bundle_finish(self, c);
    return;
  }
  bool timed = c->done >= c->warmup;
  auto& request = c->requests[static_cast<std::size_t>(c->done % 2)];
  request.request_id = static_cast<std::uint64_t>(c->done) + 1;
  c->cycle_start = steady::now();
  self->request(c->bundles, caf::infinite, allocate_atom::value, request)
      .then(
          [=, &request](BundleGrant& grant) {
            auto allocated = steady::now();
            if (auto err = check_bundle_grant(grant, request); !err.empty()) {
              bundle_fail(self, c, err);
              return;
            }
            self->request(c->bundles, caf::infinite, release_atom::value,
                          grant.bundle_id)
                .then(
                    [=, &request](std::vector<ReleaseReceipt>& receipts) {
                      auto now = steady::now();
                      if (auto err = check_bundle_receipts(receipts, request);
                          !err.empty()) {
                        bundle_fail(self, c, err);
                        return;
                      }
                      if (timed) {
                        c->allocate_ns.push_back(
                            ns_between(c->cycle_start, allocated));
                        c->cycle_ns.push_back(ns_between(c->cycle_start, now));
                      }
                      ++c->done;
                      bundle_next_cycle(self, c);
                    },
                    [=](caf::error& err) {
                      bundle_fail(self, c,
                                  "bundle release failed: " + describe(err));
                    });
          },
          [=](caf::error& err) {
            bundle_fail(self, c, "bundle allocate failed: " + describe(err));
          });
}

caf::behavior mixed_bundle_client(caf::event_based_actor* self,
                                  mixed_bundle_ptr c) {
  bundle_next_cycle(self, c);
  // No leg has a time-to-live or is preemptable: a revoke is a bug.
  return {
      [=](revoke_atom, const GrantNotice& notice) {
        bundle_fail(self, c,
                    "bundle leg " + std::to_string(notice.grant_id) +
                        " was revoked");
      },
  };
}

/// What one run of the mixed part measured.
struct MixedSample {
  Sample sample; // single clients: latencies of whole cycles, 2 ops each
  double slow_allocations = 0;
  Sample bundles; // bundle clients, the same way
  double slow_bundle_allocations = 0;
};

/// Slow allocations of one client group: above `mixed_slow_factor` x their
/// median.
double count_slow(const std::vector<double>& allocate_ns) {
  auto threshold = mixed_slow_factor * median(allocate_ns);
  return static_cast<double>(
      std::count_if(allocate_ns.begin(), allocate_ns.end(),
                    [&](double x) { return x > threshold; }));
}

/// Runs `mixed_clients` single and `mixed_bundle_clients` bundle client
/// actors at once, each doing the warm-up and then operations / mixed_clients
/// measured cycles.
MixedSample drive_mixed(caf::actor_system& sys, const pool_actor& pool,
                        const bundle_actor& bundles, int run, int operations) {
  MixedSample result;
  int cycles = std::max(1, operations / mixed_clients);
  std::vector<mixed_client_ptr> clients;
  std::vector<mixed_bundle_ptr> bundle_clients;
  std::vector<std::future<void>> futures;
  for (int i = 0; i < mixed_clients; ++i) {
    auto c = std::make_shared<MixedClient>();
    c->pool = pool;
    c->requester =
        "bench-mixed-" + std::to_string(run) + "-" + std::to_string(i);
    c->request =
        ResourceRequest{c->requester, ResourceType::COMPUTATIONAL,
                        Priority::NORMAL, mixed_amount, mixed_deadline};
    c->warmup = warmup_cycles;
    c->measured = cycles;
    c->cycle_ns.reserve(static_cast<std::size_t>(cycles));
    c->allocate_ns.reserve(static_cast<std::size_t>(cycles));
    futures.push_back(c->finished.get_future());
    clients.push_back(std::move(c));
  }
  for (int i = 0; i < mixed_bundle_clients; ++i) {
    auto c = std::make_shared<MixedBundleClient>();
    c->bundles = bundles;
    c->requester =
        "bench-bundle-" + std::to_string(run) + "-" + std::to_string(i);
    for (std::size_t k = 0; k < c->requests.size(); ++k) {
      auto& r = c->requests[k];
      r.requester_id = c->requester;
      r.priority = mixed_bundle_priority;
      r.deadline = mixed_deadline;
      r.items = {{ResourceType::IO, mixed_bundle_amount},
                 {ResourceType::NETWORK, mixed_bundle_amount}};
      if (k == 1)
        r.items.push_back({ResourceType::COMPUTATIONAL, mixed_bundle_compute});
    }
    c->warmup = warmup_cycles;
    c->measured = cycles;
    c->cycle_ns.reserve(static_cast<std::size_t>(cycles));
    c->allocate_ns.reserve(static_cast<std::size_t>(cycles));
    futures.push_back(c->finished.get_future());
    bundle_clients.push_back(std::move(c));
  }
  for (auto& c : clients)
    sys.spawn(mixed_client, c);
  for (auto& c : bundle_clients)
    sys.spawn(mixed_bundle_client, c);
  auto deadline = steady::now() + part_deadline;
  for (auto& f : futures)
    if (f.wait_until(deadline) != std::future_status::ready) {
      result.sample.error = "the mixed clients did not finish within " +
                            std::to_string(part_deadline.count()) + " s";
      return result;
    }
  // Merges one client group into `out`; returns its allocate latencies.
  auto merge = [&](auto& group, Sample& out) {
    std::vector<double> allocate_ns;
    auto first = group.front()->started;
    auto last = group.front()->stopped;
    for (auto& c : group) {
      if (out.error.empty() && !c->error.empty())
        out.error = c->error;
      first = std::min(first, c->started);
      last = std::max(last, c->stopped);
      out.latency_ns.insert(out.latency_ns.end(), c->cycle_ns.begin(),
                            c->cycle_ns.end());
      allocate_ns.insert(allocate_ns.end(), c->allocate_ns.begin(),
                         c->allocate_ns.end());
    }
    out.ops = 2 * static_cast<std::size_t>(cycles) * group.size();
    out.seconds = ns_between(first, last) / 1e9;
    return allocate_ns;
  };
  result.slow_allocations = count_slow(merge(clients, result.sample));
  result.slow_bundle_allocations =
      count_slow(merge(bundle_clients, result.bundles));
  if (result.sample.error.empty() && !result.bundles.error.empty())
    result.sample.error = result.bundles.error;
  return result;
}

// -- the mutex baseline ------------------------------------------------------

/// The seed's design: one mutex per resource type guarding a usage counter
/// and the holdings of that type.
class MutexBaseline {
public:
  explicit MutexBaseline(double capacity) {
    for (auto& pool : pools_)
      pool.capacity = capacity;
  }

  ResourceAllocation allocate_resource(const ResourceRequest& request) {
    ResourceAllocation result;
    result.requester_id = request.requester_id;
    result.resource_type = request.resource_type;
    result.allocation_time = wall_clock::now();
    if (!is_valid(request.resource_type) || !(request.amount > 0))
      return result;
    auto& pool = pools_[static_cast<std::size_t>(request.resource_type)];
    std::lock_guard<std::mutex> guard{pool.mutex};
    if (pool.usage + request.amount > pool.capacity)
      return result;
    pool.usage += request.amount;
    pool.holdings[request.requester_id] += request.amount;
    result.allocated_amount = request.amount;
    result.fully_satisfied = true;
    return result;
  }

  /// An exact release: refuses more than is held.
  ReleaseReceipt release_resource(const std::string& requester,
                                  ResourceType type, float amount) {
    ReleaseReceipt result;
    result.requester_id = requester;
    result.resource_type = type;
    if (!is_valid(type) || !(amount > 0))
      return result;
    auto& pool = pools_[static_cast<std::size_t>(type)];
    std::lock_guard<std::mutex> guard{pool.mutex};
    auto holding = pool.holdings.find(requester);
    if (holding == pool.holdings.end() || amount > holding->second)
      return result;
    holding->second -= amount;
    pool.usage -= amount;
    result.released_amount = amount;
    result.still_held = holding->second;
    if (holding->second == 0)
      pool.holdings.erase(holding);
    return result;
  }

  /// Usage and number of holders of one type.
  std::pair<double, std::size_t> status(ResourceType type) {
    auto& pool = pools_[static_cast<std::size_t>(type)];
    std::lock_guard<std::mutex> guard{pool.mutex};
    return {pool.usage, pool.holdings.size()};
  }

private:
  struct Pool {
    std::mutex mutex;
    double capacity = 0;
    double usage = 0;
    std::unordered_map<std::string, float> holdings;
  };

  std::array<Pool, resource_type_count> pools_;
};

// -- tracked memory
// ------------------------------------------------------------

/// Bytes of every tracked block and of every malloc of the baseline.
constexpr std::uint64_t memory_block_size = 256;

/// State of the memory client actor: warm-up, then `measured` timed cycles
/// of allocate + free, one request in flight.
struct MemoryClient {
  memory_manager_actor memory;
  MemoryRequest request;
  int warmup = 0;
  int measured = 0;
  int done = 0;
  steady::time_point op_start;
  steady::time_point started;
  Sample sample;
  std::promise<Sample> result;
};

using memory_client_ptr = std::shared_ptr<MemoryClient>;

void memory_finish(caf::event_based_actor* self, const memory_client_ptr& c) {
  c->result.set_value(std::move(c->sample));
  self->quit();
}

void memory_fail(caf::event_based_actor* self, const memory_client_ptr& c,
                 std::string what) {
  c->sample.error = std::move(what);
  memory_finish(self, c);
}

/// Checks one tracked block; returns an error text or "".
std::string check_block(const MemoryBlock& b, const MemoryRequest& r) {
  if (b.address != 0 && b.requested == r.size && b.size >= r.size &&
      b.owner == r.owner && b.grant_id != 0)
    return {};
  return "tracked allocation of " + std::to_string(r.size) + " bytes for '" +
         r.owner + "' came back as " + std::to_string(b.size) + " bytes at " +
         std::to_string(b.address) + " (grant " + std::to_string(b.grant_id) +
         ")";
}

void memory_next_cycle(caf::event_based_actor* self, memory_client_ptr c) {
  if (c->done == c->warmup) {
    c->started = steady::now();
  } else if (c->done == c->warmup + c->measured) {
    c->sample.ops = 2 * static_cast<std::size_t>(c->measured);
    c->sample.seconds = ns_between(c->started, steady::now()) / 1e9;
    memory_finish(self, c);
    return;
  }
  bool timed = c->done >= c->warmup;
  c->op_start = steady::now();
  self->request(c->memory, caf::infinite, allocate_atom::value, c->request)
      .then(
          [=](MemoryBlock& block) {
            if (timed)
              c->sample.latency_ns.push_back(
                  ns_between(c->op_start, steady::now()));
            if (auto err = check_block(block, c->request); !err.empty()) {
              memory_fail(self, c, err);
              return;
            }
            auto address = block.address;
            c->op_start = steady::now();
            self->request(c->memory, caf::infinite, release_atom::value,
                          address)
                .then(
                    [=](MemoryBlock& freed) {
                      if (timed)
                        c->sample.latency_ns.push_back(
                            ns_between(c->op_start, steady::now()));
                      if (freed.address != address) {
                        memory_fail(self, c,
                                    "freeing " + std::to_string(address) +
                                        " freed " +
                                        std::to_string(freed.address));
                        return;
                      }
                      ++c->done;
                      memory_next_cycle(self, c);
                    },
                    [=](caf::error& err) {
                      memory_fail(self, c, "free failed: " + describe(err));
                    });
          },
          [=](caf::error& err) {
            memory_fail(self, c, "tracked allocate failed: " + describe(err));
          });
}

caf::behavior memory_client(caf::event_based_actor* self, memory_client_ptr c) {
  memory_next_cycle(self, std::move(c));
  // Keeps the actor (the blocks' owner) alive between replies.
  return {[](caf::atom_value) {}};
}

/// Spawns the memory client and waits for its sample.
Sample drive_memory(caf::actor_system& sys, const memory_manager_actor& memory,
                    const std::string& owner, int operations) {
  auto c = std::make_shared<MemoryClient>();
  c->memory = memory;
  c->request = MemoryRequest{owner, memory_block_size, false};
  c->warmup = warmup_cycles;
  c->measured = operations;
  c->sample.latency_ns.reserve(2 * static_cast<std::size_t>(operations));
  auto future = c->result.get_future();
  sys.spawn(memory_client, c);
  c.reset();
  if (future.wait_for(part_deadline) != std::future_status::ready) {
    Sample timeout;
    timeout.error = "the memory client did not finish within " +
                    std::to_string(part_deadline.count()) + " s";
    return timeout;
  }
  return future.get();
}

/// The baseline: malloc + free of the same size, one block at a time,
/// untimed per call (only the whole loop is).
Sample malloc_free(int operations) {
  Sample result;
  auto once = [&]() -> bool {
    void* p = std::malloc(memory_block_size);
    if (p == nullptr)
      return false;
    // A store the compiler must keep, so the pair is not optimized away.
    static_cast<volatile unsigned char*>(p)[0] = 1;
    std::free(p);
    return true;
  };
  for (int i = 0; i < warmup_cycles; ++i)
    if (!once()) {
      result.error = "malloc failed";
      return result;
    }
  auto started = steady::now();
  for (int i = 0; i < operations; ++i)
    if (!once()) {
      result.error = "malloc failed";
      return result;
    }
  result.ops = 2 * static_cast<std::size_t>(operations);
  result.seconds = ns_between(started, steady::now()) / 1e9;
  return result;
}

/// Nanoseconds per op of a series: the inverse of its median throughput.
double ns_per_op(const Series& series) {
  auto throughput = series.medians().throughput;
  return throughput > 0 ? 1e9 / throughput : 0;
}

// -- plain threads -----------------------------------------------------------

/// The calls of one plain-thread client; each returns an error text or "".
struct ThreadCalls {
  std::function<std::string(int)> allocate; // argument: thread index
  std::function<std::string(int)> release;
};

/// Runs `threads` plain threads, each doing a warm-up, then `operations`
/// cycles after a common start. With `timed`, every op is timestamped.
Sample run_threads(int threads, int operations, bool timed,
                   const ThreadCalls& calls) {
  struct PerThread {
    std::vector<double> latency_ns;
    steady::time_point started;
    steady::time_point stopped;
    std::string error;
  };
  std::vector<PerThread> results(static_cast<std::size_t>(threads));
  std::atomic<int> ready{0};
  auto body = [&](int index) {
    auto& out = results[static_cast<std::size_t>(index)];
    if (timed)
      out.latency_ns.reserve(2 * static_cast<std::size_t>(operations));
    auto fail = [&](std::string what) {
      if (out.error.empty())
        out.error = std::move(what);
    };
    for (int i = 0; i < warmup_cycles && out.error.empty(); ++i) {
      fail(calls.allocate(index));
      if (out.error.empty())
        fail(calls.release(index));
    }
    ready.fetch_add(1);
    while (ready.load() < threads)
      std::this_thread::yield();
    out.started = steady::now();
    for (int i = 0; i < operations && out.error.empty(); ++i) {
      if (timed) {
        auto t0 = steady::now();
        auto err = calls.allocate(index);
        auto t1 = steady::now();
        if (!err.empty()) {
          fail(std::move(err));
          break;
        }
        err = calls.release(index);
        auto t2 = steady::now();
        fail(std::move(err));
        out.latency_ns.push_back(ns_between(t0, t1));
        out.latency_ns.push_back(ns_between(t1, t2));
      } else {
        fail(calls.allocate(index));
        if (out.error.empty())
          fail(calls.release(index));
      }
    }
    out.stopped = steady::now();
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i)
    workers.emplace_back(body, i);
  for (auto& worker : workers)
    worker.join();
  Sample result;
  auto first = results.front().started;
  auto last = results.front().stopped;
  for (auto& x : results) {
    if (result.error.empty() && !x.error.empty())
      result.error = x.error;
    first = std::min(first, x.started);
    last = std::max(last, x.stopped);
    result.latency_ns.insert(result.latency_ns.end(), x.latency_ns.begin(),
                             x.latency_ns.end());
  }
  result.ops = 2 * static_cast<std::size_t>(operations) *
               static_cast<std::size_t>(threads);
  result.seconds = ns_between(first, last) / 1e9;
  return result;
}

std::string requester_name(const char* part, int index) {
  return std::string{"bench-"} + part + "-" + std::to_string(index);
}

/// Requests and ids of `threads` plain-thread clients of one part.
struct ThreadClients {
  std::vector<std::string> ids;
  std::vector<ResourceRequest> requests;

  ThreadClients(const char* part, int threads) {
    for (int i = 0; i < threads; ++i) {
      ids.push_back(requester_name(part, i));
      requests.emplace_back(ids.back(), ResourceType::COMPUTATIONAL,
                            Priority::NORMAL, cycle_amount);
    }
  }
};

ThreadCalls mutex_calls(MutexBaseline& baseline, const ThreadClients& clients) {
  return {
      [&](int i) {
        auto& request = clients.requests[static_cast<std::size_t>(i)];
        return check_allocation(baseline.allocate_resource(request),
                                request.requester_id);
      },
      [&](int i) {
        auto& id = clients.ids[static_cast<std::size_t>(i)];
        return check_receipt(baseline.release_resource(
                                 id, ResourceType::COMPUTATIONAL, cycle_amount),
                             id);
      },
  };
}

ThreadCalls facade_calls(ResourceManager& facade,
                         const ThreadClients& clients) {
  return {
      [&](int i) {
        auto& request = clients.requests[static_cast<std::size_t>(i)];
        return check_allocation(facade.allocate_resource(request),
                                request.requester_id);
      },
      [&](int i) -> std::string {
        // release_resource() is this call with ReleaseMode::up_to_held and the
        // receipt dropped; the exact mode lets the bench check every release.
        auto& id = clients.ids[static_cast<std::size_t>(i)];
        auto receipt = facade.try_release_resource(
            id, ResourceType::COMPUTATIONAL, cycle_amount, ReleaseMode::exact);
        if (!receipt)
          return "facade release failed: " + describe(receipt.error());
        return check_receipt(*receipt, id);
      },
  };
}

/// Median cost of one steady_clock::now(), which every timed op pays once.
double clock_overhead_ns() {
  constexpr int n = 10001;
  std::vector<double> xs;
  xs.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto t0 = steady::now();
    auto t1 = steady::now();
    xs.push_back(ns_between(t0, t1));
  }
  return percentile(xs, 0.5);
}

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
        .receive(
            [&](Subsystems& x) {
              memory = caf::actor_cast<memory_manager_actor>(x.memory);
            },
            on_error);
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
    for (auto* clients : {&mutex_one, &mutex_n}) {
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
    err = bench(opts);
    if (err.empty()) {
      // Scheduler dispatch throughput (tasks/s with empty bodies).
      std::cout << "\n";
      bench_scheduler_dispatch(std::cout, 10000);
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
