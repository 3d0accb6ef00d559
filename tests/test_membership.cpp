// Cluster membership without the network: the bookkeeping rules of
// MembershipTable (admission, incarnations, states), the incarnation file,
// and the membership actor on the deterministic coordinator with the test
// (or a helper actor) playing the peer.
#include <filesystem>
#include <fstream>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <gtest/gtest.h>

#include "actors/manager.hpp"
#include "actors/membership.hpp"
#include "core/incarnation_file.hpp"
#include "core/membership_table.hpp"
#include "fixture.hpp"
#include "process.hpp"

using namespace rros;
using namespace std::chrono_literals;
using Verdict = MembershipTable::Verdict;

namespace {

using clock_type = MembershipTable::clock;

MemberInfo member_run(const std::string& name, std::uint64_t incarnation,
                      std::uint16_t port = 4000) {
  return MemberInfo{name, incarnation, "127.0.0.1", port, MemberState::alive};
}

PoolStatus pool_with(units held) {
  PoolStatus p;
  p.capacity = 100;
  p.held = held;
  p.available = 100 - held;
  return p;
}

} // namespace

TEST(MembershipTable, ANewNameIsAdmittedAliveAndListed) {
  MembershipTable table{member_run("a", 1, 1)};
  auto t0 = clock_type::now();
  EXPECT_EQ(table.admit(member_run("b", 1, 2), t0), Verdict::admitted);
  ASSERT_NE(table.find("b"), nullptr);
  EXPECT_EQ(table.find("b")->info.state, MemberState::alive);
  auto live = table.live_members();
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].name, "a"); // itself first
  EXPECT_EQ(live[1].name, "b");
}

TEST(MembershipTable, TheOwnNameAndAnAliveNameAreRefused) {
  MembershipTable table{member_run("a", 1, 1)};
  auto t0 = clock_type::now();
  EXPECT_EQ(table.admit(member_run("a", 5, 9), t0), Verdict::name_alive);
  ASSERT_EQ(table.admit(member_run("b", 3, 2), t0), Verdict::admitted);
  // Another process with that name (same or older incarnation, elsewhere).
  EXPECT_EQ(table.admit(member_run("b", 3, 7), t0), Verdict::name_alive);
  EXPECT_EQ(table.admit(member_run("b", 2, 2), t0), Verdict::name_alive);
  // The same run again (it connected twice) is not an error.
  EXPECT_EQ(table.admit(member_run("b", 3, 2), t0), Verdict::already_known);
  EXPECT_EQ(table.find("b")->info.port, 2);
}

TEST(MembershipTable, ANewerIncarnationReplacesTheOldRunInAnyState) {
  MembershipTable table{member_run("a", 1, 1)};
  auto t0 = clock_type::now();
  ASSERT_EQ(table.admit(member_run("b", 1, 2), t0), Verdict::admitted);
  // A restart before the old run's loss was noticed.
  EXPECT_EQ(table.admit(member_run("b", 2, 3), t0), Verdict::admitted);
  EXPECT_EQ(table.find("b")->info.incarnation, 2u);
  EXPECT_FALSE(table.accepts("b", 1)); // the old run's messages are dropped
  EXPECT_TRUE(table.accepts("b", 2));
  ASSERT_TRUE(table.mark_lost("b", 2, t0));
  EXPECT_EQ(table.admit(member_run("b", 2, 3), t0), Verdict::stale);
  EXPECT_EQ(table.admit(member_run("b", 1, 3), t0), Verdict::stale);
  EXPECT_EQ(table.admit(member_run("b", 3, 3), t0), Verdict::admitted);
  EXPECT_EQ(table.find("b")->info.state, MemberState::alive);
}

TEST(MembershipTable, ReportsCountOnlyFromTheCurrentLiveRun) {
  MembershipTable table{member_run("a", 1, 1)};
  auto t0 = clock_type::now();
  ASSERT_EQ(table.admit(member_run("b", 4, 2), t0), Verdict::admitted);
  EXPECT_FALSE(table.record_report("b", 3, {pool_with(10)}, t0));
  EXPECT_FALSE(table.record_report("c", 1, {pool_with(10)}, t0));
  EXPECT_TRUE(table.record_report("b", 4, {pool_with(10)}, t0 + 1s));
  ASSERT_EQ(table.find("b")->pools.size(), 1u);
  EXPECT_EQ(table.find("b")->pools[0].held, 10);
  ASSERT_TRUE(table.mark_left("b", 4));
  EXPECT_FALSE(table.record_report("b", 4, {pool_with(20)}, t0 + 2s));
  EXPECT_EQ(table.find("b")->pools[0].held, 10);
  EXPECT_TRUE(table.live_members().size() == 1);
}

