#include "actors/bundle_coordinator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <set>

#include "messages/error.hpp"
#include "messages/validate.hpp"

namespace rros {

namespace {

using self_ptr = bundle_actor::stateful_pointer<bundle_state>;

/// The legs of one attempt, filled in as the pools reply.
struct Attempt {
  std::uint64_t seq = 0;
  std::vector<ResourceAllocation> legs;
  std::vector<PoolStatus> status;
  std::size_t missing = 0;
  caf::error error; // the first leg that can never be granted
};

std::vector<WaitingBundle>::iterator find_waiter(bundle_state& st,
                                                 std::uint64_t seq) {
  return std::find_if(st.waiting.begin(), st.waiting.end(),
                      [&](const WaitingBundle& w) { return w.seq == seq; });
}

caf::error check_bundle(const BundleRequest& req) {
  if (req.requester_id.empty())
    return make_error(ec::empty_requester, "a bundle needs a requester id");
  if (!is_valid(req.priority))
    return make_error(ec::invalid_priority,
                      "priority " +
                          std::to_string(static_cast<int>(req.priority)) +
                          " does not exist");
  if (req.items.empty())
    return make_error(ec::invalid_bundle, "a bundle needs at least one item");
  std::set<ResourceType> seen;
  for (const auto& item : req.items) {
    if (!is_valid(item.type))
      return make_error(ec::unknown_resource_type,
                        "resource type " +
                            std::to_string(static_cast<int>(item.type)) +
                            " does not exist");
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

// -- ranking --------------------------------------------------------------

/// Aging, as in the pools: one priority level per aging interval waited.
int effective_level(const bundle_state& st, const WaitingBundle& w,
                    bundle_time now) {
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

bool ranks_before(const bundle_state& st, const WaitingBundle& x,
                  const WaitingBundle& y, bundle_time now) {
  auto lx = effective_level(st, x, now);
  auto ly = effective_level(st, y, now);
  if (lx != ly)
    return lx < ly;
  // Equal priority: dominant resource fairness across requesters.
  auto sx = dominant_share(st, x.request.requester_id);
  auto sy = dominant_share(st, y.request.requester_id);
  if (sx != sy)
    return sx < sy;
  auto dx = x.has_deadline ? x.deadline : bundle_time::max();
  auto dy = y.has_deadline ? y.deadline : bundle_time::max();
  if (dx != dy)
    return dx < dy;
  return x.seq < y.seq;
}

// -- listening --------------------------------------------------------------

/// Listens to the pools exactly while bundles wait: their reports say when a
/// refused bundle is worth another attempt.
void update_listening(self_ptr self) {
  auto& st = self->state;
  bool wanted = !st.waiting.empty();
  if (wanted == st.listening)
    return;
  st.listening = wanted;
  auto me = caf::actor_cast<caf::actor>(self);
  for (const auto& pool : st.pools.pools)
    caf::anon_send(pool, listen_atom::value, me, wanted);
}

// -- holdings ---------------------------------------------------------------

void add_share(bundle_state& st, const std::string& requester,
               ResourceType type, double amount) {
  auto& shares = st.shares[requester];
  auto& x = shares[static_cast<std::size_t>(type)];
  x = std::max(0.0, x + amount);
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
  st.held.erase(b);
  st.stats.held = st.held.size();
}

void pump(self_ptr self);

/// Finishes an attempt: commit every leg, or abort the legs granted.
void finish(self_ptr self, std::shared_ptr<Attempt> a) {
  auto& st = self->state;
  st.attempting = false;
  auto w = find_waiter(st, a->seq);
  bool all = !a->error;
  for (const auto& leg : a->legs)
    all = all && leg.grant_id != 0;
  if (w != st.waiting.end() && all) {
    auto id = st.next_id++;
    HeldBundle bundle;
    bundle.requester = w->request.requester_id;
    bundle.holder = w->holder ? w->holder.address() : caf::actor_addr{};
    for (std::size_t i = 0; i < a->legs.size(); ++i) {
      auto type = w->request.items[i].type;
      caf::anon_send(st.pools[type], commit_atom::value, a->legs[i].grant_id,
                     w->holder);
      bundle.grants[type] = a->legs[i].grant_id;
      bundle.amounts[type] = w->request.items[i].amount;
      add_share(st, bundle.requester, type, w->request.items[i].amount);
    }
    st.held.emplace(id, std::move(bundle));
    st.stats.held = st.held.size();
    ++st.stats.granted;
    BundleGrant grant{id, w->request.requester_id, std::move(a->legs)};
    w->promise.deliver(std::move(grant));
    st.waiting.erase(w);
  } else {
    for (std::size_t i = 0; i < a->legs.size(); ++i)
      if (a->legs[i].grant_id != 0)
        caf::anon_send(st.pools[a->legs[i].resource_type], abort_atom::value,
                       a->legs[i].grant_id);
    if (w != st.waiting.end()) {
      if (a->error || !w->has_deadline) {
        ++st.stats.refused;
        if (a->error) {
          w->promise.deliver(std::move(a->error));
        } else {
          std::string lacking;
          for (const auto& leg : a->legs)
            if (leg.grant_id == 0)
              lacking += (lacking.empty() ? "" : ", ") +
                         std::string{to_string(leg.resource_type)};
          w->promise.deliver(
              make_error(ec::insufficient_resources,
                         "bundle of '" + w->request.requester_id +
                             "' does not fit now (" + lacking + ")"));
        }
        st.waiting.erase(w);
      } else {
        w->refused_at.clear();
        for (std::size_t i = 0; i < a->legs.size(); ++i) {
          if (a->legs[i].grant_id != 0)
            continue;
          auto type = a->legs[i].resource_type;
          w->refused_at[type] = a->status[i].returns;
          // Capacity that came back while the attempt was out: try again.
          if (st.latest_returns[static_cast<std::size_t>(type)] >
              a->status[i].returns)
            w->untried = true;
        }
      }
    }
  }
  st.stats.waiting = st.waiting.size();
  update_listening(self);
  pump(self);
}

/// Asks every pool of the bundle for its leg at once.
void attempt(self_ptr self, WaitingBundle& w) {
  auto& st = self->state;
  st.attempting = true;
  ++st.stats.attempts;
  w.untried = false;
  auto a = std::make_shared<Attempt>();
  a->seq = w.seq;
  auto n = w.request.items.size();
  a->legs.resize(n);
  a->status.resize(n);
  a->missing = n;
  auto now = self->clock().now();
  for (std::size_t i = 0; i < n; ++i) {
    const auto& item = w.request.items[i];
    ResourceRequest leg{w.request.requester_id, item.type, w.request.priority,
                        item.amount};
    // The remaining time ranks the leg against the pool's waiting requests.
    if (w.has_deadline)
      leg.deadline = std::max(
          std::chrono::milliseconds{1},
          std::chrono::ceil<std::chrono::milliseconds>(w.deadline - now));
    leg.ttl = w.request.ttl;
    leg.preemptable = w.request.preemptable;
    leg.request_id = w.request.request_id;
    a->legs[i].resource_type = item.type;
    self->request(st.pools[item.type], caf::infinite, prepare_atom::value, leg)
        .then(
            [=](ResourceAllocation& alloc, PoolStatus& status) {
              a->legs[i] = std::move(alloc);
              a->legs[i].resource_type = status.type;
              auto t = static_cast<std::size_t>(status.type);
              self->state.capacity[t] = to_amount(status.capacity);
              auto& latest = self->state.latest_returns[t];
              latest = std::max(latest, status.returns);
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
  if (st.attempting)
    return;
  auto now = self->clock().now();
  WaitingBundle* best = nullptr;
  for (auto& w : st.waiting)
    if (w.untried && (best == nullptr || ranks_before(st, w, *best, now)))
      best = &w;
  if (best != nullptr)
    attempt(self, *best);
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

caf::result<std::vector<ReleaseReceipt>> release_bundle(self_ptr self,
                                                        BundleId id) {
  auto& st = self->state;
  auto b = st.held.find(id);
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
  auto b = st.held.find(id);
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
  for (auto b = st.held.begin(); b != st.held.end();) {
    auto next = std::next(b);
    if (b->second.holder == holder) {
      auto legs = b->second.grants;
      for (const auto& [type, grant] : legs)
        forget_leg(self, b, type); // the last one erases b
    }
    b = next;
  }
  st.watched.erase(holder);
  st.waiting.erase(std::remove_if(st.waiting.begin(), st.waiting.end(),
                                  [&](const WaitingBundle& w) {
                                    return w.holder &&
                                           w.holder.address() == holder;
                                  }),
                   st.waiting.end());
  st.stats.waiting = st.waiting.size();
  update_listening(self);
}

} // namespace

bundle_actor::behavior_type
bundle_coordinator(self_ptr self, PoolDirectory pools, PoolPolicy policy) {
  self->state.pools = std::move(pools);
  self->state.policy = policy;
  self->state.next_id = first_id_of(next_incarnation());
  self->set_down_handler(
      [=](caf::down_msg& msg) { holder_down(self, msg.source); });
  return {
      [=](allocate_atom, const BundleRequest& req) -> caf::result<BundleGrant> {
        auto& st = self->state;
        if (auto err = check_bundle(req)) {
          ++st.stats.refused;
          return err;
        }
        auto now = self->clock().now();
        WaitingBundle w;
        w.seq = st.next_id++;
        w.request = req;
        if (auto sender = self->current_sender()) {
          w.holder = caf::actor_cast<caf::actor>(sender);
          if (st.watched.insert(w.holder.address()).second)
            self->monitor(w.holder);
        }
        w.promise = self->make_response_promise<BundleGrant>();
        w.enqueued = now;
        w.has_deadline = req.deadline.count() > 0;
        w.deadline = saturating_add(now, req.deadline);
        auto promise = w.promise;
        if (w.has_deadline)
          self->delayed_send(self, req.deadline, deadline_atom::value, w.seq);
        st.waiting.push_back(std::move(w));
        st.stats.waiting = st.waiting.size();
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
        auto w = std::find_if(st.waiting.begin(), st.waiting.end(),
                              [&](const WaitingBundle& x) {
                                return x.request.requester_id == requester &&
                                       x.request.request_id == request_id;
                              });
        if (w == st.waiting.end())
          return make_error(ec::unknown_request,
                            "'" + requester + "' has no waiting bundle " +
                                std::to_string(request_id));
        ++st.stats.refused;
        w->promise.deliver(
            make_error(ec::cancelled, "cancelled by '" + requester + "'"));
        st.waiting.erase(w);
        st.stats.waiting = st.waiting.size();
        update_listening(self);
        return true;
      },
      [=](stats_atom) { return self->state.stats; },
      [=](reset_atom) {
        auto& st = self->state;
        for (auto& w : st.waiting)
          w.promise.deliver(make_error(ec::cancelled, "bundles were reset"));
        st.waiting.clear();
        for (auto& holder : st.watched)
          self->demonitor(holder);
        st.watched.clear();
        st.held.clear();
        st.shares.clear();
        st.stats = BundleStats{};
        update_listening(self);
        return st.stats;
      },
      [=](pools_atom, PoolDirectory& pools) {
        auto& st = self->state;
        if (st.listening) {
          st.listening = false;
          st.pools = std::move(pools);
          update_listening(self);
        } else {
          st.pools = std::move(pools);
        }
      },
      [=](usage_atom, const PoolStatus& status) {
        auto& st = self->state;
        auto t = static_cast<std::size_t>(status.type);
        st.capacity[t] = to_amount(status.capacity);
        st.latest_returns[t] = std::max(st.latest_returns[t], status.returns);
        bool any = false;
        for (auto& w : st.waiting) {
          auto r = w.refused_at.find(status.type);
          if (!w.untried && r != w.refused_at.end() &&
              status.returns > r->second) {
            w.untried = true;
            any = true;
          }
        }
        if (any)
          pump(self);
      },
      [=](deadline_atom, std::uint64_t seq) {
        auto& st = self->state;
        auto w = find_waiter(st, seq);
        if (w == st.waiting.end())
          return; // granted, refused or cancelled before
        ++st.stats.refused;
        w->promise.deliver(make_error(ec::deadline_expired,
                                      "bundle of '" + w->request.requester_id +
                                          "' not granted within its deadline"));
        st.waiting.erase(w);
        st.stats.waiting = st.waiting.size();
        update_listening(self);
      },
      [=](policy_atom, const PoolPolicy& policy) {
        self->state.policy = policy;
      },
  };
}

} // namespace rros
