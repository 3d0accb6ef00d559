// The pool actor's handlers and the policies they apply (quotas and fair
// share, waiting and backfilling, preemption, shedding). Longer than ~600
// lines on purpose: the policies interlock (a release may end a preemption,
// which returns a reservation, which lets a passed-over waiter in), and one
// file keeps that chain readable top to bottom. The books themselves live in
// core/lease_book.hpp and the queue in core/wait_queue.hpp.
#include "actors/pool.hpp"
#include "actors/sender_checks.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "messages/error.hpp"
#include "messages/limits.hpp"
#include "messages/validate.hpp"

namespace rros {

namespace {

using self_ptr = pool_actor::stateful_pointer<pool_state>;

/// What a listener receives (listeners register untyped, like holders; a
/// typed actor sends only to typed handles).
using usage_listener_actor =
    caf::typed_actor<caf::reacts_to<usage_atom, PoolStatus>>;

/// Checks a requester id and an amount together (releases, reservations).
units checked_order(const std::string& requester, double amount,
                    caf::error& err) {
  err = check_requester(requester);
  return err ? 0 : checked_units(amount, err);
}

/// Adds the usage since the last change to the time-weighted integral.
void advance_clock(pool_state& st, caf::actor_clock::time_point now) {
  auto usage = st.ledger().held() + st.ledger().reserved();
  auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
      now - st.last_change);
  st.usage_integral +=
      static_cast<double>(usage) * static_cast<double>(elapsed.count());
  st.last_change = now;
}

void note_usage(pool_state& st) {
  st.peak_usage =
      std::max(st.peak_usage, st.ledger().held() + st.ledger().reserved());
}

void restart_statistics(pool_state& st, caf::actor_clock::time_point now) {
  st.peak_usage = st.ledger().held() + st.ledger().reserved();
  st.usage_integral = 0;
  st.since = now;
  st.last_change = now;
  st.allocation_count = 0;
  st.rejection_count = 0;
  st.preemption_count = 0;
  st.allocation_time_total = std::chrono::nanoseconds{0};
  st.refusals_by_reason.fill(0);
  st.expiry_count = 0;
  st.wait_counts.fill(0);
  st.wait_seconds_sum = 0;
}

/// Counts a refusal, in total and under its error code.
void note_refusal(pool_state& st, ec code) {
  ++st.rejection_count;
  ++st.refusals_by_reason[static_cast<std::size_t>(code)];
}

/// Counts how long a request waited, in the fixed buckets of /metrics.
void note_wait(pool_state& st, pool_time enqueued, pool_time now) {
  auto waited = now > enqueued
                    ? std::chrono::duration<double>(now - enqueued).count()
                    : 0.0;
  auto bucket = std::lower_bound(wait_bucket_bounds.begin(),
                                 wait_bucket_bounds.end(), waited) -
                wait_bucket_bounds.begin();
  ++st.wait_counts[static_cast<std::size_t>(bucket)];
  st.wait_seconds_sum += waited;
}

ResourceStats make_stats(const pool_state& st,
                         caf::actor_clock::time_point now) {
  ResourceStats result;
  result.type = st.type;
  result.total_capacity = static_cast<float>(to_amount(st.ledger().capacity()));
  auto usage = st.ledger().held() + st.ledger().reserved();
  result.current_usage = static_cast<float>(to_amount(usage));
  result.peak_usage = static_cast<float>(to_amount(st.peak_usage));
  auto elapsed =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - st.since)
          .count();
  if (elapsed > 0) {
    auto pending = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       now - st.last_change)
                       .count();
    auto integral = st.usage_integral +
                    static_cast<double>(usage) * static_cast<double>(pending);
    result.average_usage =
        static_cast<float>(integral / elapsed / units_per_amount);
  } else {
    result.average_usage = result.current_usage;
  }
  result.allocation_count = st.allocation_count;
  result.rejection_count = st.rejection_count;
  auto attempts = st.allocation_count + st.rejection_count;
  if (attempts > 0)
    result.avg_allocation_time =
        st.allocation_time_total / static_cast<std::int64_t>(attempts);
  result.refusals_by_reason.assign(st.refusals_by_reason.begin(),
                                   st.refusals_by_reason.end());
  result.preemptions = st.preemption_count;
  result.expiries = st.expiry_count;
  result.wait_counts.assign(st.wait_counts.begin(), st.wait_counts.end());
  result.wait_seconds_sum = st.wait_seconds_sum;
  return result;
}

caf::error not_permitted(const std::string& what) {
  return make_error(ec::not_permitted, what);
}

caf::error admin_only(const pool_state& st, const char* what) {
  return not_permitted(std::string{what} + " of the " + to_string(st.type) +
                       " pool is administration: local senders only");
}

caf::error unknown_grant(GrantId id, ResourceType type) {
  return make_error(ec::unknown_grant, "no grant " + std::to_string(id) +
                                           " in the " + to_string(type) +
                                           " pool (never made, or returned)");
}

// -- quotas and fair share ----------------------------------------------------

QuotaState* quota_of(pool_state& st, const std::string& requester) {
  if (st.quotas.empty())
    return nullptr;
  auto g = st.group_of.find(requester);
  if (g == st.group_of.end())
    return nullptr;
  return &st.quotas.at(g->second);
}

/// The part of a guarantee its group does not use now.
units unused_guarantee(const QuotaState& q) {
  return std::max<units>(0, q.min - q.used);
}

/// What `requester` may be granted now: what is available plus its own
/// reservations, less the unused guarantees of every other group.
units grantable(const pool_state& st, const std::string& requester) {
  auto result = st.ledger().grantable_to(requester);
  if (st.quotas.empty())
    return result;
  const QuotaState* own = nullptr;
  if (auto g = st.group_of.find(requester); g != st.group_of.end())
    own = &st.quotas.at(g->second);
  for (const auto& [name, q] : st.quotas)
    if (&q != own)
      result -= unused_guarantee(q);
  return std::max<units>(0, result);
}

/// Tracks what a group uses as its members' holdings change.
void note_group_change(pool_state& st, const std::string& requester,
                       units delta) {
  if (auto q = quota_of(st, requester))
    q->used += delta;
}

/// A requester's share of the pool divided by its weight: the lower, the
/// sooner it is served among requests of equal priority.
double weighted_share(const pool_state& st, const std::string& requester) {
  double weight = 1.0;
  if (auto g = st.group_of.find(requester); g != st.group_of.end()) {
    const auto& q = st.quotas.at(g->second);
    weight = q.spec.weight;
  }
  return static_cast<double>(st.ledger().held_by(requester)) / weight;
}

/// The exact ledger plus the queue length.
PoolStatus status_of(const pool_state& st) {
  auto result = st.ledger().status(st.type);
  result.waiting = static_cast<std::uint32_t>(st.waiting.size());
  result.returns = st.returns;
  return result;
}

/// Schedules one report to the listeners for this burst of changes: a
/// message to itself, so a handler that changes the ledger several times
/// reports once, after the last change.
/// `returned`: capacity came back or the queue shrank (see
/// PoolStatus::returns).
void changed(self_ptr self, bool returned) {
  auto& st = self->state;
  if (returned && !st.aborting)
    ++st.returns;
  if (st.listeners.empty() || st.publish_pending)
    return;
  st.publish_pending = true;
  self->send(self, publish_atom::value);
}

// -- leases ------------------------------------------------------------------

void watch(self_ptr self, const caf::actor_addr& holder) {
  if (holder && self->state.monitored.insert(holder).second)
    self->monitor(holder);
}

/// Tells a grant's holder (when it is an actor) that the grant is taken back.
void notify(self_ptr self, GrantId id, const pool_book::Lease& lease,
            RevokeReason reason, std::chrono::nanoseconds grace) {
  if (!lease.holder)
    return;
  GrantNotice notice{id,
                     lease.requester,
                     self->state.type,
                     static_cast<float>(to_amount(lease.amount)),
                     reason,
                     grace};
  // The holder is whoever sent the request (CAF gives the sender untyped);
  // holders that do not handle revoke_atom drop the notice. Sent as the pool,
  // so that a holder can tell a real notice from a forged one.
  self->send(caf::actor_cast<grant_holder_actor>(lease.holder),
             revoke_atom::value, std::move(notice));
}

