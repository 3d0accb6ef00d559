// Deterministic message scripts for the monitor: alerts with hysteresis,
// per-type rules, subscriptions, automatic and manual degradation, the shed
// policies sent to the pools, escalation and refused input. Fake pools report
// the utilization a test sets; the virtual clock stands in for time.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "fixture.hpp"

#include "actors/monitor.hpp"
#include "actors/pool.hpp"
#include "core/kept_state.hpp"
#include "process.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;
constexpr auto memory = ResourceType::MEMORY;
constexpr auto attention = ResourceType::ATTENTION;
constexpr auto io = ResourceType::IO;
using Severity = ResourceAlert::Severity;

/// A pool stand-in: reports `status` when polled or told to publish, and
/// records what the monitor sends it.
struct FakePool {
  PoolStatus status;
  std::vector<ShedPolicy> sheds;
  std::vector<caf::actor> listeners;
  std::vector<bool> listen_calls;
  int polls = 0;
};

caf::behavior fake_pool(caf::event_based_actor* self,
                        std::shared_ptr<FakePool> log) {
  return {
      [=](status_atom) {
        ++log->polls;
        return log->status;
      },
      [=](shed_atom, const ShedPolicy& policy) {
        log->sheds.push_back(policy);
      },
      [=](listen_atom, caf::actor listener, bool on) {
        log->listen_calls.push_back(on);
        auto& ls = log->listeners;
        ls.erase(std::remove(ls.begin(), ls.end(), listener), ls.end());
        if (on)
          ls.push_back(listener);
      },
      // From the test: report the current status to the listeners, as a pool
      // does after each change.
      [=](usage_atom) {
        for (auto& listener : log->listeners)
          self->send(listener, usage_atom::value, log->status);
      },
  };
}

/// What a subscriber received.
struct Inbox {
  std::vector<MonitorEvent> events;
  std::vector<UtilizationSample> samples;

  std::size_t count(MonitorEventKind kind) const {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(),
                      [&](const MonitorEvent& e) { return e.kind == kind; }));
  }
};

caf::behavior recorder(caf::event_based_actor*, std::shared_ptr<Inbox> inbox) {
  return {
      [=](monitor_event_atom, const MonitorEvent& event) {
        inbox->events.push_back(event);
      },
      [=](sample_atom, const UtilizationSample& sample) {
        inbox->samples.push_back(sample);
      },
  };
}

constexpr double pool_capacity = 100.0;

bool same(const ShedPolicy& x, const ShedPolicy& y) {
  return x.degraded == y.degraded && x.refuse_from == y.refuse_from &&
         x.revoke_preemptable == y.revoke_preemptable;
}

ShedPolicy shedding(Priority from) {
  ShedPolicy result;
  result.degraded = true;
  result.refuse_from = from;
  result.revoke_preemptable = true;
  return result;
}

MonitorSettings test_settings() {
  MonitorSettings s;
  s.sample_interval = 100ms;
  s.clear_margin = 0.1;
  s.clear_after = 1s;
  s.degrade_enter = 0.95;
  s.degrade_exit = 0.7;
  s.degrade_after = 2s;
  s.recover_after = 1s;
  s.escalate_after = 10s;
  s.trend_window = 10s;
  s.history_limit = 50;
  return s;
}

MonitorTopics topics(bool samples, bool alerts, bool states) {
  MonitorTopics t;
  t.samples = samples;
  t.alerts = alerts;
  t.state_changes = states;
  return t;
}

class MonitorTest : public DeterministicFixture {
public:
  MonitorTest() {
    for (auto type : all_resource_types) {
      auto log = std::make_shared<FakePool>();
      log->status.type = type;
      log->status.capacity = to_units(pool_capacity);
      log->status.available = log->status.capacity;
      auto actor = sys.spawn(fake_pool, log);
      fakes_.push_back(log);
      fake_actors_.push_back(actor);
      directory_.pools.push_back(caf::actor_cast<pool_actor>(actor));
    }
    monitor_ = spawn_monitor(sys, directory_, Config{}, test_settings());
    run();
  }

