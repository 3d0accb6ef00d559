// rros::HolderIndex (core/holder_index.hpp): per-holder entry sets, without
// actors.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/holder_index.hpp"

namespace {

using Index = rros::HolderIndex<std::string, std::uint64_t>;

TEST(HolderIndex, TakeReturnsOnlyThatHoldersEntriesInAscendingOrder) {
  Index index;
  index.add("a", 7);
  index.add("b", 3);
  index.add("a", 2);
  index.add("a", 9);
  EXPECT_EQ(index.take("a"), (std::vector<std::uint64_t>{2, 7, 9}));
  EXPECT_EQ(index.count("a"), 0u);
  EXPECT_EQ(index.take("a"), std::vector<std::uint64_t>{});
  EXPECT_EQ(index.take("b"), std::vector<std::uint64_t>{3});
  EXPECT_EQ(index.holders(), 0u);
}

TEST(HolderIndex, RemoveForgetsOneEntryAndTheHolderWithItsLast) {
  Index index;
  index.add("a", 1);
  index.add("a", 2);
  index.remove("a", 1);
  EXPECT_EQ(index.count("a"), 1u);
  EXPECT_EQ(index.holders(), 1u);
  index.remove("a", 2);
  EXPECT_EQ(index.holders(), 0u);
}

TEST(HolderIndex, UnknownHoldersAndIdsAreIgnored) {
  Index index;
  index.remove("nobody", 1);
  index.add("a", 1);
  index.remove("a", 5);
  index.remove("b", 1);
  EXPECT_EQ(index.count("a"), 1u);
  EXPECT_EQ(index.count("b"), 0u);
}

TEST(HolderIndex, AddingAnIdTwiceKeepsOneEntry) {
  Index index;
  index.add("a", 4);
  index.add("a", 4);
  EXPECT_EQ(index.take("a"), std::vector<std::uint64_t>{4});
}

TEST(HolderIndex, ClearForgetsEveryHolder) {
  Index index;
  index.add("a", 1);
  index.add("b", 2);
  index.clear();
  EXPECT_EQ(index.holders(), 0u);
  EXPECT_EQ(index.take("b"), std::vector<std::uint64_t>{});
}

} // namespace
