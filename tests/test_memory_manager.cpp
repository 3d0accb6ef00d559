// Deterministic message scripts against the memory manager: exact charges to
// the MEMORY pool, block records and touches, owners that terminate, garbage
// collection of idle evictable blocks (on demand, automatic and on a refusal)
// and of nothing else, bad frees and sizes, pool replacement, configuration
// changes and reset. The virtual clock stands in for time; nothing sleeps.
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "fixture.hpp"

#include "actors/memory_manager.hpp"
#include "actors/pool.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

/// What an owner actor saw.
struct OwnerLog {
  std::vector<MemoryBlock> blocks;
  std::vector<caf::error> errors;
  std::vector<MemoryBlock> evicted;
  std::vector<MemoryBlock> freed;
};

/// A module that allocates and frees tracked memory when told to
/// (allocate_atom, release_atom from the test) and records replies and
/// eviction notices.
caf::behavior owner(caf::event_based_actor* self, memory_manager_actor memory,
                    std::shared_ptr<OwnerLog> log) {
  return {
      [=](allocate_atom, const MemoryRequest& req) {
        self->request(memory, caf::infinite, allocate_atom::value, req)
            .then([=](MemoryBlock& block) { log->blocks.push_back(block); },
                  [=](caf::error& err) { log->errors.push_back(err); });
      },
      [=](release_atom, std::uint64_t address) {
        self->request(memory, caf::infinite, release_atom::value, address)
            .then([=](MemoryBlock& block) { log->freed.push_back(block); },
                  [=](caf::error& err) { log->errors.push_back(err); });
      },
      [=](evicted_atom, const MemoryBlock& block) {
        log->evicted.push_back(block);
      },
  };
}

struct Owner {
  caf::actor actor;
  std::shared_ptr<OwnerLog> log;
};

class MemoryManagerTest : public DeterministicFixture {
public:
  MemoryManagerTest() {
    start(4096, 0.75, 10);
  }

  ~MemoryManagerTest() override {
    stop();
  }

  /// (Re)starts a pool of `capacity` bytes and a memory manager on it.
  void start(double capacity, double gc_threshold, double gc_age_seconds) {
    stop();
    config_.capacity[static_cast<std::size_t>(ResourceType::MEMORY)] = capacity;
    config_.gc_threshold = gc_threshold;
    config_.gc_age_threshold = gc_age_seconds;
    pool_ = sys.spawn(rros::pool, ResourceType::MEMORY, capacity, PoolPolicy{});
    memory_ = spawn_memory_manager(sys, pool_, config_);
    run();
  }

  void stop() {
    for (auto& o : owners_)
      caf::anon_send_exit(o.actor, caf::exit_reason::user_shutdown);
    owners_.clear();
    if (memory_)
      caf::anon_send_exit(memory_, caf::exit_reason::user_shutdown);
    if (pool_)
      caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
    run();
  }

  caf::expected<MemoryBlock>
  allocate(const std::string& who, std::uint64_t size, bool evictable = false) {
    return ask<MemoryBlock>(memory_, allocate_atom::value,
                            MemoryRequest{who, size, evictable});
  }

  caf::expected<MemoryBlock> free(std::uint64_t address) {
    return ask<MemoryBlock>(memory_, release_atom::value, address);
  }

  caf::expected<MemoryBlock> touch(std::uint64_t address) {
    return ask<MemoryBlock>(memory_, touch_atom::value, address);
  }

  std::uint64_t gc() {
    return ask_ok<std::uint64_t>(memory_, gc_atom::value);
  }

  MemoryStats stats() {
    return ask_ok<MemoryStats>(memory_, stats_atom::value);
  }

  std::vector<MemoryBlock> blocks() {
    return ask_ok<std::vector<MemoryBlock>>(memory_, blocks_atom::value);
  }

  PoolStatus pool_status(const pool_actor& pool) {
    return ask_ok<PoolStatus>(pool, status_atom::value);
  }

  /// The pool holds exactly the bytes the live blocks asked for, and the
  /// ledger and the region's books are exact.
  void expect_charged(std::uint64_t bytes) {
    auto pool = pool_status(pool_);
    EXPECT_EQ(pool.held, static_cast<units>(bytes) * units_per_amount);
    EXPECT_EQ(pool.capacity, pool.held + pool.reserved + pool.available);
    auto s = stats();
    EXPECT_EQ(s.allocated_bytes, bytes);
    EXPECT_EQ(s.carved_bytes + s.free_bytes, s.region_bytes);
    EXPECT_GE(s.carved_bytes, s.allocated_bytes);
    EXPECT_LE(s.carved_bytes, s.allocated_bytes + 15 * s.blocks);
  }

  Owner spawn_owner() {
    auto log = std::make_shared<OwnerLog>();
    auto actor = sys.spawn(owner, memory_, log);
    owners_.push_back(Owner{actor, log});
    return owners_.back();
  }

  /// Lets `o` free the block at `address`; true when it was freed.
  bool free_as(const Owner& o, std::uint64_t address) {
    auto before = o.log->freed.size();
    caf::anon_send(o.actor, release_atom::value, address);
    run();
    return o.log->freed.size() == before + 1;
  }

  /// Lets `o` allocate; returns its block (the test fails when refused).
  MemoryBlock allocate_as(const Owner& o, const std::string& who,
                          std::uint64_t size, bool evictable = false) {
    auto before = o.log->blocks.size();
    caf::anon_send(o.actor, allocate_atom::value,
                   MemoryRequest{who, size, evictable});
    run();
    if (o.log->blocks.size() != before + 1) {
      ADD_FAILURE() << "'" << who << "' was refused " << size << " bytes";
      return MemoryBlock{};
    }
    return o.log->blocks.back();
  }

  void kill(const Owner& o) {
    caf::anon_send_exit(o.actor, caf::exit_reason::kill);
    run();
  }

  Config config_;
  pool_actor pool_;
  memory_manager_actor memory_;
  std::vector<Owner> owners_;
};

} // namespace