TEST(MembershipTable, SilenceMakesSuspectAndAReportMakesAliveAgain) {
  MembershipTable table{member_run("a", 1, 1)};
  auto t0 = clock_type::now();
  ASSERT_EQ(table.admit(member_run("b", 1, 2), t0), Verdict::admitted);
  ASSERT_EQ(table.admit(member_run("c", 1, 3), t0), Verdict::admitted);
  ASSERT_TRUE(table.record_report("c", 1, {}, t0 + 150ms));
  auto suspects = table.sweep(t0 + 250ms, 200ms);
  ASSERT_EQ(suspects, std::vector<std::string>{"b"});
  EXPECT_EQ(table.find("b")->info.state, MemberState::suspect);
  EXPECT_EQ(table.find("c")->info.state, MemberState::alive);
  EXPECT_TRUE(table.accepts("b", 1)); // suspect is still a member
  ASSERT_TRUE(table.record_report("b", 1, {}, t0 + 300ms));
  EXPECT_EQ(table.find("b")->info.state, MemberState::alive);
}

TEST(MembershipTable, LossAndLeaveHappenOncePerRun) {
  MembershipTable table{member_run("a", 1, 1)};
  auto t0 = clock_type::now();
  ASSERT_EQ(table.admit(member_run("b", 2, 2), t0), Verdict::admitted);
  EXPECT_FALSE(table.mark_lost("b", 1, t0)); // an older run's connection
  EXPECT_TRUE(table.mark_lost("b", 2, t0 + 1s));
  EXPECT_FALSE(table.mark_lost("b", 2, t0 + 2s));
  EXPECT_FALSE(table.mark_left("b", 2));
  EXPECT_EQ(table.find("b")->info.state, MemberState::lost);
  ASSERT_TRUE(table.find("b")->lost_at.has_value());
  EXPECT_EQ(*table.find("b")->lost_at, t0 + 1s);
}

TEST(IncarnationFile, GrowsAtEveryOpenAndRefusesASecondHolder) {
  auto dir = rros::test::make_temp_dir("rros-incarnation");
  auto path = dir + "/n.incarnation";
  {
    auto first = IncarnationFile::next(path);
    ASSERT_TRUE(first) << describe(first.error());
    EXPECT_EQ(first->value(), 1u);
    auto second = IncarnationFile::next(path);
    ASSERT_FALSE(second);
    EXPECT_TRUE(is(second.error(), ec::duplicate_id))
        << describe(second.error());
  }
  for (std::uint64_t expected = 2; expected <= 4; ++expected) {
    auto next = IncarnationFile::next(path);
    ASSERT_TRUE(next) << describe(next.error());
    EXPECT_EQ(next->value(), expected);
  }
  {
    std::ofstream bad{path};
    bad << "twelve\n";
  }
  auto refused = IncarnationFile::next(path);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is(refused.error(), ec::invalid_argument));
  EXPECT_NE(describe(refused.error()).find("not a counter"), std::string::npos);
  std::filesystem::remove_all(dir);
}

namespace {

/// A membership actor "a" of cluster "c" on the deterministic coordinator,
/// reporting an empty manager (none: its reports fail and are skipped).
class MembershipActor : public rros::test::DeterministicFixture {
protected:
  MembershipActor() {
    MembershipSettings settings;
    settings.cluster = "c";
    settings.self = member_run("a", 1, 1);
    settings.interval = 100ms;
    settings.manager = spawn_manager(sys);
    manager = settings.manager;
    settings.connect =
        [](const std::string&,
           std::uint16_t) -> caf::expected<membership_peer_actor> {
      return make_error(ec::not_connected, "no network in this test");
    };
    settings.log = [this](const std::string& line) { lines.push_back(line); };
    member = sys.spawn(membership, std::move(settings));
    run();
  }

