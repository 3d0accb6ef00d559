#include "actors/cluster_client.hpp"

#include <memory>

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

/// One placement in progress: the ranked candidates and what each said.
struct Placement {
  ResourceRequest request;
  std::vector<PlacementCandidate> ranked;
  std::size_t next = 0;
  std::string refusals;
  caf::typed_response_promise<ClusterGrant> promise;
};

void refuse(Placement& p, const std::string& node, const std::string& why) {
  p.refusals += (p.refusals.empty() ? "" : "; ") + node + ": " + why;
}

/// Asks the next ranked node's pool; on refusal the one after it.
void try_next(self_pointer self, std::shared_ptr<Placement> p) {
  auto& st = self->state;
  while (p->next < p->ranked.size() && !st.nodes.count(p->ranked[p->next].name))
    ++p->next; // lost since the ranking
  if (p->next >= p->ranked.size()) {
    p->promise.deliver(make_error(
        ec::insufficient_resources,
        "no node of the cluster granted " +
            std::string{to_string(p->request.resource_type)} + " " +
            std::to_string(p->request.amount) +
            (p->refusals.empty() ? std::string{" (no node can fit it now)"}
                                 : " (" + p->refusals + ")")));
    return;
  }
  const auto& name = p->ranked[p->next++].name;
  auto pool = st.nodes.at(name).pools[p->request.resource_type];
  auto request = p->request;
  request.deadline = std::chrono::milliseconds{0}; // placement never waits
  self->request(pool, node_timeout, allocate_atom::value, request)
      .then(
          [=](ResourceAllocation& grant) {
            auto& st = self->state;
            st.grants[name][grant.grant_id] = grant;
            auto incarnation =
                st.nodes.count(name) ? st.nodes.at(name).incarnation : 0;
            p->promise.deliver(
                ClusterGrant{name, incarnation, std::move(grant)});
          },
          [=](caf::error& err) {
            if (is_permanent(err) && !is(err, ec::exceeds_capacity) &&
                !is(err, ec::exceeds_quota)) {
              // Bad input: every node would say the same.
              p->promise.deliver(std::move(err));
              return;
            }
            refuse(*p, name, describe(err));
            try_next(self, p);
          });
}

/// The node's down: its grants become node_lost notices.
void lose_node(self_pointer self, const std::string& name) {
  auto& st = self->state;
  auto node = st.nodes.find(name);
  if (node == st.nodes.end())
    return;
  auto incarnation = node->second.incarnation;
  st.nodes.erase(node);
  auto held = st.grants.find(name);
  if (held == st.grants.end())
    return;
  for (const auto& [id, grant] : held->second) {
    st.lost.emplace(name, incarnation, id);
    ClusterNotice notice;
    notice.node = name;
    notice.incarnation = incarnation;
    notice.reason = node_lost_reason;
    notice.grant.grant_id = id;
    notice.grant.requester_id = grant.requester_id;
    notice.grant.resource_type = grant.resource_type;
    notice.grant.amount = grant.allocated_amount;
    st.notices.push_back(std::move(notice));
  }
  st.grants.erase(held);
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
        auto& st = self->state;
        if (st.nodes.empty())
          return make_error(ec::not_connected,
                            "the cluster client reaches no node");
        auto p = std::make_shared<Placement>();
        p->request = std::move(req);
        p->promise = self->make_response_promise<ClusterGrant>();
        // Fresh ledgers from every node, then rank and try in order.
        struct Gather {
          std::vector<PlacementNode> nodes;
          std::size_t pending = 0;
        };
        auto gather = std::make_shared<Gather>();
        gather->pending = st.nodes.size();
        auto done = [=] {
          if (--gather->pending > 0)
            return;
          auto amount = to_units(p->request.amount);
          p->ranked = rank_nodes(
              gather->nodes, {PlacementItem{p->request.resource_type, amount}});
          try_next(self, p);
        };
        for (const auto& [name, node] : st.nodes) {
          auto node_name = name;
          self->request(node.manager, node_timeout, status_atom::value)
              .then(
                  [=](std::vector<PoolStatus>& pools) {
                    gather->nodes.push_back(
                        PlacementNode{node_name, std::move(pools), {}});
                    done();
                  },
                  [=](caf::error& err) {
                    refuse(*p, node_name, describe(err));
                    done();
                  });
        }
        return p->promise;
      },
      [=](release_atom,
          const ClusterGrant& grant) -> caf::result<ReleaseReceipt> {
        auto& st = self->state;
        auto id = grant.allocation.grant_id;
        if (st.lost.count({grant.node, grant.incarnation, id}))
          return make_error(ec::unknown_grant,
                            "grant " + std::to_string(id) + " lived on node " +
                                grant.node +
                                ", which was lost: it went with the node and "
                                "nothing is returned");
        auto held = st.grants.find(grant.node);
        if (held == st.grants.end() || !held->second.count(id) ||
            !st.nodes.count(grant.node) ||
            st.nodes.at(grant.node).incarnation != grant.incarnation)
          return make_error(ec::unknown_grant,
                            "grant " + std::to_string(id) + " on node " +
                                grant.node +
                                " is not held by this cluster client");
        auto pool =
            st.nodes.at(grant.node).pools[held->second.at(id).resource_type];
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
      [=](nodes_atom, std::vector<ClusterNode>& nodes) {
        if (!from_local(self))
          return;
        auto& st = self->state;
        for (auto& node : nodes) {
          if (!node.manager || node.pools.pools.size() != resource_type_count)
            continue;
          auto old = st.nodes.find(node.name);
          if (old != st.nodes.end() &&
              old->second.incarnation != node.incarnation) {
            st.by_manager.erase(old->second.manager.address());
            lose_node(self, node.name); // an earlier run's grants are gone
          }
          self->monitor(node.manager);
          st.by_manager[node.manager.address()] = node.name;
          st.nodes[node.name] = std::move(node);
        }
      },
      [=](revoke_atom, const GrantNotice& notice) {
        auto& st = self->state;
        // Only a pool of a node this client placed on tells it of a grant.
        auto sender = sender_of(self);
        for (auto& [name, node] : st.nodes)
          for (const auto& pool : node.pools.pools)
            if (pool.address() == sender) {
              auto held = st.grants.find(name);
              if (held == st.grants.end() ||
                  !held->second.count(notice.grant_id))
                return;
              if (notice.reason == RevokeReason::expired)
                held->second.erase(notice.grant_id);
              st.notices.push_back(ClusterNotice{
                  name, node.incarnation, to_string(notice.reason), notice});
              return;
            }
      },
  };
}

} // namespace rros