// -- charges and records ------------------------------------------------------

TEST_F(MemoryManagerTest, ChargesThePoolTheRequestedBytesAndCreditsThemOnFree) {
  auto block = allocate("vision", 100);
  ASSERT_TRUE(block) << describe(block.error());
  EXPECT_EQ(block->size, 112u); // carved: the region's rounding
  EXPECT_EQ(block->requested, 100u);
  EXPECT_EQ(block->charged, 100u);
  EXPECT_EQ(block->owner, "vision");
  EXPECT_NE(block->grant_id, 0u);
  EXPECT_EQ(block->address % 16, 0u);
  // The address is real memory of the manager's region.
  std::memset(reinterpret_cast<void*>(block->address), 0xAB, block->size);
  EXPECT_EQ(reinterpret_cast<unsigned char*>(block->address)[111], 0xAB);
  expect_charged(100);
  EXPECT_FLOAT_EQ(
      ask_ok<float>(pool_, holding_atom::value, std::string{"vision"}), 100.f);
  auto s = stats();
  EXPECT_EQ(s.blocks, 1u);
  EXPECT_EQ(s.allocated_bytes, 100u);
  EXPECT_EQ(s.requested_bytes, 100u);
  EXPECT_EQ(s.carved_bytes, 112u);
  EXPECT_EQ(s.region_bytes, 16u * 4096);
  EXPECT_EQ(s.free_bytes, 16u * 4096 - 112);
  EXPECT_EQ(s.uncharged_bytes, 0u);
  auto freed = free(block->address);
  ASSERT_TRUE(freed);
  EXPECT_EQ(freed->size, 112u);
  EXPECT_EQ(freed->charged, 100u);
  expect_charged(0);
  EXPECT_EQ(pool_status(pool_).available, 4096 * units_per_amount);
  EXPECT_EQ(stats().blocks, 0u);
  EXPECT_DOUBLE_EQ(stats().fragmentation, 0.0);
}

TEST_F(MemoryManagerTest, ManyBlocksAreChargedAndCreditedExactly) {
  std::vector<MemoryBlock> live;
  std::uint64_t carved = 0;
  for (std::uint64_t size : {1, 15, 16, 17, 250, 1000}) {
    auto block = allocate("audio", size);
    ASSERT_TRUE(block);
    live.push_back(*block);
    carved += block->size;
  }
  EXPECT_EQ(carved, 16u + 16 + 16 + 32 + 256 + 1008);
  EXPECT_EQ(stats().carved_bytes, carved);
  std::uint64_t charged = 1 + 15 + 16 + 17 + 250 + 1000;
  expect_charged(charged);
  // Each free returns exactly what its block was charged.
  for (const auto& block : live) {
    ASSERT_TRUE(free(block.address));
    charged -= block.requested;
    expect_charged(charged);
  }
  EXPECT_EQ(pool_status(pool_).available, 4096 * units_per_amount);
}

TEST_F(MemoryManagerTest, AThousandBytesOfTenThousandLeaveExactlyNineThousand) {
  start(10000, 0.95, 10);
  auto block = allocate("vision", 1000);
  ASSERT_TRUE(block) << describe(block.error());
  EXPECT_EQ(pool_status(pool_).available, 9000 * units_per_amount);
  EXPECT_EQ(stats().allocated_bytes, 1000u);
  auto small = allocate("vision", 200);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->size, 208u);
  EXPECT_EQ(stats().allocated_bytes, 1200u);
  ASSERT_TRUE(free(block->address));
  EXPECT_EQ(pool_status(pool_).available, 9800 * units_per_amount);
  ASSERT_TRUE(free(small->address));
  EXPECT_EQ(pool_status(pool_).available, 10000 * units_per_amount);
}

TEST_F(MemoryManagerTest, OddSizedBlocksFillTheBudgetExactly) {
  start(10000, 0.99, 10);
  std::mt19937 rng{1010};
  std::vector<MemoryBlock> live;
  std::uint64_t left = 10000;
  while (left > 0) {
    // Odd sizes from 1 to 999, the last one whatever is left.
    std::uint64_t size = 1 + 2 * (rng() % 500);
    size = std::min(size, left);
    auto block = allocate("m" + std::to_string(live.size() % 3), size);
    ASSERT_TRUE(block) << size << " of " << left
                       << " left: " << describe(block.error());
    left -= size;
    live.push_back(*block);
    expect_charged(10000 - left);
  }
  EXPECT_GT(live.size(), 10u);
  EXPECT_EQ(pool_status(pool_).available, 0);
  EXPECT_TRUE(fails_with(allocate("m0", 1), ec::insufficient_resources));
  std::shuffle(live.begin(), live.end(), rng);
  std::uint64_t charged = 10000;
  for (const auto& block : live) {
    auto before = pool_status(pool_).available;
    ASSERT_TRUE(free(block.address));
    EXPECT_EQ(pool_status(pool_).available - before,
              static_cast<units>(block.requested) * units_per_amount);
    charged -= block.requested;
    expect_charged(charged);
  }
  EXPECT_EQ(pool_status(pool_).available, 10000 * units_per_amount);
}

TEST_F(MemoryManagerTest, OneByteBlocksFillTheBudget) {
  // The worst case of rounding: every block of one byte takes 16.
  start(1000, 0.99, 10);
  std::vector<std::uint64_t> addresses;
  for (int i = 0; i < 1000; ++i) {
    auto block = allocate("tiny", 1);
    ASSERT_TRUE(block) << "block " << i << ": " << describe(block.error());
    addresses.push_back(block->address);
  }
  expect_charged(1000);
  auto s = stats();
  EXPECT_EQ(s.carved_bytes, 16000u);
  EXPECT_EQ(s.region_bytes, 16000u);
  EXPECT_TRUE(fails_with(allocate("tiny", 1), ec::insufficient_resources));
  for (auto address : addresses)
    ASSERT_TRUE(free(address));
  expect_charged(0);
  EXPECT_TRUE(allocate("big", 1000)); // the whole budget in one block
  expect_charged(1000);
}

