// `rros demo`: a short, real scenario against an embedded manager node. Every
// figure printed comes from a reply of the pool actors.
#include <iomanip>
#include <iostream>

#include "facade/resource_manager.hpp"
#include "app/commands.hpp"
#include "app/report.hpp"

namespace rros::app {

namespace {

void show_grant(const char* what,
                const caf::expected<ResourceAllocation>& grant) {
  std::cout << "  " << std::left << std::setw(58) << what << " -> ";
  if (!grant)
    std::cout << "refused: " << describe(grant.error()) << "\n";
  else
    std::cout << (grant->fully_satisfied ? "granted " : "partial ")
              << grant->allocated_amount << "\n";
}

} // namespace

int run_demo(const DemoOptions& opts) {
  auto config = load_config(opts.config_path, false);
  if (!config) {
    std::cerr << "rros demo: " << describe(config.error()) << "\n";
    return 2;
  }
  try {
    ResourceManager manager(config->to_map());
    using RT = ResourceType;
    std::cout << "rros demo: an embedded manager node with five pool actors\n\n"
              << "1. Modules ask for budgets:\n";
    show_grant("vision (HIGH) asks for 40 computational",
               manager.try_allocate_resource(
                   {"vision", RT::COMPUTATIONAL, Priority::HIGH, 40}));
    show_grant("audio (NORMAL) asks for 25 computational",
               manager.try_allocate_resource(
                   {"audio", RT::COMPUTATIONAL, Priority::NORMAL, 25}));
    show_grant("reasoning (NORMAL) asks for 0.6 attention",
               manager.try_allocate_resource(
                   {"reasoning", RT::ATTENTION, Priority::NORMAL, 0.6f}));
    show_grant("memory consolidation (LOW) asks for 524288 bytes of memory",
               manager.try_allocate_resource(
                   {"consolidation", RT::MEMORY, Priority::LOW, 524288}));
    show_grant("indexer (IDLE) asks for 50 computational (35 left)",
               manager.try_allocate_resource(
                   {"indexer", RT::COMPUTATIONAL, Priority::IDLE, 50}));
    show_grant("safety monitor (CRITICAL) asks for 50 computational",
               manager.try_allocate_resource(
                   {"safety", RT::COMPUTATIONAL, Priority::CRITICAL, 50}));
    show_grant("planner asks for 150 computational (capacity 100)",
               manager.try_allocate_resource(
                   {"planner", RT::COMPUTATIONAL, Priority::HIGH, 150}));
    show_grant("a module with a NaN amount",
               manager.try_allocate_resource(
                   {"buggy", RT::IO, Priority::NORMAL, std::nanf("")}));

    std::cout << "\n2. The pools now:\n";
    print_pool_table(std::cout, manager.get_status().value());

    std::cout << "\n3. Releases and a run-time capacity change:\n";
    auto receipt =
        manager.try_release_resource("vision", RT::COMPUTATIONAL, 40);
    std::cout << "  vision releases 40 computational -> "
              << (receipt ? "returned, now holds " : describe(receipt.error()));
    if (receipt)
      std::cout << receipt->still_held;
    std::cout << "\n";
    receipt = manager.try_release_resource("audio", RT::COMPUTATIONAL, 99);
    std::cout << "  audio releases 99 but holds 25 (exact mode) -> "
              << (receipt ? "returned" : describe(receipt.error())) << "\n";
    manager.release_resource("audio", RT::COMPUTATIONAL, 99);
    std::cout
        << "  audio releases 99 with the seed's call (at most what is held) -> "
        << "now holds " << manager.get_holding("audio", RT::COMPUTATIONAL)
        << "\n";
    auto updated = manager.try_update_config({{"computational_capacity", 150}});
    std::cout << "  computational capacity 100 -> 150: "
              << (updated ? "applied" : describe(updated.error())) << "\n";
    updated = manager.try_update_config({{"attention_capacity", 0.5f}});
    std::cout << "  attention capacity 1 -> 0.5 while 0.6 is held: "
              << (updated ? "applied" : describe(updated.error())) << "\n";

    std::cout << "\n4. Statistics per pool:\n";
    std::cout << "  " << std::left << std::setw(14) << "type" << std::right
              << std::setw(8) << "grants" << std::setw(9) << "refused"
              << std::setw(10) << "peak" << std::setw(14) << "mean latency\n";
    for (auto type : all_resource_types) {
      auto stats = manager.get_resource_stats(type);
      std::cout << "  " << std::left << std::setw(14) << to_string(type)
                << std::right << std::setw(8) << stats.allocation_count
                << std::setw(9) << stats.rejection_count << std::setw(10)
                << stats.peak_usage << std::setw(10)
                << stats.avg_allocation_time.count() << " ns\n";
    }
    std::cout << "\n5. The pools at the end:\n";
    print_pool_table(std::cout, manager.get_status().value());
    auto metrics = manager.get_metrics();
    std::cout << "\n  avg_utilization " << metrics["avg_utilization"]
              << ", allocation_count " << metrics["allocation_count"]
              << ", rejection_count " << metrics["rejection_count"] << "\n";
  } catch (const std::exception& err) {
    std::cerr << "rros demo: " << err.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace rros::app
