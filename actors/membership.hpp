// The membership actor (docs/cluster.md): one per node of a cluster. It joins
// through seeds, connects to every member it learns of (full mesh, each
// connection through the node's middleman with the node's TLS settings),
// admits joiners by the rules of MembershipTable, sends the node's capacity
// report to every peer each interval, marks a peer lost when its connection
// closes or is cut (the middleman's connection timeout) and tells its peers
// when the node drains.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "core/membership_table.hpp"
#include "messages/cluster_messages.hpp"
#include "messages/subsystems.hpp"

namespace rros {

struct MembershipSettings {
  std::string cluster; // peers of another cluster name are refused
  MemberInfo self;     // this node's name, incarnation and endpoint
  caf::timespan interval = std::chrono::seconds(1); // between reports
  manager_actor manager;                            // whose pools it reports
  /// Reaches the membership actor of the node published at host:port. It
  /// blocks (CAF's connect does), so it runs in a detached actor of its own.
  std::function<caf::expected<membership_peer_actor>(const std::string& host,
                                                     std::uint16_t port)>
      connect;
  /// One line about a change (joined, lost, left, refused); may be empty.
  std::function<void(const std::string&)> log;
};

struct membership_state {
  MembershipSettings settings;
  std::unique_ptr<MembershipTable> table;
  // The handle and the run of each peer this node is connected to.
  std::map<std::string, membership_peer_actor> handles;
  std::map<caf::actor_addr, std::pair<std::string, std::uint64_t>> runs;
  std::set<std::string> connecting; // endpoints being reached now
  bool draining = false;
  // The join through seeds in progress (run_node waits for its reply).
  std::vector<std::string> seeds;
  std::size_t next_seed = 0;
  std::vector<std::string> seed_failures;
  caf::response_promise join_promise;
  bool joining = false;

  static inline const char* name = "rros.membership";
};

membership_actor::behavior_type
membership(membership_actor::stateful_pointer<membership_state> self,
           MembershipSettings settings);

} // namespace rros