TEST_F(MemoryManagerTest, ABlockAboveSixteenMiBIsChargedExactly) {
  // 2^24 + 3 bytes is no float: charged as two grants that add up to it.
  const std::uint64_t capacity = (std::uint64_t{1} << 25) + 1000;
  start(static_cast<double>(capacity), 0.99, 10);
  const std::uint64_t first = (std::uint64_t{1} << 24) + 3;
  auto a = allocate("big", first);
  ASSERT_TRUE(a) << describe(a.error());
  EXPECT_EQ(a->charged, first);
  expect_charged(first);
  auto b = allocate("big", capacity - first);
  ASSERT_TRUE(b) << describe(b.error());
  expect_charged(capacity);
  EXPECT_EQ(pool_status(pool_).available, 0);
  EXPECT_TRUE(fails_with(allocate("big", 1), ec::insufficient_resources));
  ASSERT_TRUE(free(a->address));
  expect_charged(capacity - first);
  ASSERT_TRUE(free(b->address));
  expect_charged(0);
  EXPECT_EQ(pool_status(pool_).available,
            static_cast<units>(capacity) * units_per_amount);
}

TEST(MemoryCharge, PartsAreExactFloatsThatAddUpToTheBytes) {
  EXPECT_TRUE(charge_parts(0).empty());
  EXPECT_EQ(charge_parts(1), std::vector<std::uint64_t>{1});
  EXPECT_EQ(charge_parts(std::uint64_t{1} << 24),
            std::vector<std::uint64_t>{std::uint64_t{1} << 24});
  EXPECT_EQ(charge_parts((std::uint64_t{1} << 24) + 1),
            (std::vector<std::uint64_t>{std::uint64_t{1} << 24, 1}));
  std::mt19937_64 rng{11};
  std::uniform_int_distribution<std::uint64_t> sizes{1, 1'000'000'000'000};
  for (int i = 0; i < 10'000; ++i) {
    auto bytes = i < 5000 ? sizes(rng) : 1 + rng() % (1u << 26);
    auto parts = charge_parts(bytes);
    ASSERT_GE(parts.size(), 1u);
    ASSERT_LE(parts.size(), 2u);
    std::uint64_t sum = 0;
    for (auto part : parts) {
      ASSERT_GT(part, 0u);
      ASSERT_EQ(static_cast<std::uint64_t>(static_cast<float>(part)), part)
          << bytes;
      // And the pool's units are exact too.
      ASSERT_EQ(to_units(static_cast<float>(part)),
                static_cast<units>(part) * units_per_amount);
      sum += part;
    }
    ASSERT_EQ(sum, bytes);
    if (bytes <= (std::uint64_t{1} << 24)) {
      ASSERT_EQ(parts.size(), 1u);
    }
  }
}

TEST_F(MemoryManagerTest, BlocksRecordOwnerAgeAndTouches) {
  auto block = allocate("planner", 64);
  ASSERT_TRUE(block);
  EXPECT_EQ(block->access_count, 0u);
  advance(5s);
  auto touched = touch(block->address);
  ASSERT_TRUE(touched);
  EXPECT_EQ(touched->access_count, 1u);
  EXPECT_EQ(touched->age, caf::timespan{5s});
  EXPECT_EQ(touched->idle, caf::timespan{0});
  advance(2s);
  ASSERT_TRUE(touch(block->address));
  advance(3s);
  auto listing = blocks();
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_EQ(listing[0].address, block->address);
  EXPECT_EQ(listing[0].owner, "planner");
  EXPECT_EQ(listing[0].access_count, 2u);
  EXPECT_EQ(listing[0].age, caf::timespan{10s});
  EXPECT_EQ(listing[0].idle, caf::timespan{3s});
  EXPECT_EQ(listing[0].allocated_at, block->allocated_at);
}

TEST_F(MemoryManagerTest, ListsBlocksInAddressOrder) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(allocate("m" + std::to_string(i), 32));
  auto listing = blocks();
  ASSERT_EQ(listing.size(), 5u);
  for (std::size_t i = 1; i < listing.size(); ++i)
    EXPECT_LT(listing[i - 1].address, listing[i].address);
}

// -- bad input ----------------------------------------------------------------

TEST_F(MemoryManagerTest, BadFreesAreRefusedAndChangeNothing) {
  auto block = allocate("vision", 256);
  ASSERT_TRUE(block);
  auto before = stats();
  EXPECT_TRUE(fails_with(free(0x1234), ec::unknown_block));
  EXPECT_TRUE(fails_with(free(block->address + 16), ec::unknown_block));
  auto interior = free(block->address + 16);
  ASSERT_FALSE(interior);
  EXPECT_NE(context_of(interior.error()).find("inside the block"),
            std::string::npos);
  EXPECT_TRUE(fails_with(touch(block->address + 8), ec::unknown_block));
  auto after = stats();
  EXPECT_EQ(after.blocks, before.blocks);
  EXPECT_EQ(after.allocated_bytes, before.allocated_bytes);
  expect_charged(256);
  // The real free, then a double free: refused, credited once.
  ASSERT_TRUE(free(block->address));
  expect_charged(0);
  EXPECT_TRUE(fails_with(free(block->address), ec::unknown_block));
  EXPECT_TRUE(fails_with(touch(block->address), ec::unknown_block));
  expect_charged(0);
  EXPECT_EQ(pool_status(pool_).available, 4096 * units_per_amount);
}