  ~MonitorTest() override {
    caf::anon_send_exit(monitor_, caf::exit_reason::user_shutdown);
    for (auto& a : fake_actors_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& a : subscribers_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  FakePool& fake(ResourceType type) {
    return *fakes_[static_cast<std::size_t>(type)];
  }

  /// The type's pool now uses `fraction` of its capacity and reports it.
  void set_utilization(ResourceType type, double fraction) {
    auto& status = fake(type).status;
    status.held = to_units(fraction * pool_capacity);
    status.available = status.capacity - status.held;
    caf::anon_send(fake_actors_[static_cast<std::size_t>(type)],
                   usage_atom::value);
    run();
  }

  TypeMonitorView view(ResourceType type) {
    auto all =
        ask_ok<std::vector<TypeMonitorView>>(monitor_, status_atom::value);
    return all.at(static_cast<std::size_t>(type));
  }

  std::vector<ResourceAlert> active() {
    return ask_ok<std::vector<ResourceAlert>>(monitor_, alerts_atom::value);
  }

  std::vector<ResourceAlert> history() {
    return ask_ok<std::vector<ResourceAlert>>(monitor_, history_atom::value);
  }

  bool degraded(ResourceType type) {
    return view(type).degraded;
  }

  caf::expected<TypeMonitorView> degrade(ResourceType type, bool on) {
    return ask<TypeMonitorView>(monitor_, degrade_atom::value, type, on);
  }

  caf::expected<std::vector<TypeMonitorView>>
  adapt(std::unordered_map<ResourceType, float> loads) {
    LoadReport report;
    report.loads = std::move(loads);
    return ask<std::vector<TypeMonitorView>>(monitor_, adapt_atom::value,
                                             report);
  }

  caf::expected<AlertRule> set_rule(ResourceType type, float threshold,
                                    Severity severity) {
    AlertRule rule;
    rule.type = type;
    rule.threshold = threshold;
    rule.severity = severity;
    return ask<AlertRule>(monitor_, threshold_atom::value, rule);
  }

  std::pair<caf::actor, std::shared_ptr<Inbox>>
  subscribe(MonitorTopics wanted) {
    auto inbox = std::make_shared<Inbox>();
    auto actor = sys.spawn(recorder, inbox);
    subscribers_.push_back(actor);
    auto reply =
        ask_ok<MonitorTopics>(monitor_, subscribe_atom::value, actor, wanted);
    EXPECT_EQ(reply.alerts, wanted.alerts);
    return {actor, inbox};
  }

  monitor_state& monitor_internals() {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(monitor_);
    return dynamic_cast<monitor_actor::stateful_pointer<monitor_state>>(ptr)
        ->state;
  }

  PoolDirectory directory_;
  std::vector<std::shared_ptr<FakePool>> fakes_;
  std::vector<caf::actor> fake_actors_;
  std::vector<caf::actor> subscribers_;
  monitor_actor monitor_;
};

} // namespace

// -- sampling
// ------------------------------------------------------------------

TEST_F(MonitorTest, ListensToEveryPoolAndPollsThemOnEachInterval) {
  for (auto type : all_resource_types) {
    ASSERT_EQ(fake(type).listeners.size(), 1u);
    EXPECT_EQ(fake(type).polls, 1); // at once on spawn
  }
  advance(100ms);
  advance(100ms);
  for (auto type : all_resource_types)
    EXPECT_EQ(fake(type).polls, 3);
}

TEST_F(MonitorTest, SampleSubscribersHearEveryPollButNotEachPoolReport) {
  auto [actor, inbox] = subscribe(topics(true, false, false));
  fake(memory).status.held = to_units(40);
  advance(100ms);
  ASSERT_EQ(inbox->samples.size(), resource_type_count);
  auto sample =
      std::find_if(inbox->samples.begin(), inbox->samples.end(),
                   [](const UtilizationSample& x) { return x.type == memory; });
  ASSERT_NE(sample, inbox->samples.end());
  EXPECT_FLOAT_EQ(sample->utilization, 0.4f);
  EXPECT_DOUBLE_EQ(sample->used, 40.0);
  EXPECT_DOUBLE_EQ(sample->capacity, pool_capacity);
  // A pool's own report updates the view at once, without a sample.
  set_utilization(memory, 0.6);
  EXPECT_EQ(inbox->samples.size(), resource_type_count);
  EXPECT_FLOAT_EQ(view(memory).utilization, 0.6f);
  EXPECT_TRUE(inbox->events.empty()); // not subscribed to alerts
}

TEST_F(MonitorTest, KeepsATimeWeightedAverageThePeakAndTheTrend) {
  auto s = test_settings();
  s.sample_interval = 1h; // only the poll on spawn, at t = 0 (utilization 0)
  ASSERT_TRUE(ask<MonitorSettings>(monitor_, settings_atom::value, s));
  advance(1s);
  set_utilization(compute, 0.25);
  advance(1s);
  set_utilization(compute, 0.5);
  auto v = view(compute);
  EXPECT_TRUE(v.observed);
  EXPECT_FLOAT_EQ(v.utilization, 0.5f);
  EXPECT_NEAR(v.average, 0.125, 1e-6); // (0 x 1s + 0.25 x 1s) / 2s
  EXPECT_FLOAT_EQ(v.peak, 0.5f);
  EXPECT_NEAR(v.trend, 0.25, 1e-6); // per second
  EXPECT_DOUBLE_EQ(v.used, 50.0);
  // Two more seconds at 0.5: the average follows, the points leave no slope
  // once they fall out of the window.
  advance(2s);
  EXPECT_NEAR(view(compute).average, (0.25 + 0.5 * 2) / 4.0, 1e-6);
  advance(20s);
  EXPECT_FLOAT_EQ(view(compute).trend, 0.0f);
}

// -- alerts with hysteresis
// -----------------------------------------------------

TEST_F(MonitorTest, RaisesAnAlertAtOnceWhenTheThresholdIsReached) {
  set_utilization(compute, 0.9);
  auto alerts = active();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].severity, Severity::WARNING);
  EXPECT_EQ(alerts[0].resource_type, compute);
  EXPECT_FLOAT_EQ(alerts[0].threshold_violated, 0.85f);
  EXPECT_NE(alerts[0].message.find("computational"), std::string::npos);
  EXPECT_EQ(history().size(), 1u);
  // Exactly at the threshold counts as reaching it.
  set_utilization(memory, 0.85);
  EXPECT_EQ(active().size(), 2u);
}

TEST_F(MonitorTest, KeepsTheAlertWhileAboveTheClearThreshold) {
  set_utilization(compute, 0.9);
  set_utilization(compute, 0.8); // below 0.85, above 0.75
  advance(5s);
  EXPECT_EQ(active().size(), 1u);
  EXPECT_FLOAT_EQ(view(compute).clear_threshold, 0.75f);
}

TEST_F(MonitorTest, ClearsOnlyAfterTheMinimumTimeBelowTheClearThreshold) {
  auto [actor, inbox] = subscribe(topics(false, true, false));
  set_utilization(compute, 0.9);
  set_utilization(compute, 0.7);
  advance(900ms);
  EXPECT_EQ(active().size(), 1u);
  // Back above the clear threshold: the time below starts again.
  set_utilization(compute, 0.8);
  set_utilization(compute, 0.7);
  advance(900ms);
  EXPECT_EQ(active().size(), 1u);
  advance(100ms);
  EXPECT_TRUE(active().empty());
  EXPECT_EQ(history().size(), 1u);
  ASSERT_EQ(inbox->events.size(), 2u);
  EXPECT_EQ(inbox->events[0].kind, MonitorEventKind::alert_raised);
  EXPECT_EQ(inbox->events[1].kind, MonitorEventKind::alert_cleared);
  EXPECT_EQ(inbox->events[1].type, compute);
}