/// Keeps the queue's fair-share rank of a waiting requester current: its
/// share changes with every grant and release it makes.
void note_share(pool_state& st, const std::string& requester) {
  if (!st.waiting.empty() && st.waiting.count_of(requester) > 0)
    st.waiting.set_share(requester, weighted_share(st, requester));
}

/// Records a grant of `amount` (already known to fit) and returns its id. A
/// bundle leg (`leg`) is prepared: its time-to-live starts at the commit.
GrantId grant(self_ptr self, const ResourceRequest& req, units amount,
              const caf::actor_addr& holder, bool leg = false) {
  auto& st = self->state;
  auto now = self->clock().now();
  advance_clock(st, now);
  bool ttl_now = req.ttl.count() > 0 && !leg;
  auto id = st.book.grant(req.requester_id, holder, amount, req.priority,
                          req.preemptable, ttl_now,
                          saturating_add(now, req.ttl), leg, req.ttl);
  note_group_change(st, req.requester_id, amount);
  note_share(st, req.requester_id);
  note_usage(st);
  ++st.allocation_count;
  if (st.journal)
    st.tokens.emplace(id, st.journal->new_token());
  watch(self, holder);
  if (ttl_now)
    self->delayed_send(self, req.ttl, expire_atom::value, id);
  changed(self, false);
  return id;
}

ResourceAllocation allocation_of(const pool_state& st,
                                 const ResourceRequest& req, units amount,
                                 units granted, GrantId id) {
  ResourceAllocation result;
  result.requester_id = req.requester_id;
  result.resource_type = st.type;
  result.allocated_amount =
      granted == amount ? req.amount : static_cast<float>(to_amount(granted));
  result.fully_satisfied = granted == amount;
  result.allocation_time = wall_clock::now();
  result.grant_id = id;
  if (!st.tokens.empty()) {
    auto token = st.tokens.find(id);
    if (token != st.tokens.end())
      result.reattach_token = token->second;
  }
  return result;
}

void serve_waiting(self_ptr self);
void shrink_lease(self_ptr self, GrantId id, units amount);

// -- durability (docs/durability.md)
// -------------------------------------------

/// A pool time as wall-clock nanoseconds (what the journal keeps): the actor
/// clock starts anew with the process, the wall clock does not.
std::int64_t wall_ns_of(self_ptr self, pool_time at) {
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  auto left = duration_cast<nanoseconds>(at - self->clock().now()).count();
  auto now = duration_cast<nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  // Saturates: a time-to-live of ten years must not wrap around.
  if (left > 0 && now > std::numeric_limits<std::int64_t>::max() - left)
    return std::numeric_limits<std::int64_t>::max();
  return now + left;
}

/// The pool time of wall-clock nanoseconds kept by the journal.
pool_time pool_time_of(self_ptr self, std::int64_t wall_ns) {
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  auto now = duration_cast<nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto left = wall_ns > now ? nanoseconds{wall_ns - now} : nanoseconds{0};
  return saturating_add(self->clock().now(), left);
}

caf::error storage_refusal(const pool_state& st) {
  return make_error(
      ec::storage_failed,
      std::string{"the "} + to_string(st.type) +
          " pool cannot keep new grants on disk: " + st.storage_failure);
}

/// A lease as the journal keeps it.
DurableLease durable_lease_of(self_ptr self, GrantId id,
                              const pool_book::Lease& lease) {
  const auto& tokens = self->state.tokens;
  DurableLease kept;
  kept.requester = lease.requester;
  kept.amount = lease.amount;
  kept.priority = static_cast<std::uint8_t>(lease.priority);
  kept.preemptable = lease.preemptable;
  kept.has_ttl = lease.has_ttl;
  kept.expires_at_ns = lease.has_ttl ? wall_ns_of(self, lease.expires_at) : 0;
  auto token = tokens.find(id);
  kept.token = token != tokens.end() ? token->second : 0;
  return kept;
}

/// An ordinary reservation as the journal keeps it.
DurableReservation durable_reservation_of(self_ptr self,
                                          const pool_book::Reservation& r) {
  DurableReservation kept;
  kept.requester = r.requester;
  kept.remaining = r.remaining;
  kept.anonymous = !r.holder;
  kept.expires = r.expires;
  kept.expires_at_ns = r.expires ? wall_ns_of(self, r.expires_at) : 0;
  return kept;
}

/// Writes what the books' touched leases and reservations became. A record
/// that cannot be written (a full disk) leaves its id for the next attempt
/// and refuses new grants until one succeeds.
std::optional<StorageError> persist(self_ptr self) {
  auto& st = self->state;
  if (!st.journal)
    return std::nullopt;
  auto ids = st.book.take_touched();
  ids.insert(ids.end(), st.unwritten.begin(), st.unwritten.end());
  st.unwritten.clear();
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::optional<StorageError> failed;
  for (auto id : ids) {
    if (failed) {
      st.unwritten.push_back(id);
      continue;
    }
    BookRecord rec;
    rec.id = id;
    if (const auto* lease = st.book.find(id)) {
      // A prepared leg is the coordinator's until its commit touches it.
      if (st.book.is_prepared(id))
        continue;
      rec.kind = BookRecord::Kind::put_lease;
      rec.lease = durable_lease_of(self, id, *lease);
    } else if (const auto* r = st.book.find_reservation(id)) {
      // What a preemption keeps serves a waiting request, which a restart
      // does not keep either.
      if (r->preemption != 0)
        continue;
      rec.kind = BookRecord::Kind::put_reservation;
      rec.reservation = durable_reservation_of(self, *r);
    } else {
      st.tokens.erase(id);
      st.orphans.erase(id);
      st.orphan_reservations.erase(id);
      rec.kind = st.journal->books().leases.count(id) != 0
                     ? BookRecord::Kind::erase_lease
                     : BookRecord::Kind::erase_reservation;
    }
    failed = st.journal->record(std::move(rec));
    if (failed)
      st.unwritten.push_back(id);
  }
  if (!failed)
    failed = st.journal->maybe_snapshot();
  if (failed)
    st.storage_failure = failed->text();
  else
    st.storage_failure.clear();
  if (st.journal->has_unsynced() && !st.sync_scheduled) {
    st.sync_scheduled = true;
    // 0: right after the requests already in the mailbox, so one fsync
    // covers everything that arrived while the last one ran.
    if (st.storage->group_interval.count() == 0)
      self->send(self, logsync_atom::value);
    else
      self->delayed_send(self, st.storage->group_interval, logsync_atom::value);
  }
  return failed;
}

/// True when new grants must be refused: the data directory could not be
/// read at start, or changes are still owed to the journal (retried here).
bool storage_refuses(self_ptr self) {
  auto& st = self->state;
  if (st.storage && !st.journal)
    return true;
  return !st.storage_failure.empty() && persist(self).has_value();
}

/// Writes a pool setting (capacity, quota, policy, shedding) to the journal.
void persist_setting(self_ptr self, BookRecord rec) {
  auto& st = self->state;
  if (!st.journal)
    return;
  if (auto failed = st.journal->record(std::move(rec)))
    st.storage_failure = failed->text();
  persist(self);
}

/// Runs `reply` once the changes so far are durable: now, or after the group
/// commit's sync (with an error when that sync failed).
void when_durable(self_ptr self, std::function<void(const caf::error*)> reply) {
  auto& st = self->state;
  if (st.journal && st.journal->has_unsynced())
    st.after_sync.push_back(std::move(reply));
  else
    reply(nullptr);
}

/// A reply that waits for the group commit's sync when changes written
/// before it are not on disk yet.
template <class... Ts>
caf::result<Ts...> after_sync_of(self_ptr self, caf::result<Ts...> res) {
  auto& st = self->state;
  if (res.flag != caf::rt_value || !st.journal->has_unsynced())
    return res;
  auto rp = self->make_response_promise();
  st.after_sync.push_back(
      [rp, msg = std::move(res.value)](const caf::error* err) mutable {
        if (err != nullptr)
          rp.deliver(*err);
        else
          rp.deliver(msg);
      });
  return rp;
}

