#include "actors/pool.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "messages/error.hpp"
#include "messages/validate.hpp"

namespace rros {

namespace {

using self_ptr = pool_actor::stateful_pointer<pool_state>;

std::string format_amount(double amount) {
  std::ostringstream out;
  out << amount;
  return out.str();
}

/// Converts and checks an amount: finite, positive, at least one unit and at
/// most max_amount. On success returns the units and leaves `err` empty.
units checked_units(double amount, caf::error& err) {
  if (std::isnan(amount) || std::isinf(amount) || amount <= 0) {
    err = make_error(ec::invalid_amount,
                     "amount must be a finite number above 0, got " +
                         format_amount(amount));
    return 0;
  }
  if (amount > max_amount) {
    err = make_error(ec::amount_too_large,
                     "amount " + format_amount(amount) + " is above 1e12");
    return 0;
  }
  auto result = to_units(amount);
  if (result <= 0)
    err = make_error(ec::invalid_amount,
                     "amount " + format_amount(amount) +
                         " is below the ledger's resolution of 0.000001");
  return result;
}

caf::error check_requester(const std::string& requester) {
  if (requester.empty())
    return make_error(ec::empty_requester, "requester id must not be empty");
  return caf::none;
}

/// Checks a requester id and an amount together (releases, reservations).
units checked_order(const std::string& requester, double amount,
                    caf::error& err) {
  err = check_requester(requester);
  return err ? 0 : checked_units(amount, err);
}

/// Adds the usage since the last change to the time-weighted integral.
void advance_clock(pool_state& st, caf::actor_clock::time_point now) {
  auto usage = st.ledger.held() + st.ledger.reserved();
  auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
      now - st.last_change);
  st.usage_integral +=
      static_cast<double>(usage) * static_cast<double>(elapsed.count());
  st.last_change = now;
}

void note_usage(pool_state& st) {
  st.peak_usage =
      std::max(st.peak_usage, st.ledger.held() + st.ledger.reserved());
}

void restart_statistics(pool_state& st, caf::actor_clock::time_point now) {
  st.peak_usage = st.ledger.held() + st.ledger.reserved();
  st.usage_integral = 0;
  st.since = now;
  st.last_change = now;
  st.allocation_count = 0;
  st.rejection_count = 0;
  st.preemption_count = 0;
  st.allocation_time_total = std::chrono::nanoseconds{0};
}

ResourceStats make_stats(const pool_state& st,
                         caf::actor_clock::time_point now) {
  ResourceStats result;
  result.type = st.type;
  result.total_capacity = static_cast<float>(to_amount(st.ledger.capacity()));
  auto usage = st.ledger.held() + st.ledger.reserved();
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
  return result;
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
  auto result = st.ledger.grantable_to(requester);
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
  return static_cast<double>(st.ledger.held_by(requester)) / weight;
}

/// The exact ledger plus the queue length.
PoolStatus status_of(const pool_state& st) {
  auto result = st.ledger.status(st.type);
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
void notify(self_ptr self, GrantId id, const Lease& lease, RevokeReason reason,
            std::chrono::nanoseconds grace) {
  if (!lease.holder)
    return;
  GrantNotice notice{id,
                     lease.requester,
                     self->state.type,
                     static_cast<float>(to_amount(lease.amount)),
                     reason,
                     grace};
  caf::anon_send(caf::actor_cast<grant_holder_actor>(lease.holder),
                 revoke_atom::value, std::move(notice));
}

/// Takes `amount` out of the requester's reservations: preemption reserves
/// first, then those that expire soonest, then the rest.
void consume_reservations(pool_state& st, const std::string& requester,
                          units amount) {
  std::vector<std::map<std::uint64_t, Reservation>::iterator> mine;
  for (auto i = st.reservations.begin(); i != st.reservations.end(); ++i)
    if (i->second.requester == requester)
      mine.push_back(i);
  std::sort(mine.begin(), mine.end(), [](auto x, auto y) {
    auto rank = [](const Reservation& r) {
      return r.preemption != 0 ? 0 : (r.expires ? 1 : 2);
    };
    if (rank(x->second) != rank(y->second))
      return rank(x->second) < rank(y->second);
    if (x->second.expires && y->second.expires)
      return x->second.expires_at < y->second.expires_at;
    return x->first < y->first;
  });
  for (auto i : mine) {
    if (amount == 0)
      break;
    auto taken = std::min(amount, i->second.remaining);
    i->second.remaining -= taken;
    amount -= taken;
    if (i->second.remaining == 0)
      st.reservations.erase(i);
  }
}

/// Records a grant of `amount` (already known to fit) and returns its id. A
/// bundle leg (`leg`) is prepared: its time-to-live starts at the commit.
GrantId grant(self_ptr self, const ResourceRequest& req, units amount,
              const caf::actor_addr& holder, bool leg = false) {
  auto& st = self->state;
  auto now = self->clock().now();
  advance_clock(st, now);
  consume_reservations(
      st, req.requester_id,
      std::min(amount, st.ledger.reserved_for(req.requester_id)));
  st.ledger.grant(req.requester_id, amount);
  note_group_change(st, req.requester_id, amount);
  note_usage(st);
  ++st.allocation_count;
  auto id = st.next_id++;
  bool ttl_now = req.ttl.count() > 0 && !leg;
  Lease lease{req.requester_id,
              holder,
              amount,
              req.priority,
              req.preemptable,
              ttl_now,
              saturating_add(now, req.ttl),
              0};
  st.leases.emplace(id, std::move(lease));
  st.leases_of_requester[req.requester_id].push_back(id);
  watch(self, holder);
  if (leg)
    st.prepared.emplace(id, req.ttl);
  else if (ttl_now)
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
  auto i = st.leases.find(id);
  if (i == st.leases.end())
    return;
  auto& lease = i->second;
  changed(self, true);
  advance_clock(st, self->clock().now());
  st.ledger.release(lease.requester, amount);
  note_group_change(st, lease.requester, -amount);
  lease.amount -= amount;
  if (lease.revoked_by != 0) {
    auto p = st.preemptions.find(lease.revoked_by);
    // A shed (no asker) returns capacity to the pool.
    if (p != st.preemptions.end() && !p->second.asker.empty() &&
        st.ledger.reserve(p->second.asker, amount)) {
      Reservation r;
      r.requester = p->second.asker;
      r.remaining = amount;
      r.preemption = lease.revoked_by;
      st.reservations.emplace(st.next_id++, std::move(r));
    }
  }
  if (lease.amount > 0)
    return;
  // An emptied list is kept for the requester's next grant: modules come
  // back, and dropping it would cost an allocation per grant (reset clears).
  auto& ids = st.leases_of_requester[lease.requester];
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  st.prepared.erase(id);
  st.leases.erase(i);
}

/// Returns every reservation a finished preemption still keeps, and takes
/// back the revoke marks of victims it no longer needs.
void end_preemption(self_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto p = st.preemptions.find(id);
  if (p == st.preemptions.end())
    return;
  for (auto victim : p->second.victims) {
    auto lease = st.leases.find(victim);
    if (lease != st.leases.end() && lease->second.revoked_by == id)
      lease->second.revoked_by = 0;
  }
  for (auto i = st.reservations.begin(); i != st.reservations.end();) {
    if (i->second.preemption == id) {
      st.ledger.unreserve(i->second.requester, i->second.remaining);
      i = st.reservations.erase(i);
    } else {
      ++i;
    }
  }
  st.preemptions.erase(p);
}

/// Removes a waiter and whatever it had set in motion.
void drop_waiter(self_ptr self, std::vector<Waiter>::iterator w) {
  auto preemption = w->preemption;
  self->state.waiting.erase(w);
  changed(self, true);
  if (preemption != 0)
    end_preemption(self, preemption);
}

// -- waiting and preemption ---------------------------------------------------

/// Aging: a waiting request rises one priority level per aging interval
/// waited, up to CRITICAL's level.
int effective_level(const pool_state& st, const Waiter& w, pool_time now) {
  auto level = static_cast<int>(w.request.priority);
  auto interval = st.policy.aging_interval.count();
  if (interval > 0) {
    auto waited =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - w.enqueued)
            .count();
    level -= static_cast<int>(std::min<std::int64_t>(waited / interval, 4));
  }
  return std::max(level, 0);
}

/// Orders the queue: effective priority, then deadline, then arrival.
void sort_waiting(pool_state& st, pool_time now) {
  std::sort(st.waiting.begin(), st.waiting.end(),
            [&](const Waiter& x, const Waiter& y) {
              auto lx = effective_level(st, x, now);
              auto ly = effective_level(st, y, now);
              if (lx != ly)
                return lx < ly;
              // Equal priority: the requester with the smaller weighted
              // share goes first (max-min fairness across requesters).
              auto sx = weighted_share(st, x.request.requester_id);
              auto sy = weighted_share(st, y.request.requester_id);
              if (sx != sy)
                return sx < sy;
              if (x.deadline != y.deadline)
                return x.deadline < y.deadline;
              return x.seq < y.seq;
            });
}

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
void try_preempt(self_ptr self, Waiter& w) {
  auto& st = self->state;
  if (w.preemption != 0)
    return;
  auto lacking = w.amount - grantable(st, w.request.requester_id);
  if (lacking <= 0)
    return;
  std::vector<std::map<GrantId, Lease>::iterator> candidates;
  for (auto i = st.leases.begin(); i != st.leases.end(); ++i) {
    auto& lease = i->second;
    // A prepared bundle leg is not preemptable until committed: its holder
    // is not known to the pool yet, so nobody could be told.
    if (lease.preemptable && lease.revoked_by == 0 &&
        lease.priority > w.request.priority &&
        lease.requester != w.request.requester_id &&
        st.prepared.count(i->first) == 0)
      candidates.push_back(i);
  }
  // Lowest priority first; within it the largest, so that fewest are taken.
  std::sort(candidates.begin(), candidates.end(), [](auto x, auto y) {
    if (x->second.priority != y->second.priority)
      return x->second.priority > y->second.priority;
    if (x->second.amount != y->second.amount)
      return x->second.amount > y->second.amount;
    return x->first < y->first;
  });
  std::vector<GrantId> victims;
  units covered = 0;
  for (auto i : candidates) {
    if (covered >= lacking ||
        victims.size() >= st.policy.max_preemptions_per_round)
      break;
    victims.push_back(i->first);
    covered += i->second.amount;
  }
  if (covered < lacking)
    return; // preempting could not satisfy it: take nothing
  auto id = st.next_id++;
  w.preemption = id;
  // What is free now is part of the plan: keep it for the asker too, so a
  // bystander cannot take it during the grace period.
  auto free_part =
      std::min(st.ledger.available(),
               w.amount - st.ledger.reserved_for(w.request.requester_id));
  if (free_part > 0 && st.ledger.reserve(w.request.requester_id, free_part)) {
    Reservation r;
    r.requester = w.request.requester_id;
    r.remaining = free_part;
    r.preemption = id;
    st.reservations.emplace(st.next_id++, std::move(r));
  }
  st.preemptions.emplace(id,
                         Preemption{w.seq, w.request.requester_id, victims});
  st.preemption_count += victims.size();
  for (auto victim : victims) {
    auto& lease = st.leases.at(victim);
    lease.revoked_by = id;
    notify(self, victim, lease, RevokeReason::preempted,
           st.policy.preemption_grace);
  }
  self->delayed_send(self, st.policy.preemption_grace, reclaim_atom::value, id);
}

/// Grants waiting requests that fit, best-ranked first; starts preemption for
/// the first one that is blocked.
void serve_waiting(self_ptr self) {
  auto& st = self->state;
  if (st.waiting.empty())
    return;
  auto now = self->clock().now();
  sort_waiting(st, now);
  bool blocked = false;
  pool_time blocked_deadline;
  for (std::size_t i = 0; i < st.waiting.size();) {
    auto& w = st.waiting[i];
    auto fits = w.amount <= grantable(st, w.request.requester_id);
    if (fits && (!blocked || may_pass(w.request, now, blocked_deadline))) {
      auto id = grant(self, w.request, w.amount, w.holder);
      w.promise.deliver(allocation_of(st, w.request, w.amount, w.amount, id));
      // Ending a preemption returns what its asker did not need: requests
      // already passed may fit now, so look at the queue again from the top.
      bool returns_capacity = w.preemption != 0;
      drop_waiter(self, st.waiting.begin() + static_cast<std::ptrdiff_t>(i));
      if (returns_capacity && blocked) {
        sort_waiting(st, now);
        i = 0;
        blocked = false;
      }
      continue;
    }
    if (!blocked) {
      try_preempt(self, w);
      blocked = true;
      blocked_deadline = w.deadline;
    }
    ++i;
  }
}

/// Where a new request would stand in the queue: the deadline of the
/// better-ranked blocked request it would have to pass, if any.
bool blocked_ahead(const pool_state& st, const ResourceRequest& req,
                   pool_time now, pool_time deadline, pool_time& blocker) {
  auto level = static_cast<int>(req.priority);
  bool found = false;
  for (const auto& w : st.waiting) {
    auto l = effective_level(st, w, now);
    if (l < level || (l == level && w.deadline <= deadline)) {
      if (!found || w.deadline < blocker)
        blocker = w.deadline;
      found = true;
    }
  }
  return found;
}

// -- handlers -----------------------------------------------------------------

/// Checks a request (allocate_atom or prepare_atom) and converts its amount;
/// counts a rejection for requests that can never fit.
caf::error check_request(self_ptr self, const ResourceRequest& req,
                         units& amount) {
  auto& st = self->state;
  if (!is_valid(req.resource_type))
    return make_error(ec::unknown_resource_type,
                      "resource type " +
                          std::to_string(static_cast<int>(req.resource_type)) +
                          " does not exist");
  if (req.resource_type != st.type)
    return make_error(ec::unknown_resource_type,
                      std::string{"the "} + to_string(st.type) +
                          " pool got a request for " +
                          to_string(req.resource_type));
  if (auto err = check_requester(req.requester_id))
    return err;
  if (!is_valid(req.priority))
    return make_error(ec::invalid_priority,
                      "priority " +
                          std::to_string(static_cast<int>(req.priority)) +
                          " does not exist");
  caf::error err;
  amount = checked_units(req.amount, err);
  if (err)
    return err;
  if (auto bad = check_duration(req.ttl, "time-to-live"))
    return bad;
  if (auto bad = check_duration(req.deadline, "deadline"))
    return bad;
  if (amount > st.ledger.capacity()) {
    ++st.rejection_count;
    return make_error(ec::exceeds_capacity,
                      "requested " + format_amount(req.amount) + " of " +
                          to_string(st.type) + " but its capacity is " +
                          format_amount(to_amount(st.ledger.capacity())));
  }
  if (auto q = quota_of(st, req.requester_id);
      q != nullptr && q->max > 0 && q->used + amount > q->max) {
    ++st.rejection_count;
    return make_error(ec::exceeds_quota,
                      "'" + req.requester_id + "' (group '" + q->spec.name +
                          "') would hold " +
                          format_amount(to_amount(q->used + amount)) + " of " +
                          to_string(st.type) + ", its maximum is " +
                          format_amount(to_amount(q->max)));
  }
  if (st.shed.degraded && req.priority >= st.shed.refuse_from) {
    ++st.rejection_count;
    return make_error(ec::shed, std::string{to_string(st.type)} +
                                    " is degraded and sheds " +
                                    to_string(req.priority) + " requests");
  }
  return caf::none;
}

caf::result<ResourceAllocation> allocate(self_ptr self,
                                         const ResourceRequest& req) {
  auto& st = self->state;
  units amount = 0;
  if (auto err = check_request(self, req, amount))
    return err;
  auto now = self->clock().now();
  auto deadline = saturating_add(now, req.deadline);
  auto holder = self->current_sender() ? self->current_sender()->address()
                                       : caf::actor_addr{};
  auto can_have = grantable(st, req.requester_id);
  pool_time blocker;
  auto may_go = st.waiting.empty() ||
                !blocked_ahead(st, req, now, deadline, blocker) ||
                may_pass(req, now, blocker);
  if (amount <= can_have && may_go)
    return allocation_of(st, req, amount, amount,
                         grant(self, req, amount, holder));
  if (req.deadline.count() > 0) {
    // Wait for capacity until the deadline.
    Waiter w;
    w.seq = st.next_id++;
    w.request = req;
    w.amount = amount;
    w.holder = holder;
    w.promise = self->make_response_promise<ResourceAllocation>();
    w.enqueued = now;
    w.deadline = deadline;
    auto promise = w.promise;
    watch(self, holder);
    self->delayed_send(self, req.deadline, deadline_atom::value, w.seq);
    st.waiting.push_back(std::move(w));
    changed(self, false);
    serve_waiting(self);
    return promise;
  }
  if (req.priority == Priority::CRITICAL && can_have > 0 && may_go)
    return allocation_of(st, req, amount, can_have,
                         grant(self, req, can_have, holder));
  ++st.rejection_count;
  return make_error(
      ec::insufficient_resources,
      "requested " + format_amount(req.amount) + " of " + to_string(st.type) +
          ", " + format_amount(to_amount(may_go ? can_have : 0)) +
          " available" +
          (may_go ? "" : " before better-ranked waiting requests"));
}

/// A bundle leg: now or never, held by the sender (the coordinator) until
/// committed.
caf::result<ResourceAllocation, PoolStatus>
prepare(self_ptr self, const ResourceRequest& req) {
  auto& st = self->state;
  units amount = 0;
  if (auto err = check_request(self, req, amount))
    return err;
  auto now = self->clock().now();
  pool_time blocker;
  auto blocked =
      !st.waiting.empty() &&
      blocked_ahead(st, req, now, saturating_add(now, req.deadline), blocker) &&
      !may_pass(req, now, blocker);
  auto can_have = grantable(st, req.requester_id);
  if (amount > can_have || blocked) {
    // Not a rejection of the bundle yet: the coordinator may retry.
    return {allocation_of(st, req, amount, 0, 0), status_of(st)};
  }
  auto holder = self->current_sender() ? self->current_sender()->address()
                                       : caf::actor_addr{};
  auto id = grant(self, req, amount, holder, true);
  return {allocation_of(st, req, amount, amount, id), status_of(st)};
}

/// Degradation: fails waiting requests at shed priorities and revokes
/// preemptable grants at those priorities with notice.
void apply_shed(self_ptr self) {
  auto& st = self->state;
  if (!st.shed.degraded)
    return;
  for (auto w = st.waiting.begin(); w != st.waiting.end();) {
    if (w->request.priority >= st.shed.refuse_from) {
      ++st.rejection_count;
      w->promise.deliver(make_error(
          ec::shed, std::string{to_string(st.type)} +
                        " is degraded and sheds " +
                        to_string(w->request.priority) + " requests"));
      drop_waiter(self, w);
      w = st.waiting.begin();
    } else {
      ++w;
    }
  }
  if (!st.shed.revoke_preemptable)
    return;
  std::vector<GrantId> victims;
  for (auto& [id, lease] : st.leases)
    if (lease.preemptable && lease.revoked_by == 0 &&
        lease.priority >= st.shed.refuse_from && st.prepared.count(id) == 0)
      victims.push_back(id);
  if (victims.empty())
    return;
  auto id = st.next_id++;
  st.preemptions.emplace(id, Preemption{0, std::string{}, victims});
  st.preemption_count += victims.size();
  for (auto victim : victims) {
    auto& lease = st.leases.at(victim);
    lease.revoked_by = id;
    notify(self, victim, lease, RevokeReason::shed, st.policy.preemption_grace);
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
      static_cast<float>(to_amount(st.ledger.held_by(requester)));
  return receipt;
}

/// What `requester` holds in prepared, uncommitted bundle legs (the
/// coordinator's until committed; one attempt at a time, so few).
units prepared_of(const pool_state& st, const std::string& requester) {
  units result = 0;
  for (const auto& entry : st.prepared) {
    const auto& lease = st.leases.at(entry.first);
    if (lease.requester == requester)
      result += lease.amount;
  }
  return result;
}

/// What `requester` holds and may release: its committed grants.
units releasable_by(const pool_state& st, const std::string& requester) {
  auto held = st.ledger.held_by(requester);
  return st.prepared.empty() ? held : held - prepared_of(st, requester);
}

caf::result<ReleaseReceipt> release(self_ptr self, const std::string& requester,
                                    float amount, ReleaseMode mode) {
  auto& st = self->state;
  caf::error err;
  auto wanted = checked_order(requester, amount, err);
  if (err)
    return err;
  auto held = releasable_by(st, requester);
  if (held == 0)
    return make_error(ec::nothing_held,
                      "'" + requester + "' holds no " + to_string(st.type));
  if (wanted > held && mode == ReleaseMode::exact)
    return make_error(ec::release_exceeds_holding,
                      "'" + requester + "' releases " + format_amount(amount) +
                          " of " + to_string(st.type) + " but holds " +
                          format_amount(to_amount(held)));
  auto returned = std::min(wanted, held);
  // Newest grants first, skipping prepared bundle legs (shrink_lease removes
  // an emptied lease from the list, so the index stays valid going down).
  auto& ids = st.leases_of_requester[requester];
  auto left = returned;
  for (auto i = ids.size(); left > 0 && i > 0; --i) {
    auto id = ids[i - 1];
    if (!st.prepared.empty() && st.prepared.count(id) != 0)
      continue;
    auto part = std::min(left, st.leases.at(id).amount);
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
  auto holder = self->current_sender() ? self->current_sender()->address()
                                       : caf::actor_addr{};
  // Other groups' unused guarantees are not available to reserve either.
  auto reservable =
      grantable(st, requester) - st.ledger.reserved_for(requester);
  if (wanted > reservable)
    return make_error(
        ec::insufficient_resources,
        "cannot reserve " + format_amount(amount) + " of " +
            to_string(st.type) + ", " +
            format_amount(to_amount(std::max<units>(0, reservable))) +
            " available");
  auto now = self->clock().now();
  advance_clock(st, now);
  st.ledger.reserve(requester, wanted);
  note_usage(st);
  changed(self, false);
  Reservation r;
  r.requester = requester;
  r.holder = holder;
  r.remaining = wanted;
  r.expires = ttl.count() > 0;
  r.expires_at = saturating_add(now, ttl);
  auto id = st.next_id++;
  st.reservations.emplace(id, std::move(r));
  watch(self, holder);
  if (ttl.count() > 0)
    self->delayed_send(self, ttl, resexpire_atom::value, id);
  return status_of(st);
}

/// Everything a holder had returns; its waiting requests are dropped.
void holder_down(self_ptr self, const caf::actor_addr& holder) {
  auto& st = self->state;
  st.monitored.erase(holder);
  auto& ls = st.listeners;
  ls.erase(std::remove_if(
               ls.begin(), ls.end(),
               [&](const caf::actor& x) { return x.address() == holder; }),
           ls.end());
  // Holders die rarely and grants are made often: find a dead holder's
  // leases by scanning rather than keeping an index up to date per grant.
  std::vector<GrantId> ids;
  for (const auto& [id, lease] : st.leases)
    if (lease.holder == holder)
      ids.push_back(id);
  for (auto id : ids)
    shrink_lease(self, id, st.leases.at(id).amount);
  // Its reservations return too (those a preemption keeps belong to the
  // waiting request, dropped below with its preemption).
  units unreserved = 0;
  for (auto r = st.reservations.begin(); r != st.reservations.end();) {
    if (r->second.preemption == 0 && r->second.holder == holder) {
      advance_clock(st, self->clock().now());
      st.ledger.unreserve(r->second.requester, r->second.remaining);
      unreserved += r->second.remaining;
      r = st.reservations.erase(r);
    } else {
      ++r;
    }
  }
  if (unreserved > 0)
    changed(self, true);
  for (auto w = st.waiting.begin(); w != st.waiting.end();) {
    if (w->holder == holder) {
      drop_waiter(self, w);
      w = st.waiting.begin(); // drop_waiter may have changed the vector
    } else {
      ++w;
    }
  }
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
    return bad("min " + format_amount(spec.min) + " is above max " +
               format_amount(spec.max));
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
  if (!remove && guarantees > st.ledger.capacity())
    return bad("the guarantees would add up to " +
               format_amount(to_amount(guarantees)) + ", above the capacity");
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
      q.used += st.ledger.held_by(m);
    }
    st.quotas.emplace(spec.name, std::move(q));
  }
  changed(self, true); // a guarantee may have been freed
  serve_waiting(self);
  return spec;
}

} // namespace

