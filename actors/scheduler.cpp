// The task scheduler's handlers: admission, the queue (ready, blocked and
// held-back tasks in core/WaitQueue), dispatch through the bundle
// coordinator, running bodies in worker actors, cooperative preemption and
// deferral under degradation. Longer than ~600 lines because these steps
// share one task's life cycle and state; the next split would move running
// and preemption into a file of their own.
#include "actors/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <utility>

#include "actors/sender_checks.hpp"
#include "messages/error.hpp"
#include "messages/limits.hpp"
#include "messages/validate.hpp"

namespace rros {

// -- cooperative cancellation -------------------------------------------------

namespace {

// The token of the task whose body runs on this thread (null outside one).
thread_local const CancellationToken* current_token = nullptr;

/// Sets the current token for the lifetime of a body.
class TokenScope {
public:
  explicit TokenScope(const CancellationToken& token)
    : previous_(current_token) {
    current_token = &token;
  }
  ~TokenScope() {
    current_token = previous_;
  }
  TokenScope(const TokenScope&) = delete;
  TokenScope& operator=(const TokenScope&) = delete;

private:
  const CancellationToken* previous_;
};

} // namespace

bool current_task_cancelled() noexcept {
  return current_token != nullptr && current_token->cancelled();
}

void throw_if_cancelled() {
  if (current_task_cancelled())
    throw TaskCancelled{};
}

CancellationToken current_cancellation_token() {
  return current_token != nullptr ? *current_token : CancellationToken{};
}

const char* const task_runner_name = "rros.task";

namespace {

// -- the runner ---------------------------------------------------------------

struct task_runner_state {
  static inline const char* name = task_runner_name;
};

/// Runs one body, off the scheduler, and reports how it ended. Exceptions
/// never escape: a throwing body is a failed task whose resources return.
caf::behavior task_runner(caf::stateful_actor<task_runner_state>* self,
                          std::function<void()> body, CancellationToken token,
                          scheduler_actor parent, std::uint64_t seq) {
  TaskRunReport report;
  report.seq = seq;
  {
    TokenScope scope{token};
    try {
      body();
      report.outcome = TaskOutcome::completed;
    } catch (const TaskCancelled&) {
      report.outcome = TaskOutcome::preempted;
    } catch (const std::exception& e) {
      report.outcome = TaskOutcome::failed;
      report.error = e.what();
    } catch (...) {
      report.outcome = TaskOutcome::failed;
      report.error = "the task threw a non-standard exception";
    }
  }
  self->send(parent, task_done_atom::value, std::move(report));
  self->quit();
  return {};
}

using self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;
task_rank key_of(const QueuedTask& q) {
  auto deadline = q.has_deadline ? q.deadline.time_since_epoch().count()
                                 : std::numeric_limits<std::int64_t>::max();
  return {static_cast<int>(q.task.priority), deadline, q.seq};
}

std::size_t index_of(Priority p) {
  return static_cast<std::size_t>(p);
}

std::size_t index_of_type(ResourceType t) {
  return static_cast<std::size_t>(t);
}

bool has_pool(const scheduler_state& st, ResourceType type) {
  return is_valid(type) && index_of_type(type) < st.pools.pools.size() &&
         st.pools[type] != nullptr;
}

bool any_degraded(const scheduler_state& st) {
  return std::any_of(st.degraded.begin(), st.degraded.end(),
                     [](bool x) { return x; });
}

bool shares_type(const std::vector<BundleItem>& xs,
                 const std::vector<BundleItem>& ys) {
  for (const auto& x : xs)
    for (const auto& y : ys)
      if (x.type == y.type)
        return true;
  return false;
}

// -- events and counts -----------------------------------------------------

void notify(self_ptr self, const QueuedTask& q, TaskEventKind kind, bool missed,
            std::string detail) {
  auto& st = self->state;
  TaskEvent ev;
  ev.kind = kind;
  ev.task_id = q.task.task_id;
  ev.seq = q.seq;
  ev.priority = q.task.priority;
  ev.deadline_missed = missed;
  ev.detail = std::move(detail);
  ev.at = caf::timestamp{std::chrono::duration_cast<caf::timespan>(
      self->clock().now().time_since_epoch())};
  if (q.task.notify)
    caf::anon_send(q.task.notify, task_event_atom::value, ev);
  for (const auto& sub : st.subscribers)
    if (sub != q.task.notify)
      caf::anon_send(sub, task_event_atom::value, ev);
}

void count_miss(scheduler_state& st, QueuedTask& q) {
  if (q.missed)
    return;
  q.missed = true;
  ++st.counts.missed;
  ++st.counts.missed_by_priority[index_of(q.task.priority)];
}

SchedulerStats stats_of(self_ptr self) {
  auto& st = self->state;
  auto result = st.counts;
  result.pending_tasks = st.queued.size();
  result.pending_by_priority.assign(st.queued_by_priority.begin(),
                                    st.queued_by_priority.end());
  // Deferred: shed, or IDLE while degraded.
  result.deferred = 0;
  for (auto n : st.shed_by_priority)
    result.deferred += n;
  if (any_degraded(st)) {
    auto idle = index_of(Priority::IDLE);
    result.deferred += st.queued_by_priority[idle] - st.shed_by_priority[idle];
  }
  result.running = st.running.size();
  result.degraded = any_degraded(st);
  return result;
}

TaskResult nothing_ran(std::string why) {
  TaskResult result;
  result.outcome = TaskOutcome::nothing;
  result.detail = std::move(why);
  return result;
}

// -- the queue ----------------------------------------------------------------

task_queue::Entry entry_of(const QueuedTask& q) {
  task_queue::Entry e;
  e.seq = q.seq;
  e.requester = q.task.task_id;
  e.priority = static_cast<int>(q.task.priority);
  e.deadline = q.has_deadline ? q.deadline : sched_time::max();
  return e;
}

/// Moves a refused task to the blocked ones, indexed by the types it needs.
void block(scheduler_state& st, QueuedTask& q, sched_time now) {
  q.blocked = true;
  st.blocked.push(entry_of(q), now);
  auto rank = key_of(q);
  for (const auto& item : q.items) {
    auto t = index_of_type(item.type);
    st.blocked_ranks[t].insert(rank);
    st.blocked_at[t].emplace(q.blocked_at[item.type], q.seq);
  }
}

/// Takes a task out of the blocked ones (it is in no queue afterwards).
void unblock_only(scheduler_state& st, QueuedTask& q) {
  if (!q.blocked)
    return;
  q.blocked = false;
  st.blocked.erase(q.seq);
  auto rank = key_of(q);
  for (const auto& item : q.items) {
    auto t = index_of_type(item.type);
    auto& ranks = st.blocked_ranks[t];
    if (auto i = ranks.find(rank); i != ranks.end())
      ranks.erase(i);
    st.released[t] = true;
    auto range = st.blocked_at[t].equal_range(q.blocked_at[item.type]);
    for (auto i = range.first; i != range.second; ++i)
      if (i->second == q.seq) {
        st.blocked_at[t].erase(i);
        break;
      }
  }
}

/// Whether a task may be tried now: in the ready queue.
void make_ready(scheduler_state& st, QueuedTask& q, sched_time now) {
  if (!q.acquiring && !q.shed && !q.blocked && !q.held)
    st.ready.push(entry_of(q), now);
}

/// True when a blocked task ranked ahead of `q` needs one of its types.
bool held_back(const scheduler_state& st, const QueuedTask& q) {
  auto rank = key_of(q);
  for (const auto& item : q.items) {
    const auto& ranks = st.blocked_ranks[index_of_type(item.type)];
    if (!ranks.empty() && *ranks.begin() < rank)
      return true;
  }
  return false;
}

/// Moves a ready task that is held back out of the ready queue.
void hold(scheduler_state& st, QueuedTask& q, sched_time now) {
  st.ready.erase(q.seq);
  q.held = true;
  st.held.push(entry_of(q), now);
  auto rank = key_of(q);
  for (const auto& item : q.items)
    st.held_ranks[index_of_type(item.type)].insert(rank);
}

/// Takes a task out of the held ones (it is in no queue afterwards).
void unhold_only(scheduler_state& st, QueuedTask& q) {
  if (!q.held)
    return;
  q.held = false;
  st.held.erase(q.seq);
  auto rank = key_of(q);
  for (const auto& item : q.items)
    st.held_ranks[index_of_type(item.type)].erase(rank);
}

/// Held tasks on the types whose blocked tasks left go back to the ready
/// queue once no blocked task on any of their types ranks ahead of them.
/// Each scan stops at the first held rank behind the best blocked one.
void release_held(scheduler_state& st, sched_time now) {
  for (std::size_t t = 0; t < resource_type_count; ++t) {
    if (!st.released[t])
      continue;
    st.released[t] = false;
    const auto& blocked = st.blocked_ranks[t];
    std::vector<std::uint64_t> seqs;
    for (const auto& rank : st.held_ranks[t]) {
      if (!blocked.empty() && *blocked.begin() < rank)
        break;
      seqs.push_back(std::get<2>(rank));
    }
    for (auto seq : seqs) {
      auto& q = st.queued.at(seq);
      if (held_back(st, q))
        continue; // another type still holds it back
      unhold_only(st, q);
      make_ready(st, q, now);
    }
  }
}

/// Marks a queued task shed or not, keeping the counts.
void set_shed(scheduler_state& st, QueuedTask& q, bool shed) {
  if (q.shed == shed)
    return;
  q.shed = shed;
  auto& n = st.shed_by_priority[index_of(q.task.priority)];
  n = shed ? n + 1 : n - 1;
}

QueuedTask take(scheduler_state& st, std::uint64_t seq) {
  auto i = st.queued.find(seq);
  auto q = std::move(i->second);
  st.queued.erase(i);
  --st.queued_by_priority[index_of(q.task.priority)];
  set_shed(st, q, false);
  unblock_only(st, q);
  unhold_only(st, q);
  st.ready.erase(seq);
  st.order.erase(key_of(q));
  st.queued_ids.erase(q.task.task_id);
  return q;
}

void put(scheduler_state& st, QueuedTask q, sched_time now) {
  q.acquiring = false;
  q.blocked = false;
  q.held = false;
  q.shed = false; // not counted yet: it is not queued
  ++st.queued_by_priority[index_of(q.task.priority)];
  st.order.insert(key_of(q));
  st.queued_ids.insert(q.task.task_id);
  auto seq = q.seq;
  auto& stored = st.queued.emplace(seq, std::move(q)).first->second;
  make_ready(st, stored, now);
}

/// Listens to the pools exactly while a task is blocked: their reports say
/// when capacity came back.
void update_listening(self_ptr self) {
  auto& st = self->state;
  st.listening.update(self, st.pools, !st.blocked.empty());
}

/// Blocked tasks needing one of `types` (all of them for none) are worth
/// another attempt (a scan: new pool or coordinator handles are rare).
void unblock(self_ptr self, const std::vector<BundleItem>& types) {
  auto& st = self->state;
  auto now = self->clock().now();
  std::vector<std::uint64_t> seqs;
  st.blocked.visit(now, [&](const task_queue::Entry& e) {
    if (types.empty() || shares_type(st.queued.at(e.seq).items, types))
      seqs.push_back(e.seq);
  });
  for (auto seq : seqs) {
    auto& q = st.queued.at(seq);
    unblock_only(st, q);
    make_ready(st, q, now);
  }
  update_listening(self);
}

/// The best task that may start now. Automatic dispatch does not let a task
/// pass a blocked better-ranked one that needs one of the same types (it
/// would take the capacity the blocked one waits for); execute_next simply
/// tries the best task that is not deferred. IDLE tasks rank last, so
/// deferring them while degraded ends the search.
QueuedTask* best_runnable(self_ptr self, bool explicit_request) {
  auto& st = self->state;
  auto now = self->clock().now();
  release_held(st, now);
  bool defer_idle = any_degraded(st);
  auto usable = [&](const task_queue::Entry* e) {
    return e != nullptr &&
           !(defer_idle && e->priority == static_cast<int>(Priority::IDLE));
  };
  if (explicit_request) {
    // The best of the three heads: ready, blocked and held back.
    QueuedTask* best = nullptr;
    for (auto* head :
         {st.ready.head(now), st.blocked.head(now), st.held.head(now)}) {
      if (!usable(head))
        continue;
      auto& q = st.queued.at(head->seq);
      if (best == nullptr || key_of(q) < key_of(*best))
        best = &q;
    }
    return best;
  }
  QueuedTask* result = nullptr;
  std::vector<std::uint64_t> passed;
  st.ready.visit(now, [&](const task_queue::Entry& e) {
    if (!usable(&e))
      return false;
    auto& q = st.queued.at(e.seq);
    if (held_back(st, q)) {
      passed.push_back(e.seq);
      return true;
    }
    result = &q;
    return false;
  });
  // Those walked past wait outside the ready queue until released, so no
  // later decision walks past them again.
  for (auto seq : passed)
    hold(st, st.queued.at(seq), now);
  return result;
}

void pump(self_ptr self);
void start(self_ptr self, QueuedTask q, BundleGrant grant,
           result_promise_ptr promise);

// -- resources ------------------------------------------------------------

/// Returns a bundle; `then` runs once it is back. A coordinator that does
/// not know the bundle (it was replaced) leaves the legs to their pools.
template <class Then>
void release_bundle(self_ptr self, BundleId id,
                    std::vector<ResourceAllocation> legs, Then then) {
  if (id == 0) {
    then();
    return;
  }
  self->request(self->state.bundles, caf::infinite, release_atom::value, id)
      .then([=](std::vector<ReleaseReceipt>&) mutable { then(); },
            [=](caf::error&) mutable {
              auto& st = self->state;
              for (const auto& leg : legs)
                if (leg.grant_id != 0 && has_pool(st, leg.resource_type))
                  self->request(st.pools[leg.resource_type], caf::infinite,
                                release_atom::value, leg.grant_id)
                      .then([](ReleaseReceipt&) {}, [](caf::error&) {});
              then();
            });
}

// -- running ------------------------------------------------------------------

/// A running task is asked to stop (its token); the body decides when.
void ask_to_stop(self_ptr self, RunningTask& r) {
  if (r.stop_requested)
    return;
  r.stop_requested = true;
  r.token.cancel();
  if (!r.stale)
    ++self->state.counts.preempted;
}

/// Spawns the task's runner: the body never runs in the scheduler's handler.
void start(self_ptr self, QueuedTask q, BundleGrant grant,
           result_promise_ptr promise) {
  auto& st = self->state;
  auto seq = q.seq;
  RunningTask r;
  r.bundle = grant.bundle_id;
  r.legs = std::move(grant.legs);
  r.started = self->clock().now();
  r.promise = std::move(promise);
  auto body = q.task.body;
  r.queued = std::move(q);
  auto me = caf::actor_cast<scheduler_actor>(self);
  if (st.settings.detached)
    r.runner = self->spawn<caf::detached + caf::monitored>(task_runner, body,
                                                           r.token, me, seq);
  else
    r.runner = self->spawn<caf::monitored>(task_runner, body, r.token, me, seq);
  st.runners.emplace(r.runner.address(), seq);
  st.running.emplace(seq, std::move(r));
}

/// A body ended (or its runner died): count it, queue it again when it
/// stopped on request, return its bundle, then answer execute_next.
void finish(self_ptr self, std::uint64_t seq, TaskOutcome outcome,
            std::string error) {
  auto& st = self->state;
  auto i = st.running.find(seq);
  if (i == st.running.end())
    return;
  auto r = std::move(i->second);
  st.running.erase(i);
  st.runners.erase(r.runner.address());
  self->demonitor(r.runner);
  auto now = self->clock().now();
  auto& q = r.queued;
  bool late = q.missed || (q.has_deadline && now > q.deadline);
  bool counted = !r.stale;
  bool critical = q.task.priority == Priority::CRITICAL;
  TaskResult result;
  result.executed = true;
  result.outcome = outcome;
  result.succeeded = outcome == TaskOutcome::completed;
  result.task_id = q.task.task_id;
  result.priority = q.task.priority;
  result.deadline_missed = late;
  result.detail = error;
  auto items = q.items;
  if (counted) {
    switch (outcome) {
      case TaskOutcome::completed:
        ++st.counts.completed;
        if (late)
          count_miss(st, q);
        notify(self, q, TaskEventKind::completed, late, "");
        break;
      case TaskOutcome::preempted:
        if (st.settings.requeue_preempted &&
            (!late || critical || !st.settings.drop_expired) &&
            st.queued_ids.count(q.task.task_id) == 0) {
          if (late)
            count_miss(st, q);
          notify(self, q, TaskEventKind::preempted, late, "queued again");
          put(st, std::move(q), self->clock().now());
        } else if (late && !critical && st.settings.drop_expired) {
          ++st.counts.dropped;
          count_miss(st, q);
          notify(self, q, TaskEventKind::dropped, true,
                 "stopped on request after its deadline");
        } else {
          ++st.counts.failed;
          if (late)
            count_miss(st, q);
          notify(self, q, TaskEventKind::preempted, late,
                 "stopped on request, not queued again");
        }
        break;
      default:
        ++st.counts.failed;
        if (late)
          count_miss(st, q);
        notify(self, q, TaskEventKind::failed, late, error);
        break;
    }
  }
  release_bundle(self, r.bundle, std::move(r.legs),
                 [=, promise = r.promise]() mutable {
                   if (promise)
                     promise->deliver(std::move(result));
                   unblock(self, items);
                   pump(self);
                 });
  pump(self);
}

// -- preemption ---------------------------------------------------------------

/// The status of the pools of `items`, in their order; `then` gets them (or
/// the first error).
template <class Then>
void ask_status(self_ptr self, const std::vector<BundleItem>& items,
                Then then) {
  auto& st = self->state;
  struct Pending {
    std::vector<PoolStatus> status;
    std::size_t missing = 0;
    caf::error error;
  };
  if (items.empty()) {
    then(std::vector<PoolStatus>{}, caf::error{});
    return;
  }
  auto p = std::make_shared<Pending>();
  p->status.resize(items.size());
  p->missing = items.size();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!has_pool(st, items[i].type)) {
      then(std::vector<PoolStatus>{},
           make_error(ec::pool_unavailable,
                      std::string{"no pool for "} + to_string(items[i].type)));
      return;
    }
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    self->request(st.pools[items[i].type], caf::infinite, status_atom::value)
        .then(
            [=](PoolStatus& status) mutable {
              auto& seen = self->state.returns_seen[index_of_type(status.type)];
              seen = std::max(seen, status.returns);
              p->status[i] = status;
              if (--p->missing == 0)
                then(std::move(p->status), std::move(p->error));
            },
            [=](caf::error& err) mutable {
              if (!p->error)
                p->error = carried(err, ec::pool_unavailable,
                                   "a pool could not be asked: ");
              if (--p->missing == 0)
                then(std::move(p->status), std::move(p->error));
            });
  }
}