/// A handler's reply, sent once the changes it made are durable.
template <class... Ts>
caf::result<Ts...> durable(self_ptr self, caf::result<Ts...> res) {
  if (!self->state.journal)
    return res;
  persist(self);
  return after_sync_of(self, std::move(res));
}

/// An allocation's reply: a grant that cannot be written is taken back and
/// refused (storage_failed), so that no grant exists that a restart would
/// not know.
caf::error take_back_if_unwritten(self_ptr self, GrantId id) {
  auto& st = self->state;
  if (!st.journal || !persist(self))
    return caf::none;
  if (const auto* lease = st.book.find(id)) {
    st.aborting = true;
    shrink_lease(self, id, lease->amount);
    st.aborting = false;
    --st.allocation_count;
    persist(self);
    serve_waiting(self);
  }
  return storage_refusal(st);
}

caf::result<ResourceAllocation>
durable_allocation(self_ptr self, caf::result<ResourceAllocation> res) {
  if (!self->state.journal)
    return res;
  if (res.flag == caf::rt_value) {
    auto id = res.value.get_as<ResourceAllocation>(0).grant_id;
    if (auto refused = take_back_if_unwritten(self, id))
      return refused;
    return after_sync_of(self, std::move(res)); // written just now
  }
  return durable(self, std::move(res));
}

/// Returns `amount` of lease `id` to the pool (all of it removes the lease).
/// Capacity freed by a lease under preemption goes to the request that
/// preempted it, never to a bystander.
void shrink_lease(self_ptr self, GrantId id, units amount) {
  auto& st = self->state;
  if (st.book.find(id) == nullptr)
    return;
  changed(self, true);
  advance_clock(st, self->clock().now());
  auto shrunk = st.book.shrink(id, amount);
  note_group_change(st, shrunk.requester, -shrunk.amount);
  note_share(st, shrunk.requester);
  if (shrunk.revoked_by == 0)
    return;
  auto p = st.preemptions.find(shrunk.revoked_by);
  // A shed (no asker) returns capacity to the pool.
  if (p != st.preemptions.end() && !p->second.asker.empty())
    st.book.reserve(p->second.asker, caf::actor_addr{}, shrunk.amount, false,
                    pool_time{}, shrunk.revoked_by);
}

/// Returns every reservation a finished preemption still keeps, and takes
/// back the revoke marks of victims it no longer needs.
void end_preemption(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto p = st.preemptions.find(id);
  if (p == st.preemptions.end())
    return;
  for (auto victim : p->second.victims)
    st.book.unmark_revoked(victim, id);
  st.book.unreserve_preemption(id, p->second.asker);
  st.preemptions.erase(p);
}

/// Takes a waiter out of the queue; drop_waiter() then undoes whatever it
/// had set in motion.
std::optional<pool_waiter> take_waiter(self_ptr self, std::uint64_t seq) {
  auto& st = self->state;
  auto w = st.waiting.take(seq);
  if (!w)
    return w;
  note_wait(st, w->enqueued, self->clock().now());
  st.waiters_of_holder.remove(w->payload.holder, seq);
  if (w->payload.holder && w->payload.holder.node() != self->node()) {
    auto n = st.waiting_of_node.find(w->payload.holder.node());
    if (n != st.waiting_of_node.end() && --n->second == 0)
      st.waiting_of_node.erase(n);
  }
  if (w->payload.request.ttl.count() > 0)
    st.backfill_amounts.erase(st.backfill_amounts.find(w->payload.amount));
  changed(self, true);
  return w;
}

void drop_waiter(self_ptr self, const pool_waiter& w) {
  if (w.payload.preemption != 0)
    end_preemption(self, w.payload.preemption);
}

/// The waiters that match `pred`, in rank order (a scan: for rare events).
template <class Predicate>
std::vector<std::uint64_t> waiters_where(self_ptr self, Predicate pred) {
  std::vector<std::uint64_t> result;
  self->state.waiting.visit(self->clock().now(), [&](const pool_waiter& w) {
    if (pred(w))
      result.push_back(w.seq);
  });
  return result;
}

// -- waiting and preemption ---------------------------------------------------

/// Backfilling: a request may pass a blocked better-ranked one only when its
/// own lease is guaranteed to end (time-to-live) before that one's deadline,
/// so it cannot be what makes the blocked request miss it.
bool may_pass(const ResourceRequest& req, pool_time now,
              pool_time blocked_deadline) {
  return req.ttl.count() > 0 &&
         saturating_add(now, req.ttl) <= blocked_deadline;
}

/// Starts preempting for `w` when lower-priority preemptable grants can cover
/// what it lacks: notices now, reclaim after the grace period.
void try_preempt(self_ptr self, pool_waiter& w) {
  auto& st = self->state;
  auto& pending = w.payload;
  if (pending.preemption != 0)
    return;
  const auto& asker = pending.request.requester_id;
  auto lacking = pending.amount - grantable(st, asker);
  if (lacking <= 0)
    return;
  // Lowest priority first; within it the largest, so that fewest are taken.
  auto victims = st.book.victims_for(pending.request.priority, asker, lacking,
                                     st.policy.max_preemptions_per_round);
  if (victims.empty())
    return; // preempting could not satisfy it: take nothing
  auto id = st.book.next_id();
  pending.preemption = id;
  // What is free now is part of the plan: keep it for the asker too, so a
  // bystander cannot take it during the grace period.
  auto free_part = std::min(st.ledger().available(),
                            pending.amount - st.ledger().reserved_for(asker));
  if (free_part > 0)
    st.book.reserve(asker, caf::actor_addr{}, free_part, false, pool_time{},
                    id);
  st.preemptions.emplace(id, Preemption{w.seq, asker, victims});
  st.preemption_count += victims.size();
  for (auto victim : victims) {
    st.book.mark_revoked(victim, id);
    notify(self, victim, *st.book.find(victim), RevokeReason::preempted,
           st.policy.preemption_grace);
  }
  self->delayed_send(self, st.policy.preemption_grace, reclaim_atom::value, id);
}

/// Grants waiter `seq` (known to fit). True when that ended a preemption,
/// which may return capacity the queue has already passed over.
bool grant_waiter(self_ptr self, std::uint64_t seq) {
  auto& st = self->state;
  auto w = take_waiter(self, seq);
  auto& pending = w->payload;
  auto id = grant(self, pending.request, pending.amount, pending.holder);
  auto allocation =
      allocation_of(st, pending.request, pending.amount, pending.amount, id);
  persist(self);
  when_durable(self, [promise = pending.promise,
                      allocation](const caf::error* err) mutable {
    if (err != nullptr)
      promise.deliver(*err);
    else
      promise.deliver(allocation);
  });
  drop_waiter(self, *w);
  return pending.preemption != 0;
}

bool fits(const pool_state& st, const pool_waiter& w) {
  return w.payload.amount <= grantable(st, w.payload.request.requester_id);
}

/// Backfills behind a blocked request: grants, in rank order, the waiters
/// that fit and whose lease ends by the blocked one's deadline. True when
/// one of them ended a preemption (look at the queue again from the top).
/// Only waiters with a time-to-live can pass, and none fits unless the
/// smallest of them fits into what is free or reserved: then nothing is
/// visited.
bool backfill(self_ptr self, pool_time now, std::uint64_t blocked,
              pool_time blocked_deadline) {
  auto& st = self->state;
  auto room = st.ledger().available() + st.ledger().reserved();
  if (st.backfill_amounts.empty() || *st.backfill_amounts.begin() > room)
    return false;
  std::vector<std::uint64_t> chosen;
  units promised = 0;
  st.waiting.visit(now, [&](const pool_waiter& w) {
    if (w.seq != blocked && w.payload.amount <= room - promised &&
        may_pass(w.payload.request, now, blocked_deadline) && fits(st, w)) {
      chosen.push_back(w.seq);
      promised += w.payload.amount;
    }
    return promised < room;
  });
  bool restart = false;
  for (auto seq : chosen) {
    auto* w = st.waiting.find(seq);
    if (w != nullptr && fits(st, *w))
      restart = grant_waiter(self, seq) || restart;
  }
  return restart;
}

