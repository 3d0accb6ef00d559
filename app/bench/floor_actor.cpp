// The framework-floor echo actor of `rros bench` (see floor_actor.hpp).
#include "app/bench/floor_actor.hpp"

namespace rros::app::benchmark {

echo_actor::behavior_type echo() {
  return {
      [](allocate_atom, const ResourceRequest& req) {
        ResourceAllocation result;
        result.requester_id = req.requester_id;
        result.resource_type = req.resource_type;
        result.allocated_amount = req.amount;
        result.fully_satisfied = true;
        return result;
      },
      [](release_atom, const std::string& requester, float amount,
         ReleaseMode) {
        ReleaseReceipt result;
        result.requester_id = requester;
        result.resource_type = ResourceType::COMPUTATIONAL;
        result.released_amount = amount;
        return result;
      },
  };
}

} // namespace rros::app::benchmark