/// A blocked task may have running tasks of strictly lower priority that are
/// preemptable asked to stop, if stopping them covers what it lacks (what is
/// not available now, less what tasks already asked to stop will return).
/// Lowest priority first, the latest started first; nobody is asked when the
/// candidates cannot cover the shortfall.
void consider_preemption(self_ptr self, std::uint64_t seq) {
  auto& st = self->state;
  auto qi = st.queued.find(seq);
  if (qi == st.queued.end())
    return;
  const auto& q = qi->second;
  bool any = false;
  for (const auto& [rs, r] : st.running)
    if (!r.stale && !r.stop_requested && r.queued.task.preemptable &&
        r.queued.task.priority > q.task.priority &&
        shares_type(r.queued.items, q.items))
      any = true;
  if (!any)
    return;
  auto gen = st.generation;
  ask_status(
      self, q.items, [=](std::vector<PoolStatus> status, caf::error err) {
        auto& st = self->state;
        auto qi = st.queued.find(seq);
        if (err || gen != st.generation || qi == st.queued.end() ||
            !qi->second.blocked)
          return;
        const auto& q = qi->second;
        std::map<ResourceType, units> shortfall;
        for (std::size_t i = 0; i < q.items.size(); ++i)
          shortfall[q.items[i].type] =
              to_units(q.items[i].amount) - status[i].available;
        std::vector<RunningTask*> candidates;
        for (auto& [rs, r] : st.running) {
          if (r.stale)
            continue;
          if (r.stop_requested) {
            for (const auto& item : r.queued.items)
              if (shortfall.count(item.type) > 0)
                shortfall[item.type] -= to_units(item.amount);
            continue;
          }
          if (r.queued.task.preemptable &&
              r.queued.task.priority > q.task.priority &&
              shares_type(r.queued.items, q.items))
            candidates.push_back(&r);
        }
        auto lacking = [&] {
          return std::any_of(shortfall.begin(), shortfall.end(),
                             [](const auto& x) { return x.second > 0; });
        };
        if (!lacking())
          return; // what is on its way back is enough
        std::sort(candidates.begin(), candidates.end(),
                  [](const RunningTask* x, const RunningTask* y) {
                    if (x->queued.task.priority != y->queued.task.priority)
                      return x->queued.task.priority > y->queued.task.priority;
                    if (x->started != y->started)
                      return x->started > y->started;
                    return x->queued.seq > y->queued.seq;
                  });
        std::vector<RunningTask*> victims;
        for (auto* r : candidates) {
          if (!lacking())
            break;
          bool helps = false;
          for (const auto& item : r->queued.items) {
            auto s = shortfall.find(item.type);
            if (s != shortfall.end() && s->second > 0)
              helps = true;
          }
          if (!helps)
            continue;
          victims.push_back(r);
          for (const auto& item : r->queued.items) {
            auto s = shortfall.find(item.type);
            if (s != shortfall.end())
              s->second -= to_units(item.amount);
          }
        }
        if (lacking())
          return; // no pointless stops
        for (auto* r : victims)
          ask_to_stop(self, *r);
      });
}

