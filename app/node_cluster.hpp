// `rros node --name/--cluster/--join` and the cluster part of `rros status`
// (docs/cluster.md): the node's membership actor started, joined and drained,
// and a node's view of its cluster printed as text or JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "app/commands.hpp"
#include "core/incarnation_file.hpp"
#include "messages/cluster_messages.hpp"
#include "messages/subsystems.hpp"

namespace rros::app {

/// A node's part in its cluster while it runs.
struct NodeMembership {
  membership_actor actor;
  IncarnationFile incarnation; // locked for the life of the run
};

/// Checks a node name: 1 to 64 of letters, digits, '.', '_' and '-'.
bool valid_node_name(const std::string& name);

/// What is wrong with the cluster flags of `opts` (--join without --name, a
/// name without --port, a bad name), or nothing.
std::optional<std::string> cluster_flags_problem(const NodeOptions& opts);

/// Starts the membership actor of the node `opts.node_name` published at
/// opts.host:`port` and, with seeds, joins through them. The incarnation is
/// the counter in `rros-node-<name>.incarnation` in the working directory.
/// On failure prints one line ("rros node: ...") and returns nothing.
std::optional<NodeMembership> start_membership(caf::actor_system& sys,
                                               const NodeOptions& opts,
                                               std::uint16_t port,
                                               const TlsFiles& tls,
                                               const manager_actor& manager);

/// Tells every peer that the node leaves (waits at most a few seconds).
void drain_membership(caf::actor_system& sys, const NodeMembership& member);

/// The membership actor of the node that `manager` belongs to, when it is a
/// cluster member (a lookup over the existing connection).
std::optional<membership_peer_actor>
find_membership(caf::actor_system& sys, const manager_actor& manager);

/// The cluster section of `rros status`.
void print_cluster(std::ostream& out, const ClusterView& view);

/// The same as a JSON value ("cluster": {...}).
void write_cluster_json(rapidjson::Writer<rapidjson::StringBuffer>& w,
                        const ClusterView& view);

} // namespace rros::app