TEST_F(MemoryManagerTest, BadSizesAndOwnersAreRefusedWithClearErrors) {
  EXPECT_TRUE(fails_with(allocate("vision", 0), ec::invalid_amount));
  EXPECT_TRUE(fails_with(allocate("vision", 4097), ec::exceeds_capacity));
  EXPECT_TRUE(
      fails_with(allocate("vision", ~std::uint64_t{0}), ec::exceeds_capacity));
  EXPECT_TRUE(fails_with(allocate("", 16), ec::empty_requester));
  auto s = stats();
  EXPECT_EQ(s.blocks, 0u);
  EXPECT_EQ(s.gc_runs, 0u);
  expect_charged(0);
  // A capacity that is not a multiple of 16: the whole of it may be asked
  // for; its rounding to 1008 is the region's overhead, not a refusal.
  start(1000, 0.75, 10);
  EXPECT_EQ(stats().region_bytes, 16000u);
  EXPECT_TRUE(fails_with(allocate("vision", 1001), ec::exceeds_capacity));
  auto whole = allocate("vision", 1000);
  ASSERT_TRUE(whole) << describe(whole.error());
  EXPECT_EQ(whole->size, 1008u);
  expect_charged(1000);
}

TEST_F(MemoryManagerTest, WhatDoesNotFitTheBudgetIsRefused) {
  ASSERT_TRUE(allocate("vision", 3072));
  auto refused = allocate("audio", 2048);
  EXPECT_TRUE(fails_with(refused, ec::insufficient_resources));
  expect_charged(3072);
  EXPECT_EQ(stats().blocks, 1u);
}

TEST_F(MemoryManagerTest, AFragmentedRegionRefusesAndReturnsTheGrant) {
  // A budget of 256 bytes has a region of 4096: 256 one-byte blocks fill
  // it. Freeing every other one leaves 128 holes of 16 bytes.
  start(256, 0.99, 10);
  std::vector<MemoryBlock> tiny;
  for (int i = 0; i < 256; ++i) {
    auto block = allocate("vision", 1);
    ASSERT_TRUE(block);
    tiny.push_back(*block);
  }
  for (std::size_t i = 0; i < tiny.size(); i += 2)
    ASSERT_TRUE(free(tiny[i].address));
  auto s = stats();
  EXPECT_EQ(s.free_bytes, 2048u);
  EXPECT_EQ(s.largest_free_extent, 16u);
  EXPECT_DOUBLE_EQ(s.fragmentation, 1.0 - 16.0 / 2048.0);
  // The budget has room for 128, the region has no extent of 128: the grant
  // goes back and the request is refused.
  auto refused = allocate("audio", 128);
  ASSERT_TRUE(fails_with(refused, ec::insufficient_resources));
  EXPECT_NE(context_of(refused.error()).find("fragmentation 0.99"),
            std::string::npos)
      << context_of(refused.error());
  expect_charged(128);
  EXPECT_FLOAT_EQ(
      ask_ok<float>(pool_, holding_atom::value, std::string{"audio"}), 0.f);
}

TEST_F(MemoryManagerTest, WithoutAPoolAllocationsAreRefused) {
  auto orphan = spawn_memory_manager(sys, pool_actor{}, config_);
  run();
  EXPECT_TRUE(fails_with(ask<MemoryBlock>(orphan, allocate_atom::value,
                                          MemoryRequest{"vision", 16, false}),
                         ec::pool_unavailable));
  // A pool that died: the same.
  caf::anon_send_exit(pool_, caf::exit_reason::kill);
  run();
  EXPECT_TRUE(fails_with(allocate("vision", 16), ec::pool_unavailable));
  EXPECT_EQ(stats().blocks, 0u);
  caf::anon_send_exit(orphan, caf::exit_reason::user_shutdown);
}

// -- owners that terminate ----------------------------------------------------

TEST_F(MemoryManagerTest, AnOwnerThatTerminatesLosesItsBlocks) {
  auto module = spawn_owner();
  auto a = allocate_as(module, "vision", 512);
  auto b = allocate_as(module, "vision", 256);
  auto kept = allocate("planner", 128); // held by the test
  ASSERT_TRUE(kept);
  expect_charged(512 + 256 + 128);
  kill(module);
  expect_charged(128);
  auto listing = blocks();
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_EQ(listing[0].address, kept->address);
  auto s = stats();
  EXPECT_EQ(s.owner_down_bytes, 768u);
  EXPECT_EQ(s.bytes_reclaimed, 768u);
  // Their addresses are no blocks any more.
  EXPECT_TRUE(fails_with(free(a.address), ec::unknown_block));
  EXPECT_TRUE(fails_with(free(b.address), ec::unknown_block));
  expect_charged(128);
}

// -- garbage collection
// ---------------------------------------------------------

TEST_F(MemoryManagerTest, GcCollectsOnlyIdleEvictableBlocks) {
  auto cache = spawn_owner();
  auto pinned = allocate("planner", 256); // not evictable
  ASSERT_TRUE(pinned);
  auto old_entry = allocate_as(cache, "cache", 512, true);
  auto hot_entry = allocate_as(cache, "cache", 128, true);
  advance(5s);
  ASSERT_TRUE(touch(hot_entry.address));
  EXPECT_EQ(gc(), 0u); // nothing is 10 s idle yet
  advance(6s);
  // old_entry: 11 s old and idle; hot_entry: idle 6 s; pinned: not allowed.
  EXPECT_EQ(gc(), 512u);
  ASSERT_EQ(cache.log->evicted.size(), 1u);
  EXPECT_EQ(cache.log->evicted[0].address, old_entry.address);
  EXPECT_EQ(cache.log->evicted[0].size, 512u);
  EXPECT_EQ(cache.log->evicted[0].owner, "cache");
  expect_charged(256 + 128);
  advance(4s);
  EXPECT_EQ(gc(), 128u);
  ASSERT_EQ(cache.log->evicted.size(), 2u);
  EXPECT_EQ(cache.log->evicted[1].address, hot_entry.address);
  advance(1000s);
  EXPECT_EQ(gc(), 0u);
  expect_charged(256);
  ASSERT_EQ(blocks().size(), 1u);
  auto s = stats();
  EXPECT_EQ(s.gc_runs, 4u);
  EXPECT_EQ(s.automatic_gc_runs, 0u);
  EXPECT_EQ(s.evicted_bytes, 640u);
  EXPECT_EQ(s.bytes_reclaimed, 640u);
}