// -- dispatch -------------------------------------------------------------

/// Asks the coordinator for the task's bundle (never waiting: the scheduler
/// keeps its own order and retries when capacity returns).
/// The bundle request for task `seq` (made in generation `gen`) came back:
/// the acquisition is over. The task, or null when it left the queue or the
/// scheduler was reset meanwhile.
QueuedTask* acquired_for(self_ptr self, std::uint64_t seq, std::uint64_t gen) {
  auto& st = self->state;
  st.acquiring = false;
  auto i = st.queued.find(seq);
  if (gen != st.generation || i == st.queued.end())
    return nullptr;
  i->second.acquiring = false;
  return &i->second;
}

void acquire(self_ptr self, QueuedTask& q, result_promise_ptr promise) {
  auto& st = self->state;
  auto seq = q.seq;
  if (q.items.empty()) {
    start(self, take(st, seq), BundleGrant{}, std::move(promise));
    return;
  }
  st.acquiring = true;
  unblock_only(st, q);
  unhold_only(st, q);
  st.ready.erase(seq);
  q.acquiring = true;
  BundleRequest req;
  req.requester_id = q.task.task_id;
  req.priority = q.task.priority;
  req.items = q.items;
  req.preemptable = q.task.preemptable;
  req.request_id = seq;
  auto gen = st.generation;
  self->request(st.bundles, caf::infinite, allocate_atom::value, req)
      .then(
          [=](BundleGrant& grant) mutable {
            auto& st = self->state;
            auto* found = acquired_for(self, seq, gen);
            if (found == nullptr) {
              release_bundle(self, grant.bundle_id, grant.legs, [] {});
              if (promise)
                promise->deliver(nothing_ran("the task left the queue"));
              pump(self);
              return;
            }
            auto& q = *found;
            auto now = self->clock().now();
            if (q.has_deadline && now >= q.deadline &&
                q.task.priority != Priority::CRITICAL &&
                st.settings.drop_expired) {
              // Its deadline passed while the bundle was on its way.
              auto gone = take(st, seq);
              ++st.counts.dropped;
              count_miss(st, gone);
              notify(self, gone, TaskEventKind::dropped, true,
                     "deadline passed while queued");
              release_bundle(self, grant.bundle_id, grant.legs, [] {});
              if (promise)
                promise->deliver(nothing_ran("its deadline passed"));
              update_listening(self);
              pump(self);
              return;
            }
            start(self, take(st, seq), std::move(grant), std::move(promise));
            pump(self);
          },
          [=](caf::error& err) mutable {
            auto& st = self->state;
            auto* found = acquired_for(self, seq, gen);
            if (found == nullptr) {
              if (promise)
                promise->deliver(nothing_ran("the task left the queue"));
              pump(self);
              return;
            }
            auto& q = *found;
            auto now = self->clock().now();
            TaskResult result;
            result.outcome = TaskOutcome::blocked;
            result.task_id = q.task.task_id;
            result.priority = q.task.priority;
            result.detail = describe(err);
            if (is_permanent(err)) {
              // Can never be granted (a capacity shrank, a quota): fail it.
              auto gone = take(st, seq);
              ++st.counts.failed;
              notify(self, gone, TaskEventKind::failed, false, describe(err));
              result.outcome = TaskOutcome::failed;
            } else if (is(err, ec::shed)) {
              set_shed(st, q, true);
            } else {
              // insufficient_resources, or a coordinator or pool gone: wait
              // for capacity to come back (or for new handles).
              q.blocked_at.clear();
              for (const auto& item : q.items)
                q.blocked_at[item.type] =
                    st.returns_seen[index_of_type(item.type)];
              block(st, q, now);
              if (is(err, ec::insufficient_resources))
                consider_preemption(self, seq);
            }
            if (promise)
              promise->deliver(std::move(result));
            update_listening(self);
            pump(self);
          });
}