  ~MembershipActor() override {
    caf::anon_send_exit(member, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
    run();
  }

  ClusterView view() {
    return ask_ok<ClusterView>(member, view_atom::value);
  }

  const MemberView* find(const ClusterView& v, const std::string& name) {
    for (const auto& m : v.members)
      if (m.info.name == name)
        return &m;
    return nullptr;
  }

  membership_actor member;
  manager_actor manager;
  std::vector<std::string> lines;
};

/// A stand-in peer: joins when told, then lives until killed.
caf::behavior fake_peer(caf::event_based_actor* self,
                        membership_peer_actor target, JoinRequest req) {
  self->request(target, caf::infinite, join_atom::value, req)
      .then([](const JoinReply&) {}, [](caf::error&) {});
  return {[](report_atom, const CapacityReport&) {}};
}

} // namespace

TEST_F(MembershipActor, BadJoinsAreRefusedWithAClearError) {
  auto other_cluster = ask<JoinReply>(
      member, join_atom::value,
      JoinRequest{"d", cluster_protocol_version, member_run("b", 1, 2)});
  ASSERT_FALSE(other_cluster);
  EXPECT_TRUE(is(other_cluster.error(), ec::invalid_argument));
  EXPECT_NE(describe(other_cluster.error()).find("cluster name 'd'"),
            std::string::npos);
  auto other_version = ask<JoinReply>(
      member, join_atom::value,
      JoinRequest{"c", cluster_protocol_version + 1, member_run("b", 1, 2)});
  ASSERT_FALSE(other_version);
  EXPECT_NE(describe(other_version.error()).find("protocol version"),
            std::string::npos);
  auto own_name = ask<JoinReply>(
      member, join_atom::value,
      JoinRequest{"c", cluster_protocol_version, member_run("a", 7, 2)});
  ASSERT_FALSE(own_name);
  EXPECT_TRUE(is(own_name.error(), ec::duplicate_id));
  EXPECT_EQ(view().members.size(), 1u); // nothing changed
}

TEST_F(MembershipActor, AJoinerIsAdmittedReportsAndIsLostWhenItDies) {
  auto peer = sys.spawn(
      fake_peer, membership_peer_actor{member},
      JoinRequest{"c", cluster_protocol_version, member_run("b", 3, 2)});
  run();
  auto v = view();
  ASSERT_EQ(v.members.size(), 2u);
  EXPECT_EQ(v.members[0].info.name, "a");
  ASSERT_NE(find(v, "b"), nullptr);
  EXPECT_EQ(find(v, "b")->info.state, MemberState::alive);
  EXPECT_EQ(find(v, "b")->info.incarnation, 3u);

  // Another process with b's name is refused while b lives.
  auto twin = ask<JoinReply>(
      member, join_atom::value,
      JoinRequest{"c", cluster_protocol_version, member_run("b", 3, 9)});
  ASSERT_FALSE(twin);
  EXPECT_TRUE(is(twin.error(), ec::duplicate_id));
  EXPECT_NE(describe(twin.error()).find("is alive"), std::string::npos);

  // Reports only over b's own connection: from the test they are dropped.
  self->send(member, report_atom::value,
             CapacityReport{"b", 3, {pool_with(5)}, {}});
  run();
  EXPECT_TRUE(find(view(), "b")->pools.empty());

  // No report for two intervals: suspect.
  advance(100ms);
  advance(100ms);
  advance(100ms);
  EXPECT_EQ(find(view(), "b")->info.state, MemberState::suspect);

  caf::anon_send_exit(peer, caf::exit_reason::kill);
  run();
  EXPECT_EQ(find(view(), "b")->info.state, MemberState::lost);
  bool said = false;
  for (const auto& line : lines)
    said = said || line.find("member b (incarnation 3) lost") == 0;
  EXPECT_TRUE(said);

  // b restarted: a newer incarnation is admitted, the old one is stale.
  auto stale = ask<JoinReply>(
      member, join_atom::value,
      JoinRequest{"c", cluster_protocol_version, member_run("b", 3, 2)});
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is(stale.error(), ec::not_permitted));
  auto back = ask<JoinReply>(
      member, join_atom::value,
      JoinRequest{"c", cluster_protocol_version, member_run("b", 4, 2)});
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_EQ(find(view(), "b")->info.incarnation, 4u);
  EXPECT_EQ(find(view(), "b")->info.state, MemberState::alive);
}

TEST_F(MembershipActor, DrainingRefusesJoinersAndTellsPeers) {
  EXPECT_TRUE(ask_ok<bool>(member, drain_atom::value));
  EXPECT_TRUE(view().draining);
  auto refused = ask<JoinReply>(
      member, join_atom::value,
      JoinRequest{"c", cluster_protocol_version, member_run("b", 1, 2)});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is(refused.error(), ec::not_permitted));
  EXPECT_NE(describe(refused.error()).find("draining"), std::string::npos);
}

TEST_F(MembershipActor, ClusterMessagesCrossTheWireUnchanged) {
  // What peers exchange, through CAF's binary serializer inside a message
  // (as the middleman sends it).
  CapacityReport report{"b", 7, {pool_with(40)}, {member_run("a", 1, 1)}};
  ClusterView view;
  view.cluster = "c";
  view.self = "a";
  view.draining = true;
  view.members.push_back(
      MemberView{member_run("b", 7, 2), {pool_with(3)}, 0.25, -1});
  auto msg = caf::make_message(report_atom::value, report,
                               JoinRequest{"c", 1, member_run("b", 7, 2)}, view,
                               ClusterNotice{"b", 7, "node_lost", {}});
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(msg));
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(back));
  ASSERT_TRUE((back.match_elements<report_atom, CapacityReport, JoinRequest,
                                   ClusterView, ClusterNotice>()));
  const auto& r = back.get_as<CapacityReport>(1);
  EXPECT_EQ(r.name, "b");
  EXPECT_EQ(r.incarnation, 7u);
  ASSERT_EQ(r.pools.size(), 1u);
  EXPECT_EQ(r.pools[0].held, 40);
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].name, "a");
  const auto& j = back.get_as<JoinRequest>(2);
  EXPECT_EQ(j.cluster, "c");
  EXPECT_EQ(j.member.port, 2);
  const auto& v = back.get_as<ClusterView>(3);
  EXPECT_TRUE(v.draining);
  ASSERT_EQ(v.members.size(), 1u);
  EXPECT_EQ(v.members[0].info.incarnation, 7u);
  EXPECT_EQ(v.members[0].report_age, 0.25);
  EXPECT_EQ(back.get_as<ClusterNotice>(4).reason, "node_lost");
}
