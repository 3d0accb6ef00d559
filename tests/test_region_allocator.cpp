// The allocator behind tracked memory, on constructed layouts: best fit,
// coalescing, region boundaries, fragmentation figures, and bad frees that
// change nothing.
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/region_allocator.hpp"

using namespace rros;

namespace {

/// Allocates `size` bytes and fails the test when it does not fit.
std::uintptr_t take(RegionAllocator& region, std::uint64_t size) {
  auto address = region.allocate(size);
  EXPECT_TRUE(address.has_value()) << "no room for " << size << " bytes";
  return address.value_or(0);
}

} // namespace

TEST(RegionAllocator, RoundsBlocksToSixteenBytesOnly) {
  EXPECT_EQ(RegionAllocator::block_size_for(0), 0u);
  EXPECT_EQ(RegionAllocator::block_size_for(1), 16u);
  EXPECT_EQ(RegionAllocator::block_size_for(16), 16u);
  EXPECT_EQ(RegionAllocator::block_size_for(17), 32u);
  EXPECT_EQ(RegionAllocator::block_size_for(1000), 1008u);
  // Large blocks too: never more than 15 bytes of rounding.
  auto big = (std::uint64_t{1} << 28) + 1;
  EXPECT_EQ(RegionAllocator::block_size_for(big), big - 1 + 16);
  EXPECT_EQ(RegionAllocator::block_size_for(RegionAllocator::max_request + 1),
            0u);
  std::mt19937_64 rng{7};
  std::uniform_int_distribution<std::uint64_t> sizes{1, 1'000'000'000'000};
  for (int i = 0; i < 10'000; ++i) {
    auto requested = sizes(rng);
    auto size = RegionAllocator::block_size_for(requested);
    EXPECT_GE(size, requested);
    EXPECT_LT(size - requested, RegionAllocator::alignment);
    EXPECT_EQ(size % RegionAllocator::alignment, 0u);
  }
}

TEST(RegionAllocator, ARegionForABudgetHoldsAnyFillOfIt) {
  EXPECT_EQ(RegionAllocator::region_for_budget(0), 0u);
  EXPECT_EQ(RegionAllocator::region_for_budget(1000), 16000u);
  EXPECT_EQ(RegionAllocator::region_for_budget(~std::uint64_t{0}) %
                RegionAllocator::alignment,
            0u);
  /// Fills a fresh region of `region_bytes` with `sizes`; true when every
  /// block fit.
  auto fills = [](std::uint64_t region_bytes,
                  const std::vector<std::uint64_t>& sizes) {
    RegionAllocator region{region_bytes};
    for (auto size : sizes)
      if (!region.allocate(RegionAllocator::block_size_for(size)))
        return false;
    return true;
  };
  const std::uint64_t budget = 1000;
  auto region_bytes = RegionAllocator::region_for_budget(budget);
  // The worst case, one byte each, takes all of it: a block less and the
  // last request does not fit.
  std::vector<std::uint64_t> ones(budget, 1);
  EXPECT_TRUE(fills(region_bytes, ones));
  EXPECT_FALSE(fills(region_bytes - RegionAllocator::alignment, ones));
  // Random sizes that add up to the budget exactly always fit.
  std::mt19937 rng{99};
  for (int round = 0; round < 200; ++round) {
    std::vector<std::uint64_t> sizes;
    std::uint64_t left = budget;
    auto largest = 1 + rng() % budget;
    while (left > 0) {
      auto size = std::min<std::uint64_t>(left, 1 + rng() % largest);
      sizes.push_back(size);
      left -= size;
    }
    ASSERT_TRUE(fills(region_bytes, sizes)) << "round " << round;
  }
  // One block of the whole budget, and budgets that are no multiple of 16.
  for (std::uint64_t n : {1, 15, 17, 999, 1001, 4096})
    EXPECT_TRUE(fills(RegionAllocator::region_for_budget(n), {n})) << n;
}

TEST(RegionAllocator, HandsOutAlignedRealMemory) {
  RegionAllocator region{4096};
  ASSERT_EQ(region.region_bytes(), 4096u);
  std::vector<std::pair<std::uintptr_t, std::uint64_t>> blocks;
  for (std::uint64_t size : {16, 48, 112, 1008, 256}) {
    auto address = take(region, size);
    EXPECT_EQ(address % RegionAllocator::alignment, 0u);
    blocks.emplace_back(address, size);
  }
  // Each block is writable memory of its own: fill them with distinct bytes
  // and read every one back.
  for (std::size_t i = 0; i < blocks.size(); ++i)
    std::memset(reinterpret_cast<void*>(blocks[i].first),
                static_cast<int>(i + 1), blocks[i].second);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    auto* bytes = reinterpret_cast<const unsigned char*>(blocks[i].first);
    for (std::uint64_t j = 0; j < blocks[i].second; ++j)
      ASSERT_EQ(bytes[j], i + 1);
  }
  EXPECT_EQ(region.allocated_bytes(), 16u + 48 + 112 + 1008 + 256);
  EXPECT_EQ(region.blocks(), 5u);
}