/// Starts what may start: execute_next requests first, then automatic
/// dispatch up to max_concurrent. One bundle request is out at a time, so
/// grants follow the queue's order.
void pump(self_ptr self) {
  auto& st = self->state;
  while (!st.acquiring && !st.exec_waiters.empty()) {
    auto promise = st.exec_waiters.front();
    st.exec_waiters.erase(st.exec_waiters.begin());
    auto* q = best_runnable(self, true);
    if (q == nullptr) {
      promise->deliver(nothing_ran(st.queued.empty()
                                       ? "no task is queued"
                                       : "every queued task is deferred"));
      continue;
    }
    acquire(self, *q, std::move(promise));
  }
  while (!st.acquiring && st.exec_waiters.empty() &&
         st.settings.max_concurrent > 0 &&
         st.running.size() < st.settings.max_concurrent) {
    auto* q = best_runnable(self, false);
    if (q == nullptr)
      return;
    acquire(self, *q, nullptr);
  }
}

// -- admission ----------------------------------------------------------------

caf::error check_submission(const scheduler_state& st,
                            const TaskSubmission& s) {
  // The task id is the requester of the task's bundle.
  if (auto err = check_requester(s.task_id, "a task's id"))
    return err;
  if (auto err = check_priority(s.priority))
    return err;
  if (!s.body)
    return make_error(ec::invalid_argument,
                      "task '" + s.task_id + "' has no body");
  // Time left may be negative (passed already), never beyond the maximum.
  if (s.has_deadline && s.deadline > caf::timespan{max_duration})
    return check_duration(s.deadline,
                          ("the deadline of task '" + s.task_id + "'").c_str());
  if (st.queued_ids.count(s.task_id) > 0)
    return make_error(ec::duplicate_id,
                      "task '" + s.task_id + "' is already queued");
  for (const auto& [type, amount] : s.requirements) {
    if (auto err = check_type(type))
      return err;
    // 0 means "none of this type"; anything else must be a grantable amount.
    auto what =
        "the requirement of task '" + s.task_id + "' for " + to_string(type);
    if (auto err = check_quantity(amount, what))
      return err;
    if (amount > 0) {
      caf::error err;
      checked_units(amount, err, what.c_str());
      if (err)
        return err;
    }
  }
  return caf::none;
}

