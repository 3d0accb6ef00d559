// Message tags (CAF atoms, at most 10 characters each).
#pragma once

#include <caf/atom.hpp>

namespace rros {

using allocate_atom = caf::atom_constant<caf::atom("allocate")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using reserve_atom = caf::atom_constant<caf::atom("reserve")>;
using unreserve_atom = caf::atom_constant<caf::atom("unreserve")>;
using holding_atom = caf::atom_constant<caf::atom("holding")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using capacity_atom = caf::atom_constant<caf::atom("capacity")>;
using reset_atom = caf::atom_constant<caf::atom("reset")>;
using pools_atom = caf::atom_constant<caf::atom("pools")>;
using config_atom = caf::atom_constant<caf::atom("config")>;
using configure_atom = caf::atom_constant<caf::atom("configure")>;
using restarts_atom = caf::atom_constant<caf::atom("restarts")>;
using call_atom = caf::atom_constant<caf::atom("call")>;
using renew_atom = caf::atom_constant<caf::atom("renew")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using revoke_atom = caf::atom_constant<caf::atom("revoke")>;
using policy_atom = caf::atom_constant<caf::atom("policy")>;
using quota_atom = caf::atom_constant<caf::atom("quota")>;
// Between subsystems: a pool's ledger changed (pool -> monitor), a utilization
// sample (monitor -> subscribers), what a degraded type sheds (monitor ->
// pool).
using usage_atom = caf::atom_constant<caf::atom("usage")>;
using sample_atom = caf::atom_constant<caf::atom("sample")>;
using shed_atom = caf::atom_constant<caf::atom("shed")>;
// Pool listeners and bundle legs (bundle coordinator -> pools).
using listen_atom = caf::atom_constant<caf::atom("listen")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using prepare_atom = caf::atom_constant<caf::atom("prepare")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using abort_atom = caf::atom_constant<caf::atom("abort")>;
using bundles_atom = caf::atom_constant<caf::atom("bundles")>;
using subsystems_atom = caf::atom_constant<caf::atom("subsystems")>;
// The manager names a pool's bundle coordinator and monitor (its peers).
using peers_atom = caf::atom_constant<caf::atom("peers")>;
// Timers a pool sends itself.
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
using reclaim_atom = caf::atom_constant<caf::atom("reclaim")>;
using resexpire_atom = caf::atom_constant<caf::atom("resexpire")>;
// Added later.
using holders_atom = caf::atom_constant<caf::atom("holders")>;
// Durability (docs/durability.md): a holder takes a restored grant back
// (client -> pool); timers a persistent pool sends itself (group commit, the
// end of the reattach grace period).
using reattach_atom = caf::atom_constant<caf::atom("reattach")>;
using logsync_atom = caf::atom_constant<caf::atom("logsync")>;
using orphans_atom = caf::atom_constant<caf::atom("orphans")>;

} // namespace rros
