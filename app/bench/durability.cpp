#include "app/bench/durability.hpp"

#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "actors/pool.hpp"
#include "app/bench/pipelined_clients.hpp"
#include "app/bench/plain_client.hpp"
#include "app/bench/statistics.hpp"
#include "messages/type_ids.hpp"

namespace rros::app::benchmark {

namespace {

struct Mode {
  std::string name;
  bool persist = false;
  SyncMode sync = SyncMode::group;
  std::chrono::nanoseconds group_interval{0};
};

/// A fresh directory under the working directory.
std::string make_data_dir() {
  std::string templ = "rros-bench-data-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr)
    return {};
  return templ;
}

} // namespace

std::string bench_durability(int runs, int operations) {
  using std::chrono::milliseconds;
  const std::vector<Mode> modes{
      {"memory", false, SyncMode::group, milliseconds(0)},
      {"group", true, SyncMode::group, milliseconds(0)},
      {"record", true, SyncMode::per_record, milliseconds(0)},
      {"group_2ms", true, SyncMode::group, milliseconds(2)}};
  print("settings.durability",
        "pool=computational capacity=1000000 cycle=alloc+release "
        "seq.clients=1 in_flight=1 pipelined.clients=" +
            std::to_string(pipelined_clients) +
            " pipelined.in_flight=" + std::to_string(pipelined_in_flight) +
            " group_commit_ms=0 (group) and 2 (group_2ms)" +
            " snapshot_every=10000 data_dir=./rros-bench-data-*");
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  std::vector<Series> seq;
  std::vector<Series> pipelined;
  for (const auto& mode : modes) {
    seq.push_back(Series{"durability." + mode.name + ".seq.alloc_release", {}});
    pipelined.push_back(
        Series{"durability." + mode.name + ".pipelined.alloc_release", {}});
  }
  for (int r = 0; r < runs; ++r) {
    // Alternating order: no mode always runs first on a warm machine.
    for (std::size_t k = 0; k < modes.size(); ++k) {
      auto i = r % 2 == 0 ? k : modes.size() - 1 - k;
      const auto& mode = modes[i];
      std::shared_ptr<const StorageSettings> storage;
      std::string dir;
      if (mode.persist) {
        dir = make_data_dir();
        if (dir.empty())
          return "cannot make a data directory under the working directory";
        auto settings = std::make_shared<StorageSettings>();
        settings->dir = dir;
        settings->journal.sync = mode.sync;
        settings->journal.snapshot_every = 10000;
        settings->group_interval = mode.group_interval;
        storage = std::move(settings);
      }
      auto pool =
          sys.spawn(supervised_pool, ResourceType::COMPUTATIONAL, 1000000.0,
                    PoolPolicy{}, caf::actor_addr{}, storage);
      auto s = drive(sys, pool, "durability-" + mode.name, operations);
      if (!s.error.empty())
        return seq[i].name + ": " + s.error;
      seq[i].runs.push_back(figures_of(s, s));
      auto p = drive_pipelined(sys, pool, r, operations);
      if (!p.error.empty())
        return pipelined[i].name + ": " + p.error;
      pipelined[i].runs.push_back(figures_of(p, p));
      caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
      if (!dir.empty()) {
        // The pool closes its files when it ends; removing them first is
        // harmless on POSIX.
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
      }
    }
  }
  for (const auto& series : seq)
    print(series);
  for (const auto& series : pipelined)
    print(series);
  auto ratio = [](const Series& base, const Series& other) {
    auto b = base.medians().throughput;
    auto o = other.medians().throughput;
    return o > 0 ? fixed(b / o, 2) : std::string{"n/a"};
  };
  print("ratio.seq.memory_over_group", ratio(seq[0], seq[1]));
  print("ratio.seq.memory_over_record", ratio(seq[0], seq[2]));
  print("ratio.pipelined.memory_over_group", ratio(pipelined[0], pipelined[1]));
  print("ratio.pipelined.memory_over_record",
        ratio(pipelined[0], pipelined[2]));
  print("ratio.seq.memory_over_group_2ms", ratio(seq[0], seq[3]));
  print("ratio.pipelined.memory_over_group_2ms",
        ratio(pipelined[0], pipelined[3]));
  return {};
}

} // namespace rros::app::benchmark