/// Queues an admitted task; its deadline counts from `received`.
TaskReceipt admit(self_ptr self, std::uint64_t seq, TaskSubmission s,
                  std::vector<BundleItem> items, sched_time received) {
  auto& st = self->state;
  QueuedTask q;
  q.seq = seq;
  q.items = std::move(items);
  q.has_deadline = s.has_deadline;
  if (s.has_deadline)
    q.deadline = saturating_add(received, s.deadline);
  q.task = std::move(s);
  auto now = self->clock().now();
  if (q.has_deadline) {
    if (q.deadline <= now)
      count_miss(st, q); // a CRITICAL task admitted late
    else
      self->delayed_send(self, q.deadline - now, task_due_atom::value, seq);
  }
  TaskReceipt receipt{q.task.task_id, seq, 0};
  put(st, std::move(q), now);
  receipt.pending = st.queued.size();
  pump(self);
  return receipt;
}

caf::result<TaskReceipt> schedule(self_ptr self, TaskSubmission& s) {
  auto& st = self->state;
  if (auto err = check_submission(st, s))
    return err;
  auto received = self->clock().now();
  std::vector<BundleItem> items;
  for (auto type : all_resource_types) {
    auto i = s.requirements.find(type);
    if (i != s.requirements.end() && i->second > 0)
      items.push_back(BundleItem{type, i->second});
  }
  auto seq = st.next_seq++;
  bool critical = s.priority == Priority::CRITICAL;
  if (critical || items.empty()) {
    if (!critical && s.has_deadline && s.deadline.count() <= 0) {
      ++st.counts.refused;
      return make_error(ec::deadline_expired,
                        "task '" + s.task_id + "' is past its deadline");
    }
    return admit(self, seq, std::move(s), std::move(items), received);
  }
  if (s.has_deadline && s.deadline.count() <= 0) {
    ++st.counts.refused;
    return make_error(ec::deadline_expired,
                      "task '" + s.task_id + "' is past its deadline");
  }
  // Capacity is asked from the pools, so a configuration change counts.
  auto promise = self->make_response_promise<TaskReceipt>();
  st.queued_ids.insert(s.task_id); // reserved while the pools answer
  auto gen = st.generation;
  auto task = std::make_shared<TaskSubmission>(std::move(s));
  ask_status(
      self, items, [=](std::vector<PoolStatus> status, caf::error err) mutable {
        auto& st = self->state;
        if (gen != st.generation) {
          promise.deliver(make_error(ec::cancelled, "the scheduler was reset"));
          return;
        }
        st.queued_ids.erase(task->task_id);
        if (err) {
          promise.deliver(std::move(err));
          return;
        }
        for (std::size_t i = 0; i < items.size(); ++i)
          if (to_units(items[i].amount) > status[i].capacity) {
            ++st.counts.refused;
            promise.deliver(make_error(
                ec::exceeds_capacity,
                "task '" + task->task_id + "' requires " +
                    std::to_string(items[i].amount) + " " +
                    to_string(items[i].type) + ", above the capacity of " +
                    std::to_string(to_amount(status[i].capacity))));
            return;
          }
        promise.deliver(admit(self, seq, std::move(*task), items, received));
      });
  return promise;
}