TEST_F(MonitorTest, OscillatingAroundTheThresholdGivesOneAlert) {
  auto [actor, inbox] = subscribe(topics(false, true, false));
  for (int i = 0; i < 20; ++i) {
    set_utilization(compute, 0.9);
    advance(300ms);
    set_utilization(compute, 0.6);
    advance(300ms);
  }
  EXPECT_EQ(history().size(), 1u);
  EXPECT_EQ(inbox->count(MonitorEventKind::alert_raised), 1u);
  EXPECT_EQ(active().size(), 1u);
  advance(1s);
  EXPECT_TRUE(active().empty());
  // A later crossing is a new alert.
  set_utilization(compute, 0.9);
  EXPECT_EQ(history().size(), 2u);
}

TEST_F(MonitorTest, AppliesPerTypeThresholdsAndSeverities) {
  ASSERT_TRUE(set_rule(memory, 0.5f, Severity::CRITICAL));
  ASSERT_TRUE(set_rule(attention, 0.3f, Severity::INFO));
  set_utilization(memory, 0.6);
  set_utilization(compute, 0.6);
  set_utilization(attention, 0.4);
  auto alerts = active();
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].resource_type, memory);
  EXPECT_EQ(alerts[0].severity, Severity::CRITICAL);
  EXPECT_FLOAT_EQ(alerts[0].threshold_violated, 0.5f);
  EXPECT_EQ(alerts[1].resource_type, attention);
  EXPECT_EQ(alerts[1].severity, Severity::INFO);
  // Lowering a threshold below the current utilization raises at once.
  ASSERT_TRUE(set_rule(compute, 0.55f, Severity::WARNING));
  EXPECT_EQ(active().size(), 3u);
  EXPECT_FLOAT_EQ(view(compute).rule.threshold, 0.55f);
  EXPECT_FLOAT_EQ(view(compute).clear_threshold, 0.45f);
}

TEST_F(MonitorTest, RefusesBadAlertRulesAndChangesNothing) {
  auto nan = std::numeric_limits<float>::quiet_NaN();
  auto inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf, 0.0f, -0.1f, 1.01f})
    EXPECT_TRUE(fails_with(set_rule(compute, bad, Severity::CRITICAL),
                           ec::invalid_config_value))
        << bad;
  EXPECT_TRUE(fails_with(
      set_rule(static_cast<ResourceType>(9), 0.5f, Severity::CRITICAL),
      ec::unknown_resource_type));
  EXPECT_TRUE(fails_with(set_rule(compute, 0.5f, static_cast<Severity>(7)),
                         ec::invalid_config_value));
  auto rule = view(compute).rule;
  EXPECT_FLOAT_EQ(rule.threshold, 0.85f);
  EXPECT_EQ(rule.severity, Severity::WARNING);
  set_utilization(compute, 0.6);
  EXPECT_TRUE(active().empty());
}

TEST_F(MonitorTest, TheConfiguredAlertThresholdIsTheDefault) {
  ASSERT_TRUE(set_rule(memory, 0.9f, Severity::CRITICAL));
  Config config;
  config.alert_threshold = 0.5;
  auto rules =
      ask_ok<std::vector<AlertRule>>(monitor_, config_atom::value, config);
  ASSERT_EQ(rules.size(), resource_type_count);
  EXPECT_FLOAT_EQ(rules[0].threshold, 0.5f);
  EXPECT_FLOAT_EQ(rules[1].threshold, 0.9f); // its own rule stays
  set_utilization(compute, 0.6);
  EXPECT_EQ(active().size(), 1u);
  for (double bad : {std::nan(""), 0.0, 1.5}) {
    config.alert_threshold = bad;
    EXPECT_TRUE(fails_with(
        ask<std::vector<AlertRule>>(monitor_, config_atom::value, config),
        ec::invalid_config_value));
  }
  EXPECT_FLOAT_EQ(view(compute).rule.threshold, 0.5f);
}

// -- subscriptions
// --------------------------------------------------------------

TEST_F(MonitorTest, SubscribersHearAlertsAndStateChangesByTopic) {
  auto [alerts_actor, alerts] = subscribe(topics(false, true, false));
  auto [states_actor, states] = subscribe(topics(false, false, true));
  ASSERT_TRUE(degrade(compute, true));
  ASSERT_TRUE(degrade(compute, false));
  // Alerts: the CRITICAL one raised and cleared, then the INFO one.
  ASSERT_EQ(alerts->events.size(), 3u);
  EXPECT_EQ(alerts->events[0].kind, MonitorEventKind::alert_raised);
  EXPECT_EQ(alerts->events[0].alert.severity, Severity::CRITICAL);
  EXPECT_EQ(alerts->events[1].kind, MonitorEventKind::alert_cleared);
  EXPECT_EQ(alerts->events[2].alert.severity, Severity::INFO);
  ASSERT_EQ(states->events.size(), 2u);
  EXPECT_EQ(states->events[0].kind, MonitorEventKind::degraded_entered);
  EXPECT_TRUE(states->events[0].degraded);
  EXPECT_TRUE(same(states->events[0].shed, shedding(Priority::IDLE)));
  EXPECT_EQ(states->events[1].kind, MonitorEventKind::degraded_left);
  EXPECT_FALSE(states->events[1].degraded);
  EXPECT_TRUE(same(states->events[1].shed, ShedPolicy{}));
  EXPECT_TRUE(states->samples.empty());
}

TEST_F(MonitorTest, UnsubscribingStopsTheMessages) {
  auto [actor, inbox] = subscribe(topics(true, true, true));
  auto reply = ask_ok<MonitorTopics>(monitor_, subscribe_atom::value, actor,
                                     MonitorTopics{});
  EXPECT_FALSE(reply.any());
  EXPECT_TRUE(monitor_internals().subscribers.empty());
  set_utilization(compute, 0.9);
  ASSERT_TRUE(degrade(memory, true));
  advance(100ms);
  EXPECT_TRUE(inbox->events.empty());
  EXPECT_TRUE(inbox->samples.empty());
}