TEST(RegionAllocator, BestFitTakesTheSmallestHoleThatHoldsTheBlock) {
  RegionAllocator region{1024};
  auto a = take(region, 64);
  auto b = take(region, 128);
  auto c = take(region, 64);
  auto d = take(region, 256);
  auto e = take(region, 64);
  (void)a;
  (void)c;
  (void)e;
  // Holes: b (128), d (256) and the tail (1024 - 576 = 448).
  EXPECT_EQ(region.free(b), 128u);
  EXPECT_EQ(region.free(d), 256u);
  EXPECT_EQ(region.free_extents(), 3u);
  EXPECT_EQ(region.largest_free_extent(), 448u);
  // 112 bytes fit all three holes: the smallest (b's) is taken, at its start.
  EXPECT_EQ(take(region, 112), b);
  // 256 fits d's hole exactly and the tail: the exact hole is taken.
  EXPECT_EQ(take(region, 256), d);
  // 300 fits only the tail.
  EXPECT_EQ(take(region, 304), e + 64);
  // What is left: 16 bytes after b's block and 144 at the end.
  EXPECT_EQ(region.free_bytes(), 16u + 144);
  EXPECT_FALSE(region.allocate(160).has_value());
}

TEST(RegionAllocator, EqualHolesAreTakenLowestAddressFirst) {
  RegionAllocator region{512};
  auto a = take(region, 64);
  auto b = take(region, 64);
  auto c = take(region, 64);
  auto d = take(region, 64);
  take(region, 256); // no tail
  region.free(c);
  region.free(a);
  (void)b;
  (void)d;
  EXPECT_EQ(take(region, 64), a);
  EXPECT_EQ(take(region, 64), c);
}

TEST(RegionAllocator, FreeingCoalescesWithBothNeighbours) {
  RegionAllocator region{256};
  auto a = take(region, 64);
  auto b = take(region, 64);
  auto c = take(region, 64);
  auto d = take(region, 64);
  EXPECT_EQ(region.free_bytes(), 0u);
  EXPECT_EQ(region.free_extents(), 0u);
  region.free(a);
  region.free(c);
  EXPECT_EQ(region.free_extents(), 2u);
  // b joins a below and c above: one extent of 192.
  region.free(b);
  EXPECT_EQ(region.free_extents(), 1u);
  EXPECT_EQ(region.largest_free_extent(), 192u);
  EXPECT_EQ(take(region, 192), a);
  region.free(a);
  region.free(d);
  EXPECT_EQ(region.free_extents(), 1u);
  EXPECT_EQ(region.largest_free_extent(), 256u);
  EXPECT_EQ(region.blocks(), 0u);
}

TEST(RegionAllocator, FragmentationOnKnownLayouts) {
  // A B C D fill the region; freeing B and D leaves two holes of 64:
  // 1 - 64 / 128.
  RegionAllocator exact{256};
  auto a = take(exact, 64);
  auto b = take(exact, 64);
  auto c = take(exact, 64);
  auto d = take(exact, 64);
  EXPECT_DOUBLE_EQ(exact.fragmentation(), 0.0); // nothing free
  exact.free(b);
  exact.free(d);
  EXPECT_DOUBLE_EQ(exact.fragmentation(), 0.5);
  exact.free(a);
  exact.free(c);
  EXPECT_DOUBLE_EQ(exact.fragmentation(), 0.0); // all free

  // With a 256-byte tail, D's hole joins it: holes of 64 and 320,
  // 1 - 320 / 384 = 1/6.
  RegionAllocator tail{512};
  take(tail, 64);
  auto tb = take(tail, 64);
  take(tail, 64);
  auto td = take(tail, 64);
  EXPECT_DOUBLE_EQ(tail.fragmentation(), 0.0); // one extent
  tail.free(tb);
  tail.free(td);
  EXPECT_EQ(tail.free_bytes(), 384u);
  EXPECT_EQ(tail.largest_free_extent(), 320u);
  EXPECT_DOUBLE_EQ(tail.fragmentation(), 1.0 - 320.0 / 384.0);
}

