// rros::Cluster: a blocking client that places grants somewhere in a cluster
// of `rros node` members (docs/cluster.md, "Placement"). It reaches one seed,
// reads its view of the cluster, connects to every member alive and hands
// them to a cluster client actor, which ranks the nodes that fit by
// utilization after placement, then forecast headroom, then name, and asks
// them in that order. Never call it from inside an actor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "messages/cluster_messages.hpp"

namespace rros {

/// A task run through the cluster (Cluster::run_task): its requirements are
/// placed as one bundle on the best node and held while `body` runs on the
/// calling thread (a task carries code, which does not cross nodes).
struct ClusterTask {
  std::string task_id; // the bundle's requester
  Priority priority = Priority::NORMAL;
  std::vector<BundleItem> requirements; // each type at most once
  std::function<void()> body;
  // Time allowed from the call to the task's end; zero: no deadline. A
  // task that ends later is reported with deadline_missed.
  std::chrono::nanoseconds deadline{0};
};

/// What became of a task run through the cluster.
struct ClusterTaskResult {
  std::string node;                     // where its requirements were held
  bool succeeded = false;               // the body returned without throwing
  bool deadline_missed = false;         // it ended after its deadline
  std::string detail;                   // the exception's text when it threw
  std::vector<ReleaseReceipt> returned; // its legs, given back at the end
};

class Cluster {
public:
  /// Reaches the manager published at host:port (blocking). The default
  /// uses the middleman in plaintext; pass one that uses TLS when the
  /// cluster does (app/tls.hpp's remote_on).
  using Connector = std::function<caf::expected<manager_actor>(
      const std::string& host, std::uint16_t port)>;

  /// Connects through the first seed ("HOST:PORT") that answers and to
  /// every member alive in its view. not_connected naming the seeds when
  /// none answered or none is a cluster member. `sys` must have the
  /// middleman loaded and rros's types registered (register_types), and
  /// send heartbeats more often than the nodes' connection timeout.
  ///
  /// While grants of a lost node wait to be taken back (they carry a
  /// reattach token: the node keeps its books in a data directory), a
  /// background thread calls refresh() every `rejoin_poll`: when the node's
  /// next run is up, the client takes them back by itself and notices()
  /// says "reattached" (docs/cluster.md,
  /// "Taking grants back from a restarted node"). Zero: only an
  /// explicit refresh() does. Grants whose node's next run has not come
  /// back within `give_up_after` of the loss are given up (notices() says
  /// "not_reattached"), and the polling for that node stops (zero or less:
  /// the default; at most a year).
  static caf::expected<std::unique_ptr<Cluster>>
  connect(caf::actor_system& sys, const std::vector<std::string>& seeds,
          Connector connector = {},
          std::chrono::nanoseconds rejoin_poll = std::chrono::seconds(1),
          std::chrono::nanoseconds give_up_after = default_give_up_after);

  /// Stops the background thread and the client actor: every grant it
  /// still holds returns to its pool (the pools monitor it).
  ~Cluster();

  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  /// Places `request` on the best node that grants it (never waits).
  caf::expected<ClusterGrant> allocate(const ResourceRequest& request);

  /// Returns a grant this client placed; unknown_grant for one that lived
  /// on a lost node (see notices()) or was returned already.
  caf::expected<ReleaseReceipt> release(const ClusterGrant& grant);

  /// Places a bundle all-or-nothing on one node (never waits).
  caf::expected<ClusterBundle> allocate(const BundleRequest& request);

  /// Returns every leg of a bundle this client placed; unknown_bundle for
  /// one that lived on a lost node or was returned already.
  caf::expected<std::vector<ReleaseReceipt>>
  release(const ClusterBundle& bundle);

  /// Places the task's requirements as one bundle, runs its body on this
  /// thread while they are held and returns them. A task whose
  /// requirements fit nowhere now does not run (insufficient_resources);
  /// the same when its deadline has passed before it could start
  /// (deadline_expired). A body that throws is a result with succeeded =
  /// false, not an error. When the node is lost while the body runs, the
  /// result holds no receipts and notices() says node_lost.
  caf::expected<ClusterTaskResult> run_task(const ClusterTask& task);

  /// Notices since the last call: "node_lost" for grants of a lost node,
  /// then "reattached" or "not_reattached" when its next run is reached
  /// (see connect), the pools' own revoke notices otherwise.
  std::vector<ClusterNotice> notices();

  /// The names of the nodes still usable, by name.
  std::vector<std::string> nodes();

  /// Connects to members that joined since, and to later runs of members
  /// that were lost (read from a usable node's view, or from a seed's when
  /// no node is usable); returns how many were added. A later run of a lost
  /// node gives back the grants the client held there when it still keeps
  /// them (see connect).
  std::size_t refresh();

private:
  Cluster(caf::actor_system& sys, Connector connector,
          std::vector<std::string> seeds, cluster_client_actor client);

  /// The background thread's loop (see connect).
  void watch_for_rejoins(std::chrono::nanoseconds poll);
  /// True once the destructor began (refresh() stops trying seeds).
  bool stopping();

  caf::actor_system& sys_;
  Connector connector_;
  std::vector<std::string> seeds_;
  cluster_client_actor client_;
  std::mutex refresh_mutex_; // one refresh at a time
  std::mutex watch_mutex_;
  std::condition_variable watch_wake_;
  bool stopping_ = false;
  std::thread watcher_;
};

} // namespace rros