TEST_F(MonitorTest, DropsASubscriberThatEnds) {
  auto [actor, inbox] = subscribe(topics(true, true, true));
  auto [other, other_inbox] = subscribe(topics(false, true, false));
  EXPECT_EQ(monitor_internals().subscribers.size(), 2u);
  caf::anon_send_exit(actor, caf::exit_reason::kill);
  run();
  ASSERT_EQ(monitor_internals().subscribers.size(), 1u);
  EXPECT_EQ(monitor_internals().subscribers[0].handle, other);
  set_utilization(compute, 0.9);
  EXPECT_EQ(other_inbox->events.size(), 1u);
}

TEST_F(MonitorTest, RefusesANullSubscriber) {
  EXPECT_TRUE(
      fails_with(ask<MonitorTopics>(monitor_, subscribe_atom::value,
                                    caf::actor{}, topics(true, true, true)),
                 ec::invalid_argument));
  EXPECT_TRUE(monitor_internals().subscribers.empty());
}

// -- automatic degradation
// --------------------------------------------------------

TEST_F(MonitorTest, EntersDegradedModeAfterTheDwellTimeAndNotBefore) {
  auto [actor, inbox] = subscribe(topics(false, false, true));
  set_utilization(compute, 0.97);
  EXPECT_FALSE(degraded(compute));
  advance(1900ms);
  EXPECT_FALSE(degraded(compute));
  EXPECT_TRUE(fake(compute).sheds.empty());
  advance(100ms);
  auto v = view(compute);
  EXPECT_TRUE(v.degraded);
  EXPECT_FALSE(v.manual);
  EXPECT_TRUE(same(v.shed, shedding(Priority::IDLE)));
  ASSERT_EQ(fake(compute).sheds.size(), 1u);
  EXPECT_TRUE(same(fake(compute).sheds[0], shedding(Priority::IDLE)));
  // The threshold alert plus the CRITICAL degradation alert.
  ASSERT_EQ(v.active_alerts.size(), 2u);
  EXPECT_EQ(v.active_alerts[1].severity, Severity::CRITICAL);
  EXPECT_TRUE(ask_ok<bool>(monitor_, is_degraded_atom::value));
  ASSERT_EQ(inbox->events.size(), 1u);
  EXPECT_EQ(inbox->events[0].kind, MonitorEventKind::degraded_entered);
}

TEST_F(MonitorTest, ADipBelowTheEnterThresholdRestartsTheDwell) {
  set_utilization(compute, 0.97);
  advance(1500ms);
  set_utilization(compute, 0.9);
  set_utilization(compute, 0.97);
  advance(1500ms);
  EXPECT_FALSE(degraded(compute));
  advance(500ms);
  EXPECT_TRUE(degraded(compute));
}

TEST_F(MonitorTest, LeavesDegradedModeOnlyBelowTheExitThresholdAfterTheDwell) {
  set_utilization(compute, 0.97);
  advance(2s);
  ASSERT_TRUE(degraded(compute));
  set_utilization(compute, 0.8); // below enter, above exit
  advance(5s);
  EXPECT_TRUE(degraded(compute));
  set_utilization(compute, 0.5);
  advance(900ms);
  EXPECT_TRUE(degraded(compute));
  advance(100ms);
  EXPECT_FALSE(degraded(compute));
  EXPECT_FALSE(ask_ok<bool>(monitor_, is_degraded_atom::value));
  ASSERT_EQ(fake(compute).sheds.size(), 2u);
  EXPECT_TRUE(same(fake(compute).sheds[1], ShedPolicy{}));
  auto h = history();
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h.back().severity, Severity::INFO);
  for (const auto& alert : active())
    EXPECT_NE(alert.severity, Severity::CRITICAL);
}

// -- manual degradation and adapt_to_load
// -------------------------------------------

TEST_F(MonitorTest, ManualEnterAndExitActAtOnce) {
  auto entered = degrade(memory, true);
  ASSERT_TRUE(entered);
  EXPECT_TRUE(entered->degraded);
  EXPECT_TRUE(entered->manual);
  ASSERT_EQ(active().size(), 1u);
  EXPECT_EQ(active()[0].severity, Severity::CRITICAL);
  ASSERT_EQ(fake(memory).sheds.size(), 1u);
  EXPECT_TRUE(same(fake(memory).sheds[0], shedding(Priority::IDLE)));
  // Low utilization does not end a manual degradation.
  set_utilization(memory, 0.1);
  advance(5s);
  EXPECT_TRUE(degraded(memory));
  auto left = degrade(memory, false);
  ASSERT_TRUE(left);
  EXPECT_FALSE(left->degraded);
  EXPECT_TRUE(active().empty());
  EXPECT_EQ(history().back().severity, Severity::INFO);
  ASSERT_EQ(fake(memory).sheds.size(), 2u);
  EXPECT_TRUE(same(fake(memory).sheds[1], ShedPolicy{}));
  EXPECT_TRUE(fails_with(degrade(static_cast<ResourceType>(5), true),
                         ec::unknown_resource_type));
}

TEST_F(MonitorTest, AManualExitUnderPressureNeedsANewDwellToReenter) {
  set_utilization(compute, 0.97);
  advance(2s);
  ASSERT_TRUE(degraded(compute));
  ASSERT_TRUE(degrade(compute, false));
  advance(1900ms);
  EXPECT_FALSE(degraded(compute));
  advance(100ms);
  EXPECT_TRUE(degraded(compute));
}

