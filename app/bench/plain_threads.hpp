// The plain-thread parts of `rros bench`: `threads` plain threads, each a
// warm-up and then allocate/release cycles after a common start, against the
// mutex baseline (`mutex.tN`) or the blocking facade (`facade.tN`), with or
// without a timestamp per op.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "app/bench/mutex_baseline.hpp"
#include "app/bench/statistics.hpp"
#include "facade/resource_manager.hpp"

namespace rros::app::benchmark {

/// The calls of one plain-thread client; each returns an error text or "".
struct ThreadCalls {
  std::function<std::string(int)> allocate; // argument: thread index
  std::function<std::string(int)> release;
};

/// Runs `threads` plain threads, each doing a warm-up, then `operations`
/// cycles after a common start. With `timed`, every op is timestamped.
Sample run_threads(int threads, int operations, bool timed,
                   const ThreadCalls& calls);

/// "bench-<part>-<index>": the requester of one client of a part.
std::string requester_name(const char* part, int index);

/// Requests and ids of `threads` plain-thread clients of one part.
struct ThreadClients {
  std::vector<std::string> ids;
  std::vector<ResourceRequest> requests;

  ThreadClients(const char* part, int threads);
};

/// Allocate and exact release of `cycle_amount` on the mutex baseline.
ThreadCalls mutex_calls(MutexBaseline& baseline, const ThreadClients& clients);

/// The same through the blocking facade (exact releases, so that each is
/// checked).
ThreadCalls facade_calls(ResourceManager& facade, const ThreadClients& clients);

} // namespace rros::app::benchmark