pool_actor::behavior_type pool(self_ptr self, ResourceType type,
                               double capacity, PoolPolicy policy) {
  auto& st = self->state;
  st.type = type;
  st.policy = policy;
  st.next_id = first_id_of(next_incarnation());
  st.ledger = Ledger{to_units(capacity)};
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
        auto& st = self->state;
        auto i = st.leases.find(id);
        if (i == st.leases.end() || st.prepared.count(id) != 0)
          return unknown_grant(id, st.type);
        auto requester = i->second.requester;
        auto amount = i->second.amount;
        shrink_lease(self, id, amount);
        auto receipt = receipt_of(st, requester, amount);
        serve_waiting(self);
        return receipt;
      },
      [=](renew_atom, GrantId id,
          std::chrono::nanoseconds ttl) -> caf::result<ResourceAllocation> {
        auto& st = self->state;
        if (auto bad = check_duration(ttl, "a renewal's time-to-live",
                                      zero_duration::refused))
          return bad;
        auto i = st.leases.find(id);
        if (i == st.leases.end() || st.prepared.count(id) != 0)
          return unknown_grant(id, st.type);
        i->second.has_ttl = true;
        i->second.expires_at = saturating_add(self->clock().now(), ttl);
        self->delayed_send(self, ttl, expire_atom::value, id);
        ResourceRequest req;
        req.requester_id = i->second.requester;
        req.amount = static_cast<float>(to_amount(i->second.amount));
        return allocation_of(st, req, i->second.amount, i->second.amount, id);
      },
      [=](cancel_atom, const std::string& requester,
          std::uint64_t request_id) -> caf::result<bool> {
        auto& st = self->state;
        auto w = std::find_if(st.waiting.begin(), st.waiting.end(),
                              [&](const Waiter& x) {
                                return x.request.requester_id == requester &&
                                       x.request.request_id == request_id;
                              });
        if (w == st.waiting.end())
          return make_error(ec::unknown_request,
                            "'" + requester + "' has no waiting request " +
                                std::to_string(request_id));
        w->promise.deliver(
            make_error(ec::cancelled, "cancelled by '" + requester + "'"));
        drop_waiter(self, w);
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
        units returned = 0;
        for (auto i = st.reservations.begin(); i != st.reservations.end();) {
          if (i->second.requester == requester && i->second.preemption == 0) {
            returned += i->second.remaining;
            i = st.reservations.erase(i);
          } else {
            ++i;
          }
        }
        if (returned == 0)
          return make_error(ec::nothing_held, "'" + requester +
                                                  "' has no reservation of " +
                                                  to_string(st.type));
        advance_clock(st, self->clock().now());
        st.ledger.unreserve(requester, returned);
        changed(self, true);
        serve_waiting(self);
        return static_cast<float>(to_amount(returned));
      },
      [=](holding_atom, const std::string& requester) -> float {
        return static_cast<float>(
            to_amount(releasable_by(self->state, requester)));
      },
      [=](status_atom) -> PoolStatus { return status_of(self->state); },
      [=](stats_atom) -> ResourceStats {
        return make_stats(self->state, self->clock().now());
      },
      [=](capacity_atom, double capacity) -> caf::result<PoolStatus> {
        auto& st = self->state;
        if (!std::isfinite(capacity) || capacity <= 0 ||
            capacity > max_amount || to_units(capacity) <= 0)
          return make_error(ec::invalid_config_value,
                            "capacity of " + std::string{to_string(st.type)} +
                                " must be in [0.000001, 1e12], got " +
                                format_amount(capacity));
        auto usage = st.ledger.held() + st.ledger.reserved();
        if (!st.ledger.set_capacity(to_units(capacity)))
          return make_error(ec::capacity_below_usage,
                            "capacity of " + std::string{to_string(st.type)} +
                                " cannot drop to " + format_amount(capacity) +
                                " while " + format_amount(to_amount(usage)) +
                                " is held or reserved");
        changed(self, true);
        serve_waiting(self);
        return status_of(st);
      },
      [=](quota_atom, const Quota& spec) -> caf::result<Quota> {
        return set_quota(self, spec);
      },
      [=](policy_atom, const PoolPolicy& policy) {
        self->state.policy = policy;
      },
      [=](shed_atom, const ShedPolicy& policy) {
        self->state.shed = policy;
        apply_shed(self);
        serve_waiting(self);
      },
      [=](listen_atom, caf::actor listener, bool on) {
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
        auto leg = st.prepared.find(id);
        if (leg == st.prepared.end())
          return; // gone already (reset, or the coordinator died)
        auto ttl = leg->second;
        st.prepared.erase(leg);
        auto& lease = st.leases.at(id);
        lease.holder = holder ? holder.address() : caf::actor_addr{};
        watch(self, lease.holder);
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
        if (st.prepared.count(id) == 0)
          return;
        st.aborting = true;
        shrink_lease(self, id, st.leases.at(id).amount);
        st.aborting = false;
        // As if never granted: the bundle was not.
        --st.allocation_count;
        serve_waiting(self);
      },
      [=](publish_atom) {
        auto& st = self->state;
        st.publish_pending = false;
        auto status = status_of(st);
        for (auto& listener : st.listeners)
          caf::anon_send(listener, usage_atom::value, status);
      },
      [=](reset_atom) -> PoolStatus {
        auto& st = self->state;
        for (auto& w : st.waiting)
          w.promise.deliver(make_error(ec::cancelled, "the pool was reset"));
        st.waiting.clear();
        st.preemptions.clear();
        st.reservations.clear();
        st.leases.clear();
        st.leases_of_requester.clear();
        st.ledger.clear();
        for (auto& [name, q] : st.quotas)
          q.used = 0;
        st.prepared.clear();
        restart_statistics(st, self->clock().now());
        changed(self, true);
        return status_of(st);
      },
      [=](expire_atom, GrantId id) {
        auto& st = self->state;
        auto i = st.leases.find(id);
        if (i == st.leases.end() || !i->second.has_ttl ||
            self->clock().now() < i->second.expires_at)
          return; // returned already, or renewed since
        notify(self, id, i->second, RevokeReason::expired,
               std::chrono::nanoseconds{0});
        shrink_lease(self, id, i->second.amount);
        serve_waiting(self);
      },
      [=](deadline_atom, std::uint64_t seq) {
        auto& st = self->state;
        auto w = std::find_if(st.waiting.begin(), st.waiting.end(),
                              [&](const Waiter& x) { return x.seq == seq; });
        if (w == st.waiting.end())
          return; // granted or cancelled before
        ++st.rejection_count;
        w->promise.deliver(make_error(
            ec::deadline_expired,
            "not granted within the deadline of " +
                std::to_string(w->request.deadline.count()) + " ms"));
        drop_waiter(self, w);
        serve_waiting(self);
      },
      [=](reclaim_atom, std::uint64_t id) {
        auto& st = self->state;
        auto p = st.preemptions.find(id);
        if (p == st.preemptions.end())
          return; // the request it served is gone
        for (auto victim : p->second.victims) {
          auto lease = st.leases.find(victim);
          if (lease != st.leases.end() && lease->second.revoked_by == id)
            shrink_lease(self, victim, lease->second.amount);
        }
        if (p->second.waiter == 0)
          st.preemptions.erase(p); // a shed: nobody waits for it
        serve_waiting(self);
      },
      [=](resexpire_atom, std::uint64_t id) {
        auto& st = self->state;
        auto r = st.reservations.find(id);
        if (r == st.reservations.end())
          return; // used up or cancelled
        advance_clock(st, self->clock().now());
        st.ledger.unreserve(r->second.requester, r->second.remaining);
        st.reservations.erase(r);
        changed(self, true);
        serve_waiting(self);
      },
  };
}

} // namespace rros
