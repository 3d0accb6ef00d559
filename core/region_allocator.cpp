#include "core/region_allocator.hpp"

#include <iterator>

#include <sys/mman.h>

namespace rros {

namespace {

std::uint64_t align_down(std::uint64_t x) {
  return x & ~(RegionAllocator::alignment - 1);
}

std::uint64_t align_up(std::uint64_t x, std::uint64_t granule) {
  return (x + granule - 1) & ~(granule - 1);
}

/// Regions are anonymous mappings without swap reservation: pages are only
/// committed when a block is first written, so a large capacity costs
/// address space, not memory.
void* map_region(std::uint64_t bytes) {
  auto* p =
      ::mmap(nullptr, static_cast<std::size_t>(bytes), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void unmap_region(void* base, std::uint64_t bytes) {
  ::munmap(base, static_cast<std::size_t>(bytes));
}

} // namespace

RegionAllocator::RegionAllocator(std::uint64_t bytes) {
  add_region(bytes);
}

RegionAllocator::RegionAllocator(RegionAllocator&& other) noexcept {
  *this = std::move(other);
}

RegionAllocator& RegionAllocator::operator=(RegionAllocator&& other) noexcept {
  if (this != &other) {
    release_all();
    regions_ = std::move(other.regions_);
    region_starts_ = std::move(other.region_starts_);
    free_by_address_ = std::move(other.free_by_address_);
    free_by_size_ = std::move(other.free_by_size_);
    used_ = std::move(other.used_);
    region_bytes_ = other.region_bytes_;
    free_bytes_ = other.free_bytes_;
    other.regions_.clear();
    other.region_starts_.clear();
    other.free_by_address_.clear();
    other.free_by_size_.clear();
    other.used_.clear();
    other.region_bytes_ = 0;
    other.free_bytes_ = 0;
  }
  return *this;
}

RegionAllocator::~RegionAllocator() {
  release_all();
}

void RegionAllocator::release_all() {
  for (auto& region : regions_)
    unmap_region(region.base, region.bytes);
  regions_.clear();
  region_starts_.clear();
  free_by_address_.clear();
  free_by_size_.clear();
  used_.clear();
  region_bytes_ = 0;
  free_bytes_ = 0;
}

std::uint64_t RegionAllocator::block_size_for(std::uint64_t bytes) {
  if (bytes == 0 || bytes > max_request)
    return 0;
  return align_up(bytes, alignment);
}

std::uint64_t RegionAllocator::region_for_budget(std::uint64_t budget) {
  constexpr auto most = ~std::uint64_t{0} & ~(alignment - 1);
  if (budget > most / alignment)
    return most;
  return budget * alignment;
}

bool RegionAllocator::add_region(std::uint64_t bytes) {
  bytes = align_down(bytes);
  if (bytes == 0)
    return false;
  auto* base = map_region(bytes);
  if (base == nullptr)
    return false;
  regions_.push_back(Region{base, bytes});
  auto start = reinterpret_cast<std::uintptr_t>(base);
  region_starts_.insert(start);
  region_bytes_ += bytes;
  insert_free(start, bytes);
  return true;
}

bool RegionAllocator::grow_to(std::uint64_t total) {
  total = align_down(total);
  if (total <= region_bytes_)
    return true;
  if (used_.empty()) {
    // Nothing lives in the old regions: one region of the new size keeps
    // the whole capacity in one extent.
    RegionAllocator fresh{total};
    if (fresh.region_bytes() != total)
      return false;
    *this = std::move(fresh);
    return true;
  }
  return add_region(total - region_bytes_);
}

std::optional<std::uintptr_t> RegionAllocator::allocate(std::uint64_t size) {
  if (size == 0 || size % alignment != 0)
    return std::nullopt;
  // Best fit: the smallest extent that holds `size`, lowest address first.
  auto fit = free_by_size_.lower_bound({size, 0});
  if (fit == free_by_size_.end())
    return std::nullopt;
  auto [extent_size, address] = *fit;
  erase_free(free_by_address_.find(address));
  if (extent_size > size)
    insert_free(address + size, extent_size - size);
  used_.emplace(address, size);
  return address;
}

std::uint64_t RegionAllocator::free(std::uintptr_t address) {
  auto block = used_.find(address);
  if (block == used_.end())
    return 0;
  auto size = block->second;
  used_.erase(block);
  auto start = address;
  auto length = size;
  // Merge with the free extent just below, unless a region starts here.
  auto next = free_by_address_.lower_bound(address);
  if (next != free_by_address_.begin() && region_starts_.count(address) == 0) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == address) {
      start = prev->first;
      length += prev->second;
      erase_free(prev);
    }
  }
  // Merge with the free extent just above, unless it starts a region.
  next = free_by_address_.lower_bound(address);
  if (next != free_by_address_.end() && next->first == address + size &&
      region_starts_.count(next->first) == 0) {
    length += next->second;
    erase_free(next);
  }
  insert_free(start, length);
  merge_regions_when_empty();
  return size;
}

void RegionAllocator::clear() {
  used_.clear();
  free_by_address_.clear();
  free_by_size_.clear();
  free_bytes_ = 0;
  for (auto& region : regions_)
    insert_free(reinterpret_cast<std::uintptr_t>(region.base), region.bytes);
  merge_regions_when_empty();
}

std::optional<std::pair<std::uintptr_t, std::uint64_t>>
RegionAllocator::block_containing(std::uintptr_t address) const {
  auto after = used_.upper_bound(address);
  if (after == used_.begin())
    return std::nullopt;
  auto block = std::prev(after);
  if (address - block->first < block->second)
    return *block;
  return std::nullopt;
}

double RegionAllocator::fragmentation() const {
  if (free_bytes_ == 0)
    return 0.0;
  return 1.0 - static_cast<double>(largest_free_extent()) /
                   static_cast<double>(free_bytes_);
}

std::uint64_t RegionAllocator::largest_free_extent() const {
  return free_by_size_.empty() ? 0 : free_by_size_.rbegin()->first;
}

void RegionAllocator::insert_free(std::uintptr_t address, std::uint64_t size) {
  free_by_address_.emplace(address, size);
  free_by_size_.emplace(size, address);
  free_bytes_ += size;
}

void RegionAllocator::erase_free(
    std::map<std::uintptr_t, std::uint64_t>::iterator extent) {
  free_by_size_.erase({extent->second, extent->first});
  free_bytes_ -= extent->second;
  free_by_address_.erase(extent);
}

void RegionAllocator::merge_regions_when_empty() {
  if (!used_.empty() || regions_.size() < 2)
    return;
  RegionAllocator merged{region_bytes_};
  if (merged.region_bytes() == region_bytes_)
    *this = std::move(merged);
}

} // namespace rros
