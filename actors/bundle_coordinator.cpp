#include "actors/bundle_coordinator.hpp"
#include "actors/sender_checks.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <set>

#include "messages/error.hpp"
#include "messages/limits.hpp"
#include "messages/validate.hpp"

namespace rros {

namespace {

using self_ptr = bundle_actor::stateful_pointer<bundle_state>;

/// The legs of one attempt, filled in as the pools reply.
struct Attempt {
  std::vector<ResourceAllocation> legs;
  std::vector<PoolStatus> status;
  std::size_t missing = 0;
  caf::error error; // the first leg that can never be granted
};

/// How long a pool may take to answer a leg's commit (it answers after its
/// sync; a pool that died meanwhile never answers).
constexpr auto commit_timeout = std::chrono::seconds(10);

/// A granted bundle whose legs' commits are on their way.
struct Commit {
  BundleGrant grant;
  caf::typed_response_promise<BundleGrant> promise;
  std::size_t missing = 0;
  caf::error error; // the first commit a pool refused
};

caf::error check_bundle(const BundleRequest& req) {
  if (auto err = check_requester(req.requester_id, "a bundle's requester id"))
    return err;
  if (auto err = check_priority(req.priority))
    return err;
  if (req.items.empty())
    return make_error(ec::invalid_bundle, "a bundle needs at least one item");
  if (req.items.size() > resource_type_count)
    return make_error(ec::invalid_bundle,
                      "a bundle names " + std::to_string(req.items.size()) +
                          " items, at most one per type (" +
                          std::to_string(resource_type_count) + ")");
  std::set<ResourceType> seen;
  for (const auto& item : req.items) {
    if (auto err = check_type(item.type))
      return err;
    if (!seen.insert(item.type).second)
      return make_error(ec::invalid_bundle, std::string{"the bundle names "} +
                                                to_string(item.type) +
                                                " twice");
  }
  if (auto err = check_duration(req.deadline, "a bundle's deadline"))
    return err;
  if (auto err = check_duration(req.ttl, "a bundle's time-to-live"))
    return err;
  return caf::none;
}

// -- ranking: aged priority, dominant share, deadline, arrival (the queues) --

/// The requester's dominant share: its largest fraction of any type's
/// capacity held through bundles.
double dominant_share(const bundle_state& st, const std::string& requester) {
  auto i = st.shares.find(requester);
  if (i == st.shares.end())
    return 0.0;
  double result = 0.0;
  for (std::size_t t = 0; t < resource_type_count; ++t)
    if (st.capacity[t] > 0)
      result = std::max(result, i->second[t] / st.capacity[t]);
  return result;
}

/// Keeps the queues' rank of a requester's waiting bundles current.
void note_share(bundle_state& st, const std::string& requester) {
  auto share = dominant_share(st, requester);
  st.ready.set_share(requester, share);
  st.parked.set_share(requester, share);
}

/// A pool's capacity as last seen; every share depends on it.
void note_capacity(bundle_state& st, ResourceType type, units capacity) {
  auto& seen = st.capacity[static_cast<std::size_t>(type)];
  auto now = to_amount(capacity);
  if (seen == now)
    return;
  seen = now;
  for (const auto& entry : st.shares)
    note_share(st, entry.first);
}

void sync_stats(bundle_state& st) {
  st.stats.waiting = st.waiting();
}

/// Listens to the pools exactly while bundles wait: their reports say when a
/// refused bundle is worth another attempt.
void update_listening(self_ptr self) {
  auto& st = self->state;
  st.listening.update(self, st.pools, st.waiting() > 0);
}

// -- the waiting bundles ---------------------------------------------------

void push_ready(self_ptr self, bundle_entry e) {
  auto& st = self->state;
  auto requester = e.requester;
  st.ready.push(std::move(e), self->clock().now());
  note_share(st, requester);
}

void park(self_ptr self, bundle_entry e) {
  auto& st = self->state;
  for (const auto& [type, returns] : e.payload.refused_at)
    st.parked_at[static_cast<std::size_t>(type)].emplace(returns, e.seq);
  auto requester = e.requester;
  st.parked.push(std::move(e), self->clock().now());
  note_share(st, requester);
}

/// Takes a parked bundle out with its index entries.
std::optional<bundle_entry> take_parked(bundle_state& st, std::uint64_t seq) {
  auto e = st.parked.take(seq);
  if (!e)
    return e;
  for (const auto& [type, returns] : e->payload.refused_at) {
    auto& index = st.parked_at[static_cast<std::size_t>(type)];
    auto range = index.equal_range(returns);
    for (auto i = range.first; i != range.second; ++i)
      if (i->second == seq) {
        index.erase(i);
        break;
      }
  }
  return e;
}

/// Takes a waiting (ready or parked) bundle out.
std::optional<bundle_entry> take_waiting(bundle_state& st, std::uint64_t seq) {
  if (auto e = st.ready.take(seq))
    return e;
  return take_parked(st, seq);
}

/// A bundle waits (or is being attempted) for its holder until it is granted,
/// refused, cancelled or expired: while it does, the holder's end drops it.
void index_waiting(bundle_state& st, const bundle_entry& e) {
  if (e.payload.holder)
    st.waiting_of_holder.add(e.payload.holder.address(), e.seq);
}

void unindex_waiting(bundle_state& st, const bundle_entry& e) {
  if (e.payload.holder)
    st.waiting_of_holder.remove(e.payload.holder.address(), e.seq);
}

/// The waiting bundles that match `pred` (a scan: for rare events).
template <class Predicate>
std::vector<std::uint64_t> waiting_where(self_ptr self, Predicate pred) {
  std::vector<std::uint64_t> result;
  auto now = self->clock().now();
  auto collect = [&](const bundle_entry& e) {
    if (pred(e))
      result.push_back(e.seq);
  };
  self->state.ready.visit(now, collect);
  self->state.parked.visit(now, collect);
  return result;
}

/// Ends the bundle being attempted for its requester (its legs are aborted
/// when the attempt finishes).
void drop_trying(bundle_state& st) {
  st.trying_gone = true;
}

// -- holdings ---------------------------------------------------------------

void add_share(bundle_state& st, const std::string& requester,
               ResourceType type, double amount) {
  auto& shares = st.shares[requester];
  auto& x = shares[static_cast<std::size_t>(type)];
  x = std::max(0.0, x + amount);
  note_share(st, requester);
}

/// Forgets one leg of a held bundle (and the bundle with its last leg).
void forget_leg(self_ptr self, std::map<BundleId, HeldBundle>::iterator b,
                ResourceType type) {
  auto& st = self->state;
  auto& bundle = b->second;
  auto amount = bundle.amounts[type];
  add_share(st, bundle.requester, type, -amount);
  bundle.grants.erase(type);
  bundle.amounts.erase(type);
  if (!bundle.grants.empty())
    return;
  if (bundle.holder)
    st.held_of_holder.remove(bundle.holder, b->first);
  st.held.erase(b);
  st.stats.held = st.held.size();
}

void pump(self_ptr self);

template <class OnReply>
void return_leg(self_ptr self, ResourceType type, GrantId grant, OnReply reply);

/// One pool's answer to a leg's commit: the bundle is granted when all legs
/// are committed and it is still held; a leg its pool could not keep
/// (storage_failed), a pool that did not answer in time (it died with the
/// reply pending) or a reset meanwhile takes the whole bundle back and the
/// requester gets the error.
void committed(self_ptr self, std::shared_ptr<Commit> commit, caf::error err) {
  auto& st = self->state;
  if (err && !commit->error)
    commit->error = std::move(err);
  if (--commit->missing > 0)
    return;
  auto id = commit->grant.bundle_id;
  if (!commit->error && st.held.count(id) == 0)
    commit->error =
        make_error(ec::cancelled, "bundle " + std::to_string(id) +
                                      " was dropped while its legs were being "
                                      "committed (a reset)");
  if (!commit->error) {
    ++st.stats.granted;
    commit->promise.deliver(std::move(commit->grant));
    return;
  }
  ++st.stats.refused;
  auto b = st.held.find(id);
  if (b != st.held.end()) {
    auto legs = b->second.grants;
    for (const auto& [type, grant] : legs)
      forget_leg(self, st.held.find(id), type);
    // A leg its pool took back already answers unknown_grant: nothing to
    // give back there.
    for (const auto& [type, grant] : legs)
      return_leg(self, type, grant, [](const auto&) {});
  }
  commit->promise.deliver(std::move(commit->error));
  sync_stats(st);
}

/// Finishes an attempt: commit every leg, or abort the legs granted.
void finish(self_ptr self, std::shared_ptr<Attempt> a) {
  auto& st = self->state;
  auto entry = std::move(st.trying);
  st.trying.reset();
  if (entry)
    unindex_waiting(st, *entry); // indexed again below if it waits on
  if (st.trying_gone)
    entry.reset(); // cancelled, expired or its holder died meanwhile
  st.trying_gone = false;
  bool all = !a->error;
  for (const auto& leg : a->legs)
    all = all && leg.grant_id != 0;
  if (entry && all) {
    auto& w = entry->payload;
    auto id = st.next_id++;
    HeldBundle bundle;
    bundle.requester = w.request.requester_id;
    bundle.holder = w.holder ? w.holder.address() : caf::actor_addr{};
    auto commit = std::make_shared<Commit>();
    commit->missing = a->legs.size();
    commit->promise = w.promise;
    for (std::size_t i = 0; i < a->legs.size(); ++i) {
      auto type = w.request.items[i].type;
      bundle.grants[type] = a->legs[i].grant_id;
      bundle.amounts[type] = w.request.items[i].amount;
      add_share(st, bundle.requester, type, w.request.items[i].amount);
    }
    if (bundle.holder)
      st.held_of_holder.add(bundle.holder, id);
    st.held.emplace(id, std::move(bundle));
    st.stats.held = st.held.size();
    commit->grant = BundleGrant{id, w.request.requester_id, std::move(a->legs)};
    // Sent as the coordinator: a pool commits legs only for their preparer.
    // The grant goes out once every pool has its leg on disk (at once
    // without a data directory), so that a restart knows every leg of a
    // bundle its holder was told about.
    for (const auto& leg : commit->grant.legs)
      self->request(st.pools[leg.resource_type], commit_timeout,
                    commit_atom::value, leg.grant_id, w.holder)
          .then([=](GrantId) { committed(self, commit, caf::none); },
                [=](caf::error& err) {
                  if (err == caf::sec::request_timeout)
                    err = make_error(
                        ec::pool_unavailable,
                        std::string{"the "} + to_string(leg.resource_type) +
                            " pool did not confirm a leg's commit in time");
                  committed(self, commit, err);
                });
  } else {
    for (const auto& leg : a->legs)
      if (leg.grant_id != 0)
        self->send(st.pools[leg.resource_type], abort_atom::value,
                   leg.grant_id);
    if (entry) {
      auto& w = entry->payload;
      if (a->error || !w.has_deadline) {
        ++st.stats.refused;
        if (a->error) {
          w.promise.deliver(std::move(a->error));
        } else {
          std::string lacking;
          for (const auto& leg : a->legs)
            if (leg.grant_id == 0)
              lacking += (lacking.empty() ? "" : ", ") +
                         std::string{to_string(leg.resource_type)};
          w.promise.deliver(make_error(ec::insufficient_resources,
                                       "bundle of '" + w.request.requester_id +
                                           "' does not fit now (" + lacking +
                                           ")"));
        }
      } else {
        w.refused_at.clear();
        bool returned_meanwhile = false;
        for (std::size_t i = 0; i < a->legs.size(); ++i) {
          if (a->legs[i].grant_id != 0)
            continue;
          auto type = a->legs[i].resource_type;
          w.refused_at[type] = a->status[i].returns;
          // Capacity that came back while the attempt was out: try again.
          if (st.latest_returns[static_cast<std::size_t>(type)] >
              a->status[i].returns)
            returned_meanwhile = true;
        }
        index_waiting(st, *entry);
        if (returned_meanwhile)
          push_ready(self, std::move(*entry));
        else
          park(self, std::move(*entry));
      }
    }
  }
  sync_stats(st);
  update_listening(self);
  pump(self);
}

/// Asks every pool of the bundle being tried for its leg at once.
void attempt(self_ptr self) {
  auto& st = self->state;
  ++st.stats.attempts;
  const auto& w = *st.trying;
  const auto& req = w.payload.request;
  auto a = std::make_shared<Attempt>();
  auto n = req.items.size();
  a->legs.resize(n);
  a->status.resize(n);
  a->missing = n;
  auto now = self->clock().now();
  for (std::size_t i = 0; i < n; ++i) {
    const auto& item = req.items[i];
    ResourceRequest leg{req.requester_id, item.type, req.priority, item.amount};
    // The remaining time ranks the leg against the pool's waiting requests.
    if (w.payload.has_deadline)
      leg.deadline = std::max(
          std::chrono::milliseconds{1},
          std::chrono::ceil<std::chrono::milliseconds>(w.deadline - now));
    leg.ttl = req.ttl;
    leg.preemptable = req.preemptable;
    leg.request_id = req.request_id;
    a->legs[i].resource_type = item.type;
    self->request(st.pools[item.type], caf::infinite, prepare_atom::value, leg)
        .then(
            [=](ResourceAllocation& alloc, PoolStatus& status) {
              auto& st = self->state;
              a->legs[i] = std::move(alloc);
              a->legs[i].resource_type = item.type;
              auto t = static_cast<std::size_t>(item.type);
              note_capacity(st, item.type, status.capacity);
              st.latest_returns[t] =
                  std::max(st.latest_returns[t], status.returns);
              a->status[i] = status;
              if (--a->missing == 0)
                finish(self, a);
            },
            [=](caf::error& err) {
              if (!a->error)
                a->error = std::move(err);
              if (--a->missing == 0)
                finish(self, a);
            });
  }
}

/// Starts the next attempt: the best-ranked bundle worth trying.
void pump(self_ptr self) {
  auto& st = self->state;
  if (st.trying)
    return;
  auto* best = st.ready.head(self->clock().now());
  if (best == nullptr)
    return;
  st.trying = st.ready.take(best->seq);
  st.trying_gone = false;
  attempt(self);
}

/// Returns one leg at its pool; `reply` gets the receipt or the error.
template <class OnReply>
void return_leg(self_ptr self, ResourceType type, GrantId grant,
                OnReply reply) {
  self->request(self->state.pools[type], caf::infinite, release_atom::value,
                grant)
      .then([=](ReleaseReceipt& receipt) mutable { reply(std::move(receipt)); },
            [=](caf::error& err) mutable { reply(std::move(err)); });
}

/// A held bundle of the current sender, or st.held.end(): another actor's
/// bundle is answered like an unknown one.
std::map<BundleId, HeldBundle>::iterator own_bundle(self_ptr self,
                                                    BundleId id) {
  auto& st = self->state;
  auto b = st.held.find(id);
  if (b != st.held.end() && b->second.holder != sender_of(self))
    return st.held.end();
  return b;
}

/// Refuses a bundle that may wait past the limits of messages/limits.hpp
/// (per requester, per holder actor). Bundles without a deadline never wait.
caf::error check_waiting_limits(self_ptr self, const BundleRequest& req) {
  auto& st = self->state;
  if (req.deadline.count() <= 0)
    return caf::none;
  auto refuse = [&](const std::string& who, std::size_t limit) {
    return make_error(ec::limit_exceeded,
                      who + " already has " + std::to_string(limit) +
                          " bundles waiting, the most allowed");
  };
  auto of_requester = st.ready.count_of(req.requester_id) +
                      st.parked.count_of(req.requester_id);
  if (of_requester >= max_waiting_per_requester)
    return refuse("'" + req.requester_id + "'", max_waiting_per_requester);
  if (st.waiting_of_holder.count(sender_of(self)) >= max_waiting_per_holder)
    return refuse("the requesting actor", max_waiting_per_holder);
  return caf::none;
}

caf::result<std::vector<ReleaseReceipt>> release_bundle(self_ptr self,
                                                        BundleId id) {
  auto& st = self->state;
  auto b = own_bundle(self, id);
  if (b == st.held.end())
    return make_error(ec::unknown_bundle,
                      "bundle " + std::to_string(id) + " is not held");
  auto legs = b->second.grants;
  for (const auto& [type, grant] : legs)
    forget_leg(self, st.held.find(id), type);
  auto promise = self->make_response_promise<std::vector<ReleaseReceipt>>();
  auto receipts = std::make_shared<std::vector<ReleaseReceipt>>();
  auto missing = std::make_shared<std::size_t>(legs.size());
  for (const auto& [type, grant] : legs) {
    return_leg(self, type, grant, [=](caf::expected<ReleaseReceipt> x) mutable {
      // A leg returned already (released at its pool, expired or
      // preempted) has nothing left to give back.
      if (x)
        receipts->push_back(std::move(*x));
      if (--*missing == 0)
        promise.deliver(std::move(*receipts));
    });
  }
  return promise;
}

caf::result<ReleaseReceipt> release_leg(self_ptr self, BundleId id,
                                        ResourceType type) {
  auto& st = self->state;
  auto b = own_bundle(self, id);
  if (b == st.held.end())
    return make_error(ec::unknown_bundle,
                      "bundle " + std::to_string(id) + " is not held");
  auto leg = b->second.grants.find(type);
  if (leg == b->second.grants.end())
    return make_error(ec::unknown_grant, "bundle " + std::to_string(id) +
                                             " holds no " + to_string(type));
  auto grant = leg->second;
  forget_leg(self, b, type);
  auto promise = self->make_response_promise<ReleaseReceipt>();
  return_leg(self, type, grant, [=](caf::expected<ReleaseReceipt> x) mutable {
    if (x)
      promise.deliver(std::move(*x));
    else
      promise.deliver(std::move(x.error()));
  });
  return promise;
}

/// A holder ended: its pools return the legs; forget them and drop its
/// waiting bundles.
void holder_down(self_ptr self, const caf::actor_addr& holder) {
  auto& st = self->state;
  for (auto id : st.held_of_holder.take(holder)) {
    auto b = st.held.find(id);
    if (b == st.held.end())
      continue;
    auto legs = b->second.grants;
    for (const auto& [type, grant] : legs)
      forget_leg(self, b, type); // the last one erases b
  }
  st.watched.erase(holder);
  for (auto seq : st.waiting_of_holder.take(holder))
    take_waiting(st, seq);
  if (st.trying && st.trying->payload.holder &&
      st.trying->payload.holder.address() == holder)
    drop_trying(st);
  sync_stats(st);
  update_listening(self);
}

} // namespace

bundle_actor::behavior_type bundle_coordinator(self_ptr self,
                                               PoolDirectory pools,
                                               PoolPolicy policy,
                                               caf::actor_addr supervisor) {
  auto& st = self->state;
  st.supervisor = std::move(supervisor);
  st.pools = std::move(pools);
  st.policy = policy;
  st.ready = bundle_queue{policy.aging_interval};
  st.parked = bundle_queue{policy.aging_interval};
  st.next_id = first_id_of(next_incarnation());
  self->set_down_handler(
      [=](caf::down_msg& msg) { holder_down(self, msg.source); });
  return {
      [=](allocate_atom, const BundleRequest& req) -> caf::result<BundleGrant> {
        auto& st = self->state;
        if (auto err = check_bundle(req)) {
          ++st.stats.refused;
          return err;
        }
        if (auto err = check_waiting_limits(self, req)) {
          ++st.stats.refused;
          return err;
        }
        auto now = self->clock().now();
        bundle_entry e;
        e.seq = st.next_id++;
        e.requester = req.requester_id;
        e.request_id = req.request_id;
        e.priority = static_cast<int>(req.priority);
        e.enqueued = now;
        e.payload.request = req;
        e.payload.has_deadline = req.deadline.count() > 0;
        e.deadline = e.payload.has_deadline ? saturating_add(now, req.deadline)
                                            : bundle_time::max();
        if (auto sender = self->current_sender()) {
          // The sender arrives as a pointer; the holder is kept as a handle.
          e.payload.holder = caf::actor_cast<caf::actor>(sender);
          if (st.watched.insert(e.payload.holder.address()).second)
            self->monitor(e.payload.holder);
          index_waiting(st, e);
        }
        e.payload.promise = self->make_response_promise<BundleGrant>();
        auto promise = e.payload.promise;
        if (e.payload.has_deadline)
          self->delayed_send(self, req.deadline, deadline_atom::value, e.seq);
        push_ready(self, std::move(e));
        sync_stats(st);
        pump(self);
        return promise;
      },
      [=](release_atom, BundleId id) { return release_bundle(self, id); },
      [=](release_atom, BundleId id, ResourceType type) {
        return release_leg(self, id, type);
      },
      [=](cancel_atom, const std::string& requester,
          std::uint64_t request_id) -> caf::result<bool> {
        auto& st = self->state;
        // Only the actor that asked for the bundle cancels it.
        auto caller = sender_of(self);
        auto mine = [&](const bundle_entry& e) {
          return (e.payload.holder ? e.payload.holder.address()
                                   : caf::actor_addr{}) == caller;
        };
        std::optional<bundle_entry> w;
        auto* e = st.ready.find(requester, request_id, mine);
        auto* p = st.parked.find(requester, request_id, mine);
        if (e != nullptr)
          w = st.ready.take(e->seq);
        else if (p != nullptr)
          w = take_parked(st, p->seq);
        auto cancelled =
            make_error(ec::cancelled, "cancelled by '" + requester + "'");
        if (w) {
          unindex_waiting(st, *w);
          w->payload.promise.deliver(std::move(cancelled));
        } else if (st.trying && !st.trying_gone &&
                   st.trying->requester == requester &&
                   st.trying->request_id == request_id && mine(*st.trying)) {
          st.trying->payload.promise.deliver(std::move(cancelled));
          drop_trying(st);
        } else {
          return make_error(ec::unknown_request,
                            "'" + requester + "' has no waiting bundle " +
                                std::to_string(request_id));
        }
        ++st.stats.refused;
        sync_stats(st);
        update_listening(self);
        return true;
      },
      [=](stats_atom) { return self->state.stats; },
      [=](reset_atom) -> caf::result<BundleStats> {
        auto& st = self->state;
        if (!may_administer(self))
          return make_error(ec::not_permitted,
                            "a reset of the bundle coordinator is "
                            "administration: local senders only");
        auto reset = [] {
          return make_error(ec::cancelled, "bundles were reset");
        };
        for (auto seq :
             waiting_where(self, [](const bundle_entry&) { return true; }))
          take_waiting(st, seq)->payload.promise.deliver(reset());
        if (st.trying && !st.trying_gone) {
          st.trying->payload.promise.deliver(reset());
          drop_trying(st);
        }
        for (auto& holder : st.watched)
          self->demonitor(holder);
        st.watched.clear();
        st.waiting_of_holder.clear();
        st.held_of_holder.clear();
        st.held.clear();
        st.shares.clear();
        st.stats = BundleStats{};
        update_listening(self);
        return st.stats;
      },
      [=](pools_atom, PoolDirectory& pools) {
        if (!self->state.supervisor ||
            sender_of(self) != self->state.supervisor)
          return; // new pools come from the manager only
        // A directory that does not name every pool would be indexed out of
        // range: keep the current one.
        if (pools.pools.size() != resource_type_count)
          return;
        auto& st = self->state;
        st.listening.replace(self, st.pools, std::move(pools));
      },
      [=](usage_atom, const PoolStatus& status) {
        auto& st = self->state;
        // Reports come from the coordinator's own pools, each about its own
        // type: a forged report could make it retry forever.
        if (!is_valid(status.type) ||
            sender_of(self) != st.pools[status.type].address())
          return;
        auto t = static_cast<std::size_t>(status.type);
        note_capacity(st, status.type, status.capacity);
        st.latest_returns[t] = std::max(st.latest_returns[t], status.returns);
        // The bundles this pool refused before it returned capacity.
        std::vector<std::uint64_t> due;
        auto& index = st.parked_at[t];
        for (auto i = index.begin();
             i != index.end() && i->first < status.returns; ++i)
          due.push_back(i->second);
        for (auto seq : due)
          if (auto e = take_parked(st, seq))
            push_ready(self, std::move(*e));
        if (!due.empty())
          pump(self);
      },
      [=](deadline_atom, std::uint64_t seq) {
        auto& st = self->state;
        if (!from_self(self))
          return; // a timer only the coordinator itself may fire
        auto expired = [&](const std::string& requester) {
          return make_error(ec::deadline_expired,
                            "bundle of '" + requester +
                                "' not granted within its deadline");
        };
        if (auto w = take_waiting(st, seq)) {
          unindex_waiting(st, *w);
          w->payload.promise.deliver(expired(w->requester));
        } else if (st.trying && !st.trying_gone && st.trying->seq == seq) {
          st.trying->payload.promise.deliver(expired(st.trying->requester));
          drop_trying(st);
        } else {
          return; // granted, refused or cancelled before
        }
        ++st.stats.refused;
        sync_stats(st);
        update_listening(self);
      },
      [=](policy_atom, const PoolPolicy& policy) {
        auto& st = self->state;
        if (!st.supervisor || sender_of(self) != st.supervisor)
          return; // policy comes from the manager only
        st.policy = policy;
        auto now = self->clock().now();
        st.ready.set_aging_interval(policy.aging_interval, now);
        st.parked.set_aging_interval(policy.aging_interval, now);
      },
  };
}

} // namespace rros
