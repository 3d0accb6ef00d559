// The mutex baseline of `rros bench` (`mutex.t1`, `mutex.tN`): the seed's
// design, a plain class with one mutex per resource type guarding a usage
// counter and the holdings of that type, called directly from plain threads.
// It shows what an in-process lock costs beside a message round trip.
#pragma once

#include <array>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "messages/types.hpp"

namespace rros::app::benchmark {

/// The seed's design: one mutex per resource type guarding a usage counter
/// and the holdings of that type.
class MutexBaseline {
public:
  explicit MutexBaseline(double capacity) {
    for (auto& pool : pools_)
      pool.capacity = capacity;
  }

  ResourceAllocation allocate_resource(const ResourceRequest& request) {
    ResourceAllocation result;
    result.requester_id = request.requester_id;
    result.resource_type = request.resource_type;
    result.allocation_time = wall_clock::now();
    if (!is_valid(request.resource_type) || !(request.amount > 0))
      return result;
    auto& pool = pools_[static_cast<std::size_t>(request.resource_type)];
    std::lock_guard<std::mutex> guard{pool.mutex};
    if (pool.usage + request.amount > pool.capacity)
      return result;
    pool.usage += request.amount;
    pool.holdings[request.requester_id] += request.amount;
    result.allocated_amount = request.amount;
    result.fully_satisfied = true;
    return result;
  }

  /// An exact release: refuses more than is held.
  ReleaseReceipt release_resource(const std::string& requester,
                                  ResourceType type, float amount) {
    ReleaseReceipt result;
    result.requester_id = requester;
    result.resource_type = type;
    if (!is_valid(type) || !(amount > 0))
      return result;
    auto& pool = pools_[static_cast<std::size_t>(type)];
    std::lock_guard<std::mutex> guard{pool.mutex};
    auto holding = pool.holdings.find(requester);
    if (holding == pool.holdings.end() || amount > holding->second)
      return result;
    holding->second -= amount;
    pool.usage -= amount;
    result.released_amount = amount;
    result.still_held = holding->second;
    if (holding->second == 0)
      pool.holdings.erase(holding);
    return result;
  }

  /// Usage and number of holders of one type.
  std::pair<double, std::size_t> status(ResourceType type) {
    auto& pool = pools_[static_cast<std::size_t>(type)];
    std::lock_guard<std::mutex> guard{pool.mutex};
    return {pool.usage, pool.holdings.size()};
  }

private:
  struct Pool {
    std::mutex mutex;
    double capacity = 0;
    double usage = 0;
    std::unordered_map<std::string, float> holdings;
  };

  std::array<Pool, resource_type_count> pools_;
};

} // namespace rros::app::benchmark