TEST_F(MonitorTest, AdaptToLoadEntersAndLeavesAtOnceAndCountsAsASample) {
  auto [actor, inbox] = subscribe(topics(true, false, true));
  // Loads in the types' own units; every fake pool has a capacity of 100.
  auto views = adapt({{compute, 97.0f}, {memory, 50.0f}});
  ASSERT_TRUE(views);
  EXPECT_TRUE(views->at(0).degraded);
  EXPECT_FALSE(views->at(1).degraded);
  EXPECT_FLOAT_EQ(views->at(0).utilization, 0.97f);
  EXPECT_DOUBLE_EQ(views->at(0).used, 97.0);
  EXPECT_DOUBLE_EQ(views->at(0).capacity, pool_capacity);
  ASSERT_EQ(inbox->samples.size(), 2u);
  EXPECT_EQ(inbox->samples[0].type, compute);
  EXPECT_FLOAT_EQ(inbox->samples[0].utilization, 0.97f);
  // The CRITICAL degradation alert, then the threshold alert of 0.97.
  auto h = history();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].severity, Severity::CRITICAL);
  EXPECT_NE(h[0].message.find("reported load 97 of 100"), std::string::npos)
      << h[0].message;
  EXPECT_EQ(h[1].severity, Severity::WARNING);
  EXPECT_TRUE(same(fake(compute).sheds.back(), shedding(Priority::IDLE)));
  // Between the thresholds nothing changes.
  ASSERT_TRUE(adapt({{compute, 80.0f}}));
  EXPECT_TRUE(degraded(compute));
  ASSERT_TRUE(adapt({{compute, 50.0f}}));
  EXPECT_FALSE(degraded(compute));
  EXPECT_EQ(history().back().severity, Severity::INFO);
  EXPECT_TRUE(same(fake(compute).sheds.back(), ShedPolicy{}));
  EXPECT_EQ(inbox->count(MonitorEventKind::degraded_entered), 1u);
  EXPECT_EQ(inbox->count(MonitorEventKind::degraded_left), 1u);
}

TEST_F(MonitorTest, AdaptToLoadDividesByEachPoolsOwnCapacity) {
  // The MEMORY pool reports a capacity of 1 MiB (bytes), IO one of 1.
  auto& mem = fake(memory).status;
  mem.capacity = to_units(1048576.0);
  mem.available = mem.capacity;
  caf::anon_send(fake_actors_[1], usage_atom::value);
  auto& io_pool = fake(io).status;
  io_pool.capacity = to_units(1.0);
  io_pool.available = io_pool.capacity;
  caf::anon_send(fake_actors_[3], usage_atom::value);
  run();
  auto views = adapt({{memory, 1000000.0f}, {io, 0.5f}});
  ASSERT_TRUE(views);
  EXPECT_TRUE(views->at(1).degraded); // 1,000,000 / 1,048,576 = 95.4 %
  EXPECT_NEAR(views->at(1).utilization, 1000000.0 / 1048576.0, 1e-6);
  EXPECT_DOUBLE_EQ(views->at(1).used, 1000000.0);
  EXPECT_FALSE(views->at(3).degraded);
  EXPECT_FLOAT_EQ(views->at(3).utilization, 0.5f);
  // 990,000 bytes (94.4 %) would not enter; 700,000 (66.8 %) leaves.
  ASSERT_TRUE(adapt({{memory, 700000.0f}}));
  EXPECT_FALSE(degraded(memory));
  ASSERT_TRUE(adapt({{memory, 990000.0f}}));
  EXPECT_FALSE(degraded(memory));
}

TEST_F(MonitorTest, AdaptToLoadAcceptsALoadAboveCapacity) {
  auto views = adapt({{compute, 150.0f}});
  ASSERT_TRUE(views) << describe(views.error());
  EXPECT_TRUE(views->at(0).degraded);
  EXPECT_FLOAT_EQ(views->at(0).utilization, 1.5f);
  EXPECT_FLOAT_EQ(views->at(0).peak, 1.5f);
  EXPECT_DOUBLE_EQ(views->at(0).used, 150.0);
  // Its threshold alert and the degradation alert are active.
  EXPECT_EQ(active().size(), 2u);
}

TEST_F(MonitorTest, AdaptToLoadBeforeAnyPoolReportUsesTheConfiguredCapacity) {
  // A monitor without pools has observed nothing: the configured capacities
  // (Config's defaults: computational 100, memory 1 MiB) convert the loads,
  // and config_atom updates them.
  auto lone = spawn_monitor(sys, PoolDirectory{}, Config{}, test_settings());
  run();
  auto views = ask<std::vector<TypeMonitorView>>(
      lone, adapt_atom::value, LoadReport{{{compute, 96.0f}}});
  ASSERT_TRUE(views) << describe(views.error());
  EXPECT_TRUE(views->at(0).degraded);
  EXPECT_FLOAT_EQ(views->at(0).utilization, 0.96f);
  views = ask<std::vector<TypeMonitorView>>(lone, adapt_atom::value,
                                            LoadReport{{{memory, 1000000.0f}}});
  ASSERT_TRUE(views);
  EXPECT_TRUE(views->at(1).degraded);
  Config bigger;
  bigger.capacity[static_cast<std::size_t>(attention)] = 10.0;
  ASSERT_TRUE(ask<std::vector<AlertRule>>(lone, config_atom::value, bigger));
  views = ask<std::vector<TypeMonitorView>>(lone, adapt_atom::value,
                                            LoadReport{{{attention, 9.0f}}});
  ASSERT_TRUE(views);
  EXPECT_FLOAT_EQ(views->at(2).utilization, 0.9f);
  EXPECT_FALSE(views->at(2).degraded);
  caf::anon_send_exit(lone, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(MonitorTest, AdaptToLoadRefusesBadInputAndChangesNothing) {
  auto nan = std::numeric_limits<float>::quiet_NaN();
  auto inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf, -0.1f, -100.0f})
    EXPECT_TRUE(fails_with(adapt({{compute, 99.0f}, {memory, bad}}),
                           ec::invalid_amount))
        << bad;
  EXPECT_TRUE(fails_with(adapt({{compute, 99.0f}, {memory, 2e12f}}),
                         ec::amount_too_large));
  EXPECT_TRUE(fails_with(
      adapt({{compute, 99.0f}, {static_cast<ResourceType>(7), 0.5f}}),
      ec::unknown_resource_type));
  auto v = view(compute);
  EXPECT_FALSE(v.degraded);
  EXPECT_FLOAT_EQ(v.utilization, 0.0f);
  EXPECT_TRUE(history().empty());
}

// -- escalation
// -----------------------------------------------------------------------

