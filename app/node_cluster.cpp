#include "app/node_cluster.hpp"

#include <future>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "actors/membership.hpp"
#include "app/connect.hpp"
#include "app/report.hpp"
#include "app/tls.hpp"

namespace rros::app {

namespace {

/// How long joining through the seeds may take before the node gives up.
constexpr auto join_wait = std::chrono::seconds(20);

/// How long a node waits for its peers to acknowledge its leaving.
constexpr auto drain_wait = std::chrono::seconds(5);

} // namespace

bool valid_node_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' &&
        c != '-')
      return false;
  return true;
}

std::optional<std::string> cluster_flags_problem(const NodeOptions& opts) {
  if (!opts.join.empty() && opts.node_name.empty())
    return std::string{"--join needs --name (this node's name in the cluster)"};
  if (opts.node_name.empty())
    return std::nullopt;
  if (!opts.publish)
    return std::string{"--name needs --port: a member serves its peers on its "
                       "published port"};
  if (!valid_node_name(opts.node_name))
    return "node name '" + opts.node_name +
           "': 1 to 64 letters, digits, '.', '_' or '-'";
  if (!valid_node_name(opts.cluster_name))
    return "cluster name '" + opts.cluster_name +
           "': 1 to 64 letters, digits, '.', '_' or '-'";
  return std::nullopt;
}

std::optional<membership_peer_actor>
find_membership(caf::actor_system& sys, const manager_actor& manager) {
  auto found =
      sys.middleman().remote_lookup(membership_registry_name, manager.node());
  if (!found)
    return std::nullopt;
  return caf::actor_cast<membership_peer_actor>(found);
}

std::optional<NodeMembership> start_membership(caf::actor_system& sys,
                                               const NodeOptions& opts,
                                               std::uint16_t port,
                                               const TlsFiles& tls,
                                               const manager_actor& manager) {
  auto incarnation =
      IncarnationFile::next("rros-node-" + opts.node_name + ".incarnation");
  if (!incarnation) {
    std::cerr << "rros node: " << context_of(incarnation.error()) << "\n";
    return std::nullopt;
  }
  MembershipSettings settings;
  settings.cluster = opts.cluster_name;
  settings.self = MemberInfo{opts.node_name, incarnation->value(), opts.host,
                             port, MemberState::alive};
  settings.interval = timespan_of(opts.heartbeat_interval);
  settings.manager = manager;
  bool secure = tls.enabled();
  caf::actor_system* system = &sys;
  settings.connect =
      [system, secure](
          const std::string& host,
          std::uint16_t peer_port) -> caf::expected<membership_peer_actor> {
    auto peer_manager =
        remote_on<manager_actor>(*system, host, peer_port, secure);
    if (!peer_manager)
      return std::move(peer_manager.error());
    auto found = find_membership(*system, *peer_manager);
    if (!found)
      return make_error(ec::not_connected,
                        "the node at " + host + ":" +
                            std::to_string(peer_port) +
                            " is not a cluster member (started without "
                            "--name)");
    return *found;
  };
  settings.log = [](const std::string& line) {
    std::cerr << "rros node: " << line << std::endl;
  };
  auto actor = sys.spawn(membership, std::move(settings));
  sys.registry().put(membership_registry_name, actor);
  NodeMembership result{actor, std::move(*incarnation)};
  std::cout << "rros node: member " << opts.node_name << " of cluster "
            << opts.cluster_name << ", incarnation "
            << result.incarnation.value() << std::endl;
  if (opts.join.empty())
    return result;
  caf::scoped_actor self{sys};
  std::optional<std::string> failure;
  JoinReply joined;
  self->request(actor, join_wait, join_atom::value, JoinSeeds{opts.join})
      .receive([&](JoinReply& reply) { joined = std::move(reply); },
               [&](caf::error& err) { failure = context_of(err); });
  if (failure) {
    std::cerr << "rros node: cannot join cluster " << opts.cluster_name << ": "
              << *failure << std::endl;
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    return std::nullopt;
  }
  std::cout << "rros node: joined cluster " << opts.cluster_name << " with "
            << joined.members.size() << " members" << std::endl;
  return result;
}

void drain_membership(caf::actor_system& sys, const NodeMembership& member) {
  caf::scoped_actor self{sys};
  self->request(member.actor, drain_wait, drain_atom::value)
      .receive(
          [&](bool all) {
            std::cerr << "rros node: left the cluster"
                      << (all ? "" : " (not every peer acknowledged)")
                      << std::endl;
          },
          [&](caf::error& err) {
            std::cerr << "rros node: leaving the cluster: " << describe(err)
                      << std::endl;
          });
  caf::anon_send_exit(member.actor, caf::exit_reason::user_shutdown);
}

void print_cluster(std::ostream& out, const ClusterView& view) {
  out << "cluster " << view.cluster << " (seen from " << view.self
      << (view.draining ? ", draining" : "") << "):\n";
  out << "  " << std::left << std::setw(16) << "node" << std::setw(9) << "state"
      << std::setw(13) << "incarnation" << std::setw(22) << "endpoint"
      << "usage (held+reserved of capacity)\n";
  for (const auto& m : view.members) {
    std::ostringstream usage;
    if (m.info.name == view.self) {
      usage << "this node (pools above)";
    } else if (m.pools.empty()) {
      usage << "no report yet";
    } else {
      for (std::size_t i = 0; i < m.pools.size(); ++i) {
        const auto& p = m.pools[i];
        usage << (i ? ", " : "") << to_string(p.type) << " "
              << amount_text(p.type, to_amount(p.held + p.reserved)) << "/"
              << amount_text(p.type, to_amount(p.capacity));
        if (p.waiting > 0)
          usage << " (" << p.waiting << " waiting)";
      }
    }
    out << "  " << std::left << std::setw(16) << m.info.name << std::setw(9)
        << to_string(m.info.state) << std::setw(13) << m.info.incarnation
        << std::setw(22) << (m.info.host + ":" + std::to_string(m.info.port))
        << usage.str() << "\n";
  }
}

void write_cluster_json(rapidjson::Writer<rapidjson::StringBuffer>& w,
                        const ClusterView& view) {
  w.StartObject();
  w.Key("name");
  w.String(view.cluster.c_str());
  w.Key("self");
  w.String(view.self.c_str());
  w.Key("draining");
  w.Bool(view.draining);
  w.Key("members");
  w.StartArray();
  for (const auto& m : view.members) {
    w.StartObject();
    w.Key("name");
    w.String(m.info.name.c_str());
    w.Key("state");
    w.String(to_string(m.info.state));
    w.Key("incarnation");
    w.Uint64(m.info.incarnation);
    w.Key("endpoint");
    auto endpoint = m.info.host + ":" + std::to_string(m.info.port);
    w.String(endpoint.c_str());
    w.Key("report_age_s");
    w.Double(m.report_age);
    w.Key("lost_after_s");
    w.Double(m.lost_after);
    w.Key("pools");
    w.StartArray();
    for (const auto& p : m.pools) {
      w.StartObject();
      w.Key("type");
      w.String(to_string(p.type));
      w.Key("capacity");
      w.Double(to_amount(p.capacity));
      w.Key("held");
      w.Double(to_amount(p.held));
      w.Key("reserved");
      w.Double(to_amount(p.reserved));
      w.Key("available");
      w.Double(to_amount(p.available));
      w.Key("waiting");
      w.Uint(p.waiting);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

} // namespace rros::app
