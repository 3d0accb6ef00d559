#include "actors/membership.hpp"

#include <iomanip>
#include <sstream>

#include "actors/sender_checks.hpp"
#include "messages/error.hpp"

namespace rros {

namespace {

using self_pointer = membership_actor::stateful_pointer<membership_state>;
using clock = MembershipTable::clock;

/// How long a join request to a reached peer may take.
constexpr auto join_timeout = std::chrono::seconds(10);

std::string endpoint_of(const MemberInfo& m) {
  return m.host + ":" + std::to_string(m.port);
}

std::string run_text(const MemberInfo& m) {
  return m.name + " (incarnation " + std::to_string(m.incarnation) + ", " +
         endpoint_of(m) + ")";
}

/// "HOST:PORT" split; false when it is not of that form.
bool split_endpoint(const std::string& text, std::string& host,
                    std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return false;
  host = text.substr(0, colon);
  std::size_t used = 0;
  unsigned long value = 0;
  try {
    value = std::stoul(text.substr(colon + 1), &used);
  } catch (const std::exception&) {
    return false;
  }
  if (used != text.size() - colon - 1 || value == 0 || value > 65535)
    return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

void say(self_pointer self, const std::string& line) {
  if (self->state.settings.log)
    self->state.settings.log(line);
}

/// Reaches the node at `endpoint` in a detached actor (CAF's connect
/// blocks); the answer comes back as found_atom or unreachable_atom.
void reach(self_pointer self, const std::string& endpoint) {
  if (!self->state.connecting.insert(endpoint).second)
    return; // already under way
  std::string host;
  std::uint16_t port = 0;
  if (!split_endpoint(endpoint, host, port)) {
    self->send(self, unreachable_atom::value, endpoint,
               std::string{"not of the form HOST:PORT"});
    return;
  }
  auto connect = self->state.settings.connect;
  membership_actor back = self;
  self->system().spawn<caf::detached>(
      [=](caf::event_based_actor* connector) -> caf::behavior {
        auto peer = connect(host, port);
        if (peer)
          connector->send(back, found_atom::value, endpoint, *peer);
        else
          connector->send(back, unreachable_atom::value, endpoint,
                          describe(peer.error()));
        connector->quit();
        return {};
      });
}

/// Records `peer` as the handle of the run `info` (monitored: its down
/// message is the run's loss).
void attach(self_pointer self, const MemberInfo& info,
            const membership_peer_actor& peer) {
  auto& st = self->state;
  auto old = st.handles.find(info.name);
  if (old != st.handles.end() && old->second != peer) {
    self->demonitor(old->second.address());
    st.runs.erase(old->second.address());
  }
  st.handles[info.name] = peer;
  st.runs[peer.address()] = {info.name, info.incarnation};
  self->monitor(peer);
}

/// Connects to every member of `members` this node does not know alive in
/// that run or a newer one.
void learn(self_pointer self, const std::vector<MemberInfo>& members) {
  auto& st = self->state;
  for (const auto& m : members) {
    if (m.name == st.table->self().name || st.draining)
      continue;
    const auto* known = st.table->find(m.name);
    if (known != nullptr && known->info.incarnation >= m.incarnation)
      continue;
    reach(self, endpoint_of(m));
  }
}

/// Sends this node's join to a reached peer; on success the peer (the first
/// member of the reply) is admitted and the members it names are reached.
/// `on_done` gets the reply or the error.
void send_join(self_pointer self, const membership_peer_actor& peer,
               std::function<void(caf::expected<JoinReply>)> on_done) {
  auto& st = self->state;
  JoinRequest req{st.settings.cluster, cluster_protocol_version,
                  st.table->self()};
  self->request(peer, join_timeout, join_atom::value, req)
      .then(
          [=](JoinReply& reply) {
            if (reply.members.empty()) {
              on_done(make_error(ec::invalid_argument,
                                 "a member answered a join without itself"));
              return;
            }
            const auto& member = reply.members.front();
            auto verdict =
                self->state.table->admit(member, self->clock().now());
            if (verdict == MembershipTable::Verdict::admitted ||
                verdict == MembershipTable::Verdict::already_known) {
              attach(self, member, peer);
              if (verdict == MembershipTable::Verdict::admitted)
                say(self, "member " + run_text(member) + " joined");
            }
            learn(self, reply.members);
            on_done(std::move(reply));
          },
          [=](caf::error& err) { on_done(std::move(err)); });
}

/// Tries the next seed of the join in progress, or ends it.
void try_next_seed(self_pointer self) {
  auto& st = self->state;
  if (st.next_seed >= st.seeds.size()) {
    std::string text = "no seed answered: ";
    for (std::size_t i = 0; i < st.seed_failures.size(); ++i)
      text += (i ? "; " : "") + st.seed_failures[i];
    st.joining = false;
    st.join_promise.deliver(make_error(ec::not_connected, text));
    return;
  }
  reach(self, st.seeds[st.next_seed]);
}

bool is_current_seed(self_pointer self, const std::string& endpoint) {
  auto& st = self->state;
  return st.joining && st.next_seed < st.seeds.size() &&
         st.seeds[st.next_seed] == endpoint;
}

/// The node's pools to every peer, with the members it knows.
void report(self_pointer self) {
  self->request(self->state.settings.manager, self->state.settings.interval,
                status_atom::value)
      .then(
          [=](std::vector<PoolStatus>& pools) {
            auto& st = self->state;
            CapacityReport out{st.table->self().name,
                               st.table->self().incarnation, std::move(pools),
                               st.table->live_members()};
            for (const auto& [name, peer] : st.handles)
              if (st.table->accepts(name, st.runs[peer.address()].second))
                self->send(peer, report_atom::value, out);
          },
          [=](caf::error&) {
            // The manager is busy or restarting a pool: the next tick
            // reports (the view is soft state).
          });
}

double seconds_between(clock::time_point from, clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

} // namespace

membership_actor::behavior_type
membership(membership_actor::stateful_pointer<membership_state> self,
           MembershipSettings settings) {
  self->state.table = std::make_unique<MembershipTable>(settings.self);
  self->state.settings = std::move(settings);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    auto i = st.runs.find(msg.source);
    if (i == st.runs.end())
      return;
    auto [name, incarnation] = i->second;
    st.runs.erase(i);
    auto h = st.handles.find(name);
    if (h != st.handles.end() && h->second.address() == msg.source)
      st.handles.erase(h);
    auto now = self->clock().now();
    const auto* entry = st.table->find(name);
    auto silent = entry ? seconds_between(entry->last_heard, now) : 0.0;
    if (st.table->mark_lost(name, incarnation, now)) {
      std::ostringstream line;
      line << "member " << name << " (incarnation " << incarnation
           << ") lost: its connection closed or was cut after " << std::fixed
           << std::setprecision(2) << silent << " s without a report";
      say(self, line.str());
    }
  });
  self->send(self, tick_atom::value);
  return {
      [=](join_atom, const JoinRequest& req) -> caf::result<JoinReply> {
        auto& st = self->state;
        if (req.cluster != st.settings.cluster)
          return make_error(ec::invalid_argument,
                            "cluster name '" + req.cluster +
                                "' is not this cluster's ('" +
                                st.settings.cluster + "')");
        if (req.version != cluster_protocol_version)
          return make_error(ec::invalid_argument,
                            "cluster protocol version " +
                                std::to_string(req.version) +
                                " is not this node's (" +
                                std::to_string(cluster_protocol_version) + ")");
        if (st.draining)
          return make_error(ec::not_permitted,
                            "node " + st.table->self().name +
                                " is draining and admits no member");
        auto peer =
            caf::actor_cast<membership_peer_actor>(self->current_sender());
        if (!peer)
          return make_error(ec::invalid_argument,
                            "a join comes from a membership actor");
        const auto* known = st.table->find(req.member.name);
        auto known_info = known ? known->info : st.table->self();
        switch (st.table->admit(req.member, self->clock().now())) {
          case MembershipTable::Verdict::admitted:
            attach(self, req.member, peer);
            say(self, "member " + run_text(req.member) + " joined");
            break;
          case MembershipTable::Verdict::already_known:
            attach(self, req.member, peer);
            break;
          case MembershipTable::Verdict::name_alive:
            return make_error(
                ec::duplicate_id,
                "node name '" + req.member.name + "' is alive in cluster '" +
                    st.settings.cluster + "' as " + run_text(known_info));
          case MembershipTable::Verdict::stale:
            return make_error(ec::not_permitted,
                              "incarnation " +
                                  std::to_string(req.member.incarnation) +
                                  " of '" + req.member.name +
                                  "' is not newer than the one seen (" +
                                  std::to_string(known_info.incarnation) + ")");
        }
        return JoinReply{st.table->live_members()};
      },
      [=](report_atom, CapacityReport& rep) {
        auto& st = self->state;
        auto sender = sender_of(self);
        auto run = st.runs.find(sender);
        // Only over the connection of the run it names: a report of an
        // older incarnation, or of a run this node never admitted, is
        // dropped.
        if (run == st.runs.end() || run->second.first != rep.name ||
            run->second.second != rep.incarnation)
          return;
        if (!st.table->record_report(rep.name, rep.incarnation,
                                     std::move(rep.pools), self->clock().now()))
          return;
        learn(self, rep.members);
      },
      [=](leave_atom, const std::string& name, std::uint64_t incarnation) {
        auto& st = self->state;
        auto run = st.runs.find(sender_of(self));
        if (run == st.runs.end() || run->second.first != name ||
            run->second.second != incarnation ||
            !st.table->mark_left(name, incarnation))
          return false;
        self->demonitor(st.handles[name].address());
        st.runs.erase(run);
        st.handles.erase(name);
        say(self, "member " + name + " (incarnation " +
                      std::to_string(incarnation) + ") left");
        return true;
      },
      [=](view_atom) {
        auto& st = self->state;
        auto now = self->clock().now();
        ClusterView view;
        view.cluster = st.settings.cluster;
        view.self = st.table->self().name;
        view.draining = st.draining;
        MemberView own;
        own.info = st.table->self();
        view.members.push_back(std::move(own));
        for (const auto& [name, entry] : st.table->peers()) {
          MemberView m;
          m.info = entry.info;
          m.pools = entry.pools;
          if (entry.reported_at)
            m.report_age = seconds_between(*entry.reported_at, now);
          if (entry.lost_at)
            m.lost_after = seconds_between(entry.last_heard, *entry.lost_at);
          view.members.push_back(std::move(m));
        }
        return view;
      },
      [=](join_atom, JoinSeeds& seeds) -> caf::result<JoinReply> {
        auto& st = self->state;
        if (!from_local(self))
          return make_error(ec::not_permitted,
                            "joining seeds is for the node's own actors");
        if (st.joining || seeds.seeds.empty())
          return make_error(ec::invalid_argument,
                            st.joining ? "a join is under way already"
                                       : "no seed to join through");
        st.seeds = std::move(seeds.seeds);
        st.next_seed = 0;
        st.seed_failures.clear();
        st.joining = true;
        st.join_promise = self->make_response_promise();
        try_next_seed(self);
        return st.join_promise;
      },
      [=](drain_atom) -> caf::result<bool> {
        auto& st = self->state;
        if (!from_local(self))
          return make_error(ec::not_permitted,
                            "draining is for the node's own actors");
        st.draining = true;
        auto promise = self->make_response_promise<bool>();
        if (st.handles.empty()) {
          promise.deliver(true);
          return promise;
        }
        // Every peer answers, or its answer is given up after two intervals.
        struct Tally {
          std::size_t pending;
          bool all_acknowledged = true;
        };
        auto tally = std::make_shared<Tally>(Tally{st.handles.size()});
        auto done = [=](bool acknowledged) mutable {
          tally->all_acknowledged = tally->all_acknowledged && acknowledged;
          if (--tally->pending == 0)
            promise.deliver(tally->all_acknowledged);
        };
        for (const auto& [name, peer] : st.handles)
          self->request(peer, 2 * st.settings.interval, leave_atom::value,
                        st.table->self().name, st.table->self().incarnation)
              .then([=](bool acknowledged) mutable { done(acknowledged); },
                    [=](caf::error&) mutable { done(false); });
        return promise;
      },
      [=](tick_atom) {
        if (!from_self(self))
          return;
        auto& st = self->state;
        // Two intervals without a report: suspect (still connected; the
        // connection timeout decides loss).
        for (const auto& name :
             st.table->sweep(self->clock().now(), 2 * st.settings.interval))
          say(self, "member " + name + " suspect: no report for two intervals");
        if (!st.draining)
          report(self);
        self->delayed_send(self, st.settings.interval, tick_atom::value);
      },
      [=](found_atom, const std::string& endpoint,
          const membership_peer_actor& peer) {
        if (!from_local(self))
          return;
        self->state.connecting.erase(endpoint);
        if (is_current_seed(self, endpoint)) {
          send_join(self, peer, [=](caf::expected<JoinReply> reply) {
            auto& st = self->state;
            if (!st.joining)
              return;
            if (reply) {
              st.joining = false;
              st.join_promise.deliver(std::move(*reply));
            } else if (reply.error().category() == caf::atom("rros")) {
              // A refusal: every member would say the same.
              st.joining = false;
              st.join_promise.deliver(make_error(
                  code_of(reply.error()),
                  "seed " + endpoint +
                      " refused the join: " + context_of(reply.error())));
            } else {
              st.seed_failures.push_back(endpoint + " (" +
                                         describe(reply.error()) + ")");
              ++st.next_seed;
              try_next_seed(self);
            }
          });
          return;
        }
        send_join(self, peer, [=](caf::expected<JoinReply> reply) {
          if (!reply)
            say(self, "member at " + endpoint +
                          " refused the join: " + describe(reply.error()));
        });
      },
      [=](unreachable_atom, const std::string& endpoint,
          const std::string& why) {
        if (!from_local(self))
          return;
        auto& st = self->state;
        st.connecting.erase(endpoint);
        if (is_current_seed(self, endpoint)) {
          st.seed_failures.push_back(endpoint + " (" + why + ")");
          ++st.next_seed;
          try_next_seed(self);
          return;
        }
        say(self, "cannot reach member at " + endpoint + ": " + why);
      },
  };
}

} // namespace rros