TEST_F(MonitorTest, EscalatesWhenADegradedStateDoesNotClear) {
  auto [actor, inbox] = subscribe(topics(false, true, true));
  set_utilization(compute, 0.9); // above the exit threshold: no recovery
  ASSERT_TRUE(degrade(compute, true));
  advance(9900ms);
  EXPECT_EQ(view(compute).escalation, 0u);
  advance(100ms);
  auto v = view(compute);
  EXPECT_EQ(v.escalation, 1u);
  EXPECT_TRUE(same(v.shed, shedding(Priority::LOW)));
  EXPECT_TRUE(same(fake(compute).sheds.back(), shedding(Priority::LOW)));
  EXPECT_EQ(inbox->count(MonitorEventKind::escalated), 1u);
  EXPECT_EQ(history().back().severity, Severity::CRITICAL);
  EXPECT_NE(history().back().message.find("escalation step 1"),
            std::string::npos);
  advance(10s);
  EXPECT_TRUE(same(fake(compute).sheds.back(), shedding(Priority::NORMAL)));
  EXPECT_EQ(view(compute).escalation, 2u);
  // NORMAL is the last step: HIGH and CRITICAL are never shed.
  advance(30s);
  EXPECT_EQ(view(compute).escalation, 2u);
  EXPECT_EQ(fake(compute).sheds.size(), 3u);
  EXPECT_EQ(inbox->count(MonitorEventKind::escalated), 2u);
  // Leaving ends every step at once.
  ASSERT_TRUE(degrade(compute, false));
  EXPECT_TRUE(same(fake(compute).sheds.back(), ShedPolicy{}));
  EXPECT_EQ(view(compute).escalation, 0u);
}

TEST_F(MonitorTest, ShedsFromLowWhenConfiguredAndSparesARecoveringType) {
  ASSERT_TRUE(degrade(compute, true));
  auto s = test_settings();
  s.shed_from = Priority::LOW;
  ASSERT_TRUE(ask<MonitorSettings>(monitor_, settings_atom::value, s));
  // The degraded type's pool hears the new policy at once.
  EXPECT_TRUE(same(fake(compute).sheds.back(), shedding(Priority::LOW)));
  // Utilization below the exit threshold: no escalation.
  set_utilization(compute, 0.2);
  advance(30s);
  EXPECT_EQ(view(compute).escalation, 0u);
  // Pressure back: the overdue step fires at once, and LOW's only step is
  // NORMAL.
  set_utilization(compute, 0.9);
  EXPECT_EQ(view(compute).escalation, 1u);
  EXPECT_TRUE(same(fake(compute).sheds.back(), shedding(Priority::NORMAL)));
  advance(30s);
  EXPECT_EQ(view(compute).escalation, 1u);
}

// -- settings, reset, pools
// -------------------------------------------------------------

TEST_F(MonitorTest, RefusesBadSettingsAndChangesNothing) {
  using mutation = void (*)(MonitorSettings&);
  const mutation mutations[] = {
      [](MonitorSettings& s) { s.sample_interval = 0ms; },
      [](MonitorSettings& s) { s.clear_margin = -0.1; },
      [](MonitorSettings& s) { s.clear_margin = 1.0; },
      [](MonitorSettings& s) { s.clear_margin = std::nan(""); },
      [](MonitorSettings& s) { s.clear_after = -1ms; },
      [](MonitorSettings& s) { s.degrade_after = -1ms; },
      [](MonitorSettings& s) { s.recover_after = -1ms; },
      [](MonitorSettings& s) { s.escalate_after = -1ms; },
      [](MonitorSettings& s) { s.degrade_enter = 1.0; },
      [](MonitorSettings& s) { s.degrade_enter = 0.0; },
      [](MonitorSettings& s) {
        s.degrade_enter = std::numeric_limits<double>::infinity();
      },
      [](MonitorSettings& s) { s.degrade_exit = 0.9; }, // not below enter
      [](MonitorSettings& s) { s.degrade_exit = 0.0; },
      [](MonitorSettings& s) { s.degrade_exit = std::nan(""); },
      [](MonitorSettings& s) { s.shed_from = Priority::NORMAL; },
      [](MonitorSettings& s) { s.shed_from = static_cast<Priority>(9); },
      [](MonitorSettings& s) { s.trend_window = 0ms; },
      [](MonitorSettings& s) { s.history_limit = 0; },
      [](MonitorSettings& s) { s.history_limit = 100001; },
  };
  auto base = test_settings();
  base.sample_interval = 1h;
  base.degrade_enter = 0.9;
  ASSERT_FALSE(check_settings(base)); // valid without a mutation
  for (auto mutate : mutations) {
    auto s = base;
    mutate(s);
    EXPECT_TRUE(
        fails_with(ask<MonitorSettings>(monitor_, settings_atom::value, s),
                   ec::invalid_config_value));
  }
  auto now = ask_ok<MonitorSettings>(monitor_, settings_atom::value);
  EXPECT_EQ(now.sample_interval, caf::timespan{100ms});
  EXPECT_DOUBLE_EQ(now.degrade_enter, 0.95);
  EXPECT_EQ(now.history_limit, 50u);
  EXPECT_THROW(spawn_monitor(sys, directory_, Config{},
                             [] {
                               auto s = test_settings();
                               s.trend_window = 0ms;
                               return s;
                             }()),
               Error);
}

TEST_F(MonitorTest, HistoryIsBounded) {
  auto s = test_settings();
  s.history_limit = 3;
  s.clear_after = 0ms;
  ASSERT_TRUE(ask<MonitorSettings>(monitor_, settings_atom::value, s));
  for (int i = 0; i < 5; ++i) {
    set_utilization(compute, 0.9);
    set_utilization(compute, 0.1);
  }
  EXPECT_EQ(history().size(), 3u);
}

