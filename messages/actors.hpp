// The typed interfaces of the pools, the bundle coordinator and the call
// bridge. The other subsystems' interfaces are in messages/<name>_messages.hpp;
// the manager's (which hands out all of them) is in messages/subsystems.hpp.
// One comment per handler. Amounts are floats
// at the interface and exact integer units inside the pools.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/batch.hpp"
#include "messages/config.hpp"
#include "messages/holders.hpp"
#include "messages/types.hpp"

namespace rros {

/// What any client may ask of a pool (docs/semantics.md). A grant, a
/// reservation and a waiting request belong to the actor that sent the
/// request: only it may release, renew or cancel them (docs/security.md).
using pool_client_actor = caf::typed_actor<
    // Grants the request in full when it fits (using the requester's own
    // reservation first) and no better-ranked request waits. A grant is a lease
    // with an id, tied to the sender's life (an actor sender is monitored: when
    // it ends, or its node disconnects, its grants return), optionally with a
    // time-to-live. A request that does not fit: CRITICAL without a deadline
    // gets what is left (fully_satisfied = false); one with a deadline waits,
    // may preempt lower-priority preemptable grants, and fails with
    // deadline_expired; any other is refused (insufficient_resources). Errors:
    // invalid_amount, amount_too_large, empty_requester, invalid_priority,
    // unknown_resource_type, invalid_duration, exceeds_capacity (never fits).
    caf::replies_to<allocate_atom, ResourceRequest>::with<ResourceAllocation>,
    // Gives back `amount` held by the requester in grants the caller took,
    // newest first (another actor's grants under the same requester name and
    // prepared, uncommitted bundle legs are skipped).
    // ReleaseMode::exact refuses more than is held (release_exceeds_holding);
    // up_to_held returns at most what is held. A requester that holds nothing
    // gets nothing_held.
    caf::replies_to<release_atom, std::string, float,
                    ReleaseMode>::with<ReleaseReceipt>,
    // Returns one whole grant by id; unknown_grant when it is not (or no
    // longer) held or not the caller's (the bundle coordinator may return
    // the legs of its bundles), so nothing is ever credited twice.
    caf::replies_to<release_atom, GrantId>::with<ReleaseReceipt>,
    // Restarts a grant's time-to-live from now (invalid_duration when not
    // positive or above ten years, unknown_grant when gone, not committed or
    // not the caller's).
    caf::replies_to<renew_atom, GrantId,
                    std::chrono::nanoseconds>::with<ResourceAllocation>,
    // Cancels the requester's waiting request with that request_id: it fails
    // with `cancelled`. Replies true; unknown_request when none of the
    // caller's waits. Past 10,000 waiting requests per requester or per actor
    // (20,000 per other node) allocate_atom refuses to wait
    // (limit_exceeded, messages/limits.hpp).
    caf::replies_to<cancel_atom, std::string, std::uint64_t>::with<bool>,
    // Sets `amount` aside for the requester: unavailable to others, consumed
    // first by the requester's own grants. Never partial. Tied to the
    // sending actor's life, like a grant.
    caf::replies_to<reserve_atom, std::string, float>::with<PoolStatus>,
    // The same, returning to the pool after `ttl` unless used (ttl > 0).
    caf::replies_to<reserve_atom, std::string, float,
                    std::chrono::nanoseconds>::with<PoolStatus>,
    // Returns the requester's unused reservations to the pool; replies with the
    // amount returned (nothing_held when there was none).
    caf::replies_to<unreserve_atom, std::string>::with<float>,
    // How much the requester holds now in committed grants (0 when nothing).
    caf::replies_to<holding_atom, std::string>::with<float>,
    // The exact ledger: capacity, held, reserved, available (in units).
    caf::replies_to<status_atom>::with<PoolStatus>,
    // The seed's statistics: usage, peak, time-weighted average, counts,
    // latency.
    caf::replies_to<stats_atom>::with<ResourceStats>,
    // Adds (true) or removes (false) a listener: after any change of the
    // ledger or the queue it receives `usage_atom, PoolStatus` from the pool
    // (changes in one burst of messages are reported once). The listener
    // must be the sender itself; any other registration is ignored.
    caf::reacts_to<listen_atom, caf::actor, bool>,
    // Who holds what (committed grants and unused reservations per
    // requester), the waiting requests in serving order and the quotas with
    // their use: a read-only listing for operators (rros status --holders),
    // O(leases + waiting). Readable by every client (docs/security.md).
    caf::replies_to<holders_atom>::with<PoolHolders>,
    // Batches (docs/semantics.md, "Batches"): each item in order exactly as
    // the single call, answered one outcome per item. Allocation items never
    // wait: one that cannot be granted now is refused (insufficient_resources;
    // a CRITICAL item with a deadline gets no partial grant either). A bad
    // item is refused alone; an empty batch gets an empty reply; more than
    // max_batch_items (messages/limits.hpp) is refused whole (limit_exceeded).
    caf::replies_to<allocate_atom,
                    AllocationBatch>::with<std::vector<AllocationOutcome>>,
    // Releases whole grants by id, each as release_atom, GrantId above.
    caf::replies_to<release_atom,
                    ReleaseBatch>::with<std::vector<ReleaseOutcome>>,
    // Takes back a grant kept across a restart of the node (its id and the
    // reattach_token its allocation carried): the sender holds it from now
    // on. unknown_grant when no restored grant waits under that id and token,
    // or the grace period ended (docs/durability.md).
    caf::replies_to<reattach_atom, GrantId,
                    std::uint64_t>::with<ResourceAllocation>>;

/// Administration of a pool: accepted from actors of the pool's own node
/// only; from another node or an anonymous sender a request fails with
/// not_permitted and a policy is ignored (docs/security.md).
using pool_admin_actor = caf::typed_actor<
    // Changes the capacity; refused (capacity_below_usage) below held +
    // reserved.
    caf::replies_to<capacity_atom, double>::with<PoolStatus>,
    // Sets (or, with min = max = 0, weight 1 and no members, removes) a quota
    // for a requester group: a request that would take the group above `max` is
    // refused at once (exceeds_quota); the unused part of `min` is withheld
    // from everybody else; contended capacity is shared by `weight`. Errors:
    // invalid_quota (min > max, negative, guarantees above capacity, a
    // requester in two groups).
    caf::replies_to<quota_atom, Quota>::with<Quota>,
    // Replaces the waiting and preemption policy.
    caf::reacts_to<policy_atom, PoolPolicy>,
    // Back to the initial state: nothing held, reserved or waiting (waiting
    // requests fail with `cancelled`), statistics cleared, capacity kept.
    caf::replies_to<reset_atom>::with<PoolStatus>>;

/// Between a pool and the node's own actors: each message is accepted only
/// from its one legitimate sender and does nothing when sent by anyone else
/// (docs/security.md).
using pool_internal_actor = caf::typed_actor<
    // Degradation (from the monitor the manager named, peers_atom; any
    // sender while none is named): refuses new requests at
    // policy.refuse_from or lower priority (ec::shed), fails such waiting
    // requests and, with revoke_preemptable, revokes such preemptable grants
    // with notice (RevokeReason::shed, reclaimed after the grace period).
    // ShedPolicy{} ends it.
    caf::reacts_to<shed_atom, ShedPolicy>,
    // Bundle legs (from the bundle coordinator the manager named; anyone
    // else gets not_permitted): grants the request now or
    // not at all (never waits, never partial, never preempts, never passes a
    // better-ranked waiting request). A grant is held by the sender until
    // committed; no room now is an allocation of 0 (grant_id 0). The status
    // (after the grant or at the refusal) tells the coordinator when to try
    // again. The errors of allocate_atom for requests that can never fit.
    caf::replies_to<prepare_atom, ResourceRequest>::with<ResourceAllocation,
                                                         PoolStatus>,
    // Hands a prepared grant to its holder (monitored from now on; a null
    // handle means an anonymous holder). Until then the leg cannot be
    // released, renewed, preempted, shed or expire; its time-to-live starts
    // here. Only from the actor that prepared the leg (anyone else:
    // unknown_grant). Answered with the id once the commit is on disk; a
    // commit that cannot be written takes the leg back (storage_failed).
    caf::replies_to<commit_atom, GrantId, caf::actor>::with<GrantId>,
    // Takes a prepared grant back as if it had never been made. Only from
    // the actor that prepared the leg.
    caf::reacts_to<abort_atom, GrantId>,
    // From the pool's supervisor (the manager) only: its bundle coordinator
    // and its monitor. From then on prepare_atom is accepted only from that
    // coordinator and shed_atom only from that monitor (the pool ends
    // shedding itself when the monitor ends). Sent by anyone else: ignored.
    caf::reacts_to<peers_atom, caf::actor, caf::actor>,
    // Timers the pool sends itself: a lease's time-to-live, a waiting
    // request's deadline, a preemption's grace period, a reservation's
    // expiry, and the report to listeners. Sent by anyone else: ignored.
    caf::reacts_to<expire_atom, GrantId>,
    caf::reacts_to<deadline_atom, std::uint64_t>,
    caf::reacts_to<reclaim_atom, std::uint64_t>,
    caf::reacts_to<resexpire_atom, std::uint64_t>, caf::reacts_to<publish_atom>,
    // With a data directory: the group commit's sync, and the end of the
    // grace period for restored grants (the unclaimed return to the pool).
    caf::reacts_to<logsync_atom>, caf::reacts_to<orphans_atom>>;

/// One resource type's budget with an exact ledger, leases, a queue of
/// waiting requests and preemption with notice (docs/semantics.md): the
/// three interfaces above in one actor.
using pool_actor = pool_client_actor::extend_with<
    pool_admin_actor>::extend_with<pool_internal_actor>;

/// What a grant's holder may receive from a pool (an actor that takes grants
/// should handle it; others drop it).
using grant_holder_actor = caf::typed_actor<
    // The grant is taken back: expired (already reclaimed) or preempted (to be
    // reclaimed after notice.grace; releasing it earlier is welcome).
    caf::reacts_to<revoke_atom, GrantNotice>>;

/// Handles of the five pools, indexed by ResourceType, so that a client
/// reaches a pool in one hop.
struct PoolDirectory {
  std::vector<pool_actor> pools;