/// Grants waiting requests that fit, best-ranked first; starts preemption for
/// the first one that is blocked and backfills behind it.
void serve_waiting(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (;;) {
    auto* head = st.waiting.head(now);
    while (head != nullptr && fits(st, *head)) {
      grant_waiter(self, head->seq);
      head = st.waiting.head(now);
    }
    if (head == nullptr)
      return;
    try_preempt(self, *head);
    // Ending a preemption returns what its asker did not need: requests
    // already passed may fit now, so look at the queue again from the top.
    if (!backfill(self, now, head->seq, head->deadline))
      return;
  }
}

/// Where a new request would stand in the queue: the deadline of the
/// better-ranked waiting request it would have to pass, if any.
bool blocked_ahead(self_ptr self, const ResourceRequest& req, pool_time now,
                   pool_time deadline, pool_time& blocker) {
  auto& st = self->state;
  if (st.waiting.empty())
    return false;
  auto ahead = earliest_deadline_ahead(
      st.waiting, static_cast<int>(req.priority), deadline, now);
  if (ahead)
    blocker = *ahead;
  return ahead.has_value();
}

// -- handlers -----------------------------------------------------------------

/// Checks a request (allocate_atom or prepare_atom) and converts its amount;
/// counts a rejection for requests that can never fit.
caf::error check_request(self_ptr self, const ResourceRequest& req,
                         units& amount) {
  auto& st = self->state;
  if (auto err = check_type(req.resource_type))
    return err;
  if (req.resource_type != st.type)
    return make_error(ec::unknown_resource_type,
                      std::string{"the "} + to_string(st.type) +
                          " pool got a request for " +
                          to_string(req.resource_type));
  if (auto err = check_requester(req.requester_id))
    return err;
  if (auto err = check_priority(req.priority))
    return err;
  caf::error err;
  amount = checked_units(req.amount, err);
  if (err)
    return err;
  if (auto bad = check_duration(req.ttl, "time-to-live"))
    return bad;
  if (auto bad = check_duration(req.deadline, "deadline"))
    return bad;
  if (amount > st.ledger().capacity()) {
    note_refusal(st, ec::exceeds_capacity);
    return make_error(ec::exceeds_capacity,
                      "requested " + format_number(req.amount) + " of " +
                          to_string(st.type) + " but its capacity is " +
                          format_number(to_amount(st.ledger().capacity())));
  }
  if (auto q = quota_of(st, req.requester_id);
      q != nullptr && q->max > 0 && q->used + amount > q->max) {
    note_refusal(st, ec::exceeds_quota);
    return make_error(ec::exceeds_quota,
                      "'" + req.requester_id + "' (group '" + q->spec.name +
                          "') would hold " +
                          format_number(to_amount(q->used + amount)) + " of " +
                          to_string(st.type) + ", its maximum is " +
                          format_number(to_amount(q->max)));
  }
  if (st.shed.degraded && req.priority >= st.shed.refuse_from) {
    note_refusal(st, ec::shed);
    return make_error(ec::shed, std::string{to_string(st.type)} +
                                    " is degraded and sheds " +
                                    to_string(req.priority) + " requests");
  }
  // After a failed write, new grants wait until the journal takes the
  // changes it still owes (a full disk that has room again).
  if (storage_refuses(self)) {
    note_refusal(st, ec::storage_failed);
    return storage_refusal(st);
  }
  return caf::none;
}

/// Refuses a waiting request past the limits of messages/limits.hpp (per
/// requester, per holder actor, per other node).
caf::error check_waiting_limits(self_ptr self, const std::string& requester,
                                const caf::actor_addr& holder) {
  auto& st = self->state;
  auto refuse = [&](const std::string& who, std::size_t limit) {
    return make_error(ec::limit_exceeded,
                      who + " already has " + std::to_string(limit) +
                          " requests waiting for " + to_string(st.type) +
                          ", the most allowed");
  };
  if (st.waiting.count_of(requester) >= max_waiting_per_requester)
    return refuse("'" + requester + "'", max_waiting_per_requester);
  if (st.waiters_of_holder.count(holder) >= max_waiting_per_holder)
    return refuse("the requesting actor", max_waiting_per_holder);
  if (holder && holder.node() != self->node()) {
    auto n = st.waiting_of_node.find(holder.node());
    if (n != st.waiting_of_node.end() &&
        n->second >= max_waiting_per_remote_node)
      return refuse("the requesting node", max_waiting_per_remote_node);
  }
  return caf::none;
}

/// `may_wait`: false for an item of a batch, which never waits (refused
/// when it does not fit now).
caf::result<ResourceAllocation>
allocate(self_ptr self, const ResourceRequest& req, bool may_wait = true) {
  auto& st = self->state;
  units amount = 0;
  if (auto err = check_request(self, req, amount))
    return err;
  auto now = self->clock().now();
  auto deadline = saturating_add(now, req.deadline);
  auto holder = sender_of(self);
  auto can_have = grantable(st, req.requester_id);
  pool_time blocker;
  auto may_go = !blocked_ahead(self, req, now, deadline, blocker) ||
                may_pass(req, now, blocker);
  if (amount <= can_have && may_go)
    return allocation_of(st, req, amount, amount,
                         grant(self, req, amount, holder));
  if (req.deadline.count() > 0 && may_wait) {
    if (auto err = check_waiting_limits(self, req.requester_id, holder)) {
      note_refusal(st, ec::limit_exceeded);
      return err;
    }
    // Wait for capacity until the deadline.
    pool_waiter w;
    w.seq = st.book.next_id();
    w.requester = req.requester_id;
    w.request_id = req.request_id;
    w.priority = static_cast<int>(req.priority);
    w.enqueued = now;
    w.deadline = deadline;
    w.payload.request = req;
    w.payload.amount = amount;
    w.payload.holder = holder;
    w.payload.promise = self->make_response_promise<ResourceAllocation>();
    auto promise = w.payload.promise;
    auto seq = w.seq;
    watch(self, holder);
    self->delayed_send(self, req.deadline, deadline_atom::value, seq);
    if (req.ttl.count() > 0)
      st.backfill_amounts.insert(amount);
    st.waiters_of_holder.add(holder, seq);
    if (holder && holder.node() != self->node())
      ++st.waiting_of_node[holder.node()];
    st.waiting.push(std::move(w), now);
    note_share(st, req.requester_id);
    changed(self, false);
    serve_waiting(self);
    return promise;
  }
  if (req.priority == Priority::CRITICAL && req.deadline.count() == 0 &&
      can_have > 0 && may_go)
    return allocation_of(st, req, amount, can_have,
                         grant(self, req, can_have, holder));
  note_refusal(st, ec::insufficient_resources);
  return make_error(
      ec::insufficient_resources,
      "requested " + format_number(req.amount) + " of " + to_string(st.type) +
          ", " + format_number(to_amount(may_go ? can_have : 0)) +
          " available" +
          (may_go ? "" : " before better-ranked waiting requests"));
}

/// A bundle leg: now or never, held by the sender (the coordinator) until
/// committed.
caf::result<ResourceAllocation, PoolStatus>
prepare(self_ptr self, const ResourceRequest& req) {
  auto& st = self->state;
  if (st.peers_known && sender_of(self) != st.coordinator)
    return not_permitted(std::string{"bundle legs of the "} +
                         to_string(st.type) +
                         " pool come from the bundle coordinator only");
  units amount = 0;
  if (auto err = check_request(self, req, amount))
    return err;
  auto now = self->clock().now();
  pool_time blocker;
  auto blocked = blocked_ahead(self, req, now,
                               saturating_add(now, req.deadline), blocker) &&
                 !may_pass(req, now, blocker);
  auto can_have = grantable(st, req.requester_id);
  if (amount > can_have || blocked) {
    // Not a rejection of the bundle yet: the coordinator may retry.
    return {allocation_of(st, req, amount, 0, 0), status_of(st)};
  }
  auto id = grant(self, req, amount, sender_of(self), true);
  return {allocation_of(st, req, amount, amount, id), status_of(st)};
}

