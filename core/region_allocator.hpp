// The allocator behind tracked memory: real memory regions carved into
// blocks by best fit over an address-ordered free list that coalesces
// neighbours on every free. It knows nothing about owners or budgets (the
// memory manager actor keeps those); it only hands out and takes back
// address ranges, and says how fragmented its free space is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace rros {

class RegionAllocator {
public:
  /// Every block starts and ends on this boundary.
  static constexpr std::uint64_t alignment = 16;

  /// The largest size block_size_for() accepts (far above any capacity).
  static constexpr std::uint64_t max_request = std::uint64_t{1} << 62;

  RegionAllocator() = default;

  /// Maps one region of `bytes` (rounded down to the alignment); check
  /// region_bytes() to see whether the mapping succeeded.
  explicit RegionAllocator(std::uint64_t bytes);

  RegionAllocator(const RegionAllocator&) = delete;
  RegionAllocator& operator=(const RegionAllocator&) = delete;
  RegionAllocator(RegionAllocator&& other) noexcept;
  RegionAllocator& operator=(RegionAllocator&& other) noexcept;

  ~RegionAllocator();

  /// The size of the block carved for a request of `bytes`: rounded up to
  /// the alignment, so at most alignment - 1 bytes more than asked. 0 for 0
  /// or a request above max_request. The rounding is the region's overhead:
  /// budgets are charged the bytes asked for (docs/memory.md).
  static std::uint64_t block_size_for(std::uint64_t bytes);

  /// The region size that holds any fill of a budget of `budget` bytes:
  /// budget x alignment. Requests of r bytes take block_size_for(r) <=
  /// r + alignment - 1 bytes each, and at most `budget` requests fit in the
  /// budget (each asks for at least one byte), so requests totalling at most
  /// `budget` bytes take at most budget + (alignment - 1) x budget bytes; one
  /// byte requests reach that bound. Any sequence of allocations into an
  /// empty region (or a free extent) of this size, whose requests total at
  /// most `budget`, therefore fits. Frees in between may split the free
  /// space into extents too small for a later block (external
  /// fragmentation); no size rules that out. Saturates at the largest
  /// multiple of the alignment.
  static std::uint64_t region_for_budget(std::uint64_t budget);

  /// Maps a further region of `bytes` (rounded down to the alignment).
  /// Returns false, changing nothing, when the mapping fails or `bytes` is
  /// below the alignment.
  bool add_region(std::uint64_t bytes);

  /// Makes the regions add up to at least `total` bytes (rounded down to the
  /// alignment): with no block allocated the regions are replaced by one of
  /// that size, otherwise a region is added for the difference. Never
  /// shrinks. Returns false when a mapping fails (nothing changes then).
  bool grow_to(std::uint64_t total);

  /// Carves a block of `size` bytes (a multiple of the alignment, as
  /// block_size_for() returns) from the smallest free extent that holds it,
  /// the lowest-addressed one among equals, at that extent's start. Returns
  /// nothing when no extent is large enough or `size` is not a positive
  /// multiple of the alignment.
  std::optional<std::uintptr_t> allocate(std::uint64_t size);

  /// Returns the block that starts at `address` and merges it with free
  /// neighbours in the same region. Returns its size, or 0 (changing
  /// nothing) when no block starts there: never allocated, already freed,
  /// or an address inside a block.
  std::uint64_t free(std::uintptr_t address);

  /// Frees every block (the regions stay mapped, merged into one when
  /// there were several).
  void clear();

  /// The start and size of the allocated block that contains `address`, if
  /// any (for telling an interior pointer from an unknown one).
  std::optional<std::pair<std::uintptr_t, std::uint64_t>>
  block_containing(std::uintptr_t address) const;

  /// 1 - largest free extent / free bytes; 0 when nothing is free. With no
  /// block allocated it is 0 (the regions are merged into one then).
  double fragmentation() const;

  std::uint64_t free_bytes() const {
    return free_bytes_;
  }
  std::uint64_t allocated_bytes() const {
    return region_bytes_ - free_bytes_;
  }
  std::uint64_t largest_free_extent() const;
  std::uint64_t region_bytes() const {
    return region_bytes_;
  }
  std::size_t regions() const {
    return regions_.size();
  }
  std::size_t blocks() const {
    return used_.size();
  }
  std::size_t free_extents() const {
    return free_by_address_.size();
  }

private:
  struct Region {
    void* base = nullptr;
    std::uint64_t bytes = 0;
  };

  void insert_free(std::uintptr_t address, std::uint64_t size);
  void erase_free(std::map<std::uintptr_t, std::uint64_t>::iterator extent);

  /// With no block allocated and several regions, maps one region of their
  /// total and unmaps the others (kept as they are when the mapping fails).
  void merge_regions_when_empty();

  void release_all();

  std::vector<Region> regions_;
  std::set<std::uintptr_t> region_starts_; // extents never merge across these
  std::map<std::uintptr_t, std::uint64_t> free_by_address_;
  std::set<std::pair<std::uint64_t, std::uintptr_t>> free_by_size_;
  std::map<std::uintptr_t, std::uint64_t> used_; // block start -> size
  std::uint64_t region_bytes_ = 0;
  std::uint64_t free_bytes_ = 0;
};

} // namespace rros
