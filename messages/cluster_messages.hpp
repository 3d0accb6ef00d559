// A cluster of nodes (docs/cluster.md): what members tell each other and the
// membership actor's interface. Every node of a cluster runs one membership
// actor, registered in its actor system as `membership_registry_name`, so
// that a peer connected to the node's published port finds it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "messages/subsystems.hpp"
#include "messages/types.hpp"

namespace rros {

using join_atom = caf::atom_constant<caf::atom("cl_join")>;
using report_atom = caf::atom_constant<caf::atom("cl_report")>;
using leave_atom = caf::atom_constant<caf::atom("cl_leave")>;
using view_atom = caf::atom_constant<caf::atom("cl_view")>;
using drain_atom = caf::atom_constant<caf::atom("cl_drain")>;
using tick_atom = caf::atom_constant<caf::atom("cl_tick")>;
using found_atom = caf::atom_constant<caf::atom("cl_found")>;
using unreachable_atom = caf::atom_constant<caf::atom("cl_unreach")>;
using nodes_atom = caf::atom_constant<caf::atom("cl_nodes")>;
using notices_atom = caf::atom_constant<caf::atom("cl_notices")>;

/// The name under which a node registers its membership actor.
constexpr caf::atom_value membership_registry_name = caf::atom("rrosmember");

/// The membership protocol's version: a joiner of another version is
/// refused (its messages may not mean the same).
constexpr std::uint32_t cluster_protocol_version = 1;

/// A member's state as one node sees it (docs/cluster.md, "States").
enum class MemberState : std::uint8_t {
  alive,   // connected, reports arrive
  suspect, // connected, but no report for more than two intervals
  lost,    // its connection closed or was cut without a goodbye
  left,    // it said goodbye (drained on SIGTERM/SIGINT)
};

inline const char* to_string(MemberState x) {
  switch (x) {
    case MemberState::alive:
      return "alive";
    case MemberState::suspect:
      return "suspect";
    case MemberState::lost:
      return "lost";
    case MemberState::left:
      return "left";
  }
  return "unknown";
}

/// Who a member is and where it serves: a stable name, the incarnation of
/// this run of it (grows at every restart) and its published endpoint.
struct MemberInfo {
  std::string name;
  std::uint64_t incarnation = 0;
  std::string host;
  std::uint16_t port = 0;
  MemberState state = MemberState::alive;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, MemberInfo& x) {
  return f(caf::meta::type_name("MemberInfo"), x.name, x.incarnation, x.host,
           x.port, x.state);
}

/// What a node asks of a member to join its cluster.
struct JoinRequest {
  std::string cluster;       // refused unless the member's own
  std::uint32_t version = 0; // refused unless the member's own
  MemberInfo member;         // the joiner
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, JoinRequest& x) {
  return f(caf::meta::type_name("JoinRequest"), x.cluster, x.version, x.member);
}

/// A member's answer to a join: the members it knows (itself included), so
/// that the joiner connects to every one of them.
struct JoinReply {
  std::vector<MemberInfo> members;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, JoinReply& x) {
  return f(caf::meta::type_name("JoinReply"), x.members);
}

/// Sent by every member to every peer each heartbeat interval: its pools'
/// ledgers and the members it knows alive (a joiner that one member missed
/// is learned from another's report).
struct CapacityReport {
  std::string name;
  std::uint64_t incarnation = 0;
  std::vector<PoolStatus> pools;   // in ResourceType order
  std::vector<MemberInfo> members; // alive or suspect, the sender included
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, CapacityReport& x) {
  return f(caf::meta::type_name("CapacityReport"), x.name, x.incarnation,
           x.pools, x.members);
}

/// One member in a node's view of the cluster.
struct MemberView {
  MemberInfo info;
  std::vector<PoolStatus> pools; // from its latest report (empty: none yet)
  double report_age = -1;        // seconds since that report (-1: none)
  double lost_after = -1;        // lost: seconds from its last report to
                                 // the loss (-1: not lost)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, MemberView& x) {
  return f(caf::meta::type_name("MemberView"), x.info, x.pools, x.report_age,
           x.lost_after);
}

/// A node's view of its cluster: itself first, then the others by name.
struct ClusterView {
  std::string cluster;
  std::string self;
  bool draining = false;
  std::vector<MemberView> members;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ClusterView& x) {
  return f(caf::meta::type_name("ClusterView"), x.cluster, x.self, x.draining,
           x.members);
}

/// The seeds a node joins through ("HOST:PORT" each), tried in order.
struct JoinSeeds {
  std::vector<std::string> seeds;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, JoinSeeds& x) {
  return f(caf::meta::type_name("JoinSeeds"), x.seeds);
}

/// What a member's peers (and, for the view, anyone) may ask of it.
using membership_peer_actor = caf::typed_actor<
    // A node joins: refused with invalid_argument (another cluster name or
    // protocol version), duplicate_id (that name is alive here with another
    // run), not_permitted (an older incarnation than one already seen) or
    // not_permitted while draining. The sender is the joiner's membership
    // actor; it is monitored from then on.
    caf::replies_to<join_atom, JoinRequest>::with<JoinReply>,
    // A peer's periodic report; dropped unless its name and incarnation are
    // those of a member this node admitted (an older incarnation's message
    // is dropped).
    caf::reacts_to<report_atom, CapacityReport>,
    // A peer drains and leaves (name, incarnation): it is marked left.
    // Replies true (false when that run was not a live member here).
    caf::replies_to<leave_atom, std::string, std::uint64_t>::with<bool>,
    // The node's view of the cluster (rros status).
    caf::replies_to<view_atom>::with<ClusterView>>;

/// The whole membership actor: the peer interface, plus messages from its own
/// node only (others are ignored or refused with not_permitted).
using membership_actor = membership_peer_actor::extend_with<caf::typed_actor<
    // Joins through the first seed ("HOST:PORT") that answers; replies with
    // the members learned. An unreachable seed is skipped; every seed
    // unreachable is not_connected naming them; a refusal ends the join.
    caf::replies_to<join_atom, JoinSeeds>::with<JoinReply>,
    // Stops admitting joiners and reporting, tells every peer that this
    // node leaves and replies once all answered (or after two intervals):
    // true when every peer acknowledged.
    caf::replies_to<drain_atom>::with<bool>,
    // Its own timer: suspects, reports (only from itself).
    caf::reacts_to<tick_atom>,
    // From the connector it spawned: a seed or member reached (with the
    // handle) or not (with the reason).
    caf::reacts_to<found_atom, std::string, membership_peer_actor>,
    caf::reacts_to<unreachable_atom, std::string, std::string>>>;

/// A grant placed somewhere in the cluster: the node's name and the pool's
/// allocation there.
struct ClusterGrant {
  std::string node;
  std::uint64_t incarnation = 0; // the node's run that granted it
  ResourceAllocation allocation;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ClusterGrant& x) {
  return f(caf::meta::type_name("ClusterGrant"), x.node, x.incarnation,
           x.allocation);
}

/// What the cluster client tells of a grant it placed and no longer holds:
/// `reason` is "node_lost" when the node (that run of it) was lost and the
/// grant went with it (nothing to release), else the pool's RevokeReason
/// ("expired", "preempted", "shed") with the pool's notice in `grant`.
struct ClusterNotice {
  std::string node;
  std::uint64_t incarnation = 0;
  std::string reason;
  GrantNotice grant; // id, requester, type, amount (and the pool's grace)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ClusterNotice& x) {
  return f(caf::meta::type_name("ClusterNotice"), x.node, x.incarnation,
           x.reason, x.grant);
}

/// The reason of a ClusterNotice for a grant of a lost node.
constexpr const char* node_lost_reason = "node_lost";
/// The reasons of the notices that follow a node_lost one when a later run
/// of that node, restarted from its data directory, is reached: the grant
/// was taken back with its reattach_token (the client holds it again and
/// releases it as before), or it could not be (the node no longer had it:
/// its grace ended, or it runs without --data-dir; or the run did not answer
/// in time, when the client gives back whatever the run may have handed
/// it): it stays lost.
constexpr const char* reattached_reason = "reattached";
constexpr const char* not_reattached_reason = "not_reattached";

/// A bundle placed somewhere in the cluster: all of its legs on one node.
struct ClusterBundle {
  std::string node;
  std::uint64_t incarnation = 0; // the node's run that granted it
  BundleGrant bundle;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ClusterBundle& x) {
  return f(caf::meta::type_name("ClusterBundle"), x.node, x.incarnation,
           x.bundle);
}

/// A node the cluster client may place on: its name, its manager and its
/// pools (reached through the client's own connection to it).
struct ClusterNode {
  std::string name;
  std::uint64_t incarnation = 0;
  manager_actor manager;
  PoolDirectory pools;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ClusterNode& x) {
  return f(caf::meta::type_name("ClusterNode"), x.name, x.incarnation,
           x.manager, x.pools);
}

/// How long the cluster client awaits a lost node's grants by default: a
/// node whose next run does not come back by then (retired, its disk gone)
/// no longer keeps the client asking.
inline constexpr caf::timespan default_give_up_after = std::chrono::minutes(10);

/// The longest wait the cluster client accepts (a year: longer ones would
/// overflow the clock's time points).
inline constexpr caf::timespan max_give_up_after = std::chrono::hours(24 * 365);

/// Places requests somewhere in a cluster (docs/cluster.md, "Placement").
/// The grants are held by the client actor itself (each pool monitors it).
using cluster_client_actor = caf::typed_actor<
    // Asks every usable node's manager for its ledgers, ranks the nodes
    // that fit (core/placement.hpp) and asks the best one's pool; a node
    // that refuses (it may: its ledger changed, it sheds, a quota) passes
    // the request to the next. Never waits (a deadline is ignored).
    // Errors: insufficient_resources naming every node's refusal, or
    // not_connected when no node is usable; bad input as a pool's.
    caf::replies_to<allocate_atom, ResourceRequest>::with<ClusterGrant>,
    // Returns a grant placed by this client. unknown_grant when it is not
    // this client's, was returned already, or lived on a node (run) that
    // was lost (its notice said node_lost; nothing is credited anywhere)
    // and was not taken back since (a reattached notice). Releasing a lost
    // grant also gives up taking it back: a later run of the node returns
    // it to its pool when its grace ends.
    caf::replies_to<release_atom, ClusterGrant>::with<ReleaseReceipt>,
    // Places a bundle all-or-nothing on one node: the nodes where every
    // item fits, ranked by their worst type, asked in order through their
    // bundle coordinators (never waiting). Errors as for one grant, and
    // the coordinator's own (invalid_bundle) at once.
    caf::replies_to<allocate_atom, BundleRequest>::with<ClusterBundle>,
    // Returns every leg of a bundle placed by this client; unknown_bundle
    // when it is not this client's, was returned already, or lived on a
    // lost node (run), whose legs came as node_lost notices, and was not
    // taken back since (all its legs or none are taken back).
    caf::replies_to<release_atom,
                    ClusterBundle>::with<std::vector<ReleaseReceipt>>,
    // The notices received so far, oldest first (node_lost ones from the
    // client itself, the others from the pools), and forgets them.
    caf::replies_to<notices_atom>::with<std::vector<ClusterNotice>>,
    // The nodes still usable, by name.
    caf::replies_to<nodes_atom>::with<std::vector<ClusterNode>>,
    // The names of lost nodes whose grants (or bundles) the client would
    // take back from a later run of the node: they carried a reattach_token
    // and were not released since. Reaching such a run (nodes_atom below)
    // takes them back at once (docs/cluster.md, "Taking grants
    // back from a restarted node").
    caf::replies_to<reattach_atom>::with<std::vector<std::string>>,
    // From the client's own node: how long a lost node's grants are
    // awaited, counted from the last loss that left grants to take back
    // (default 10 minutes; above 0 and at most max_give_up_after, else
    // invalid_duration); answers the value now in force. Past
    // it they are given up (not_reattached notices) and a later run is not
    // asked for them.
    caf::replies_to<reattach_atom, caf::timespan>::with<caf::timespan>,
    // The client's own timer (wait number `n` for node `name`; only the
    // latest counts). Sent by anyone else: ignored.
    caf::reacts_to<reattach_atom, std::string, std::uint64_t>,
    // Adds nodes (from the client's own node only; a known name is
    // replaced).
    caf::reacts_to<nodes_atom, std::vector<ClusterNode>>,
    // A pool takes a grant back (expired, preempted, shed).
    caf::reacts_to<revoke_atom, GrantNotice>>;

} // namespace rros

