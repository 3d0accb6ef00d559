// The plain-thread runs of `rros bench` (see plain_threads.hpp): the mutex
// baseline and the blocking facade driven by the same thread harness, so
// that the two figures differ only in the calls.
#include "app/bench/plain_threads.hpp"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

#include "app/bench/checks.hpp"
#include "messages/error.hpp"

namespace rros::app::benchmark {

/// cycles after a common start. With `timed`, every op is timestamped.
Sample run_threads(int threads, int operations, bool timed,
                   const ThreadCalls& calls) {
  struct PerThread {
    std::vector<double> latency_ns;
    steady::time_point started;
    steady::time_point stopped;
    std::string error;
  };
  std::vector<PerThread> results(static_cast<std::size_t>(threads));
  std::atomic<int> ready{0};
  auto body = [&](int index) {
    auto& out = results[static_cast<std::size_t>(index)];
    if (timed)
      out.latency_ns.reserve(2 * static_cast<std::size_t>(operations));
    auto fail = [&](std::string what) {
      if (out.error.empty())
        out.error = std::move(what);
    };
    for (int i = 0; i < warmup_cycles && out.error.empty(); ++i) {
      fail(calls.allocate(index));
      if (out.error.empty())
        fail(calls.release(index));
    }
    ready.fetch_add(1);
    while (ready.load() < threads)
      std::this_thread::yield();
    out.started = steady::now();
    for (int i = 0; i < operations && out.error.empty(); ++i) {
      if (timed) {
        auto t0 = steady::now();
        auto err = calls.allocate(index);
        auto t1 = steady::now();
        if (!err.empty()) {
          fail(std::move(err));
          break;
        }
        err = calls.release(index);
        auto t2 = steady::now();
        fail(std::move(err));
        out.latency_ns.push_back(ns_between(t0, t1));
        out.latency_ns.push_back(ns_between(t1, t2));
      } else {
        fail(calls.allocate(index));
        if (out.error.empty())
          fail(calls.release(index));
      }
    }
    out.stopped = steady::now();
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i)
    workers.emplace_back(body, i);
  for (auto& worker : workers)
    worker.join();
  Sample result;
  auto first = results.front().started;
  auto last = results.front().stopped;
  for (auto& x : results) {
    if (result.error.empty() && !x.error.empty())
      result.error = x.error;
    first = std::min(first, x.started);
    last = std::max(last, x.stopped);
    result.latency_ns.insert(result.latency_ns.end(), x.latency_ns.begin(),
                             x.latency_ns.end());
  }
  result.ops = 2 * static_cast<std::size_t>(operations) *
               static_cast<std::size_t>(threads);
  result.seconds = ns_between(first, last) / 1e9;
  return result;
}

std::string requester_name(const char* part, int index) {
  return std::string{"bench-"} + part + "-" + std::to_string(index);
}

ThreadClients::ThreadClients(const char* part, int threads) {
  for (int i = 0; i < threads; ++i) {
    ids.push_back(requester_name(part, i));
    requests.emplace_back(ids.back(), ResourceType::COMPUTATIONAL,
                          Priority::NORMAL, cycle_amount);
  }
}

ThreadCalls mutex_calls(MutexBaseline& baseline, const ThreadClients& clients) {
  return {
      [&](int i) {
        auto& request = clients.requests[static_cast<std::size_t>(i)];
        return check_allocation(baseline.allocate_resource(request),
                                request.requester_id);
      },
      [&](int i) {
        auto& id = clients.ids[static_cast<std::size_t>(i)];
        return check_receipt(baseline.release_resource(
                                 id, ResourceType::COMPUTATIONAL, cycle_amount),
                             id);
      },
  };
}

ThreadCalls facade_calls(ResourceManager& facade,
                         const ThreadClients& clients) {
  return {
      [&](int i) {
        auto& request = clients.requests[static_cast<std::size_t>(i)];
        return check_allocation(facade.allocate_resource(request),
                                request.requester_id);
      },
      [&](int i) -> std::string {
        // release_resource() is this call with ReleaseMode::up_to_held and the
        // receipt dropped; the exact mode lets the bench check every release.
        auto& id = clients.ids[static_cast<std::size_t>(i)];
        auto receipt = facade.try_release_resource(
            id, ResourceType::COMPUTATIONAL, cycle_amount, ReleaseMode::exact);
        if (!receipt)
          return "facade release failed: " + describe(receipt.error());
        return check_receipt(*receipt, id);
      },
  };
}

} // namespace rros::app::benchmark
