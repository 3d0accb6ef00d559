// The seed's kernel integration: RROSKernel owns an actor system and the
// resource manager inside it, and offers the calls a cognitive kernel makes
// (computational budget for its cycle, utilization metrics). The kernel's own
// cognitive cycle is the host's business.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "facade/resource_manager.hpp"

namespace rros {

class RROSKernel {
public:
  /// Throws rros::Error on a bad configuration (nothing is started then).
  explicit RROSKernel(const ConfigMap& config = {});

  ResourceManager& get_resource_manager() {
    return *manager_;
  }

  /// Asks for `amount` of computational capacity at `priority` (0 =
  /// CRITICAL .. 4 = IDLE) for the kernel. True when granted in full; a
  /// partial CRITICAL grant is kept and reported as false.
  bool allocate_cognitive_resources(float amount, int priority);

  /// Gives back at most what the kernel holds.
  void release_cognitive_resources(float amount);

  /// avg_utilization and one <type>_utilization per type (for example
  /// computational_utilization), plus the manager's other metrics.
  std::unordered_map<std::string, float> get_resource_metrics();

  /// The requester id the kernel's grants are held under.
  static inline const std::string requester_id = "rros.kernel";

private:
  std::unique_ptr<ResourceManager> manager_;
};

} // namespace rros