/// Degradation: fails waiting requests at shed priorities and revokes
/// preemptable grants at those priorities with notice.
void apply_shed(self_ptr self) {
  auto& st = self->state;
  if (!st.shed.degraded)
    return;
  auto refused = waiters_where(self, [&](const pool_waiter& w) {
    return w.payload.request.priority >= st.shed.refuse_from;
  });
  for (auto seq : refused) {
    auto w = take_waiter(self, seq);
    note_refusal(st, ec::shed);
    w->payload.promise.deliver(make_error(
        ec::shed, std::string{to_string(st.type)} + " is degraded and sheds " +
                      to_string(w->payload.request.priority) + " requests"));
    drop_waiter(self, *w);
  }
  if (!st.shed.revoke_preemptable)
    return;
  auto victims = st.book.candidates_from(st.shed.refuse_from);
  if (victims.empty())
    return;
  auto id = st.book.next_id();
  st.preemptions.emplace(id, Preemption{0, std::string{}, victims});
  st.preemption_count += victims.size();
  for (auto victim : victims) {
    st.book.mark_revoked(victim, id);
    notify(self, victim, *st.book.find(victim), RevokeReason::shed,
           st.policy.preemption_grace);
  }
  self->delayed_send(self, st.policy.preemption_grace, reclaim_atom::value, id);
}

ReleaseReceipt receipt_of(const pool_state& st, const std::string& requester,
                          units returned) {
  ReleaseReceipt receipt;
  receipt.requester_id = requester;
  receipt.resource_type = st.type;
  receipt.released_amount = static_cast<float>(to_amount(returned));
  receipt.still_held =
      static_cast<float>(to_amount(st.ledger().held_by(requester)));
  return receipt;
}

/// Returns one whole grant by id (release_atom, GrantId; one item of a
/// batch).
caf::expected<ReleaseReceipt> release_grant(self_ptr self, GrantId id) {
  auto& st = self->state;
  auto* lease = st.book.find_committed(id);
  // Its holder's, or the coordinator's for the legs of a bundle. The
  // same answer as for an unknown id: ids reveal nothing.
  auto caller = sender_of(self);
  if (lease == nullptr || (lease->holder != caller &&
                           !(st.peers_known && caller == st.coordinator)))
    return unknown_grant(id, st.type);
  std::string requester = lease->requester;
  auto amount = lease->amount;
  shrink_lease(self, id, amount);
  auto receipt = receipt_of(st, requester, amount);
  serve_waiting(self);
  return receipt;
}

caf::error batch_too_long(const pool_state& st, std::size_t items) {
  return make_error(ec::limit_exceeded,
                    "a batch of " + std::to_string(items) + " items for " +
                        to_string(st.type) + " is longer than the " +
                        std::to_string(max_batch_items) + " allowed");
}

caf::result<ReleaseReceipt> release(self_ptr self, const std::string& requester,
                                    float amount, ReleaseMode mode) {
  auto& st = self->state;
  caf::error err;
  auto wanted = checked_order(requester, amount, err);
  if (err)
    return err;
  // Only what this caller took: another actor naming the requester
  // releases nothing of it.
  auto caller = sender_of(self);
  auto held = st.book.releasable_by(requester, caller);
  if (held == 0)
    return make_error(ec::nothing_held, "'" + requester + "' holds no " +
                                            to_string(st.type) +
                                            " taken by this caller");
  if (wanted > held && mode == ReleaseMode::exact)
    return make_error(ec::release_exceeds_holding,
                      "'" + requester + "' releases " + format_number(amount) +
                          " of " + to_string(st.type) + " but holds " +
                          format_number(to_amount(held)));
  auto returned = std::min(wanted, held);
  // Newest grants first; prepared bundle legs are not the requester's.
  for (auto left = returned; left > 0;) {
    auto id = st.book.newest_committed(requester, caller);
    auto part = std::min(left, st.book.find(id)->amount);
    shrink_lease(self, id, part);
    left -= part;
  }
  auto receipt = receipt_of(st, requester, returned);
  serve_waiting(self);
  return receipt;
}

caf::result<PoolStatus> reserve(self_ptr self, const std::string& requester,
                                float amount, std::chrono::nanoseconds ttl) {
  auto& st = self->state;
  caf::error err;
  auto wanted = checked_order(requester, amount, err);
  if (err)
    return err;
  if (auto bad = check_duration(ttl, "reservation time-to-live"))
    return bad;
  if (storage_refuses(self))
    return storage_refusal(st);
  // Tied to the actor that made it, like its grants.
  auto holder = sender_of(self);
  // Other groups' unused guarantees are not available to reserve either.
  auto reservable =
      grantable(st, requester) - st.ledger().reserved_for(requester);
  if (wanted > reservable)
    return make_error(
        ec::insufficient_resources,
        "cannot reserve " + format_number(amount) + " of " +
            to_string(st.type) + ", " +
            format_number(to_amount(std::max<units>(0, reservable))) +
            " available");
  auto now = self->clock().now();
  advance_clock(st, now);
  auto id = st.book.reserve(requester, holder, wanted, ttl.count() > 0,
                            saturating_add(now, ttl));
  note_usage(st);
  changed(self, false);
  watch(self, holder);
  if (ttl.count() > 0)
    self->delayed_send(self, ttl, resexpire_atom::value, id);
  return status_of(st);
}

/// Everything a holder had returns; its waiting requests are dropped.
void holder_down(self_ptr self, const caf::actor_addr& holder) {
  auto& st = self->state;
  if (st.peers_known && holder == st.monitor && st.shed.degraded) {
    // Only the monitor sheds: when it ends, so does its degradation.
    st.shed = ShedPolicy{};
    changed(self, true);
  }
  st.monitored.erase(holder);
  auto& ls = st.listeners;
  ls.erase(std::remove_if(
               ls.begin(), ls.end(),
               [&](const caf::actor& x) { return x.address() == holder; }),
           ls.end());
  for (auto id : st.book.leases_of_holder(holder))
    shrink_lease(self, id, st.book.find(id)->amount);
  // Its reservations return too (those a preemption keeps belong to the
  // waiting request, dropped below with its preemption).
  advance_clock(st, self->clock().now());
  if (st.book.unreserve_holder(holder) > 0)
    changed(self, true);
  for (auto seq : st.waiters_of_holder.take(holder))
    if (auto w = take_waiter(self, seq))
      drop_waiter(self, *w);
  serve_waiting(self);
}

caf::result<Quota> set_quota(self_ptr self, const Quota& spec) {
  auto& st = self->state;
  if (spec.name.empty())
    return make_error(ec::invalid_quota, "a quota needs a group name");
  auto bad = [&](const std::string& why) -> caf::result<Quota> {
    return make_error(ec::invalid_quota, "quota '" + spec.name + "' on " +
                                             to_string(st.type) + ": " + why);
  };
  for (float x : {spec.min, spec.max, spec.weight})
    if (!std::isfinite(x) || x < 0 || x > max_amount)
      return bad("min, max and weight must be finite, >= 0 and <= 1e12");
  if (spec.weight <= 0)
    return bad("weight must be above 0");
  if (spec.max > 0 && spec.min > spec.max)
    return bad("min " + format_number(spec.min) + " is above max " +
               format_number(spec.max));
  auto members =
      spec.members.empty() ? std::vector<std::string>{spec.name} : spec.members;
  for (const auto& m : members) {
    if (m.empty())
      return bad("a member id is empty");
    auto g = st.group_of.find(m);
    if (g != st.group_of.end() && g->second != spec.name)
      return bad("'" + m + "' is already in group '" + g->second + "'");
  }
  // A quota that limits nothing (no minimum, no maximum, weight 1, no
  // members) removes the group's quota.
  bool remove = spec.min == 0 && spec.max == 0 && spec.weight == 1.0f &&
                spec.members.empty();
  units guarantees = to_units(spec.min);
  for (const auto& [name, q] : st.quotas)
    if (name != spec.name)
      guarantees += q.min;
  if (!remove && guarantees > st.ledger().capacity())
    return bad("the guarantees would add up to " +
               format_number(to_amount(guarantees)) + ", above the capacity");
  // Replace the group: drop its old members, then add the new ones.
  for (auto i = st.group_of.begin(); i != st.group_of.end();)
    i = i->second == spec.name ? st.group_of.erase(i) : std::next(i);
  st.quotas.erase(spec.name);
  if (!remove) {
    QuotaState q;
    q.spec = spec;
    q.spec.members = members;
    q.min = to_units(spec.min);
    q.max = to_units(spec.max);
    for (const auto& m : members) {
      st.group_of[m] = spec.name;
      q.used += st.ledger().held_by(m);
    }
    st.quotas.emplace(spec.name, std::move(q));
  }
  // Weights changed: re-rank every waiting requester.
  std::unordered_set<std::string> waiting_requesters;
  st.waiting.visit(self->clock().now(), [&](const pool_waiter& w) {
    waiting_requesters.insert(w.requester);
  });
  for (const auto& r : waiting_requesters)
    note_share(st, r);
  changed(self, true); // a guarantee may have been freed
  serve_waiting(self);
  return spec;
}

