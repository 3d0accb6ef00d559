// The CAF type-ID block of every type that crosses an actor boundary, so that
// messages can travel to another node. register_types() announces them (and
// the error category) to an actor_system_config.
#pragma once

#include <cstdint>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/type_id.hpp>

#include "messages/subsystems.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(rros, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(rros, (rros::ResourceType))
CAF_ADD_TYPE_ID(rros, (rros::Priority))
CAF_ADD_TYPE_ID(rros, (rros::LoadBalancingStrategy))
CAF_ADD_TYPE_ID(rros, (rros::ReleaseMode))
CAF_ADD_TYPE_ID(rros, (rros::ResourceRequest))
CAF_ADD_TYPE_ID(rros, (rros::ResourceAllocation))
CAF_ADD_TYPE_ID(rros, (rros::ResourceStats))
CAF_ADD_TYPE_ID(rros, (rros::ResourceAlert))
CAF_ADD_TYPE_ID(rros, (rros::ResourcePrediction))
CAF_ADD_TYPE_ID(rros, (rros::PoolStatus))
CAF_ADD_TYPE_ID(rros, (rros::ReleaseReceipt))
CAF_ADD_TYPE_ID(rros, (rros::Config))
CAF_ADD_TYPE_ID(rros, (rros::ConfigMap))
CAF_ADD_TYPE_ID(rros, (rros::PoolDirectory))
CAF_ADD_TYPE_ID(rros, (rros::pool_actor))
CAF_ADD_TYPE_ID(rros, (rros::manager_actor))
CAF_ADD_TYPE_ID(rros, (rros::ShedPolicy))
CAF_ADD_TYPE_ID(rros, (rros::UtilizationSample))
CAF_ADD_TYPE_ID(rros, (rros::Subsystems))
CAF_ADD_TYPE_ID(rros, (rros::BundleItem))
CAF_ADD_TYPE_ID(rros, (rros::BundleRequest))
CAF_ADD_TYPE_ID(rros, (rros::BundleGrant))
CAF_ADD_TYPE_ID(rros, (rros::BundleStats))
CAF_ADD_TYPE_ID(rros, (rros::bundle_actor))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::BundleItem>))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::ResourceAllocation>))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::ReleaseReceipt>))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::PoolStatus>))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::ResourceStats>))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::ResourceAlert>))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::ResourcePrediction>))
// Added later: new IDs go at the end so that existing ones never move.
CAF_ADD_TYPE_ID(rros, (rros::RevokeReason))
CAF_ADD_TYPE_ID(rros, (rros::GrantNotice))
CAF_ADD_TYPE_ID(rros, (rros::Quota))
CAF_ADD_TYPE_ID(rros, (rros::PoolPolicy))
CAF_ADD_TYPE_ID(rros, (rros::grant_holder_actor))
CAF_ADD_TYPE_ID(rros, (rros::PoolHolders))
CAF_ADD_TYPE_ID(rros, (rros::AllocationOutcome))
CAF_ADD_TYPE_ID(rros, (rros::ReleaseOutcome))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::ResourceRequest>))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::GrantId>))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::AllocationOutcome>))
CAF_ADD_TYPE_ID(rros, (std::vector<rros::ReleaseOutcome>))

CAF_END_TYPE_ID_BLOCK(rros)

namespace rros {

/// Announces every rros message type and the "rros" error category. Call it on
/// the host's config before constructing the actor_system; required for
/// remote use (both nodes), harmless locally.
void register_types(caf::actor_system_config& cfg);

} // namespace rros