TEST_F(MonitorTest, ResetClearsAlertsLeavesDegradationAndRestartsStatistics) {
  auto [actor, inbox] = subscribe(topics(false, true, true));
  set_utilization(compute, 0.9);
  ASSERT_TRUE(degrade(memory, true));
  advance(1s);
  auto views =
      ask_ok<std::vector<TypeMonitorView>>(monitor_, reset_atom::value);
  EXPECT_FALSE(views[1].degraded);
  EXPECT_TRUE(active().empty());
  EXPECT_TRUE(history().empty());
  EXPECT_FALSE(ask_ok<bool>(monitor_, is_degraded_atom::value));
  EXPECT_TRUE(same(fake(memory).sheds.back(), ShedPolicy{}));
  EXPECT_EQ(inbox->count(MonitorEventKind::degraded_left), 1u);
  EXPECT_EQ(inbox->count(MonitorEventKind::alert_cleared), 2u);
  EXPECT_FLOAT_EQ(views[0].peak, 0.9f);
  EXPECT_FLOAT_EQ(views[0].trend, 0.0f);
  // Judged again from the next observation: the pool still reports 0.9.
  advance(100ms);
  EXPECT_EQ(active().size(), 1u);
}

TEST_F(MonitorTest, FollowsNewPoolHandles) {
  ASSERT_TRUE(degrade(compute, true));
  auto log = std::make_shared<FakePool>();
  log->status.type = compute;
  log->status.capacity = to_units(pool_capacity);
  log->status.held = to_units(90);
  log->status.available = to_units(10);
  auto replacement = sys.spawn(fake_pool, log);
  fake_actors_.push_back(replacement);
  auto directory = directory_;
  directory.pools[0] = caf::actor_cast<pool_actor>(replacement);
  self->send(monitor_, pools_atom::value, directory);
  run();
  // The old pool is let go, the new one listened to, told what to shed and
  // polled at once.
  EXPECT_TRUE(fake(compute).listeners.empty());
  ASSERT_EQ(log->listeners.size(), 1u);
  ASSERT_EQ(log->sheds.size(), 1u);
  EXPECT_TRUE(same(log->sheds[0], shedding(Priority::IDLE)));
  EXPECT_EQ(log->polls, 1);
  EXPECT_FLOAT_EQ(view(compute).utilization, 0.9f);
  EXPECT_EQ(active().size(), 2u); // degraded + threshold
}

TEST_F(MonitorTest, LiftsShedPoliciesWhenTheMonitorEnds) {
  ASSERT_TRUE(degrade(io, true));
  caf::anon_send_exit(monitor_, caf::exit_reason::kill);
  run();
  ASSERT_EQ(fake(io).sheds.size(), 2u);
  EXPECT_TRUE(same(fake(io).sheds[1], ShedPolicy{}));
  EXPECT_TRUE(fake(compute).sheds.empty());
}

// -- with the real pools
// --------------------------------------------------------------------

TEST_F(MonitorTest, WatchesRealPoolsAndTheirShedding) {
  PoolDirectory real;
  Config config;
  for (auto type : all_resource_types)
    real.pools.push_back(
        sys.spawn(rros::pool, type, config.capacity_of(type), PoolPolicy{}));
  auto monitor = spawn_monitor(sys, real, config, test_settings());
  run();
  // A grant is heard at once, without waiting for a poll.
  ASSERT_TRUE(ask<ResourceAllocation>(real[compute], allocate_atom::value,
                                      request("vision", compute, 90)));
  auto alerts = ask_ok<std::vector<ResourceAlert>>(monitor, alerts_atom::value);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].resource_type, compute);
  // Degraded: the pool refuses IDLE requests, and takes them again after.
  ASSERT_TRUE(
      ask<TypeMonitorView>(monitor, degrade_atom::value, compute, true));
  EXPECT_TRUE(fails_with(
      ask<ResourceAllocation>(real[compute], allocate_atom::value,
                              request("indexer", compute, 5, Priority::IDLE)),
      ec::shed));
  EXPECT_TRUE(ask<ResourceAllocation>(
      real[compute], allocate_atom::value,
      request("planner", compute, 5, Priority::NORMAL)));
  ASSERT_TRUE(
      ask<TypeMonitorView>(monitor, degrade_atom::value, compute, false));
  EXPECT_TRUE(
      ask<ResourceAllocation>(real[compute], allocate_atom::value,
                              request("indexer", compute, 5, Priority::IDLE)));
  caf::anon_send_exit(monitor, caf::exit_reason::user_shutdown);
  for (auto& pool : real.pools)
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  run();
}

// -- the wire
// --------------------------------------------------------------------------------

namespace {

template <class T>
T through_the_wire(caf::actor_system& sys, const T& x) {
  auto copy = x; // CAF 0.17's inspectors take non-const references
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(copy))
    ADD_FAILURE() << "serializing failed: " << sys.render(err);
  T result{};
  caf::binary_deserializer source{sys, buf};
  if (auto err = source(result))
    ADD_FAILURE() << "deserializing failed: " << sys.render(err);
  EXPECT_EQ(source.remaining(), 0u);
  return result;
}

} // namespace