CAF_BEGIN_TYPE_ID_BLOCK(rros_cluster, caf::first_custom_type_id + 400)

CAF_ADD_TYPE_ID(rros_cluster, (rros::MemberState))
CAF_ADD_TYPE_ID(rros_cluster, (rros::MemberInfo))
CAF_ADD_TYPE_ID(rros_cluster, (rros::JoinRequest))
CAF_ADD_TYPE_ID(rros_cluster, (rros::JoinReply))
CAF_ADD_TYPE_ID(rros_cluster, (rros::JoinSeeds))
CAF_ADD_TYPE_ID(rros_cluster, (rros::CapacityReport))
CAF_ADD_TYPE_ID(rros_cluster, (rros::MemberView))
CAF_ADD_TYPE_ID(rros_cluster, (rros::ClusterView))
CAF_ADD_TYPE_ID(rros_cluster, (std::vector<rros::MemberInfo>))
CAF_ADD_TYPE_ID(rros_cluster, (std::vector<rros::MemberView>))
CAF_ADD_TYPE_ID(rros_cluster, (rros::membership_peer_actor))
CAF_ADD_TYPE_ID(rros_cluster, (rros::membership_actor))
CAF_ADD_TYPE_ID(rros_cluster, (rros::ClusterGrant))
CAF_ADD_TYPE_ID(rros_cluster, (rros::ClusterNode))
CAF_ADD_TYPE_ID(rros_cluster, (std::vector<rros::ClusterNode>))
CAF_ADD_TYPE_ID(rros_cluster, (rros::ClusterNotice))
CAF_ADD_TYPE_ID(rros_cluster, (std::vector<rros::ClusterNotice>))
CAF_ADD_TYPE_ID(rros_cluster, (rros::cluster_client_actor))
CAF_ADD_TYPE_ID(rros_cluster, (rros::ClusterBundle))

CAF_END_TYPE_ID_BLOCK(rros_cluster)
