// The simulated module of a cluster run (see cluster_module.hpp).
#include "app/simulate/cluster_module.hpp"

#include <algorithm>

#include "messages/error.hpp"

namespace rros::app::sim {

namespace {

int node_index(const ClusterShared* shared, const std::string& node) {
  auto& names = shared->node_names;
  auto i = std::find(names.begin(), names.end(), node);
  return i == names.end() ? -1 : static_cast<int>(i - names.begin());
}

/// Forgets a task's legs and grant; returns them to the cluster when
/// `release` (the replies are of no interest: a grant that is gone already
/// answers unknown_grant).
void forget(cluster_module_actor* self, std::uint64_t id, bool release) {
  auto& st = self->state;
  if (auto g = st.grants.find(id); g != st.grants.end()) {
    st.legs.erase({g->second.node, g->second.allocation.grant_id});
    if (release)
      self->request(st.client, caf::infinite, release_atom::value, g->second)
          .then([](ReleaseReceipt&) {}, [](caf::error&) {});
    st.grants.erase(g);
  }
  if (auto b = st.bundles.find(id); b != st.bundles.end()) {
    for (const auto& leg : b->second.bundle.legs)
      st.legs.erase({b->second.node, leg.grant_id});
    if (release)
      self->request(st.client, caf::infinite, release_atom::value, b->second)
          .then([](std::vector<ReleaseReceipt>&) {}, [](caf::error&) {});
    st.bundles.erase(b);
  }
}

void on_placed(cluster_module_actor* self, ClusterShared* shared,
               std::uint64_t id, const std::string& node) {
  auto& task = shared->tasks[id];
  task.outcome = Outcome::held;
  task.node = node_index(shared, node);
  task.granted = shared->since_start(self->clock().now());
  self->delayed_send(self, task.hold, sim_done_atom::value, id);
}

void on_refused(ClusterShared* shared, std::uint64_t id,
                const caf::error& err) {
  auto& task = shared->tasks[id];
  if (is(err, ec::shed))
    task.outcome = Outcome::shed_refused;
  else if (is(err, ec::insufficient_resources) || is(err, ec::exceeds_quota))
    task.outcome = Outcome::refused;
  else
    task.outcome = Outcome::failed;
}

void on_notice(cluster_module_actor* self, ClusterShared* shared,
               const ClusterNotice& notice) {
  auto& st = self->state;
  auto leg = st.legs.find({notice.node, notice.grant.grant_id});
  if (leg == st.legs.end())
    return;
  auto id = leg->second;
  auto& task = shared->tasks[id];
  if (task.outcome != Outcome::held)
    return;
  bool give_back = true;
  if (notice.reason == node_lost_reason) {
    task.outcome = Outcome::node_lost;
    give_back = false; // nothing to return: the node went with it
  } else if (notice.reason == to_string(RevokeReason::expired)) {
    task.outcome = Outcome::expired;
    // A single grant is gone; a bundle returns its other legs.
    give_back = st.bundles.count(id) > 0;
  } else if (notice.reason == to_string(RevokeReason::preempted)) {
    task.outcome = Outcome::preempted;
  } else if (notice.reason == to_string(RevokeReason::shed)) {
    task.outcome = Outcome::shed_revoked;
  } else {
    return; // reattached / not_reattached: no restarts in a simulation
  }
  forget(self, id, give_back);
}

/// The end of a task's work: a grant still held is returned.
void complete(cluster_module_actor* self, ClusterShared* shared,
              std::uint64_t id) {
  if (shared->tasks[id].outcome != Outcome::held)
    return;
  shared->tasks[id].outcome = Outcome::completed;
  forget(self, id, true);
}

} // namespace

caf::behavior sim_cluster_module(cluster_module_actor* self,
                                 ClusterShared* shared, std::size_t index,
                                 cluster_client_actor client) {
  self->state.client = client;
  self->delayed_send(self, notice_poll, sim_poll_atom::value, true);
  return {
      [=](sim_task_atom, std::uint64_t id) {
        auto& task = shared->tasks[id];
        task.issued = shared->since_start(self->clock().now());
        const auto& name = shared->module_names[index];
        auto& st = self->state;
        if (task.items.size() == 1) {
          // The cluster never waits: a deadline is not sent.
          ResourceRequest req{name, task.items[0].type, task.priority,
                              task.items[0].amount};
          req.ttl = task.ttl;
          req.preemptable = task.preemptable;
          req.request_id = id + 1;
          self->request(st.client, caf::infinite, allocate_atom::value, req)
              .then(
                  [=](ClusterGrant& grant) {
                    auto& t = shared->tasks[id];
                    const auto& alloc = grant.allocation;
                    if (alloc.allocated_amount <= 0 || alloc.grant_id == 0) {
                      t.outcome = Outcome::refused;
                      return;
                    }
                    t.grant = alloc.grant_id;
                    t.partial = !alloc.fully_satisfied;
                    self->state.legs[{grant.node, alloc.grant_id}] = id;
                    self->state.grants[id] = grant;
                    on_placed(self, shared, id, grant.node);
                  },
                  [=](caf::error& err) { on_refused(shared, id, err); });
          return;
        }
        BundleRequest req;
        req.requester_id = name;
        req.priority = task.priority;
        req.items = task.items;
        req.ttl = task.ttl;
        req.preemptable = task.preemptable;
        req.request_id = id + 1;
        self->request(st.client, caf::infinite, allocate_atom::value, req)
            .then(
                [=](ClusterBundle& placed) {
                  auto& t = shared->tasks[id];
                  t.bundle = placed.bundle.bundle_id;
                  for (const auto& leg : placed.bundle.legs) {
                    self->state.legs[{placed.node, leg.grant_id}] = id;
                    t.legs.push_back(leg.grant_id);
                  }
                  self->state.bundles[id] = placed;
                  on_placed(self, shared, id, placed.node);
                },
                [=](caf::error& err) { on_refused(shared, id, err); });
      },
      [=](sim_done_atom, std::uint64_t id) {
        if (shared->tasks[id].outcome != Outcome::held)
          return;
        // What happened to the grant since the last poll (an expiry, a
        // preemption, its node lost) settles the task first: only a grant
        // still held completes.
        self->request(self->state.client, caf::infinite, notices_atom::value)
            .then(
                [=](std::vector<ClusterNotice>& notices) {
                  for (const auto& notice : notices)
                    on_notice(self, shared, notice);
                  complete(self, shared, id);
                },
                [=](caf::error&) { complete(self, shared, id); });
      },
      [=](sim_poll_atom, bool again) {
        self->request(self->state.client, caf::infinite, notices_atom::value)
            .then(
                [=](std::vector<ClusterNotice>& notices) {
                  for (const auto& notice : notices)
                    on_notice(self, shared, notice);
                },
                [](caf::error&) {});
        if (again)
          self->delayed_send(self, notice_poll, sim_poll_atom::value, true);
      },
  };
}

} // namespace rros::app::sim