TEST_F(MemoryManagerTest, GcAndOwnerDeathReturnExactlyWhatWasCharged) {
  auto cache = spawn_owner();
  auto module = spawn_owner();
  allocate_as(cache, "cache", 100, true); // carved 112
  allocate_as(module, "vision", 33);      // carved 48
  auto kept = allocate("planner", 7);     // carved 16
  ASSERT_TRUE(kept);
  expect_charged(100 + 33 + 7);
  advance(11s);
  EXPECT_EQ(gc(), 100u);
  expect_charged(33 + 7);
  kill(module);
  expect_charged(7);
  auto s = stats();
  EXPECT_EQ(s.evicted_bytes, 100u);
  EXPECT_EQ(s.owner_down_bytes, 33u);
  EXPECT_EQ(s.bytes_reclaimed, 133u);
  EXPECT_EQ(s.carved_bytes, 16u);
  ASSERT_TRUE(free(kept->address));
  expect_charged(0);
  EXPECT_EQ(pool_status(pool_).available, 4096 * units_per_amount);
}

TEST_F(MemoryManagerTest, OnlyTheOwnerMarksABlockEvictable) {
  auto block = allocate("planner", 256);
  ASSERT_TRUE(block);
  auto mark = [&](const std::string& who, std::uint64_t address, bool on) {
    return ask<MemoryBlock>(memory_, evictable_atom::value, who, address, on);
  };
  EXPECT_TRUE(
      fails_with(mark("intruder", block->address, true), ec::unknown_block));
  EXPECT_TRUE(fails_with(mark("planner", block->address + 16, true),
                         ec::unknown_block));
  advance(20s);
  EXPECT_EQ(gc(), 0u);
  auto marked = mark("planner", block->address, true);
  ASSERT_TRUE(marked);
  EXPECT_TRUE(marked->evictable);
  ASSERT_TRUE(mark("planner", block->address, false));
  EXPECT_EQ(gc(), 0u); // allowed and withdrawn
  ASSERT_TRUE(mark("planner", block->address, true));
  EXPECT_EQ(gc(), 256u);
  expect_charged(0);
}

TEST_F(MemoryManagerTest, AnotherActorCannotFreeOrMarkABlock) {
  // The module's block, addressed by another actor (the test itself, as a
  // remote client that listed the blocks would): freeing it would hand
  // memory the module still uses to someone else.
  auto module = spawn_owner();
  auto block = allocate_as(module, "vision", 256);
  auto before = stats();
  auto freed = free(block.address);
  ASSERT_TRUE(fails_with(freed, ec::unknown_block));
  EXPECT_NE(describe(freed.error()).find("allocated by another actor"),
            std::string::npos)
      << describe(freed.error());
  EXPECT_TRUE(
      fails_with(ask<MemoryBlock>(memory_, evictable_atom::value,
                                  std::string{"vision"}, block.address, true),
                 ec::unknown_block));
  EXPECT_EQ(stats().allocated_bytes, before.allocated_bytes);
  expect_charged(256);
  advance(20s);
  EXPECT_EQ(gc(), 0u); // not made evictable
  // A touch is open to all (modules share data).
  EXPECT_TRUE(touch(block.address));
  // Its allocator frees it.
  EXPECT_TRUE(free_as(module, block.address));
  expect_charged(0);
}

TEST_F(MemoryManagerTest, GcRunsByItselfAtTheThreshold) {
  auto cache = spawn_owner();
  allocate_as(cache, "cache", 1024, true);
  advance(11s);
  // 1024 + 1024 of 4096: below 0.75, nothing is collected.
  ASSERT_TRUE(allocate("vision", 1024));
  EXPECT_EQ(stats().automatic_gc_runs, 0u);
  EXPECT_EQ(stats().blocks, 2u);
  // 3072 of 4096 reaches 0.75: the idle evictable block goes.
  ASSERT_TRUE(allocate("audio", 1024));
  auto s = stats();
  EXPECT_EQ(s.automatic_gc_runs, 1u);
  EXPECT_EQ(s.evicted_bytes, 1024u);
  EXPECT_EQ(s.blocks, 2u);
  EXPECT_EQ(cache.log->evicted.size(), 1u);
  expect_charged(2048);
}

TEST_F(MemoryManagerTest, GcRunsByItselfWhenABlockBecomesCollectable) {
  auto cache = spawn_owner();
  ASSERT_TRUE(allocate("vision", 2048));
  allocate_as(cache, "cache", 1024, true); // now at 0.75, nothing idle yet
  EXPECT_EQ(stats().automatic_gc_runs, 0u);
  advance(9s);
  EXPECT_EQ(stats().blocks, 2u);
  advance(1s); // 10 s idle: collectable, and the pool is at 0.75
  auto s = stats();
  EXPECT_EQ(s.automatic_gc_runs, 1u);
  EXPECT_EQ(s.blocks, 1u);
  EXPECT_EQ(cache.log->evicted.size(), 1u);
  expect_charged(2048);
}

TEST_F(MemoryManagerTest, ATouchPostponesAutomaticCollection) {
  auto cache = spawn_owner();
  ASSERT_TRUE(allocate("vision", 2048));
  auto entry = allocate_as(cache, "cache", 1024, true);
  advance(8s);
  ASSERT_TRUE(touch(entry.address));
  advance(2s); // the first timer fires: idle only 2 s
  EXPECT_EQ(stats().blocks, 2u);
  advance(8s); // idle 10 s
  EXPECT_EQ(stats().blocks, 1u);
  EXPECT_EQ(cache.log->evicted.size(), 1u);
}

