#include "facade/rros_kernel.hpp"

namespace rros {

RROSKernel::RROSKernel(const ConfigMap& config)
  : manager_(std::make_unique<ResourceManager>(config)) {}

bool RROSKernel::allocate_cognitive_resources(float amount, int priority) {
  if (priority < static_cast<int>(Priority::CRITICAL) ||
      priority > static_cast<int>(Priority::IDLE))
    return false; // the pool would refuse it: invalid_priority
  ResourceRequest request{requester_id, ResourceType::COMPUTATIONAL,
                          static_cast<Priority>(priority), amount};
  auto grant = manager_->try_allocate_resource(request);
  return grant && grant->fully_satisfied;
}

void RROSKernel::release_cognitive_resources(float amount) {
  manager_->release_resource(requester_id, ResourceType::COMPUTATIONAL, amount);
}

std::unordered_map<std::string, float> RROSKernel::get_resource_metrics() {
  return manager_->get_metrics();
}

} // namespace rros