TEST_F(MonitorTest, MessagesSurviveSerializationWithBadFloatsIntact) {
  auto s = test_settings();
  s.clear_margin = std::nan("");
  s.degrade_enter = std::numeric_limits<double>::infinity();
  s.shed_from = Priority::LOW;
  auto s2 = through_the_wire(sys, s);
  EXPECT_TRUE(std::isnan(s2.clear_margin));
  EXPECT_TRUE(std::isinf(s2.degrade_enter));
  EXPECT_DOUBLE_EQ(s2.degrade_exit, 0.7);
  EXPECT_EQ(s2.escalate_after, s.escalate_after);
  EXPECT_EQ(s2.shed_from, Priority::LOW);
  EXPECT_EQ(s2.history_limit, 50u);
  // A NaN threshold arrives as NaN (and is refused), not as 1.0.
  AlertRule rule;
  rule.type = memory;
  rule.threshold = std::numeric_limits<float>::quiet_NaN();
  rule.severity = Severity::CRITICAL;
  auto rule2 = through_the_wire(sys, rule);
  EXPECT_EQ(rule2.type, memory);
  EXPECT_TRUE(std::isnan(rule2.threshold));
  EXPECT_EQ(rule2.severity, Severity::CRITICAL);
  LoadReport report;
  report.loads = {{compute, 50.0f},
                  {memory, std::numeric_limits<float>::infinity()}};
  auto report2 = through_the_wire(sys, report);
  ASSERT_EQ(report2.loads.size(), 2u);
  EXPECT_FLOAT_EQ(report2.loads[compute], 50.0f);
  EXPECT_TRUE(std::isinf(report2.loads[memory]));
  // What the monitor sends.
  set_utilization(compute, 0.9);
  ASSERT_TRUE(degrade(compute, true));
  auto v = through_the_wire(sys, view(compute));
  EXPECT_TRUE(v.degraded);
  EXPECT_FLOAT_EQ(v.utilization, 0.9f);
  EXPECT_TRUE(same(v.shed, shedding(Priority::IDLE)));
  ASSERT_EQ(v.active_alerts.size(), 2u);
  EXPECT_EQ(v.active_alerts[1].severity, Severity::CRITICAL);
  MonitorEvent event;
  event.kind = MonitorEventKind::escalated;
  event.type = io;
  event.alert = v.active_alerts[1];
  event.escalation = 2;
  event.shed = shedding(Priority::NORMAL);
  auto event2 = through_the_wire(sys, event);
  EXPECT_EQ(event2.kind, MonitorEventKind::escalated);
  EXPECT_EQ(event2.type, io);
  EXPECT_EQ(event2.alert.message, event.alert.message);
  EXPECT_EQ(event2.escalation, 2u);
  EXPECT_TRUE(same(event2.shed, event.shed));
  // The type-ID block names every message type.
  EXPECT_EQ(std::string{caf::type_name<MonitorEvent>::value},
            "rros::MonitorEvent");
  EXPECT_EQ(std::string{caf::type_name<monitor_actor>::value},
            "rros::monitor_actor");
  EXPECT_EQ(sys.types().portable_name(0, &typeid(TypeMonitorView)),
            "rros::TypeMonitorView");
}

// -- kept across a restart (issue 14, docs/durability.md) ---------------------

TEST_F(MonitorTest, ARestartedMonitorTakesUpTheAlertStateItKept) {
  auto dir = rros::test::make_temp_dir("rros-monitor-kept");
  auto file = monitor_state_file(dir);
  auto first = spawn_monitor(sys, directory_, Config{}, test_settings(), file);
  run();
  AlertRule rule;
  rule.type = ResourceType::IO;
  rule.threshold = 0.5f;
  rule.severity = Severity::CRITICAL;
  ask_ok<AlertRule>(first, threshold_atom::value, rule);
  ask_ok<TypeMonitorView>(first, degrade_atom::value, ResourceType::MEMORY,
                          true);
  set_utilization(ResourceType::IO, 0.6);
  auto history = ask_ok<std::vector<ResourceAlert>>(first, history_atom::value);
  ASSERT_EQ(
      ask_ok<std::vector<ResourceAlert>>(first, alerts_atom::value).size(), 2u);
  // Written by the next poll; then the monitor ends (its exit lifts the
  // memory pool's shedding).
  advance(test_settings().sample_interval);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  run();
  ASSERT_FALSE(fake(ResourceType::MEMORY).sheds.back().degraded);

  auto second = spawn_monitor(sys, directory_, Config{}, test_settings(), file);
  run();
  auto views = ask_ok<std::vector<TypeMonitorView>>(second, status_atom::value);
  const auto& memory = views.at(static_cast<std::size_t>(ResourceType::MEMORY));
  const auto& io = views.at(static_cast<std::size_t>(ResourceType::IO));
  EXPECT_TRUE(memory.degraded);
  EXPECT_TRUE(memory.manual);
  EXPECT_EQ(io.rule.threshold, 0.5f);
  EXPECT_EQ(io.rule.severity, Severity::CRITICAL);
  // The pool sheds again, as before the restart.
  EXPECT_TRUE(same(fake(ResourceType::MEMORY).sheds.back(),
                   shedding(test_settings().shed_from)));
  auto active = ask_ok<std::vector<ResourceAlert>>(second, alerts_atom::value);
  ASSERT_EQ(active.size(), 2u);
  auto again = ask_ok<std::vector<ResourceAlert>>(second, history_atom::value);
  ASSERT_EQ(again.size(), history.size());
  for (std::size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(again[i].message, history[i].message);
    EXPECT_EQ(again[i].timestamp, history[i].timestamp);
  }
  // Entered by hand, it stays until left by hand, also after a restart.
  set_utilization(ResourceType::MEMORY, 0.0);
  advance(test_settings().recover_after * 3);
  views = ask_ok<std::vector<TypeMonitorView>>(second, status_atom::value);
  EXPECT_TRUE(
      views.at(static_cast<std::size_t>(ResourceType::MEMORY)).degraded);
  // The alert clears by the usual rule once utilization is low.
  set_utilization(ResourceType::IO, 0.1);
  advance(test_settings().clear_after * 2);
  active = ask_ok<std::vector<ResourceAlert>>(second, alerts_atom::value);
  EXPECT_EQ(active.size(), 1u);
  caf::anon_send_exit(second, caf::exit_reason::kill);
  run();
  std::filesystem::remove_all(dir);
}

TEST_F(MonitorTest, AMonitorWithoutAKeptStateStartsClean) {
  auto dir = rros::test::make_temp_dir("rros-monitor-kept");
  auto fresh = spawn_monitor(sys, directory_, Config{}, test_settings(),
                             monitor_state_file(dir));
  run();
  EXPECT_TRUE(
      ask_ok<std::vector<ResourceAlert>>(fresh, alerts_atom::value).empty());
  EXPECT_FALSE(ask_ok<bool>(fresh, is_degraded_atom::value));
  caf::anon_send_exit(fresh, caf::exit_reason::kill);
  run();
  std::filesystem::remove_all(dir);
}
