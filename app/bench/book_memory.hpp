// The memory part of `rros bench` (`books.*`): bytes of a pool's books per
// live grant. It fills the pool's own book type (core/lease_book.hpp with
// the pool's holder and clock types) with `grants` live grants and counts
// the heap bytes that appeared, with operator new counted on this thread
// only (book_memory.cpp replaces the global operator new of the program).
#pragma once

#include <cstddef>
#include <string>

namespace rros::app::benchmark {

struct BookMemory {
  std::size_t grants = 0;
  double bytes_per_grant = 0;             // 16 requesters, not preemptable
  double preemptable_bytes_per_grant = 0; // the same, every grant preemptable
  std::string error;
};

/// Counts heap chunks (usable size + glibc's 8-byte header) while `grants`
/// grants are made, for both kinds of grant.
BookMemory measure_book_memory(std::size_t grants);

} // namespace rros::app::benchmark
