#include "actors/cluster_client.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <optional>

#include "actors/sender_checks.hpp"
#include "core/placement.hpp"
#include "messages/error.hpp"
#include "messages/validate.hpp"

namespace rros {

namespace {

using self_pointer =
    cluster_client_actor::stateful_pointer<cluster_client_state>;

/// How long one node may take to answer a status or an allocation.
constexpr auto node_timeout = std::chrono::seconds(5);

/// How often a placement refreshes a node's forecasts, and how far ahead
/// they look: a placement is meant to stay sensible for a few seconds.
constexpr auto forecast_period = std::chrono::seconds(1);
constexpr auto forecast_horizon = std::chrono::seconds(5);

/// One placement in progress (a grant or a bundle): the ranked candidates
/// and what each said.
template <class Request, class Grant>
struct Placement {
  Request request;
  std::vector<PlacementItem> items;
  std::vector<PlacementCandidate> ranked;
  std::size_t next = 0;
  std::string refusals;
  caf::typed_response_promise<Grant> promise;
};

template <class Placement>
void refuse(Placement& p, const std::string& node, const std::string& why) {
  p.refusals += (p.refusals.empty() ? "" : "; ") + node + ": " + why;
}

/// What a placement asks for, in words (for the final refusal).
std::string describe_request(const ResourceRequest& req) {
  return std::string{to_string(req.resource_type)} + " " +
         std::to_string(req.amount);
}

std::string describe_request(const BundleRequest& req) {
  std::string text = "the bundle";
  for (const auto& item : req.items)
    text += std::string{" "} + to_string(item.type) + " " +
            std::to_string(item.amount);
  return text;
}

/// A refusal that every node would give alike (bad input) ends a placement;
/// one that depends on the node's state passes it to the next node.
bool ends_placement(const caf::error& err) {
  return is_permanent(err) && !is(err, ec::exceeds_capacity) &&
         !is(err, ec::exceeds_quota);
}

ClusterNotice grant_notice(const std::string& node, std::uint64_t incarnation,
                           const char* reason, const ResourceAllocation& grant);
bool reattachable(const ResourceAllocation& grant);
bool reattachable(const BundleGrant& bundle);
void take_back(self_pointer self, const std::string& name);
void arm_give_up(self_pointer self, const std::string& name);

/// Whether `node` is still the run (manager) that was asked.
bool still_run(self_pointer self, const std::string& node,
               const manager_actor& manager) {
  auto i = self->state.nodes.find(node);
  return i != self->state.nodes.end() && i->second.manager == manager;
}

/// A grant (or a bundle's legs) that arrived from a run the client has
/// lost since it asked: lost like the run's other grants (node_lost
/// notices), and asked back from a later run when it carries a token.
template <class AddAwaited>
void lost_on_arrival(self_pointer self, const std::string& node,
                     std::uint64_t run,
                     const std::vector<ResourceAllocation>& legs,
                     bool can_come_back, AddAwaited add) {
  auto& st = self->state;
  for (const auto& leg : legs)
    st.notices.push_back(grant_notice(node, run, node_lost_reason, leg));
  if (!can_come_back)
    return;
  auto& awaited = st.awaited[node];
  awaited.incarnation = std::max(awaited.incarnation, run);
  add(awaited);
  arm_give_up(self, node);
  take_back(self, node); // at once when a later run is reached already
}

/// Asks `node` for a single grant; `on_grant` gets the grant and the run
/// that granted it, `on_error` the refusal.
template <class OnGrant, class OnError>
void ask_node(self_pointer self, const std::string& node,
              ResourceRequest request, OnGrant on_grant, OnError on_error) {
  const auto& asked = self->state.nodes.at(node);
  auto pool = asked.pools[request.resource_type];
  auto manager = asked.manager;
  auto run = asked.incarnation;
  request.deadline = std::chrono::milliseconds{0}; // placement never waits
  self->request(pool, node_timeout, allocate_atom::value, request)
      .then(
          [=](ResourceAllocation& grant) {
            HeldGrant held{grant, run};
            if (still_run(self, node, manager)) {
              self->state.grants[node][grant.grant_id] = held;
            } else {
              self->state.lost.emplace(node, run, grant.grant_id);
              lost_on_arrival(self, node, run, {grant}, reattachable(grant),
                              [&](AwaitedRun& awaited) {
                                awaited.grants[grant.grant_id] = held;
                              });
            }
            on_grant(std::move(grant), run);
          },
          on_error);
}

/// Asks `node`'s bundle coordinator for a whole bundle.
template <class OnGrant, class OnError>
void ask_node(self_pointer self, const std::string& node, BundleRequest request,
              OnGrant on_grant, OnError on_error) {
  auto extras = self->state.extras.find(node);
  if (extras == self->state.extras.end() || !extras->second.bundles) {
    auto err = make_error(ec::not_connected,
                          "its bundle coordinator is not known yet");
    on_error(err);
    return;
  }
  request.deadline = std::chrono::nanoseconds{0}; // placement never waits
  auto manager = self->state.nodes.at(node).manager;
  auto run = self->state.nodes.at(node).incarnation;
  self->request(extras->second.bundles, node_timeout, allocate_atom::value,
                request)
      .then(
          [=](BundleGrant& grant) {
            HeldBundle held{grant, run, false};
            if (still_run(self, node, manager)) {
              self->state.bundles[node][grant.bundle_id] = held;
            } else {
              self->state.lost_bundles.emplace(node, run, grant.bundle_id);
              lost_on_arrival(self, node, run, grant.legs, reattachable(grant),
                              [&](AwaitedRun& awaited) {
                                awaited.bundles[grant.bundle_id] = held;
                              });
            }
            on_grant(std::move(grant), run);
          },
          on_error);
}

ClusterGrant placed(std::string node, std::uint64_t incarnation,
                    ResourceAllocation grant) {
  return ClusterGrant{std::move(node), incarnation, std::move(grant)};
}

ClusterBundle placed(std::string node, std::uint64_t incarnation,
                     BundleGrant grant) {
  return ClusterBundle{std::move(node), incarnation, std::move(grant)};
}

/// Asks the next ranked node; on refusal the one after it.
template <class Request, class Grant>
void try_next(self_pointer self, std::shared_ptr<Placement<Request, Grant>> p) {
  auto& st = self->state;
  while (p->next < p->ranked.size() && !st.nodes.count(p->ranked[p->next].name))
    ++p->next; // lost since the ranking
  if (p->next >= p->ranked.size()) {
    p->promise.deliver(make_error(
        ec::insufficient_resources,
        "no node of the cluster granted " + describe_request(p->request) +
            (p->refusals.empty() ? std::string{" (no node can fit it now)"}
                                 : " (" + p->refusals + ")")));
    return;
  }
  auto name = p->ranked[p->next++].name;
  ask_node(
      self, name, p->request,
      [=](auto grant, std::uint64_t run) {
        p->promise.deliver(placed(name, run, std::move(grant)));
      },
      [=](caf::error& err) {
        if (ends_placement(err)) {
          p->promise.deliver(std::move(err));
          return;
        }
        refuse(*p, name, describe(err));
        try_next(self, p);
      });
}

/// Reads each forecast answer as the highest utilization it expects (0..1).
std::optional<double> peak_of(const ResourceForecast& forecast) {
  const auto& values = forecast.prediction.predicted_usage;
  if (values.empty() || forecast.prediction.confidence <= 0.0f)
    return std::nullopt;
  double peak = 0;
  for (auto v : values)
    if (std::isfinite(v))
      peak = std::max(peak, static_cast<double>(v));
  return std::min(peak, 1.0);
}

/// Gathers every usable node's exact ledgers (and, once per forecast
/// period, its forecasts), then ranks the nodes and tries them in order.
template <class Request, class Grant>
void place(self_pointer self, std::shared_ptr<Placement<Request, Grant>> p) {
  auto& st = self->state;
  struct Gather {
    std::map<std::string, std::vector<PoolStatus>> pools;
    std::size_t pending = 1; // released after every request is out
  };
  auto gather = std::make_shared<Gather>();
  auto done = [=] {
    if (--gather->pending > 0)
      return;
    std::vector<PlacementNode> nodes;
    for (auto& [name, pools] : gather->pools) {
      auto extras = self->state.extras.find(name);
      PlacementNode node{name, std::move(pools), {}};
      if (extras != self->state.extras.end())
        node.forecast = extras->second.forecast;
      nodes.push_back(std::move(node));
    }
    p->ranked = rank_nodes(nodes, p->items);
    try_next(self, p);
  };
  auto now = self->clock().now();
  for (const auto& [name, node] : st.nodes) {
    auto node_name = name;
    ++gather->pending;
    self->request(node.manager, node_timeout, status_atom::value)
        .then(
            [=](std::vector<PoolStatus>& pools) {
              gather->pools[node_name] = std::move(pools);
              done();
            },
            [=](caf::error& err) {
              refuse(*p, node_name, describe(err));
              done();
            });
    auto extras = st.extras.find(name);
    if (extras == st.extras.end() || !extras->second.predictor ||
        (extras->second.forecast_known &&
         now - extras->second.forecast_at < forecast_period))
      continue;
    extras->second.forecast_at = now;
    extras->second.forecast_known = true;
    extras->second.forecast.clear();
    for (auto type : all_resource_types) {
      ++gather->pending;
      self->request(extras->second.predictor, node_timeout, predict_atom::value,
                    type, std::chrono::nanoseconds{forecast_horizon})
          .then(
              [=](ResourceForecast& forecast) {
                auto i = self->state.extras.find(node_name);
                if (auto peak = peak_of(forecast);
                    peak && i != self->state.extras.end())
                  i->second.forecast.emplace_back(type, *peak);
                done();
              },
              [=](caf::error&) { done(); }); // no forecast: utilization
    }
  }
  done();
}

/// Asks a node for its bundle coordinator and predictor once it is added.
void learn_extras(self_pointer self, const ClusterNode& node) {
  auto name = node.name;
  auto manager = node.manager;
  self->state.extras[name] = ClusterNodeExtras{};
  self->request(manager, node_timeout, bundles_atom::value)
      .then(
          [=](bundle_actor& bundles) {
            auto i = self->state.nodes.find(name);
            if (i != self->state.nodes.end() && i->second.manager == manager)
              self->state.extras[name].bundles = std::move(bundles);
          },
          [](caf::error&) {}); // its loss comes as a down message
  self->request(manager, node_timeout, subsystems_atom::value)
      .then(
          [=](Subsystems& subsystems) {
            auto i = self->state.nodes.find(name);
            if (i != self->state.nodes.end() && i->second.manager == manager)
              self->state.extras[name].predictor = subsystems.predictor;
          },
          [](caf::error&) {});
}

ClusterNotice grant_notice(const std::string& node, std::uint64_t incarnation,
                           const char* reason,
                           const ResourceAllocation& grant) {
  ClusterNotice notice;
  notice.node = node;
  notice.incarnation = incarnation;
  notice.reason = reason;
  notice.grant.grant_id = grant.grant_id;
  notice.grant.requester_id = grant.requester_id;
  notice.grant.resource_type = grant.resource_type;
  notice.grant.amount = grant.allocated_amount;
  return notice;
}

/// Whether a later run of the node may give the grant back.
bool reattachable(const ResourceAllocation& grant) {
  return grant.reattach_token != 0;
}

bool reattachable(const BundleGrant& bundle) {
  return !bundle.legs.empty() &&
         std::all_of(bundle.legs.begin(), bundle.legs.end(),
                     [](const auto& leg) { return reattachable(leg); });
}

/// (Re)starts the wait for the grants `name`'s next run may give back:
/// give_up_after from now (only the latest timer armed counts).
void arm_give_up(self_pointer self, const std::string& name) {
  auto& st = self->state;
  auto awaited = st.awaited.find(name);
  if (awaited == st.awaited.end())
    return;
  awaited->second.wait = ++st.waits;
  self->delayed_send(self, st.give_up_after, reattach_atom::value, name,
                     awaited->second.wait);
}

/// The node's down: its grants and bundles' legs become node_lost notices;
/// those a later run may give back wait for it in `awaited`.
void lose_node(self_pointer self, const std::string& name) {
  auto& st = self->state;
  auto node = st.nodes.find(name);
  if (node == st.nodes.end())
    return;
  auto run = node->second.incarnation;
  st.nodes.erase(node);
  st.extras.erase(name);
  auto& awaited = st.awaited[name];
  awaited.incarnation = run;
  if (auto held = st.grants.find(name); held != st.grants.end()) {
    for (const auto& [id, grant] : held->second) {
      st.lost.emplace(name, grant.incarnation, id);
      st.notices.push_back(grant_notice(name, grant.incarnation,
                                        node_lost_reason, grant.allocation));
      if (reattachable(grant.allocation))
        awaited.grants[id] = grant;
    }
    st.grants.erase(held);
  }
  if (auto held = st.bundles.find(name); held != st.bundles.end()) {
    for (const auto& [id, bundle] : held->second) {
      st.lost_bundles.emplace(name, bundle.incarnation, id);
      for (const auto& leg : bundle.bundle.legs)
        st.notices.push_back(
            grant_notice(name, bundle.incarnation, node_lost_reason, leg));
      if (reattachable(bundle.bundle))
        awaited.bundles[id] = bundle;
    }
    st.bundles.erase(held);
  }
  if (awaited.grants.empty() && awaited.bundles.empty())
    st.awaited.erase(name);
  else
    arm_give_up(self, name);
}

/// The end of wait number `wait` for node `name`'s lost grants: what no
/// later run gave back is given up (a late release of it stays refused: it
/// is in `lost`).
void give_up(self_pointer self, const std::string& name, std::uint64_t wait) {
  auto& st = self->state;
  auto awaited = st.awaited.find(name);
  // Taken back meanwhile (or being asked for), or grants were added since,
  // which restarted the wait.
  if (awaited == st.awaited.end() || awaited->second.wait != wait)
    return;
  for (const auto& [id, held] : awaited->second.grants)
    st.notices.push_back(grant_notice(name, held.incarnation,
                                      not_reattached_reason, held.allocation));
  for (const auto& [id, held] : awaited->second.bundles)
    for (const auto& leg : held.bundle.legs)
      st.notices.push_back(
          grant_notice(name, held.incarnation, not_reattached_reason, leg));
  st.awaited.erase(awaited);
}

/// What became of one reattach request.
enum class TakeBack {
  held,    // the pool gave the grant back: the client holds it
  gone,    // the pool does not have it (grace ended, no books): lost
  unknown, // no answer (a timeout, the node ended): maybe held, maybe not
};

/// Asks the node's current run for one lost grant; `done` gets the outcome
/// and, when held, the grant as the pool now holds it.
template <class Done>
void take_back_one(self_pointer self, const pool_actor& pool,
                   const ResourceAllocation& grant, Done done) {
  self->request(pool, node_timeout, reattach_atom::value, grant.grant_id,
                grant.reattach_token)
      .then(
          [=](ResourceAllocation& back) mutable {
            done(TakeBack::held, std::move(back));
          },
          [=](caf::error& err) mutable {
            done(is(err, ec::unknown_grant) ? TakeBack::gone
                                            : TakeBack::unknown,
                 grant);
          });
}

/// Gives back, one by one, grants the client took back but no longer wants
/// (also those whose reattach went unanswered: the pool may have made the
/// client their holder; it refuses the release when it did not).
void return_grants(self_pointer self, const PoolDirectory& pools,
                   const std::vector<ResourceAllocation>& grants) {
  for (const auto& grant : grants)
    self->request(pools[grant.resource_type], node_timeout, release_atom::value,
                  grant.grant_id)
        .then([](ReleaseReceipt&) {}, [](caf::error&) {});
}

/// A later run of a lost node is reached: asks its pools for every grant
/// and bundle leg the lost runs left (with their tokens). What comes back is
/// held again (a reattached notice); what the run does not have stays lost
/// (not_reattached). A bundle is taken back whole or not at all. A grant the
/// user released meanwhile is given back to the pool at once. When the run
/// ends before it answers, the grants wait for the next run again.
void take_back(self_pointer self, const std::string& name) {
  auto& st = self->state;
  auto run = st.awaited.find(name);
  auto node = st.nodes.find(name);
  if (run == st.awaited.end() || node == st.nodes.end() ||
      node->second.incarnation <= run->second.incarnation)
    return;
  auto awaited = std::move(run->second);
  st.awaited.erase(run);
  auto pools = node->second.pools;
  auto manager = node->second.manager;
  auto asked_run = node->second.incarnation;
  // Still the run the reattach was sent to?
  auto same_run = [=] {
    auto i = self->state.nodes.find(name);
    return i != self->state.nodes.end() && i->second.manager == manager;
  };
  // The run asked ended or was replaced before its answer counted: what
  // it had, its next run restores again, so ask that one (now, if the
  // client reaches it already).
  auto wait_again = [=](auto add) {
    auto& again = self->state.awaited[name];
    again.incarnation = std::max(again.incarnation, asked_run);
    add(again);
    arm_give_up(self, name);
    take_back(self, name);
  };
  for (const auto& [id, held] : awaited.grants) {
    auto key = std::make_tuple(name, held.incarnation, id);
    st.asking.insert(key);
    take_back_one(
        self, pools[held.allocation.resource_type], held.allocation,
        [=](TakeBack outcome, ResourceAllocation back) {
          auto& st = self->state;
          st.asking.erase(key);
          if (st.given_up.erase(key) > 0) { // released meanwhile
            if (outcome != TakeBack::gone)
              return_grants(self, pools, {back});
            return;
          }
          if (outcome != TakeBack::gone && !same_run()) {
            auto grant = held;
            wait_again([&](AwaitedRun& run) { run.grants[id] = grant; });
            return;
          }
          if (outcome != TakeBack::held) {
            if (outcome == TakeBack::unknown)
              return_grants(self, pools, {back}); // in case it was given
            st.notices.push_back(grant_notice(name, held.incarnation,
                                              not_reattached_reason,
                                              held.allocation));
            return;
          }
          st.lost.erase(key);
          st.grants[name][id] = HeldGrant{back, held.incarnation};
          st.notices.push_back(
              grant_notice(name, held.incarnation, reattached_reason, back));
        });
  }
  for (const auto& [id, held] : awaited.bundles) {
    struct Gather {
      std::vector<ResourceAllocation> back;            // in the legs' order
      std::vector<ResourceAllocation> answered_or_not; // to return
      std::size_t pending = 0;
      bool gone = false;    // a leg the run does not have
      bool unknown = false; // a leg not answered
    };
    auto gather = std::make_shared<Gather>();
    gather->pending = held.bundle.legs.size();
    gather->back.resize(held.bundle.legs.size());
    auto key = std::make_tuple(name, held.incarnation, id);
    st.asking_bundles.insert(key);
    for (std::size_t leg_index = 0; leg_index < held.bundle.legs.size();
         ++leg_index)
      take_back_one(
          self, pools[held.bundle.legs[leg_index].resource_type],
          held.bundle.legs[leg_index],
          [=](TakeBack outcome, ResourceAllocation back) {
            gather->gone |= outcome == TakeBack::gone;
            gather->unknown |= outcome == TakeBack::unknown;
            if (outcome != TakeBack::gone)
              gather->answered_or_not.push_back(back);
            gather->back[leg_index] = std::move(back);
            if (--gather->pending > 0)
              return;
            auto& st = self->state;
            st.asking_bundles.erase(key);
            if (st.given_up_bundles.erase(key) > 0) { // released meanwhile
              return_grants(self, pools, gather->answered_or_not);
              return;
            }
            if (!gather->gone && !same_run()) {
              auto bundle = held;
              wait_again([&](AwaitedRun& run) { run.bundles[id] = bundle; });
              return;
            }
            if (gather->gone || gather->unknown) {
              return_grants(self, pools, gather->answered_or_not);
              for (const auto& leg : held.bundle.legs)
                st.notices.push_back(grant_notice(name, held.incarnation,
                                                  not_reattached_reason, leg));
              return;
            }
            st.lost_bundles.erase(key);
            auto bundle = held.bundle;
            bundle.legs = gather->back;
            st.bundles[name][id] = HeldBundle{bundle, held.incarnation, true};
            for (const auto& leg : bundle.legs)
              st.notices.push_back(
                  grant_notice(name, held.incarnation, reattached_reason, leg));
          });
  }
}

/// Stops waiting for a lost grant (or bundle) the user released: `erase`
/// removes it from the node's awaited run. False when it was not awaited
/// (already asked for, or never reattachable): the caller marks it given up.
template <class Erase>
bool forget_awaited(self_pointer self, const std::string& node, Erase erase) {
  auto run = self->state.awaited.find(node);
  if (run == self->state.awaited.end())
    return false;
  bool erased = erase(run->second);
  if (run->second.grants.empty() && run->second.bundles.empty())
    self->state.awaited.erase(run);
  return erased;
}

/// Releases a taken-back bundle's legs one by one (the coordinator of the
/// node's new run does not know the bundle); the receipts of the legs still
/// held, in the order the pools answered.
void release_legs(
    self_pointer self, const PoolDirectory& pools, const BundleGrant& bundle,
    caf::typed_response_promise<std::vector<ReleaseReceipt>> promise,
    std::function<void()> forget) {
  struct Gather {
    std::vector<ReleaseReceipt> receipts;
    std::size_t pending = 0;
    caf::error failure;
  };
  auto gather = std::make_shared<Gather>();
  gather->pending = bundle.legs.size();
  // After the last leg's answer: the receipts, or the first real failure.
  auto finish = [=]() mutable {
    if (--gather->pending > 0)
      return;
    forget();
    if (gather->failure)
      promise.deliver(gather->failure);
    else
      promise.deliver(std::move(gather->receipts));
  };
  for (const auto& leg : bundle.legs)
    self->request(pools[leg.resource_type], node_timeout, release_atom::value,
                  leg.grant_id)
        .then(
            [=](ReleaseReceipt& receipt) mutable {
              gather->receipts.push_back(std::move(receipt));
              finish();
            },
            [=](caf::error& err) mutable {
              // A leg the pool no longer has (it expired) is not a failure
              // of the others' release.
              if (!gather->failure && !is(err, ec::unknown_grant))
                gather->failure = std::move(err);
              finish();
            });
}

} // namespace

cluster_client_actor::behavior_type cluster_client(
    cluster_client_actor::stateful_pointer<cluster_client_state> self) {
  self->set_down_handler([=](caf::down_msg& msg) {
    auto i = self->state.by_manager.find(msg.source);
    if (i == self->state.by_manager.end())
      return;
    auto name = i->second;
    self->state.by_manager.erase(i);
    lose_node(self, name);
  });
  return {
      [=](allocate_atom, ResourceRequest& req) -> caf::result<ClusterGrant> {
        if (self->state.nodes.empty())
          return make_error(ec::not_connected,
                            "the cluster client reaches no node");
        auto p = std::make_shared<Placement<ResourceRequest, ClusterGrant>>();
        p->items = {PlacementItem{req.resource_type, to_units(req.amount)}};
        p->request = std::move(req);
        p->promise = self->make_response_promise<ClusterGrant>();
        place(self, p);
        return p->promise;
      },
      [=](allocate_atom, BundleRequest& req) -> caf::result<ClusterBundle> {
        if (self->state.nodes.empty())
          return make_error(ec::not_connected,
                            "the cluster client reaches no node");
        auto p = std::make_shared<Placement<BundleRequest, ClusterBundle>>();
        for (const auto& item : req.items)
          p->items.push_back(PlacementItem{item.type, to_units(item.amount)});
        p->request = std::move(req);
        p->promise = self->make_response_promise<ClusterBundle>();
        place(self, p);
        return p->promise;
      },
      [=](release_atom, const ClusterBundle& placed)
          -> caf::result<std::vector<ReleaseReceipt>> {
        auto& st = self->state;
        auto id = placed.bundle.bundle_id;
        if (st.lost_bundles.count({placed.node, placed.incarnation, id})) {
          if (!forget_awaited(self, placed.node, [id](AwaitedRun& run) {
                return run.bundles.erase(id) > 0;
              }))
            if (st.asking_bundles.count({placed.node, placed.incarnation, id}))
              st.given_up_bundles.emplace(placed.node, placed.incarnation, id);
          return make_error(ec::unknown_bundle,
                            "bundle " + std::to_string(id) + " lived on node " +
                                placed.node +
                                ", which was lost: it went with the node and "
                                "nothing is returned");
        }
        auto held = st.bundles.find(placed.node);
        auto extras = st.extras.find(placed.node);
        if (held == st.bundles.end() || !held->second.count(id) ||
            held->second.at(id).incarnation != placed.incarnation ||
            !st.nodes.count(placed.node) || extras == st.extras.end())
          return make_error(ec::unknown_bundle,
                            "bundle " + std::to_string(id) + " on node " +
                                placed.node +
                                " is not held by this cluster client");
        auto promise =
            self->make_response_promise<std::vector<ReleaseReceipt>>();
        auto node = placed.node;
        auto forget = [=] {
          auto i = self->state.bundles.find(node);
          if (i != self->state.bundles.end())
            i->second.erase(id);
        };
        if (const auto& bundle = held->second.at(id); bundle.reattached) {
          release_legs(self, st.nodes.at(node).pools, bundle.bundle, promise,
                       forget);
          return promise;
        }
        self->request(extras->second.bundles, node_timeout, release_atom::value,
                      id)
            .then(
                [=](std::vector<ReleaseReceipt>& receipts) mutable {
                  forget();
                  promise.deliver(std::move(receipts));
                },
                [=](caf::error& err) mutable {
                  if (is(err, ec::unknown_bundle))
                    forget(); // its legs ended at the pools already
                  promise.deliver(std::move(err));
                });
        return promise;
      },
      [=](release_atom,
          const ClusterGrant& grant) -> caf::result<ReleaseReceipt> {
        auto& st = self->state;
        auto id = grant.allocation.grant_id;
        if (st.lost.count({grant.node, grant.incarnation, id})) {
          if (!forget_awaited(
                  self, grant.node,
                  [id](AwaitedRun& run) { return run.grants.erase(id) > 0; }) &&
              st.asking.count({grant.node, grant.incarnation, id}))
            st.given_up.emplace(grant.node, grant.incarnation, id);
          return make_error(ec::unknown_grant,
                            "grant " + std::to_string(id) + " lived on node " +
                                grant.node +
                                ", which was lost: it went with the node and "
                                "nothing is returned");
        }
        auto held = st.grants.find(grant.node);
        if (held == st.grants.end() || !held->second.count(id) ||
            held->second.at(id).incarnation != grant.incarnation ||
            !st.nodes.count(grant.node))
          return make_error(ec::unknown_grant,
                            "grant " + std::to_string(id) + " on node " +
                                grant.node +
                                " is not held by this cluster client");
        auto pool = st.nodes.at(grant.node)
                        .pools[held->second.at(id).allocation.resource_type];
        auto promise = self->make_response_promise<ReleaseReceipt>();
        auto node = grant.node;
        self->request(pool, node_timeout, release_atom::value, id)
            .then(
                [=](ReleaseReceipt& receipt) mutable {
                  auto i = self->state.grants.find(node);
                  if (i != self->state.grants.end())
                    i->second.erase(id);
                  promise.deliver(std::move(receipt));
                },
                [=](caf::error& err) mutable {
                  if (is(err, ec::unknown_grant)) {
                    // Gone at the pool already (expired, preempted).
                    auto i = self->state.grants.find(node);
                    if (i != self->state.grants.end())
                      i->second.erase(id);
                  }
                  promise.deliver(std::move(err));
                });
        return promise;
      },
      [=](notices_atom) {
        auto result = std::move(self->state.notices);
        self->state.notices.clear();
        return result;
      },
      [=](nodes_atom) {
        std::vector<ClusterNode> result;
        for (const auto& [name, node] : self->state.nodes)
          result.push_back(node);
        return result;
      },
      [=](reattach_atom) {
        std::vector<std::string> names;
        for (const auto& [name, run] : self->state.awaited)
          names.push_back(name);
        return names;
      },
      [=](reattach_atom, caf::timespan wait) -> caf::result<caf::timespan> {
        if (!from_local(self))
          return make_error(ec::not_permitted,
                            "only the client's own node sets its wait");
        if (wait.count() <= 0 || wait > max_give_up_after)
          return make_error(ec::invalid_duration,
                            "the wait for a lost node's grants must be above "
                            "0 and at most 365 days");
        self->state.give_up_after = wait;
        return wait;
      },
      [=](reattach_atom, const std::string& name, std::uint64_t wait) {
        if (from_self(self))
          give_up(self, name, wait);
      },
      [=](nodes_atom, std::vector<ClusterNode>& nodes) {
        if (!from_local(self))
          return;
        auto& st = self->state;
        for (auto& node : nodes) {
          if (!node.manager || node.pools.pools.size() != resource_type_count)
            continue;
          auto old = st.nodes.find(node.name);
          if (old != st.nodes.end() &&
              old->second.incarnation != node.incarnation &&
              old->second.manager != node.manager) {
            st.by_manager.erase(old->second.manager.address());
            lose_node(self, node.name); // an earlier run's grants are gone
          }
          self->monitor(node.manager);
          st.by_manager[node.manager.address()] = node.name;
          auto name = node.name;
          st.nodes[name] = std::move(node);
          learn_extras(self, st.nodes.at(name));
          take_back(self, name);
        }
      },
      [=](revoke_atom, const GrantNotice& notice) {
        auto& st = self->state;
        // Only a pool of a node this client placed on tells it of a grant.
        auto sender = sender_of(self);
        for (auto& [name, node] : st.nodes)
          for (const auto& pool : node.pools.pools)
            if (pool.address() == sender) {
              // The run the holder was told of (a grant taken back after a
              // restart keeps its first run's).
              std::optional<std::uint64_t> run;
              auto held = st.grants.find(name);
              if (held != st.grants.end())
                if (auto g = held->second.find(notice.grant_id);
                    g != held->second.end()) {
                  run = g->second.incarnation;
                  if (notice.reason == RevokeReason::expired)
                    held->second.erase(g);
                }
              if (!run) // a leg of one of its bundles?
                if (auto bundles = st.bundles.find(name);
                    bundles != st.bundles.end())
                  for (const auto& [id, bundle] : bundles->second)
                    for (const auto& leg : bundle.bundle.legs)
                      if (leg.grant_id == notice.grant_id)
                        run = bundle.incarnation;
              if (run)
                st.notices.push_back(ClusterNotice{
                    name, *run, to_string(notice.reason), notice});
              return;
            }
      },
  };
}

} // namespace rros
