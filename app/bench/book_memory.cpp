#include "app/bench/book_memory.hpp"

#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <malloc.h>

#include "actors/pool.hpp"
#include "messages/validate.hpp"

namespace {

// Heap bytes of this thread while counting: chunk sizes as glibc keeps them
// (malloc_usable_size + the chunk header), so that rounding is counted.
thread_local bool counting = false;
thread_local std::int64_t live_bytes = 0;

constexpr std::int64_t chunk_header = sizeof(std::size_t);

std::int64_t chunk_of(void* p) {
  return static_cast<std::int64_t>(malloc_usable_size(p)) + chunk_header;
}

} // namespace

// The program's global operator new/delete: plain malloc/free, plus the
// count above on a thread that asked for it (a thread-local flag test on
// every other call). The array, nothrow and sized forms of the standard
// library forward to these two. Not inlined: GCC would otherwise see free()
// meet operator new's memory at every call site of this file.
[[gnu::noinline]] void* operator new(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr)
    throw std::bad_alloc{};
  if (counting)
    live_bytes += chunk_of(p);
  return p;
}

[[gnu::noinline]] void operator delete(void* p) noexcept {
  if (p != nullptr && counting)
    live_bytes -= chunk_of(p);
  std::free(p);
}

[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  operator delete(p);
}

namespace rros::app::benchmark {

namespace {

constexpr int requesters = 16;

/// Bytes per grant of a book holding `grants` grants.
double per_grant(std::size_t grants, bool preemptable, std::string& error) {
  pool_book book{to_units(1e9), 1};
  std::vector<std::string> names;
  for (int i = 0; i < requesters; ++i)
    names.push_back("bench-" + std::to_string(i));
  // Holders are actor addresses; null ones cost the same 8 bytes.
  caf::actor_addr holder;
  live_bytes = 0;
  counting = true;
  for (std::size_t i = 0; i < grants; ++i)
    book.grant(names[i % requesters], holder, 1, Priority::NORMAL, preemptable,
               false, pool_time{});
  counting = false;
  auto bytes = live_bytes;
  if (book.lease_count() != grants || !book.check().empty())
    error = "the book holds " + std::to_string(book.lease_count()) +
            " leases, expected " + std::to_string(grants) + " " + book.check();
  return static_cast<double>(bytes) / static_cast<double>(grants);
}

} // namespace

BookMemory measure_book_memory(std::size_t grants) {
  BookMemory result;
  result.grants = grants;
  result.bytes_per_grant = per_grant(grants, false, result.error);
  if (result.error.empty())
    result.preemptable_bytes_per_grant = per_grant(grants, true, result.error);
  return result;
}

} // namespace rros::app::benchmark
