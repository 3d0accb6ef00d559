#include "app/bench/flood.hpp"

#include <atomic>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <thread>

#include <caf/all.hpp>

#include "actors/manager.hpp"
#include "app/bench/parameters.hpp"
#include "app/bench/plain_client.hpp"
#include "app/bench/statistics.hpp"
#include "messages/error.hpp"
#include "messages/limits.hpp"
#include "messages/type_ids.hpp"

namespace rros::app::benchmark {

namespace {

using flood_atom = caf::atom_constant<caf::atom("flood")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;

constexpr auto pool_type = ResourceType::COMPUTATIONAL;
constexpr float capacity = 100;
// The flooder holds this much for the whole flood, so that its requests of
// flood_amount never fit and wait (or are refused past the limit), while
// the steady client's cycles of cycle_amount still do.
constexpr float flooder_hold = 50;
constexpr float flood_amount = 60;
constexpr int batch = 1000;              // requests per flooder turn
constexpr std::size_t max_sent = 500000; // the flood's bound
// The steady client is measured once this many were sent (the issue's
// 100,000), while the flood goes on.
constexpr std::size_t flood_before_measuring = 100000;

/// What the flood did, counted by the flooder.
struct FloodCounts {
  std::size_t sent = 0;
  std::size_t refused = 0; // limit_exceeded
  std::size_t granted = 0; // must stay 0: flood requests never fit
  std::size_t other_errors = 0;
  std::string first_other_error;
};

struct FloodRun {
  std::atomic<std::size_t> sent{0};
  std::atomic<std::size_t> refused{0};
  std::atomic<bool> holding{false};
  FloodCounts counts;
  std::promise<FloodCounts> done;
};

caf::behavior flooder(caf::event_based_actor* self, pool_actor pool,
                      std::shared_ptr<FloodRun> run) {
  ResourceRequest hold{"flooder", pool_type, Priority::NORMAL, flooder_hold};
  self->request(pool, caf::infinite, allocate_atom::value, hold)
      .then(
          [=](ResourceAllocation&) {
            run->holding = true;
            self->send(self, flood_atom::value);
          },
          [=](caf::error& err) {
            run->counts.other_errors++;
            run->counts.first_other_error = describe(err);
            self->send(self, flood_atom::value);
          });
  return {
      [=](flood_atom) {
        auto& c = run->counts;
        for (int i = 0; i < batch && c.sent < max_sent; ++i) {
          ResourceRequest req{"flooder", pool_type, Priority::LOW,
                              flood_amount};
          req.deadline = std::chrono::minutes(10);
          req.request_id = ++c.sent;
          self->request(pool, caf::infinite, allocate_atom::value, req)
              .then([=](ResourceAllocation&) { run->counts.granted++; },
                    [=](caf::error& err) {
                      if (is(err, ec::limit_exceeded)) {
                        run->counts.refused++;
                        run->refused = run->counts.refused;
                      } else if (!is(err, ec::cancelled) &&
                                 !is(err, ec::deadline_expired)) {
                        if (run->counts.other_errors++ == 0)
                          run->counts.first_other_error = describe(err);
                      }
                    });
        }
        run->sent = c.sent;
        // One batch per turn: the pool's mailbox interleaves the steady
        // client's requests with the flood.
        if (c.sent < max_sent)
          self->send(self, flood_atom::value);
      },
      [=](stop_atom) {
        run->done.set_value(run->counts);
        self->quit(); // the pool drops its waiting requests and its grant
      },
  };
}

/// The peak resident set of this process (VmHWM), in KiB; 0 if unknown.
long peak_rss_kib() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

template <class Result, class... Ts>
caf::expected<Result> ask(caf::scoped_actor& self, const pool_actor& pool,
                          Ts&&... xs) {
  caf::expected<Result> result{caf::sec::request_timeout};
  self->request(pool, std::chrono::seconds(60), std::forward<Ts>(xs)...)
      .receive([&](Result& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

std::string bench_flood(int runs, int operations) {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  // No aging (1e6 s): with it, the flood's waiting requests rise above the
  // steady client's priority within seconds and, never fitting, block its
  // requests (which have no time-to-live to backfill with); docs/benchmark.md.
  ConfigMap update{{Config::capacity_key(pool_type), capacity},
                   {"aging_interval", 1e6f}};
  auto config = Config{}.with(update);
  if (!config)
    return describe(config.error());
  auto manager = spawn_manager(sys, *config);
  caf::scoped_actor self{sys};
  caf::expected<PoolDirectory> dir{caf::sec::request_timeout};
  self->request(manager, std::chrono::seconds(10), pools_atom::value)
      .receive([&](PoolDirectory& d) { dir = std::move(d); },
               [&](caf::error& err) { dir = std::move(err); });
  if (!dir)
    return "no pool directory: " + describe(dir.error());
  auto pool = (*dir)[pool_type];
  std::cout << "rros bench --flood: runs=" << runs
            << " operations=" << operations << " capacity=" << capacity
            << " aging_interval=1e6s"
            << " flooder holds " << flooder_hold << ", floods LOW requests of "
            << flood_amount << " (never fit) in batches of " << batch
            << " up to " << max_sent << "; limit " << max_waiting_per_holder
            << " waiting per actor (medians over runs)\n";
  std::vector<double> quiet_p50, flood_p50, ratios;
  std::size_t sent_total = 0, refused_total = 0, max_waiting = 0;
  std::size_t sent_during = 0; // flood requests sent while measuring
  std::string error;
  for (int r = 0; r < runs && error.empty(); ++r) {
    auto quiet = drive(sys, pool, "steady", operations);
    if (!quiet.error.empty())
      return "quiet phase: " + quiet.error;
    auto run = std::make_shared<FloodRun>();
    auto future = run->done.get_future();
    auto flood = sys.spawn(flooder, pool, run);
    // Measure once the flood is far past the limit (waiting requests full,
    // refusals coming in).
    while (run->sent < flood_before_measuring)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto sent_at_start = run->sent.load();
    auto during = drive(sys, pool, "steady", operations);
    auto sent_at_end = run->sent.load();
    sent_during += sent_at_end - sent_at_start;
    auto status = ask<PoolStatus>(self, pool, status_atom::value);
    self->send(flood, stop_atom::value);
    if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
      return "the flooder did not stop";
    auto counts = future.get();
    if (!during.error.empty())
      return "during the flood: " + during.error;
    if (!status)
      return "pool status: " + describe(status.error());
    if (counts.granted > 0 || counts.other_errors > 0)
      return "the flood got " + std::to_string(counts.granted) +
             " grants and " + std::to_string(counts.other_errors) +
             " unexpected errors (first: " + counts.first_other_error + ")";
    if (status->waiting > max_waiting_per_holder)
      error = "the limit did not hold: " + std::to_string(status->waiting) +
              " waiting";
    max_waiting = std::max<std::size_t>(max_waiting, status->waiting);
    sent_total += counts.sent;
    refused_total += counts.refused;
    if (sent_at_end >= max_sent)
      std::cout << "flood.note: run " << r
                << ": the flood ended before the steady client did\n";
    auto q = figures_of(quiet, quiet);
    auto f = figures_of(during, during);
    quiet_p50.push_back(q.p50_us);
    flood_p50.push_back(f.p50_us);
    ratios.push_back(q.p50_us > 0 ? f.p50_us / q.p50_us : 0);
    // Everything the flooder had returned with it.
    for (int i = 0; i < 100; ++i) {
      auto after = ask<PoolStatus>(self, pool, status_atom::value);
      if (after && after->held == 0 && after->waiting == 0)
        break;
      if (i == 99)
        error = "the pool still holds or queues the flooder's requests";
      std::this_thread::sleep_for(settle_time);
    }
  }
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  print("flood.requests_sent", std::to_string(sent_total));
  print("flood.requests_sent_while_measuring", std::to_string(sent_during));
  print("flood.refused_limit_exceeded", std::to_string(refused_total));
  print("flood.max_waiting_seen", std::to_string(max_waiting));
  print("flood.limit_held",
        error.empty() && max_waiting <= max_waiting_per_holder ? "yes" : "no");
  print("flood.peak_rss_kib", std::to_string(peak_rss_kib()));
  print("flood.steady_quiet_p50_us", fixed(median(quiet_p50), 2));
  print("flood.steady_during_flood_p50_us", fixed(median(flood_p50), 2));
  print("flood.p50_ratio_flood_vs_quiet",
        fixed(median(ratios), 2) + " (target: within 3x)");
  return error;
}

} // namespace rros::app::benchmark