// -- degradation ----------------------------------------------------------

void degradation_changed(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto& [seq, q] : st.queued)
    if (q.shed) {
      set_shed(st, q, false);
      make_ready(st, q, now);
    }
  pump(self);
}

} // namespace

// -- behavior -----------------------------------------------------------------

scheduler_actor::behavior_type
task_scheduler(scheduler_actor::stateful_pointer<scheduler_state> self,
               bundle_actor bundles, PoolDirectory pools,
               SchedulerSettings settings) {
  auto& st = self->state;
  st.bundles = std::move(bundles);
  st.pools = std::move(pools);
  st.settings = settings;
  st.counts.pending_by_priority.assign(5, 0);
  st.counts.missed_by_priority.assign(5, 0);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto r = st.runners.find(dm.source);
    if (r != st.runners.end()) {
      finish(self, r->second, TaskOutcome::failed,
             "the task's runner ended: " + describe(dm.reason));
      return;
    }
    if (st.monitor && dm.source == st.monitor.address()) {
      // No more news about degradation: nothing is degraded as far as the
      // scheduler knows (a new monitor is announced with set_monitor_atom).
      st.monitor = nullptr;
      st.degraded.fill(false);
      degradation_changed(self);
      return;
    }
    auto& subs = st.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const caf::actor& x) {
                                return x.address() == dm.source;
                              }),
               subs.end());
  });
  return {
      [=](schedule_atom, TaskSubmission& s) { return schedule(self, s); },
      [=](execute_atom) {
        auto promise =
            std::make_shared<caf::typed_response_promise<TaskResult>>(
                self->make_response_promise<TaskResult>());
        self->state.exec_waiters.push_back(promise);
        pump(self);
        return *promise;
      },
      [=](pending_atom) {
        auto& st = self->state;
        auto now = self->clock().now();
        std::vector<PendingTask> result;
        result.reserve(st.queued.size());
        for (const auto& key : st.order) {
          const auto& q = st.queued.at(std::get<2>(key));
          PendingTask t;
          t.task_id = q.task.task_id;
          t.priority = q.task.priority;
          for (const auto& item : q.items)
            t.cost += item.amount;
          if (q.has_deadline)
            t.deadline = std::max(caf::timespan{1}, q.deadline - now);
          result.push_back(std::move(t));
        }
        return result;
      },
      [=](stats_atom) { return stats_of(self); },
      [=](settings_atom,
          const SchedulerSettings& x) -> caf::result<SchedulerSettings> {
        if (!may_administer(self))
          return admin_refused("the scheduler's settings");
        self->state.settings = x;
        pump(self);
        return x;
      },
      [=](settings_atom) { return self->state.settings; },
      [=](subscribe_atom, caf::actor& who, bool on) -> caf::result<bool> {
        if (auto err = check_handle(who, "the subscriber"))
          return err;
        if (auto err = check_subscriber(self, who, on))
          return err;
        auto& subs = self->state.subscribers;
        auto i = std::find(subs.begin(), subs.end(), who);
        // Another node's subscriptions are bounded (its own are not).
        if (on && i == subs.end() && who.node() != self->node() &&
            std::count_if(subs.begin(), subs.end(), [&](const caf::actor& x) {
              return x.node() == who.node();
            }) >= static_cast<long>(max_subscriptions_per_node))
          return make_error(ec::limit_exceeded,
                            "at most " +
                                std::to_string(max_subscriptions_per_node) +
                                " scheduler subscriptions per other node");
        if (on && i == subs.end()) {
          self->monitor(who);
          subs.push_back(who);
        } else if (!on && i != subs.end()) {
          self->demonitor(who);
          subs.erase(i);
        }
        return on;
      },
      [=](reset_atom) -> caf::result<SchedulerStats> {
        if (!may_administer(self))
          return admin_refused("a reset of the scheduler");
        auto& st = self->state;
        ++st.generation;
        for (const auto& key : st.order)
          notify(self, st.queued.at(std::get<2>(key)), TaskEventKind::cancelled,
                 false, "the scheduler was reset");
        st.order.clear();
        st.queued.clear();
        st.queued_by_priority = {};
        st.shed_by_priority = {};
        st.queued_ids.clear();
        st.ready.clear();
        st.blocked.clear();
        st.held.clear();
        for (auto& ranks : st.held_ranks)
          ranks.clear();
        st.released.fill(false);
        for (auto& ranks : st.blocked_ranks)
          ranks.clear();
        for (auto& index : st.blocked_at)
          index.clear();
        for (auto& promise : st.exec_waiters)
          promise->deliver(nothing_ran("the scheduler was reset"));
        st.exec_waiters.clear();
        for (auto& [seq, r] : st.running) {
          r.stale = true;
          ask_to_stop(self, r);
        }
        st.counts = SchedulerStats{};
        st.counts.pending_by_priority.assign(5, 0);
        st.counts.missed_by_priority.assign(5, 0);
        update_listening(self);
        return stats_of(self);
      },
      [=](pools_atom, PoolDirectory& pools) {
        auto& st = self->state;
        // A directory that does not name every pool would be indexed out of
        // range: keep the current one. Wiring: local senders only.
        if (!from_local(self) || pools.pools.size() != resource_type_count)
          return;
        st.returns_seen.fill(0);
        st.listening.replace(self, st.pools, std::move(pools));
        unblock(self, {});
        pump(self);
      },
      [=](bundles_atom, bundle_actor& x) {
        if (!from_local(self))
          return; // wiring from the manager: local senders only
        self->state.bundles = std::move(x);
        unblock(self, {});
        pump(self);
      },
      [=](set_monitor_atom, monitor_actor& m) {
        if (!from_local(self))
          return; // wiring from the manager: local senders only
        auto& st = self->state;
        auto me = caf::actor_cast<caf::actor>(self);
        if (st.monitor) {
          self->demonitor(st.monitor.address());
          caf::anon_send(st.monitor, subscribe_atom::value, me,
                         MonitorTopics{});
        }
        st.monitor = m;
        st.degraded.fill(false);
        if (m) {
          self->monitor(m);
          self->request(m, caf::infinite, subscribe_atom::value, me,
                        MonitorTopics{false, false, true})
              .then([](MonitorTopics&) {}, [](caf::error&) {});
          // Types degraded before the subscription.
          self->request(m, caf::infinite, status_atom::value)
              .then(
                  [=](std::vector<TypeMonitorView>& views) {
                    auto& st = self->state;
                    if (st.monitor != m)
                      return;
                    for (const auto& v : views)
                      if (is_valid(v.type))
                        st.degraded[index_of_type(v.type)] = v.degraded;
                    degradation_changed(self);
                  },
                  [](caf::error&) {});
        }
        degradation_changed(self);
      },
      [=](monitor_event_atom, const MonitorEvent& ev) {
        // Only the monitor the scheduler subscribed to reports degradation:
        // a forged event would hold IDLE work back or let it run.
        auto& st = self->state;
        if (!st.monitor || sender_of(self) != st.monitor.address())
          return;
        switch (ev.kind) {
          case MonitorEventKind::degraded_entered:
          case MonitorEventKind::degraded_left:
          case MonitorEventKind::escalated:
            if (is_valid(ev.type)) {
              self->state.degraded[index_of_type(ev.type)] = ev.degraded;
              degradation_changed(self);
            }
            break;
          default:
            break;
        }
      },
      [=](usage_atom, const PoolStatus& status) {
        auto& st = self->state;
        // Reports come from the scheduler's own pools, each about its own
        // type: a forged one would make it retry blocked tasks.
        auto sender = self->current_sender();
        if (!sender || !is_valid(status.type) ||
            st.pools.pools.size() != resource_type_count ||
            sender->address() != st.pools[status.type].address())
          return;
        auto t = index_of_type(status.type);
        auto& seen = st.returns_seen[t];
        seen = std::max(seen, status.returns);
        // The blocked tasks this pool refused before it returned capacity.
        std::vector<std::uint64_t> due;
        for (auto i = st.blocked_at[t].begin();
             i != st.blocked_at[t].end() && i->first < status.returns; ++i)
          due.push_back(i->second);
        auto now = self->clock().now();
        for (auto seq : due) {
          auto& q = st.queued.at(seq);
          unblock_only(st, q);
          make_ready(st, q, now);
        }
        if (!due.empty()) {
          update_listening(self);
          pump(self);
        }
      },
      [=](revoke_atom, const GrantNotice& notice) {
        // A pool takes a leg back: a preemptable task is asked to stop (an
        // expired leg is already gone; the task finishes without it).
        if (notice.reason == RevokeReason::expired)
          return;
        // Only the pool of the notice's type takes its legs back.
        auto& st = self->state;
        if (!is_valid(notice.resource_type) ||
            st.pools.pools.size() != resource_type_count ||
            sender_of(self) != st.pools[notice.resource_type].address())
          return;
        for (auto& [seq, r] : st.running)
          for (const auto& leg : r.legs)
            if (leg.grant_id == notice.grant_id &&
                leg.resource_type == notice.resource_type)
              ask_to_stop(self, r);
      },
      [=](task_done_atom, TaskRunReport& report) {
        // Only a task's own runner says it ended: a forged report would
        // release the task's bundle while its body still runs.
        auto& st = self->state;
        auto r = st.running.find(report.seq);
        if (r == st.running.end() ||
            sender_of(self) != r->second.runner.address())
          return;
        finish(self, report.seq, report.outcome, std::move(report.error));
      },
      [=](task_due_atom, std::uint64_t seq) {
        if (!from_self(self))
          return; // the scheduler's own deadline timer only
        auto& st = self->state;
        auto i = st.queued.find(seq);
        if (i == st.queued.end() || i->second.acquiring || i->second.missed)
          return; // running, ended, or the grant's reply decides
        auto& q = i->second;
        if (st.settings.drop_expired && q.task.priority != Priority::CRITICAL) {
          auto gone = take(st, seq);
          ++st.counts.dropped;
          count_miss(st, gone);
          notify(self, gone, TaskEventKind::dropped, true,
                 "deadline passed while queued");
          update_listening(self);
          pump(self);
        } else {
          count_miss(st, q);
          notify(self, q, TaskEventKind::missed, true,
                 "deadline passed while queued");
        }
      },
  };
}

scheduler_actor spawn_scheduler(caf::actor_system& sys, bundle_actor bundles,
                                PoolDirectory pools,
                                SchedulerSettings settings) {
  return sys.spawn(task_scheduler, std::move(bundles), std::move(pools),
                   settings);
}

} // namespace rros