  const pool_actor& operator[](ResourceType type) const {
    return pools[static_cast<std::size_t>(type)];
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, PoolDirectory& x) {
  return f(caf::meta::type_name("PoolDirectory"), x.pools);
}

/// Grants several types all or nothing (docs/semantics.md, "Bundles").
/// Attempts run one at a time: each asks every pool of the bundle for its leg
/// at once (prepare_atom, never waiting), then commits all legs or aborts the
/// ones granted. No bundle holds anything while it waits, so racing bundles
/// cannot deadlock and nobody ever holds part of a bundle.
using bundle_actor = caf::typed_actor<
    // Grants every item or none. Without a deadline a bundle that does not fit
    // now is refused (insufficient_resources); with one it waits, retried
    // whenever one of its pools frees capacity, until the deadline
    // (deadline_expired). Waiting bundles are tried by aged priority, then
    // dominant share (DRF across types), then deadline, then arrival. The
    // legs are leases of the sender (monitored by each pool). Errors:
    // invalid_bundle (no items, a type twice), the pools' own errors for bad
    // items, exceeds_capacity / exceeds_quota when an item can never fit.
    caf::replies_to<allocate_atom, BundleRequest>::with<BundleGrant>,
    // Returns every leg of a bundle; unknown_bundle when it is not held or
    // not the caller's (only the actor that asked for it may release it).
    caf::replies_to<release_atom, BundleId>::with<std::vector<ReleaseReceipt>>,
    // Returns one leg of a bundle (the bundle ends with its last leg); the
    // caller's bundles only.
    caf::replies_to<release_atom, BundleId, ResourceType>::with<ReleaseReceipt>,
    // Cancels a waiting bundle: it fails with `cancelled`; unknown_request
    // when none of the caller's waits. Past 10,000 waiting bundles per
    // requester or per actor allocate_atom refuses (limit_exceeded).
    caf::replies_to<cancel_atom, std::string, std::uint64_t>::with<bool>,
    // Counts: waiting, held, granted, refused, attempts.
    caf::replies_to<stats_atom>::with<BundleStats>,
    // Fails waiting bundles (cancelled) and forgets held ones (the pools'
    // own reset returns their legs). Administration: from actors of the
    // coordinator's node only (not_permitted otherwise).
    caf::replies_to<reset_atom>::with<BundleStats>,
    // New pool handles after a pool was replaced (from the manager that
    // spawned the coordinator only; ignored from anyone else).
    caf::reacts_to<pools_atom, PoolDirectory>,
    // A pool's ledger changed (the coordinator listens while bundles wait);
    // only from its own pool of that type.
    caf::reacts_to<usage_atom, PoolStatus>,
    // Its own timer: a waiting bundle's deadline (only from itself).
    caf::reacts_to<deadline_atom, std::uint64_t>,
    // Policy (aging interval), from the manager only.
    caf::reacts_to<policy_atom, PoolPolicy>>;

/// A blocking call handed from a plain thread to the bridge actor (local only:
/// it holds a pointer to the waiting caller).
class CallJob;
using call_job_ptr = std::shared_ptr<CallJob>;

/// Sends requests on behalf of plain threads so that they can wait for the
/// reply without a scoped_actor's condition-variable wake-up per call.
using bridge_actor = caf::typed_actor<
    // Starts the job's request; the job's reply handler wakes the caller.
    caf::reacts_to<call_atom, call_job_ptr>,
    // Grants made through the facade are held by the bridge; their revoke
    // notices end here (facade users see the effect in the ledger).
    caf::reacts_to<revoke_atom, GrantNotice>>;

} // namespace rros

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rros::call_job_ptr)
