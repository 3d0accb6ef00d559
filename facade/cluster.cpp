#include "facade/cluster.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/cluster_client.hpp"
#include "messages/error.hpp"

namespace rros {

namespace {

constexpr auto call_timeout = std::chrono::seconds(10);

bool split(const std::string& text, std::string& host, std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return false;
  try {
    std::size_t used = 0;
    auto value = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || value == 0 || value > 65535)
      return false;
    host = text.substr(0, colon);
    port = static_cast<std::uint16_t>(value);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

template <class Result, class Handle, class... Ts>
caf::expected<Result> call(caf::actor_system& sys, const Handle& dest,
                           Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::expected<Result> result{caf::sec::unexpected_response};
  self->request(dest, call_timeout, std::forward<Ts>(xs)...)
      .receive([&](Result& reply) { result = std::move(reply); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

caf::expected<ClusterView> view_of(caf::actor_system& sys,
                                   const manager_actor& manager) {
  auto found =
      sys.middleman().remote_lookup(membership_registry_name, manager.node());
  if (!found)
    return make_error(ec::not_connected,
                      "not a cluster member (started without --name)");
  return call<ClusterView>(sys, caf::actor_cast<membership_peer_actor>(found),
                           view_atom::value);
}

/// A member reached: its manager, pools and (for the seed) view.
caf::expected<ClusterNode> reach(caf::actor_system& sys,
                                 const Cluster::Connector& connector,
                                 const std::string& name,
                                 std::uint64_t incarnation,
                                 const std::string& endpoint) {
  std::string host;
  std::uint16_t port = 0;
  if (!split(endpoint, host, port))
    return make_error(ec::invalid_argument,
                      "'" + endpoint + "' is not HOST:PORT");
  auto manager = connector(host, port);
  if (!manager)
    return std::move(manager.error());
  auto pools = call<PoolDirectory>(sys, *manager, pools_atom::value);
  if (!pools)
    return std::move(pools.error());
  ClusterNode node{name, incarnation, *manager, std::move(*pools)};
  // The run listening there now says which run it is: a view may be stale
  // (a restart it has not seen yet).
  if (auto own = view_of(sys, node.manager))
    for (const auto& m : own->members)
      if (m.info.name == own->self) {
        node.name = own->self;
        node.incarnation = m.info.incarnation;
      }
  return node;
}

} // namespace

Cluster::Cluster(caf::actor_system& sys, Connector connector,
                 std::vector<std::string> seeds, cluster_client_actor client)
  : sys_(sys)
  , connector_(std::move(connector))
  , seeds_(std::move(seeds))
  , client_(std::move(client)) {}

Cluster::~Cluster() {
  {
    std::lock_guard<std::mutex> guard{watch_mutex_};
    stopping_ = true;
  }
  watch_wake_.notify_all();
  if (watcher_.joinable())
    watcher_.join();
  caf::anon_send_exit(client_, caf::exit_reason::user_shutdown);
}

bool Cluster::stopping() {
  std::lock_guard<std::mutex> guard{watch_mutex_};
  return stopping_;
}

void Cluster::watch_for_rejoins(std::chrono::nanoseconds poll) {
  std::unique_lock<std::mutex> lock{watch_mutex_};
  while (!watch_wake_.wait_for(lock, poll, [this] { return stopping_; })) {
    lock.unlock();
    auto awaited =
        call<std::vector<std::string>>(sys_, client_, reattach_atom::value);
    if (awaited && !awaited->empty())
      refresh();
    lock.lock();
  }
}

caf::expected<std::unique_ptr<Cluster>>
Cluster::connect(caf::actor_system& sys, const std::vector<std::string>& seeds,
                 Connector connector, std::chrono::nanoseconds rejoin_poll,
                 std::chrono::nanoseconds give_up_after) {
  if (!connector)
    connector = [&sys](const std::string& host, std::uint16_t port) {
      return sys.middleman().remote_actor<manager_actor>(host, port);
    };
  std::string failures;
  for (const auto& seed : seeds) {
    auto node = reach(sys, connector, seed, 0, seed);
    caf::expected<ClusterView> view{caf::sec::unexpected_response};
    if (node)
      view = view_of(sys, node->manager);
    if (!node || !view) {
      failures += (failures.empty() ? "" : "; ") + seed + " (" +
                  describe(node ? view.error() : node.error()) + ")";
      continue;
    }
    auto client = sys.spawn(cluster_client);
    std::unique_ptr<Cluster> result{
        new Cluster(sys, std::move(connector), seeds, client)};
    node->name = view->self;
    node->incarnation = view->members.front().info.incarnation; // itself
    // The other members alive in the seed's view.
    std::vector<ClusterNode> others;
    for (const auto& m : view->members) {
      if (m.info.name == view->self || m.info.state != MemberState::alive)
        continue;
      auto other =
          reach(sys, result->connector_, m.info.name, m.info.incarnation,
                m.info.host + ":" + std::to_string(m.info.port));
      if (other)
        others.push_back(std::move(*other));
    }
    // anon_send from this thread counts as local (no sender): the client
    // takes node lists from its own node only, so send from a local actor.
    caf::scoped_actor self{sys};
    if (give_up_after.count() > 0)
      self->send(
          client, reattach_atom::value,
          std::min(std::chrono::duration_cast<caf::timespan>(give_up_after),
                   max_give_up_after));
    self->send(client, nodes_atom::value, std::vector<ClusterNode>{*node});
    self->send(client, nodes_atom::value, std::move(others));
    if (rejoin_poll.count() > 0) {
      auto* cluster = result.get();
      cluster->watcher_ = std::thread{
          [cluster, rejoin_poll] { cluster->watch_for_rejoins(rejoin_poll); }};
    }
    return result;
  }
  return make_error(ec::not_connected,
                    "no seed of the cluster answered: " + failures);
}

caf::expected<ClusterGrant> Cluster::allocate(const ResourceRequest& request) {
  return call<ClusterGrant>(sys_, client_, allocate_atom::value, request);
}

caf::expected<ReleaseReceipt> Cluster::release(const ClusterGrant& grant) {
  return call<ReleaseReceipt>(sys_, client_, release_atom::value, grant);
}

caf::expected<ClusterBundle> Cluster::allocate(const BundleRequest& request) {
  return call<ClusterBundle>(sys_, client_, allocate_atom::value, request);
}

caf::expected<std::vector<ReleaseReceipt>>
Cluster::release(const ClusterBundle& bundle) {
  return call<std::vector<ReleaseReceipt>>(sys_, client_, release_atom::value,
                                           bundle);
}

caf::expected<ClusterTaskResult> Cluster::run_task(const ClusterTask& task) {
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  if (!task.body)
    return make_error(ec::invalid_argument,
                      "task '" + task.task_id + "' has no body");
  if (task.deadline < std::chrono::nanoseconds{0})
    return make_error(ec::invalid_duration,
                      "task '" + task.task_id + "' has a negative deadline");
  BundleRequest request;
  request.requester_id = task.task_id;
  request.priority = task.priority;
  request.items = task.requirements;
  auto bundle = allocate(request);
  if (!bundle)
    return std::move(bundle.error());
  auto late = [&] {
    return task.deadline.count() > 0 && clock::now() - start > task.deadline;
  };
  ClusterTaskResult result;
  result.node = bundle->node;
  if (late()) {
    // Placing took the whole deadline: the body does not start.
    auto returned = release(*bundle);
    static_cast<void>(returned);
    return make_error(ec::deadline_expired,
                      "task '" + task.task_id +
                          "' could not start before its deadline");
  }
  try {
    task.body();
    result.succeeded = true;
  } catch (const std::exception& e) {
    result.detail = e.what();
  } catch (...) {
    result.detail = "an exception that is not a std::exception";
  }
  result.deadline_missed = late();
  if (auto returned = release(*bundle))
    result.returned = std::move(*returned);
  return result;
}

std::vector<ClusterNotice> Cluster::notices() {
  auto result =
      call<std::vector<ClusterNotice>>(sys_, client_, notices_atom::value);
  return result ? std::move(*result) : std::vector<ClusterNotice>{};
}

std::vector<std::string> Cluster::nodes() {
  std::vector<std::string> names;
  auto result =
      call<std::vector<ClusterNode>>(sys_, client_, nodes_atom::value);
  if (result)
    for (const auto& node : *result)
      names.push_back(node.name);
  return names;
}

std::size_t Cluster::refresh() {
  std::lock_guard<std::mutex> guard{refresh_mutex_};
  auto known = call<std::vector<ClusterNode>>(sys_, client_, nodes_atom::value);
  std::map<std::string, std::uint64_t> have; // name -> incarnation
  std::optional<ClusterView> view;
  if (known) {
    for (const auto& node : *known)
      have[node.name] = node.incarnation;
    for (const auto& node : *known)
      if (auto found = view_of(sys_, node.manager)) {
        view = std::move(*found);
        break;
      }
  }
  // No usable node (all lost, or the only one restarted): ask the seeds.
  for (std::size_t i = 0; !view && i < seeds_.size() && !stopping(); ++i)
    if (auto seed = reach(sys_, connector_, seeds_[i], 0, seeds_[i]))
      if (auto found = view_of(sys_, seed->manager))
        view = std::move(*found);
  if (!view)
    return 0;
  std::vector<ClusterNode> added;
  for (const auto& m : view->members) {
    auto i = have.find(m.info.name);
    if ((i != have.end() && i->second >= m.info.incarnation) ||
        m.info.state != MemberState::alive)
      continue;
    auto other = reach(sys_, connector_, m.info.name, m.info.incarnation,
                       m.info.host + ":" + std::to_string(m.info.port));
    if (other)
      added.push_back(std::move(*other));
  }
  auto count = added.size();
  caf::scoped_actor self{sys_};
  self->send(client_, nodes_atom::value, std::move(added));
  return count;
}

} // namespace rros