/// The listing behind holders_atom.
PoolHolders holders_of(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  PoolHolders result;
  result.type = st.type;
  std::map<std::string, HolderEntry> by_requester;
  auto entry = [&](const std::string& requester) -> HolderEntry& {
    auto& e = by_requester[requester];
    e.requester = requester;
    return e;
  };
  st.book.for_each_lease([&](GrantId id, const pool_book::Lease& lease) {
    if (st.book.is_prepared(id))
      return; // a bundle leg nobody holds yet
    auto& e = entry(lease.requester);
    e.held += lease.amount;
    e.grants.push_back(id);
  });
  st.book.for_each_reservation(
      [&](std::uint64_t, const pool_book::Reservation& r) {
        entry(r.requester).reserved += r.remaining;
      });
  for (auto& [name, e] : by_requester)
    result.holders.push_back(std::move(e));
  std::stable_sort(result.holders.begin(), result.holders.end(),
                   [](const HolderEntry& x, const HolderEntry& y) {
                     return x.held + x.reserved > y.held + y.reserved;
                   });
  st.waiting.visit(now, [&](const pool_waiter& w) {
    WaitingEntry e;
    e.requester = w.requester;
    e.request_id = w.request_id;
    e.priority = w.payload.request.priority;
    e.amount = w.payload.amount;
    e.waited = now - w.enqueued;
    if (w.deadline != pool_time::max())
      e.deadline_in = std::max<pool_clock::duration>(
          pool_clock::duration::zero(), w.deadline - now);
    result.waiting.push_back(std::move(e));
  });
  for (const auto& [name, q] : st.quotas)
    result.quotas.push_back(QuotaUsage{q.spec, q.used});
  return result;
}

/// The books as the journal keeps them, from the live ones.
DurableBooks durable_books_of(self_ptr self, bool has_capacity,
                              bool has_policy) {
  auto& st = self->state;
  DurableBooks books;
  books.has_capacity = has_capacity;
  books.capacity = st.ledger().capacity();
  books.highest_id = st.book.peek_next_id() - 1;
  st.book.for_each_lease([&](GrantId id, const pool_book::Lease& lease) {
    if (st.book.is_prepared(id))
      return;
    books.leases.emplace(id, durable_lease_of(self, id, lease));
  });
  st.book.for_each_reservation(
      [&](std::uint64_t id, const pool_book::Reservation& r) {
        if (r.preemption != 0)
          return;
        books.reservations.emplace(id, durable_reservation_of(self, r));
      });
  for (const auto& [name, q] : st.quotas)
    books.quotas.emplace(name, q.spec);
  books.has_policy = has_policy;
  books.policy = st.policy;
  books.shed = st.shed;
  return books;
}

/// Puts the books kept in the data directory back: grants wait for their
/// holders to reattach (st.orphans) until the grace period ends, and so do
/// reservations whose maker was an actor; anonymous reservations, quotas
/// and the capacity are simply back. Then the journal goes on from a fresh
/// snapshot of exactly what was rebuilt.
void restore(self_ptr self, RecoveredBooks recovered) {
  auto& st = self->state;
  const auto& books = recovered.books;
  auto now = self->clock().now();
  auto wall_now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  for (const auto& [name, spec] : books.quotas)
    set_quota(self, spec);
  for (const auto& [id, kept] : books.leases) {
    // Expired while the node was down: it would expire at once.
    if (kept.has_ttl && kept.expires_at_ns <= wall_now)
      continue;
    auto expires_at =
        kept.has_ttl ? pool_time_of(self, kept.expires_at_ns) : pool_time{};
    if (kept.priority > static_cast<std::uint8_t>(Priority::IDLE) ||
        !st.book.restore(id, kept.requester, caf::actor_addr{}, kept.amount,
                         static_cast<Priority>(kept.priority), kept.preemptable,
                         kept.has_ttl, expires_at))
      continue; // does not fit a smaller capacity: not kept
    note_group_change(st, kept.requester, kept.amount);
    st.orphans.insert(id);
    if (kept.token != 0)
      st.tokens.emplace(id, kept.token);
    if (kept.has_ttl)
      self->delayed_send(self, expires_at - now, expire_atom::value, id);
  }
  for (const auto& [old_id, kept] : books.reservations) {
    if (kept.expires && kept.expires_at_ns <= wall_now)
      continue;
    auto expires_at =
        kept.expires ? pool_time_of(self, kept.expires_at_ns) : pool_time{};
    auto id = st.book.reserve(kept.requester, caf::actor_addr{}, kept.remaining,
                              kept.expires, expires_at);
    if (id == 0)
      continue;
    if (!kept.anonymous)
      st.orphan_reservations.insert(id);
    if (kept.expires)
      self->delayed_send(self, expires_at - now, resexpire_atom::value, id);
  }
  note_usage(st);
  if (books.has_policy) {
    st.policy = books.policy;
    st.waiting.set_aging_interval(st.policy.aging_interval, now);
  }
  // Shedding is not put back: the monitor decides again from fresh samples.
  st.book.track_changes();
  bool has_capacity = books.has_capacity;
  bool has_policy = books.has_policy;
  auto opened = PoolJournal::open(pool_files(st.storage->dir, st.type),
                                  st.storage->journal, std::move(recovered));
  if (auto failed = std::get_if<StorageError>(&opened)) {
    st.storage_failure = failed->text();
    return;
  }
  st.journal.emplace(std::move(std::get<PoolJournal>(opened)));
  if (auto failed =
          st.journal->rewrite(durable_books_of(self, has_capacity, has_policy)))
    st.storage_failure = failed->text();
  if (!st.orphans.empty() || !st.orphan_reservations.empty())
    self->delayed_send(self, st.storage->reattach_grace, orphans_atom::value);
}

} // namespace

pool_actor::behavior_type pool(self_ptr self, ResourceType type,
                               double capacity, PoolPolicy policy) {
  return supervised_pool(self, type, capacity, policy, caf::actor_addr{});
}