TEST(RegionAllocator, BadFreesChangeNothing) {
  RegionAllocator region{1024};
  auto a = take(region, 128);
  auto b = take(region, 64);
  auto free_before = region.free_bytes();
  auto extents_before = region.free_extents();
  EXPECT_EQ(region.free(a + 16), 0u); // interior
  EXPECT_EQ(region.free(0x10), 0u);   // never allocated
  EXPECT_EQ(region.free(a), 128u);
  EXPECT_EQ(region.free(a), 0u); // twice
  EXPECT_EQ(region.free_bytes(), free_before + 128);
  EXPECT_EQ(region.free_extents(), extents_before + 1);
  ASSERT_TRUE(region.block_containing(b + 63).has_value());
  EXPECT_EQ(region.block_containing(b + 63)->first, b);
  EXPECT_FALSE(region.block_containing(b + 64).has_value());
  EXPECT_FALSE(region.block_containing(a).has_value()); // freed
}

TEST(RegionAllocator, RefusesSizesThatAreNotBlockSizes) {
  RegionAllocator region{1024};
  EXPECT_FALSE(region.allocate(0).has_value());
  EXPECT_FALSE(region.allocate(24).has_value());
  EXPECT_FALSE(region.allocate(2048).has_value());
  EXPECT_EQ(region.free_bytes(), 1024u);
}

TEST(RegionAllocator, GrowthAddsARegionThatNeverMergesWithTheOldOne) {
  RegionAllocator region{256};
  auto x = take(region, 256);
  ASSERT_TRUE(region.grow_to(512));
  EXPECT_EQ(region.regions(), 2u);
  EXPECT_EQ(region.region_bytes(), 512u);
  auto y = take(region, 16); // from the new region
  EXPECT_NE(y, x);
  region.free(x);
  // Whether or not the mappings happen to be adjacent, their free extents
  // stay apart: no block may span two mappings.
  EXPECT_EQ(region.free_extents(), 2u);
  EXPECT_EQ(region.largest_free_extent(), 256u);
  EXPECT_FALSE(region.allocate(400).has_value());
  // With no block left the regions become one again.
  region.free(y);
  EXPECT_EQ(region.regions(), 1u);
  EXPECT_EQ(region.region_bytes(), 512u);
  EXPECT_EQ(region.largest_free_extent(), 512u);
  EXPECT_DOUBLE_EQ(region.fragmentation(), 0.0);
  EXPECT_TRUE(region.allocate(512).has_value());
}

TEST(RegionAllocator, GrowthWithoutBlocksMapsOneRegionAndNeverShrinks) {
  RegionAllocator region{256};
  ASSERT_TRUE(region.grow_to(1000)); // rounded down to 992
  EXPECT_EQ(region.regions(), 1u);
  EXPECT_EQ(region.region_bytes(), 992u);
  ASSERT_TRUE(region.grow_to(128));
  EXPECT_EQ(region.region_bytes(), 992u);
}

TEST(RegionAllocator, ClearFreesEveryBlock) {
  RegionAllocator region{256};
  take(region, 64);
  ASSERT_TRUE(region.grow_to(512));
  take(region, 128);
  region.clear();
  EXPECT_EQ(region.blocks(), 0u);
  EXPECT_EQ(region.free_bytes(), 512u);
  EXPECT_EQ(region.regions(), 1u);
  EXPECT_DOUBLE_EQ(region.fragmentation(), 0.0);
}

TEST(RegionAllocator, RandomOperationsKeepTheBooksExact) {
  RegionAllocator region{64 * 1024};
  std::mt19937 rng{2024};
  std::vector<std::pair<std::uintptr_t, std::uint64_t>> live;
  for (int step = 0; step < 5000; ++step) {
    if (live.empty() || rng() % 3 != 0) {
      auto size = RegionAllocator::block_size_for(1 + rng() % 2048);
      if (auto address = region.allocate(size))
        live.emplace_back(*address, size);
    } else {
      auto i = rng() % live.size();
      EXPECT_EQ(region.free(live[i].first), live[i].second);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
    }
    std::uint64_t sum = 0;
    for (auto& block : live)
      sum += block.second;
    ASSERT_EQ(region.allocated_bytes(), sum);
    ASSERT_EQ(region.blocks(), live.size());
    ASSERT_LE(region.largest_free_extent(), region.free_bytes());
    if (live.empty()) {
      ASSERT_EQ(region.free_extents(), 1u);
    }
  }
}