TEST_F(MemoryManagerTest, ARefusedAllocationCollectsOnceAndRetries) {
  auto cache = spawn_owner();
  allocate_as(cache, "cache", 2048, true);
  advance(11s); // idle, but 0.5 is below the threshold
  EXPECT_EQ(stats().blocks, 1u);
  auto block = allocate("vision", 3072); // does not fit the budget
  ASSERT_TRUE(block) << describe(block.error());
  auto s = stats();
  EXPECT_EQ(s.gc_runs, 1u);
  EXPECT_EQ(s.evicted_bytes, 2048u);
  expect_charged(3072);
  // Nothing collectable left: refused after one collection.
  EXPECT_TRUE(fails_with(allocate("audio", 2048), ec::insufficient_resources));
  EXPECT_EQ(stats().gc_runs, 2u);
  expect_charged(3072);
}

TEST_F(MemoryManagerTest, ARegionRefusalCollectsOnceAndRetries) {
  // 256 one-byte blocks fill the region of a 256-byte budget; keeping every
  // eighth leaves extents of 112 bytes, one of the kept ones evictable.
  start(256, 0.75, 10);
  auto cache = spawn_owner();
  std::vector<MemoryBlock> tiny;
  for (int i = 0; i < 256; ++i)
    tiny.push_back(i == 15 ? allocate_as(cache, "cache", 1, true)
                           : *allocate("filler", 1));
  for (std::size_t i = 0; i < tiny.size(); ++i)
    if (i % 8 != 7) {
      ASSERT_TRUE(free(tiny[i].address));
    }
  advance(11s);
  ASSERT_EQ(stats().largest_free_extent, 112u);
  // 200 bytes fit the budget (224 free) but need 208 contiguous: only once
  // the evictable block goes, its extent joins both neighbours (240).
  auto block = allocate("vision", 200);
  ASSERT_TRUE(block) << describe(block.error());
  EXPECT_EQ(block->address, tiny[8].address);
  expect_charged(32 - 1 + 200);
  EXPECT_EQ(cache.log->evicted.size(), 1u);
  EXPECT_EQ(cache.log->evicted[0].address, tiny[15].address);
}

// -- pool replacement, configuration, reset
// -------------------------------------

TEST_F(MemoryManagerTest, ANewPoolIsChargedWithTheLiveBlocks) {
  auto a = allocate("vision", 1024);
  auto b = allocate("audio", 512);
  ASSERT_TRUE(a && b);
  caf::anon_send_exit(pool_, caf::exit_reason::kill);
  run();
  pool_ = sys.spawn(rros::pool, ResourceType::MEMORY, 4096.0, PoolPolicy{});
  run();
  auto s = ask_ok<MemoryStats>(memory_, pools_atom::value, pool_);
  EXPECT_EQ(s.uncharged_bytes, 0u);
  expect_charged(1536);
  EXPECT_FLOAT_EQ(
      ask_ok<float>(pool_, holding_atom::value, std::string{"audio"}), 512.f);
  ASSERT_TRUE(free(a->address));
  ASSERT_TRUE(free(b->address));
  expect_charged(0);
}

TEST_F(MemoryManagerTest, BlocksANewPoolRefusesStayValidAndUncharged) {
  auto a = allocate("vision", 1024);
  auto b = allocate("audio", 1024);
  ASSERT_TRUE(a && b);
  auto old_pool = pool_;
  pool_ = sys.spawn(rros::pool, ResourceType::MEMORY, 1024.0, PoolPolicy{});
  run();
  auto s = ask_ok<MemoryStats>(memory_, pools_atom::value, pool_);
  EXPECT_EQ(s.uncharged_bytes, 1024u);
  EXPECT_EQ(s.blocks, 2u);
  // The old pool (still alive here) got its grants back.
  EXPECT_EQ(pool_status(old_pool).held, 0);
  EXPECT_EQ(pool_status(pool_).held, 1024 * units_per_amount);
  // Freeing the uncharged block credits nothing; the charged one credits.
  ASSERT_TRUE(free(b->address));
  EXPECT_EQ(pool_status(pool_).held, 1024 * units_per_amount);
  ASSERT_TRUE(free(a->address));
  EXPECT_EQ(pool_status(pool_).held, 0);
  caf::anon_send_exit(old_pool, caf::exit_reason::user_shutdown);
}

TEST_F(MemoryManagerTest, CapacityGrowthMapsARegionForTheNewCapacity) {
  auto a = allocate("vision", 4096);
  ASSERT_TRUE(a);
  auto grown = config_;
  grown.capacity[static_cast<std::size_t>(ResourceType::MEMORY)] = 8192;
  ASSERT_TRUE(ask<PoolStatus>(pool_, capacity_atom::value, 8192.0));
  // A block is live and no free extent holds a fill of 8192 (16 x 8192
  // bytes): a region of that size is added.
  auto s = ask_ok<MemoryStats>(memory_, config_atom::value, grown);
  EXPECT_EQ(s.region_bytes, 16u * 4096 + 16u * 8192);
  EXPECT_EQ(s.regions, 2u);
  auto b = allocate("audio", 4096);
  ASSERT_TRUE(b);
  expect_charged(8192);
  ASSERT_TRUE(free(a->address));
  ASSERT_TRUE(free(b->address));
  // Empty again: one region.
  s = stats();
  EXPECT_EQ(s.regions, 1u);
  EXPECT_EQ(s.largest_free_extent, s.region_bytes);
  EXPECT_TRUE(allocate("vision", 8192));
  // Growth with nothing live: one region of the new size.
  ASSERT_TRUE(free(blocks().at(0).address));
  grown.capacity[static_cast<std::size_t>(ResourceType::MEMORY)] = 20000;
  ASSERT_TRUE(ask<PoolStatus>(pool_, capacity_atom::value, 20000.0));
  s = ask_ok<MemoryStats>(memory_, config_atom::value, grown);
  EXPECT_EQ(s.regions, 1u);
  EXPECT_EQ(s.region_bytes, 16u * 20000);
}