pool_actor::behavior_type
supervised_pool(self_ptr self, ResourceType type, double capacity,
                PoolPolicy policy, caf::actor_addr supervisor,
                std::shared_ptr<const StorageSettings> storage) {
  auto& st = self->state;
  st.supervisor = std::move(supervisor);
  st.type = type;
  st.policy = policy;
  st.storage = std::move(storage);
  auto capacity_units = to_units(capacity);
  std::optional<RecoveredBooks> recovered;
  if (st.storage) {
    auto read = recover_books(pool_files(st.storage->dir, type));
    if (auto failed = std::get_if<StorageError>(&read)) {
      // Nothing guessed: the pool serves nothing new until an operator
      // looks (rros node checks the same files before it starts).
      st.storage_failure = failed->text();
    } else {
      recovered.emplace(std::move(std::get<RecoveredBooks>(read)));
      // Ids kept from before the restart stay below the new ones.
      skip_incarnations_past(incarnation_of(recovered->books.highest_id));
      if (recovered->books.has_capacity)
        capacity_units = recovered->books.capacity;
    }
  }
  st.book = pool_book{capacity_units, first_id_of(next_incarnation())};
  st.waiting = pool_queue{policy.aging_interval};
  restart_statistics(st, self->clock().now());
  if (recovered)
    restore(self, std::move(*recovered));
  self->set_down_handler([=](caf::down_msg& msg) {
    holder_down(self, msg.source);
    persist(self);
  });
  return {
      [=](allocate_atom,
          const ResourceRequest& req) -> caf::result<ResourceAllocation> {
        auto started = std::chrono::steady_clock::now();
        auto result = allocate(self, req);
        self->state.allocation_time_total +=
            std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now() - started);
        return durable_allocation(self, std::move(result));
      },
      [=](release_atom, const std::string& requester, float amount,
          ReleaseMode mode) {
        return durable(self, release(self, requester, amount, mode));
      },
      [=](release_atom, GrantId id) -> caf::result<ReleaseReceipt> {
        return durable(self,
                       caf::result<ReleaseReceipt>{release_grant(self, id)});
      },
      [=](reattach_atom, GrantId id,
          std::uint64_t token) -> caf::result<ResourceAllocation> {
        auto& st = self->state;
        auto kept = st.tokens.find(id);
        auto* lease = st.book.find_committed(id);
        auto holder = sender_of(self);
        // The same answer for a wrong token as for an unknown id.
        if (st.orphans.count(id) == 0 || kept == st.tokens.end() ||
            token == 0 || kept->second != token || lease == nullptr || !holder)
          return unknown_grant(id, st.type);
        st.orphans.erase(id);
        lease->holder = holder;
        watch(self, holder);
        ResourceRequest req;
        req.requester_id = lease->requester;
        req.amount = static_cast<float>(to_amount(lease->amount));
        return allocation_of(st, req, lease->amount, lease->amount, id);
      },
      [=](renew_atom, GrantId id,
          std::chrono::nanoseconds ttl) -> caf::result<ResourceAllocation> {
        auto& st = self->state;
        if (auto bad = check_duration(ttl, "a renewal's time-to-live",
                                      zero_duration::refused))
          return bad;
        auto* lease = st.book.find_committed(id);
        if (lease == nullptr || lease->holder != sender_of(self))
          return unknown_grant(id, st.type);
        lease->has_ttl = true;
        lease->expires_at = saturating_add(self->clock().now(), ttl);
        st.book.touch(id);
        self->delayed_send(self, ttl, expire_atom::value, id);
        ResourceRequest req;
        req.requester_id = lease->requester;
        req.amount = static_cast<float>(to_amount(lease->amount));
        return durable(self, caf::result<ResourceAllocation>{allocation_of(
                                 st, req, lease->amount, lease->amount, id)});
      },
      [=](cancel_atom, const std::string& requester,
          std::uint64_t request_id) -> caf::result<bool> {
        auto& st = self->state;
        auto caller = sender_of(self);
        auto* found =
            st.waiting.find(requester, request_id, [&](const auto& e) {
              return e.payload.holder == caller;
            });
        if (found == nullptr)
          return make_error(ec::unknown_request,
                            "'" + requester + "' has no waiting request " +
                                std::to_string(request_id));
        auto w = take_waiter(self, found->seq);
        w->payload.promise.deliver(
            make_error(ec::cancelled, "cancelled by '" + requester + "'"));
        drop_waiter(self, *w);
        serve_waiting(self);
        persist(self);
        return true;
      },
      [=](reserve_atom, const std::string& requester, float amount) {
        return durable(self, reserve(self, requester, amount,
                                     std::chrono::nanoseconds{0}));
      },
      [=](reserve_atom, const std::string& requester, float amount,
          std::chrono::nanoseconds ttl) {
        return durable(self, reserve(self, requester, amount, ttl));
      },
      [=](unreserve_atom, const std::string& requester) -> caf::result<float> {
        auto& st = self->state;
        if (auto err = check_requester(requester))
          return err;
        advance_clock(st, self->clock().now());
        // Only what the caller reserved: another actor's reservation under
        // the same name gets the same answer as none at all.
        auto returned = st.book.unreserve_requester(requester, sender_of(self));
        if (returned == 0)
          return make_error(ec::nothing_held, "'" + requester +
                                                  "' has no reservation of " +
                                                  to_string(st.type));
        changed(self, true);
        serve_waiting(self);
        return durable(
            self, caf::result<float>{static_cast<float>(to_amount(returned))});
      },
      [=](holding_atom, const std::string& requester) -> float {
        return static_cast<float>(
            to_amount(self->state.book.releasable_by(requester)));
      },
      [=](status_atom) -> PoolStatus { return status_of(self->state); },
      [=](holders_atom) -> PoolHolders { return holders_of(self); },
      [=](allocate_atom, const AllocationBatch& batch)
          -> caf::result<std::vector<AllocationOutcome>> {
        if (batch.size() > max_batch_items)
          return batch_too_long(self->state, batch.size());
        std::vector<AllocationOutcome> result(batch.size());
        for (std::size_t i = 0; i < batch.size(); ++i) {
          auto started = std::chrono::steady_clock::now();
          // Never waits, so never a promise: a value or an error.
          auto r = allocate(self, batch[i], false);
          self->state.allocation_time_total +=
              std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::steady_clock::now() - started);
          if (r.flag == caf::rt_value) {
            result[i].allocation =
                std::move(r.value.get_mutable_as<ResourceAllocation>(0));
            if (auto refused = take_back_if_unwritten(
                    self, result[i].allocation.grant_id)) {
              result[i].allocation = ResourceAllocation{};
              result[i].error = std::move(refused);
            }
          } else {
            result[i].error = std::move(r.err);
          }
        }
        return durable(self, caf::result<std::vector<AllocationOutcome>>{
                                 std::move(result)});
      },
      [=](release_atom, const ReleaseBatch& batch)
          -> caf::result<std::vector<ReleaseOutcome>> {
        if (batch.size() > max_batch_items)
          return batch_too_long(self->state, batch.size());
        std::vector<ReleaseOutcome> result(batch.size());
        for (std::size_t i = 0; i < batch.size(); ++i) {
          auto r = release_grant(self, batch[i]);
          if (r)
            result[i].receipt = std::move(*r);
          else
            result[i].error = std::move(r.error());
        }
        return durable(
            self, caf::result<std::vector<ReleaseOutcome>>{std::move(result)});
      },
      [=](stats_atom) -> ResourceStats {
        return make_stats(self->state, self->clock().now());
      },
      [=](capacity_atom, double capacity) -> caf::result<PoolStatus> {
        auto& st = self->state;
        if (!may_administer(self))
          return admin_only(st, "the capacity");
        if (!std::isfinite(capacity) || capacity <= 0 ||
            capacity > max_amount || to_units(capacity) <= 0)
          return make_error(ec::invalid_config_value,
                            "capacity of " + std::string{to_string(st.type)} +
                                " must be in [0.000001, 1e12], got " +
                                format_number(capacity));
        auto usage = st.ledger().held() + st.ledger().reserved();
        if (!st.book.set_capacity(to_units(capacity)))
          return make_error(ec::capacity_below_usage,
                            "capacity of " + std::string{to_string(st.type)} +
                                " cannot drop to " + format_number(capacity) +
                                " while " + format_number(to_amount(usage)) +
                                " is held or reserved");
        BookRecord rec;
        rec.kind = BookRecord::Kind::capacity;
        rec.capacity = st.ledger().capacity();
        persist_setting(self, std::move(rec));
        changed(self, true);
        serve_waiting(self);
        return durable(self, caf::result<PoolStatus>{status_of(st)});
      },
      [=](quota_atom, const Quota& spec) -> caf::result<Quota> {
        if (!may_administer(self))
          return admin_only(self->state, "a quota");
        auto result = set_quota(self, spec);
        if (result.flag == caf::rt_value) {
          BookRecord rec;
          rec.kind = BookRecord::Kind::quota;
          rec.quota = spec;
          persist_setting(self, std::move(rec));
        }
        return durable(self, std::move(result));
      },
      [=](policy_atom, const PoolPolicy& policy) {
        if (!may_administer(self))
          return; // administration: local senders only
        self->state.policy = policy;
        self->state.waiting.set_aging_interval(policy.aging_interval,
                                               self->clock().now());
        BookRecord rec;
        rec.kind = BookRecord::Kind::policy;
        rec.policy = policy;
        persist_setting(self, std::move(rec));
        serve_waiting(self);
      },
      [=](shed_atom, const ShedPolicy& policy) {
        auto& st = self->state;
        if (st.peers_known && sender_of(self) != st.monitor)
          return; // only the monitor degrades a pool
        st.shed = policy;
        BookRecord rec;
        rec.kind = BookRecord::Kind::shed;
        rec.shed = policy;
        persist_setting(self, std::move(rec));
        apply_shed(self);
        serve_waiting(self);
      },
      [=](listen_atom, caf::actor listener, bool on) {
        // An actor registers itself only: nobody points a pool's reports at
        // a third party.
        if (!listener || listener.address() != sender_of(self))
          return;
        auto& ls = self->state.listeners;
        ls.erase(std::remove(ls.begin(), ls.end(), listener), ls.end());
        if (on && listener) {
          ls.push_back(listener);
          // Dropped when it ends (holder_down).
          self->monitor(listener);
          changed(self, false);
        }
      },
      [=](prepare_atom, const ResourceRequest& req)
          -> caf::result<ResourceAllocation, PoolStatus> {
        return prepare(self, req);
      },
      [=](commit_atom, GrantId id, caf::actor holder) -> caf::result<GrantId> {
        auto& st = self->state;
        auto unknown = [&] {
          return make_error(ec::unknown_grant,
                            "no prepared leg " + std::to_string(id) +
                                " of this sender in the " + to_string(st.type) +
                                " pool");
        };
        // Only the actor that prepared the leg (the coordinator) commits it.
        auto* leg = st.book.find(id);
        if (leg == nullptr || !st.book.is_prepared(id) ||
            leg->holder != sender_of(self))
          return unknown();
        std::chrono::nanoseconds ttl{0};
        auto addr = holder ? holder.address() : caf::actor_addr{};
        if (!st.book.commit(id, addr, ttl))
          return unknown(); // gone already (reset, or the coordinator died)
        auto& lease = *st.book.find(id);
        watch(self, addr);
        // The leg's time-to-live runs from the commit.
        if (ttl.count() > 0) {
          lease.has_ttl = true;
          lease.expires_at = saturating_add(self->clock().now(), ttl);
          self->delayed_send(self, ttl, expire_atom::value, id);
        }
        // A leg a restart would not know is taken back, as an allocation.
        if (auto refused = take_back_if_unwritten(self, id))
          return refused;
        // Now preemptable (when asked for): a blocked request may use it.
        if (st.book.find(id)->preemptable)
          serve_waiting(self);
        return durable(self, caf::result<GrantId>{id});
      },
      [=](abort_atom, GrantId id) {
        auto& st = self->state;
        if (!st.book.is_prepared(id) ||
            st.book.find(id)->holder != sender_of(self))
          return; // only the leg's preparer takes it back
        st.aborting = true;
        shrink_lease(self, id, st.book.find(id)->amount);
        st.aborting = false;
        // As if never granted: the bundle was not.
        --st.allocation_count;
        serve_waiting(self);
        persist(self);
      },
      [=](publish_atom) {
        auto& st = self->state;
        if (!from_self(self))
          return;
        st.publish_pending = false;
        auto status = status_of(st);
        // Sent as the pool, so that a listener can tell its pools' reports
        // from forged ones.
        for (auto& listener : st.listeners)
          self->send(caf::actor_cast<usage_listener_actor>(listener),
                     usage_atom::value, status);
      },
      [=](peers_atom, caf::actor coordinator, caf::actor monitor) {
        auto& st = self->state;
        if (!st.supervisor || sender_of(self) != st.supervisor)
          return;
        auto monitor_addr = monitor ? monitor.address() : caf::actor_addr{};
        bool new_monitor = !st.peers_known || st.monitor != monitor_addr;
        if (st.peers_known && new_monitor && st.shed.degraded) {
          // A replaced monitor starts with nothing degraded.
          st.shed = ShedPolicy{};
          changed(self, true);
        }
        st.coordinator =
            coordinator ? coordinator.address() : caf::actor_addr{};
        st.monitor = monitor_addr;
        st.peers_known = true;
        if (monitor && new_monitor)
          self->monitor(monitor);
        serve_waiting(self);
      },
      [=](reset_atom) -> caf::result<PoolStatus> {
        auto& st = self->state;
        if (!may_administer(self))
          return admin_only(st, "a reset");
        auto all = waiters_where(self, [](const pool_waiter&) { return true; });
        for (auto seq : all)
          st.waiting.take(seq)->payload.promise.deliver(
              make_error(ec::cancelled, "the pool was reset"));
        st.backfill_amounts.clear();
        st.waiters_of_holder.clear();
        st.waiting_of_node.clear();
        st.preemptions.clear();
        st.book.clear();
        for (auto& [name, q] : st.quotas)
          q.used = 0;
        restart_statistics(st, self->clock().now());
        changed(self, true);
        return durable(self, caf::result<PoolStatus>{status_of(st)});
      },
      [=](expire_atom, GrantId id) {
        auto& st = self->state;
        if (!from_self(self))
          return; // a timer only the pool itself may fire
        auto* lease = st.book.find(id);
        if (lease == nullptr || !lease->has_ttl ||
            self->clock().now() < lease->expires_at)
          return; // returned already, or renewed since
        ++st.expiry_count;
        notify(self, id, *lease, RevokeReason::expired,
               std::chrono::nanoseconds{0});
        shrink_lease(self, id, lease->amount);
        serve_waiting(self);
        persist(self);
      },
      [=](deadline_atom, std::uint64_t seq) {
        auto& st = self->state;
        if (!from_self(self))
          return; // a timer only the pool itself may fire
        auto w = take_waiter(self, seq);
        if (!w)
          return; // granted or cancelled before
        note_refusal(st, ec::deadline_expired);
        w->payload.promise.deliver(make_error(
            ec::deadline_expired,
            "not granted within the deadline of " +
                std::to_string(w->payload.request.deadline.count()) + " ms"));
        drop_waiter(self, *w);
        serve_waiting(self);
        persist(self);
      },
      [=](reclaim_atom, std::uint64_t id) {
        auto& st = self->state;
        if (!from_self(self))
          return; // a timer only the pool itself may fire
        auto p = st.preemptions.find(id);
        if (p == st.preemptions.end())
          return; // the request it served is gone
        for (auto victim : p->second.victims) {
          auto* lease = st.book.find(victim);
          if (lease != nullptr && lease->revoked_by == id)
            shrink_lease(self, victim, lease->amount);
        }
        if (p->second.waiter == 0)
          st.preemptions.erase(p); // a shed: nobody waits for it
        serve_waiting(self);
        persist(self);
      },
      [=](resexpire_atom, std::uint64_t id) {
        auto& st = self->state;
        if (!from_self(self))
          return; // a timer only the pool itself may fire
        if (st.book.find_reservation(id) == nullptr)
          return; // used up or cancelled
        advance_clock(st, self->clock().now());
        st.book.unreserve(id);
        changed(self, true);
        serve_waiting(self);
        persist(self);
      },
      [=](logsync_atom) {
        auto& st = self->state;
        if (!from_self(self) || !st.journal)
          return; // a timer only the pool itself may fire
        st.sync_scheduled = false;
        caf::error err;
        if (auto failed = st.journal->sync()) {
          st.storage_failure = failed->text();
          err = storage_refusal(st);
        }
        auto replies = std::move(st.after_sync);
        st.after_sync.clear();
        for (auto& reply : replies)
          reply(err ? &err : nullptr);
      },
      [=](orphans_atom) {
        auto& st = self->state;
        if (!from_self(self))
          return; // a timer only the pool itself may fire
        // The grace period is over: what nobody took back returns.
        auto unclaimed = std::move(st.orphans);
        st.orphans.clear();
        for (auto id : unclaimed)
          if (const auto* lease = st.book.find(id))
            shrink_lease(self, id, lease->amount);
        auto reservations = std::move(st.orphan_reservations);
        st.orphan_reservations.clear();
        for (auto id : reservations)
          st.book.unreserve(id);
        if (!unclaimed.empty() || !reservations.empty())
          changed(self, true);
        serve_waiting(self);
        persist(self);
      },
  };
}

} // namespace rros
