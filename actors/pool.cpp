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
  return result;
}

void serve_waiting(self_ptr self);

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
  pending.promise.deliver(
      allocation_of(st, pending.request, pending.amount, pending.amount, id));
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

} // namespace

pool_actor::behavior_type pool(self_ptr self, ResourceType type,
                               double capacity, PoolPolicy policy) {
  return supervised_pool(self, type, capacity, policy, caf::actor_addr{});
}

pool_actor::behavior_type supervised_pool(self_ptr self, ResourceType type,
                                          double capacity, PoolPolicy policy,
                                          caf::actor_addr supervisor) {
  auto& st = self->state;
  st.supervisor = std::move(supervisor);
  st.type = type;
  st.policy = policy;
  st.book = pool_book{to_units(capacity), first_id_of(next_incarnation())};
  st.waiting = pool_queue{policy.aging_interval};
  restart_statistics(st, self->clock().now());
  self->set_down_handler(
      [=](caf::down_msg& msg) { holder_down(self, msg.source); });
  return {
      [=](allocate_atom,
          const ResourceRequest& req) -> caf::result<ResourceAllocation> {
        auto started = std::chrono::steady_clock::now();
        auto result = allocate(self, req);
        self->state.allocation_time_total +=
            std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now() - started);
        return result;
      },
      [=](release_atom, const std::string& requester, float amount,
          ReleaseMode mode) { return release(self, requester, amount, mode); },
      [=](release_atom, GrantId id) -> caf::result<ReleaseReceipt> {
        return release_grant(self, id);
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
        self->delayed_send(self, ttl, expire_atom::value, id);
        ResourceRequest req;
        req.requester_id = lease->requester;
        req.amount = static_cast<float>(to_amount(lease->amount));
        return allocation_of(st, req, lease->amount, lease->amount, id);
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
        return true;
      },
      [=](reserve_atom, const std::string& requester, float amount) {
        return reserve(self, requester, amount, std::chrono::nanoseconds{0});
      },
      [=](reserve_atom, const std::string& requester, float amount,
          std::chrono::nanoseconds ttl) {
        return reserve(self, requester, amount, ttl);
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
        return static_cast<float>(to_amount(returned));
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
          if (r.flag == caf::rt_value)
            result[i].allocation =
                std::move(r.value.get_mutable_as<ResourceAllocation>(0));
          else
            result[i].error = std::move(r.err);
        }
        return result;
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
        return result;
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
        changed(self, true);
        serve_waiting(self);
        return status_of(st);
      },
      [=](quota_atom, const Quota& spec) -> caf::result<Quota> {
        if (!may_administer(self))
          return admin_only(self->state, "a quota");
        return set_quota(self, spec);
      },
      [=](policy_atom, const PoolPolicy& policy) {
        if (!may_administer(self))
          return; // administration: local senders only
        self->state.policy = policy;
        self->state.waiting.set_aging_interval(policy.aging_interval,
                                               self->clock().now());
        serve_waiting(self);
      },
      [=](shed_atom, const ShedPolicy& policy) {
        auto& st = self->state;
        if (st.peers_known && sender_of(self) != st.monitor)
          return; // only the monitor degrades a pool
        st.shed = policy;
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
      [=](commit_atom, GrantId id, caf::actor holder) {
        auto& st = self->state;
        // Only the actor that prepared the leg (the coordinator) commits it.
        auto* leg = st.book.find(id);
        if (leg == nullptr || !st.book.is_prepared(id) ||
            leg->holder != sender_of(self))
          return;
        std::chrono::nanoseconds ttl{0};
        auto addr = holder ? holder.address() : caf::actor_addr{};
        if (!st.book.commit(id, addr, ttl))
          return; // gone already (reset, or the coordinator died)
        auto& lease = *st.book.find(id);
        watch(self, addr);
        // The leg's time-to-live runs from the commit.
        if (ttl.count() > 0) {
          lease.has_ttl = true;
          lease.expires_at = saturating_add(self->clock().now(), ttl);
          self->delayed_send(self, ttl, expire_atom::value, id);
        }
        // Now preemptable (when asked for): a blocked request may use it.
        if (lease.preemptable)
          serve_waiting(self);
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
        return status_of(st);
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
      },
  };
}

} // namespace rros