TEST_F(MemoryManagerTest, AShrunkCapacityLimitsByBudgetAndKeepsTheRegion) {
  auto shrunk = config_;
  shrunk.capacity[static_cast<std::size_t>(ResourceType::MEMORY)] = 2048;
  ASSERT_TRUE(ask<PoolStatus>(pool_, capacity_atom::value, 2048.0));
  auto s = ask_ok<MemoryStats>(memory_, config_atom::value, shrunk);
  EXPECT_EQ(s.region_bytes, 16u * 4096);
  EXPECT_TRUE(fails_with(allocate("vision", 3000), ec::exceeds_capacity));
  ASSERT_TRUE(allocate("vision", 2048));
  EXPECT_TRUE(fails_with(allocate("vision", 16), ec::insufficient_resources));
  expect_charged(2048);
}

TEST_F(MemoryManagerTest, ABadConfigurationIsRefusedAndChangesNothing) {
  auto bad = config_;
  bad.gc_threshold = std::nan("");
  EXPECT_TRUE(fails_with(ask<MemoryStats>(memory_, config_atom::value, bad),
                         ec::invalid_config_value));
  bad = config_;
  bad.capacity[static_cast<std::size_t>(ResourceType::MEMORY)] = -1;
  EXPECT_TRUE(fails_with(ask<MemoryStats>(memory_, config_atom::value, bad),
                         ec::invalid_config_value));
  EXPECT_EQ(stats().region_bytes, 16u * 4096);
  EXPECT_TRUE(fails_with(allocate("vision", 4097), ec::exceeds_capacity));
}

TEST_F(MemoryManagerTest, ANewAgeThresholdAppliesAtOnce) {
  auto cache = spawn_owner();
  allocate_as(cache, "cache", 512, true);
  advance(3s);
  EXPECT_EQ(gc(), 0u);
  auto quicker = config_;
  quicker.gc_age_threshold = 2;
  ASSERT_TRUE(ask<MemoryStats>(memory_, config_atom::value, quicker));
  EXPECT_EQ(gc(), 512u);
}

TEST_F(MemoryManagerTest, ResetFreesEveryBlockAndReturnsEveryGrant) {
  auto module = spawn_owner();
  allocate_as(module, "vision", 1024, true);
  ASSERT_TRUE(allocate("audio", 512));
  ASSERT_TRUE(gc() == 0);
  auto s = ask_ok<MemoryStats>(memory_, reset_atom::value);
  EXPECT_EQ(s.blocks, 0u);
  EXPECT_EQ(s.allocated_bytes, 0u);
  EXPECT_EQ(s.free_bytes, 16u * 4096);
  EXPECT_EQ(s.gc_runs, 0u);
  EXPECT_DOUBLE_EQ(s.fragmentation, 0.0);
  expect_charged(0);
  EXPECT_TRUE(blocks().empty());
  // An owner that terminates after a reset returns nothing twice.
  kill(module);
  expect_charged(0);
  EXPECT_EQ(stats().owner_down_bytes, 0u);
  EXPECT_TRUE(allocate("vision", 4096));
}

TEST_F(MemoryManagerTest, ARevokeNotFromItsPoolChangesNothing) {
  // Only the MEMORY pool revokes the manager's grants, and only the manager
  // (their holder) returns them: a notice from anyone else, or a release of
  // the grant by another actor, leaves the block charged.
  auto block = allocate("vision", 256);
  ASSERT_TRUE(block);
  GrantNotice notice{block->grant_id,       "vision",
                     ResourceType::MEMORY,  256.0f,
                     RevokeReason::expired, std::chrono::nanoseconds{0}};
  EXPECT_TRUE(fails_with(
      ask<ReleaseReceipt>(pool_, release_atom::value, block->grant_id),
      ec::unknown_grant));
  caf::anon_send(memory_, revoke_atom::value, notice);
  self->send(memory_, revoke_atom::value, notice);
  run();
  auto listing = blocks();
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_EQ(listing[0].grant_id, block->grant_id);
  EXPECT_EQ(stats().uncharged_bytes, 0u);
  EXPECT_EQ(pool_status(pool_).held, to_units(256));
  ASSERT_TRUE(free(block->address));
  EXPECT_EQ(pool_status(pool_).held, 0);
}

// -- randomized: GC never takes what is still held --------------------------

TEST_F(MemoryManagerTest, RandomOperationsNeverLoseAHeldBlock) {
  start(64 * 1024, 0.6, 3);
  std::mt19937 rng{424242};
  struct Live {
    std::size_t module; // index into modules
    bool evictable;
  };
  // Four module slots; now and then the module in a slot terminates and a
  // new one (with a new owner id) takes its place.
  std::vector<Owner> modules;
  std::vector<std::string> names;
  std::vector<std::size_t> seen; // replies already read per slot
  for (std::size_t i = 0; i < 4; ++i) {
    modules.push_back(spawn_owner());
    names.push_back("module" + std::to_string(i));
    seen.push_back(0);
  }
  std::map<std::uint64_t, Live> model; // what the test knows to be live
  std::vector<std::uint64_t> freed;
  std::size_t refusals = 0;
  std::vector<MemoryBlock> evicted; // notices of replaced modules
  auto pick = [&] {
    return std::next(model.begin(),
                     static_cast<std::ptrdiff_t>(rng() % model.size()));
  };
  for (int step = 0; step < 2000; ++step) {
    auto op = rng() % 10;
    if (op < 5) { // allocate
      auto i = rng() % modules.size();
      bool evictable = rng() % 2 == 0;
      auto size = 1 + rng() % 4096;
      caf::anon_send(modules[i].actor, allocate_atom::value,
                     MemoryRequest{names[i], size, evictable});
      run();
      auto& log = *modules[i].log;
      if (log.blocks.size() > seen[i]) {
        model[log.blocks.back().address] = Live{i, evictable};
        seen[i] = log.blocks.size();
      } else {
        ++refusals;
        ASSERT_FALSE(log.errors.empty());
        ASSERT_TRUE(is(log.errors.back(), ec::insufficient_resources))
            << describe(log.errors.back());
      }
    } else if (op == 5 && !model.empty()) { // free
      auto it = pick();
      auto address = it->first;
      if (free_as(modules[it->second.module], address)) {
        freed.push_back(address);
      } else {
        // Only a collected evictable block may have gone.
        ASSERT_TRUE(it->second.evictable) << "step " << step;
      }
      model.erase(it);
    } else if (op == 6 && !model.empty()) { // touch
      auto it = pick();
      if (!touch(it->first)) {
        ASSERT_TRUE(it->second.evictable) << "step " << step;
        model.erase(it);
      }
    } else if (op == 7) {
      advance(std::chrono::milliseconds(rng() % 4000));
    } else if (op == 8) {
      gc();
    } else if (op == 9 && !freed.empty()) { // a double free changes nothing
      auto address = freed[rng() % freed.size()];
      if (model.count(address) == 0) {
        auto before = stats();
        ASSERT_TRUE(fails_with(free(address), ec::unknown_block));
        ASSERT_EQ(stats().allocated_bytes, before.allocated_bytes);
      }
    }
    if (step % 100 == 99) {
      auto i = rng() % modules.size();
      kill(modules[i]);
      for (auto it = model.begin(); it != model.end();)
        it = it->second.module == i ? model.erase(it) : std::next(it);
      for (const auto& b : modules[i].log->evicted)
        evicted.push_back(b);
      modules[i] = spawn_owner();
      names[i] += "+";
      seen[i] = 0;
    }
    // After every step: every block the test holds and did not allow to be
    // collected is alive; the pool holds exactly the live blocks.
    std::set<std::uint64_t> live;
    std::uint64_t sum = 0;
    for (const auto& b : blocks()) {
      live.insert(b.address);
      sum += b.requested;
      ASSERT_NE(b.grant_id, 0u);
      ASSERT_EQ(b.charged, b.requested);
    }
    for (auto it = model.begin(); it != model.end();) {
      if (live.count(it->first) == 0) {
        ASSERT_TRUE(it->second.evictable)
            << "a held block vanished at step " << step;
        it = model.erase(it);
      } else {
        ++it;
      }
    }
    ASSERT_EQ(live.size(), model.size()) << "step " << step;
    ASSERT_EQ(pool_status(pool_).held,
              static_cast<units>(sum) * units_per_amount)
        << "step " << step;
    auto s = stats();
    ASSERT_EQ(s.allocated_bytes, sum);
    ASSERT_EQ(s.free_bytes + s.carved_bytes, s.region_bytes);
    ASSERT_LE(s.carved_bytes, s.allocated_bytes + 15 * s.blocks);
  }
  // Every eviction notice was for an evictable block idle long enough.
  for (const auto& m : modules)
    for (const auto& b : m.log->evicted)
      evicted.push_back(b);
  for (const auto& b : evicted) {
    EXPECT_TRUE(b.evictable);
    EXPECT_GE(b.idle, caf::timespan{3s});
    EXPECT_GE(b.age, caf::timespan{3s});
  }
  // The run exercised what it is meant to: collections of every kind and
  // refusals.
  auto s = stats();
  EXPECT_GT(evicted.size(), 0u);
  EXPECT_EQ(s.gc_runs > s.automatic_gc_runs, true);
  EXPECT_GT(s.automatic_gc_runs, 0u);
  EXPECT_GT(s.owner_down_bytes, 0u);
  EXPECT_GT(refusals, 0u);
}

// -- the messages cross nodes
// ----------------------------------------------------

TEST_F(MemoryManagerTest, MessagesSurviveSerializationWithTheirNames) {
  auto block = allocate("vision", 100, true);
  ASSERT_TRUE(block);
  advance(2s);
  ASSERT_TRUE(touch(block->address));
  auto listing = blocks();
  auto s = stats();
  auto msg = caf::make_message(allocate_atom::value,
                               MemoryRequest{"vision", 100, true}, listing, s);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(msg));
  std::string bytes(buf.begin(), buf.end());
  for (auto name : {"MemoryRequest", "MemoryStats", "MemoryBlock"})
    EXPECT_NE(bytes.find(name), std::string::npos) << name;
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(copy));
  ASSERT_TRUE((copy.match_elements<allocate_atom, MemoryRequest,
                                   std::vector<MemoryBlock>, MemoryStats>()));
  const auto& req = copy.get_as<MemoryRequest>(1);
  EXPECT_EQ(req.owner, "vision");
  EXPECT_EQ(req.size, 100u);
  EXPECT_TRUE(req.evictable);
  const auto& blocks_copy = copy.get_as<std::vector<MemoryBlock>>(2);
  ASSERT_EQ(blocks_copy.size(), 1u);
  const auto& b = blocks_copy[0];
  EXPECT_EQ(b.address, block->address);
  EXPECT_EQ(b.size, 112u);
  EXPECT_EQ(b.requested, 100u);
  EXPECT_EQ(b.charged, 100u);
  EXPECT_EQ(b.owner, "vision");
  EXPECT_EQ(b.grant_id, block->grant_id);
  EXPECT_TRUE(b.evictable);
  EXPECT_EQ(b.allocated_at, block->allocated_at);
  EXPECT_EQ(b.age, caf::timespan{2s});
  EXPECT_EQ(b.idle, caf::timespan{0});
  EXPECT_EQ(b.access_count, 1u);
  const auto& t = copy.get_as<MemoryStats>(3);
  EXPECT_EQ(t.allocated_bytes, s.allocated_bytes);
  EXPECT_EQ(t.allocated_bytes, 100u);
  EXPECT_EQ(t.requested_bytes, 100u);
  EXPECT_EQ(t.carved_bytes, 112u);
  EXPECT_EQ(t.blocks, 1u);
  EXPECT_EQ(t.free_bytes, s.free_bytes);
  EXPECT_EQ(t.largest_free_extent, s.largest_free_extent);
  EXPECT_EQ(t.region_bytes, 16u * 4096);
  EXPECT_EQ(t.regions, 1u);
  EXPECT_DOUBLE_EQ(t.fragmentation, s.fragmentation);
}
