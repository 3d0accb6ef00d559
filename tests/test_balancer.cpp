// Load balancing: the pure assignment (each strategy, determinism, every task
// exactly once, bad input, a random property) and the balancer actor
// (strategy, reported loads, round-robin cursor across calls, PREDICTIVE
// asking the predictor, and falling back when it is gone).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "fixture.hpp"

#include "actors/balancer.hpp"
#include "actors/predictor.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

using Strategy = LoadBalancingStrategy;
using Assignments = std::map<std::string, std::vector<std::string>>;

constexpr Strategy all_strategies[] = {
    Strategy::ROUND_ROBIN, Strategy::LEAST_LOADED, Strategy::PRIORITY_BASED,
    Strategy::PREDICTIVE};
constexpr float nan_value = std::numeric_limits<float>::quiet_NaN();
constexpr float inf_value = std::numeric_limits<float>::infinity();

PendingTask task(std::string id, float cost = 1.0f,
                 Priority priority = Priority::NORMAL,
                 std::chrono::nanoseconds deadline = 0ns) {
  return PendingTask{std::move(id), priority, cost, deadline};
}

BalanceInput input(Strategy strategy, std::vector<PendingTask> tasks,
                   std::map<std::string, float> loads) {
  BalanceInput result;
  result.strategy = strategy;
  result.tasks = std::move(tasks);
  result.loads = std::move(loads);
  return result;
}

Assignments assign(const BalanceInput& in) {
  auto out = assign_tasks(in);
  if (!out) {
    ADD_FAILURE() << describe(out.error());
    return {};
  }
  return out->result.assignments;
}

/// Every task id appears exactly once across the modules.
::testing::AssertionResult each_task_once(const Assignments& a,
                                          const std::vector<PendingTask>& ts) {
  std::multiset<std::string> seen;
  for (const auto& [module, ids] : a)
    seen.insert(ids.begin(), ids.end());
  if (seen.size() != ts.size())
    return ::testing::AssertionFailure()
           << seen.size() << " assignments for " << ts.size() << " tasks";
  for (const auto& t : ts)
    if (seen.count(t.task_id) != 1)
      return ::testing::AssertionFailure()
             << "task " << t.task_id << " assigned " << seen.count(t.task_id)
             << " times";
  return ::testing::AssertionSuccess();
}

std::vector<PendingTask> mixed_tasks() {
  return {task("t1", 0.2f, Priority::LOW),
          task("t2", 0.5f, Priority::CRITICAL),
          task("t3", 0.1f, Priority::NORMAL, 50ms),
          task("t4", 0.3f, Priority::NORMAL, 10ms),
          task("t5", 0.4f, Priority::HIGH),
          task("t6", 0.2f, Priority::NORMAL),
          task("t7", 0.6f, Priority::IDLE)};
}

} // namespace

// -- the pure assignment
// ----------------------------------------------------------

TEST(BalancerAssignment, EveryStrategyAssignsEachTaskExactlyOnce) {
  std::map<std::string, float> loads{{"a", 0.5f}, {"b", 0.1f}, {"c", 0.3f}};
  for (auto strategy : all_strategies) {
    auto out = assign_tasks(input(strategy, mixed_tasks(), loads));
    ASSERT_TRUE(out) << to_string(strategy);
    EXPECT_TRUE(each_task_once(out->result.assignments, mixed_tasks()))
        << to_string(strategy);
    // Every module is listed, with its starting and final load.
    EXPECT_EQ(out->result.assignments.size(), 3u);
    EXPECT_EQ(out->result.starting_loads, loads);
    EXPECT_EQ(out->result.strategy, strategy);
    float total = 0;
    for (const auto& [m, load] : out->result.final_loads)
      total += load;
    EXPECT_NEAR(total, 0.9f + 2.3f, 1e-5) << to_string(strategy);
  }
}

TEST(BalancerAssignment, TheSameInputGivesTheSameOutput) {
  // Maps filled in different orders, tasks listed in different orders.
  std::map<std::string, float> forward;
  forward["alpha"] = 0.2f;
  forward["beta"] = 0.2f;
  forward["gamma"] = 0.1f;
  std::map<std::string, float> backward;
  backward["gamma"] = 0.1f;
  backward["beta"] = 0.2f;
  backward["alpha"] = 0.2f;
  auto tasks = mixed_tasks();
  auto reversed = tasks;
  std::reverse(reversed.begin(), reversed.end());
  for (auto strategy : all_strategies) {
    auto first = assign(input(strategy, tasks, forward));
    EXPECT_EQ(first, assign(input(strategy, tasks, forward)));
    EXPECT_EQ(first, assign(input(strategy, tasks, backward)));
    EXPECT_EQ(first, assign(input(strategy, reversed, backward)))
        << to_string(strategy);
  }
}

TEST(BalancerAssignment, LeastLoadedPrefersTheLeastLoadedModule) {
  std::map<std::string, float> loads{{"a", 0.9f}, {"b", 0.1f}, {"c", 0.5f}};
  EXPECT_EQ(assign(input(Strategy::LEAST_LOADED, {task("t", 0.1f)}, loads)),
            (Assignments{{"a", {}}, {"b", {"t"}}, {"c", {}}}));
  // Costs add up as tasks are placed, largest first: b 0.1 + 0.5 = 0.6, then
  // c 0.5 + 0.3 = 0.8, then b 0.6 + 0.1 = 0.7.
  auto out = assign_tasks(input(
      Strategy::LEAST_LOADED,
      {task("small", 0.1f), task("big", 0.5f), task("mid", 0.3f)}, loads));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->result.assignments,
            (Assignments{{"a", {}}, {"b", {"big", "small"}}, {"c", {"mid"}}}));
  EXPECT_FLOAT_EQ(out->result.final_loads["b"], 0.7f);
  EXPECT_FLOAT_EQ(out->result.final_loads["c"], 0.8f);
  // Equal loads: the first module by name.
  EXPECT_EQ(assign(input(Strategy::LEAST_LOADED, {task("t")},
                         {{"y", 0.2f}, {"x", 0.2f}})),
            (Assignments{{"x", {"t"}}, {"y", {}}}));
}

TEST(BalancerAssignment, PriorityBasedGivesUrgentTasksTheLeastLoadedModules) {
  std::map<std::string, float> loads{
      {"busy", 0.8f}, {"idle", 0.0f}, {"some", 0.4f}};
  auto tasks =
      std::vector<PendingTask>{task("background", 0.5f, Priority::IDLE),
                               task("safety", 0.5f, Priority::CRITICAL),
                               task("plan", 0.5f, Priority::NORMAL, 20ms),
                               task("report", 0.5f, Priority::NORMAL)};
  auto out = assign_tasks(input(Strategy::PRIORITY_BASED, tasks, loads));
  ASSERT_TRUE(out);
  // Urgency order: safety, plan (deadline), report, background; each on the
  // least-loaded module at its turn: idle 0 -> 0.5, some 0.4 -> 0.9, idle
  // 0.5 -> 1.0, busy 0.8 -> 1.3.
  EXPECT_EQ(out->result.assignments,
            (Assignments{{"busy", {"background"}},
                         {"idle", {"safety", "report"}},
                         {"some", {"plan"}}}));
  // LEAST_LOADED places the same tasks by cost, not urgency: equal costs
  // fall back to urgency here, so the difference shows with unequal costs.
  tasks[0].cost = 0.9f; // the IDLE task is the largest
  auto by_cost = assign(input(Strategy::LEAST_LOADED, tasks, loads));
  auto by_urgency = assign(input(Strategy::PRIORITY_BASED, tasks, loads));
  EXPECT_EQ(by_cost.at("idle").front(), "background");
  EXPECT_EQ(by_urgency.at("idle").front(), "safety");
}

TEST(BalancerAssignment, RoundRobinGoesByNameAndKeepsItsCursor) {
  std::map<std::string, float> loads{{"c", 0.0f}, {"a", 0.9f}, {"b", 0.5f}};
  auto in = input(Strategy::ROUND_ROBIN,
                  {task("t1"), task("t2"), task("t3"), task("t4")}, loads);
  auto out = assign_tasks(in);
  ASSERT_TRUE(out);
  // Loads do not matter; names do: a, b, c, a.
  EXPECT_EQ(out->result.assignments,
            (Assignments{{"a", {"t1", "t4"}}, {"b", {"t2"}}, {"c", {"t3"}}}));
  EXPECT_EQ(out->cursor, "a");
  // The next call continues after "a".
  in.tasks = {task("t5"), task("t6")};
  in.cursor = out->cursor;
  out = assign_tasks(in);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->result.assignments,
            (Assignments{{"a", {}}, {"b", {"t5"}}, {"c", {"t6"}}}));
  EXPECT_EQ(out->cursor, "c");
  // A cursor naming a module that left: the next name after it.
  in.tasks = {task("t7")};
  in.cursor = "bb";
  EXPECT_EQ(assign(in), (Assignments{{"a", {}}, {"b", {}}, {"c", {"t7"}}}));
  // No tasks: every module listed, nothing assigned, cursor unchanged.
  in.tasks = {};
  out = assign_tasks(in);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->cursor, "bb");
  EXPECT_EQ(out->result.assignments.size(), 3u);
}

TEST(BalancerAssignment, PredictiveUsesForecastsInsteadOfCurrentLoads) {
  auto in = input(Strategy::PREDICTIVE, {task("t", 0.1f)},
                  {{"a", 0.1f}, {"b", 0.5f}, {"c", 0.3f}});
  // a is quiet now but is expected to be busy; c has no forecast.
  in.forecast_loads = {{"a", 0.95f}, {"b", 0.4f}};
  auto out = assign_tasks(in);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->result.assignments,
            (Assignments{{"a", {}}, {"b", {}}, {"c", {"t"}}}));
  EXPECT_EQ(
      out->result.starting_loads,
      (std::map<std::string, float>{{"a", 0.95f}, {"b", 0.4f}, {"c", 0.3f}}));
  // LEAST_LOADED ignores forecasts.
  in.strategy = Strategy::LEAST_LOADED;
  EXPECT_EQ(assign(in), (Assignments{{"a", {"t"}}, {"b", {}}, {"c", {}}}));
}

TEST(BalancerAssignment, BadInputIsRefused) {
  auto base = input(Strategy::LEAST_LOADED, {task("t1"), task("t2")},
                    {{"a", 0.1f}, {"b", 0.2f}});
  auto fails = [](BalanceInput in, ec code) {
    return fails_with(assign_tasks(in), code);
  };
  auto in = base;
  in.loads.clear();
  EXPECT_TRUE(fails(in, ec::insufficient_resources));
  in = base;
  in.loads["c"] = nan_value;
  EXPECT_TRUE(fails(in, ec::invalid_amount));
  in = base;
  in.loads["c"] = inf_value;
  EXPECT_TRUE(fails(in, ec::invalid_amount));
  in = base;
  in.loads["c"] = -0.5f;
  EXPECT_TRUE(fails(in, ec::invalid_amount));
  in = base;
  in.loads["c"] = 2e12f;
  EXPECT_TRUE(fails(in, ec::amount_too_large));
  in = base;
  in.loads[""] = 0.1f;
  EXPECT_TRUE(fails(in, ec::invalid_argument));
  in = base;
  in.tasks.push_back(task("t1"));
  EXPECT_TRUE(fails(in, ec::duplicate_id));
  in = base;
  in.tasks.push_back(task(""));
  EXPECT_TRUE(fails(in, ec::empty_requester));
  in = base;
  in.tasks.push_back(task("t3", nan_value));
  EXPECT_TRUE(fails(in, ec::invalid_amount));
  in = base;
  in.tasks.push_back(task("t3", -1.0f));
  EXPECT_TRUE(fails(in, ec::invalid_amount));
  in = base;
  in.tasks.push_back(task("t3", 1.0f, static_cast<Priority>(9)));
  EXPECT_TRUE(fails(in, ec::invalid_priority));
  in = base;
  in.tasks.push_back(task("t3", 1.0f, Priority::LOW, -1ms));
  EXPECT_TRUE(fails(in, ec::invalid_duration));
  in = base;
  in.strategy = static_cast<Strategy>(4);
  EXPECT_TRUE(fails(in, ec::invalid_config_value));
}

RC_GTEST_PROP(BalancerProperty, EachTaskOnceAndTheSameForAnyTaskOrder, ()) {
  auto module_count = *rc::gen::inRange(1, 6);
  std::map<std::string, float> loads;
  for (int i = 0; i < module_count; ++i)
    loads["m" + std::to_string(i)] =
        static_cast<float>(*rc::gen::inRange(0, 100)) / 100.0f;
  auto task_count = *rc::gen::inRange(0, 30);
  std::vector<PendingTask> tasks;
  for (int i = 0; i < task_count; ++i)
    tasks.push_back(
        task("t" + std::to_string(i),
             static_cast<float>(*rc::gen::inRange(0, 50)) / 100.0f,
             static_cast<Priority>(*rc::gen::inRange(0, 5)),
             std::chrono::milliseconds(*rc::gen::inRange(0, 3) * 10)));
  auto shuffled = *rc::gen::arbitrary<std::vector<int>>();
  auto permuted = tasks;
  for (std::size_t i = 0; i < shuffled.size() && permuted.size() > 1; ++i)
    std::swap(permuted[static_cast<std::size_t>(shuffled[i] & 0xffff) %
                       permuted.size()],
              permuted[i % permuted.size()]);
  for (auto strategy : all_strategies) {
    auto in = input(strategy, tasks, loads);
    in.forecast_loads = {{"m0", 0.7f}};
    auto out = assign_tasks(in);
    RC_ASSERT(static_cast<bool>(out));
    RC_ASSERT(each_task_once(out->result.assignments, tasks));
    RC_ASSERT(out->result.assignments.size() == loads.size());
    in.tasks = permuted;
    auto again = assign_tasks(in);
    RC_ASSERT(static_cast<bool>(again));
    RC_ASSERT(again->result.assignments == out->result.assignments);
  }
}

// -- the actor
// ----------------------------------------------------------------------

namespace {

class BalancerTest : public DeterministicFixture {
public:
  BalancerTest() {
    predictor_ = spawn_predictor(sys, PoolDirectory{}, PredictorSettings{});
    balancer_ = spawn_balancer(sys, predictor_);
    run();
  }

  ~BalancerTest() override {
    caf::anon_send_exit(balancer_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(predictor_, caf::exit_reason::user_shutdown);
    run();
  }

  caf::expected<BalanceResult>
  balance(std::vector<PendingTask> tasks,
          std::map<std::string, float> loads = {}) {
    return ask<BalanceResult>(
        balancer_, balance_atom::value,
        BalanceRequest{std::move(tasks), std::move(loads)});
  }

  Assignments balance_ok(std::vector<PendingTask> tasks,
                         std::map<std::string, float> loads = {}) {
    auto result = balance(std::move(tasks), std::move(loads));
    if (!result) {
      ADD_FAILURE() << describe(result.error());
      return {};
    }
    return result->assignments;
  }

  void set_strategy(Strategy strategy) {
    EXPECT_EQ(ask_ok<Strategy>(balancer_, strategy_atom::value, strategy),
              strategy);
  }

  caf::expected<std::uint64_t> report(const std::string& module, float load) {
    return ask<std::uint64_t>(balancer_, modload_atom::value, module, load);
  }

  predictor_actor predictor_;
  balancer_actor balancer_;
};

} // namespace

TEST_F(BalancerTest, TheStrategyIsSetAndQueried) {
  EXPECT_EQ(ask_ok<Strategy>(balancer_, strategy_atom::value),
            Strategy::LEAST_LOADED);
  set_strategy(Strategy::PRIORITY_BASED);
  EXPECT_EQ(ask_ok<Strategy>(balancer_, strategy_atom::value),
            Strategy::PRIORITY_BASED);
  EXPECT_TRUE(fails_with(
      ask<Strategy>(balancer_, strategy_atom::value, static_cast<Strategy>(7)),
      ec::invalid_config_value));
  EXPECT_EQ(ask_ok<Strategy>(balancer_, strategy_atom::value),
            Strategy::PRIORITY_BASED);
  EXPECT_THROW(spawn_balancer(sys, predictor_,
                              BalancerSettings{static_cast<Strategy>(9)}),
               Error);
}

TEST_F(BalancerTest, ReportedLoadsAreUsedWhenTheCallGivesNone) {
  EXPECT_TRUE(fails_with(balance({task("t")}), ec::insufficient_resources));
  EXPECT_EQ(report("vision", 0.8f), 1u);
  EXPECT_EQ(report("audio", 0.3f), 2u);
  EXPECT_EQ(report("vision", 0.6f), 2u); // a newer report replaces the old
  EXPECT_EQ(ask_ok<ModuleLoads>(balancer_, modload_atom::value).loads,
            (std::map<std::string, float>{{"audio", 0.3f}, {"vision", 0.6f}}));
  EXPECT_EQ(balance_ok({task("t")}),
            (Assignments{{"audio", {"t"}}, {"vision", {}}}));
  // Loads given in the call win over reported ones.
  EXPECT_EQ(balance_ok({task("t")}, {{"memory", 0.5f}, {"planner", 0.1f}}),
            (Assignments{{"memory", {}}, {"planner", {"t"}}}));
  // A module that leaves gets no more tasks.
  EXPECT_EQ(ask_ok<std::uint64_t>(balancer_, modload_atom::value,
                                  std::string{"audio"}),
            1u);
  EXPECT_EQ(balance_ok({task("t")}), (Assignments{{"vision", {"t"}}}));
  EXPECT_TRUE(fails_with(
      ask<std::uint64_t>(balancer_, modload_atom::value, std::string{"audio"}),
      ec::unknown_request));
}

TEST_F(BalancerTest, BadReportsAndCallsAreRefusedAndChangeNothing) {
  ASSERT_TRUE(report("vision", 0.5f));
  EXPECT_TRUE(fails_with(report("audio", nan_value), ec::invalid_amount));
  EXPECT_TRUE(fails_with(report("audio", -1.0f), ec::invalid_amount));
  EXPECT_TRUE(fails_with(report("", 0.5f), ec::invalid_argument));
  EXPECT_EQ(ask_ok<ModuleLoads>(balancer_, modload_atom::value).loads.size(),
            1u);
  EXPECT_TRUE(fails_with(balance({task("t"), task("t")}), ec::duplicate_id));
  EXPECT_TRUE(
      fails_with(balance({task("t")}, {{"a", nan_value}}), ec::invalid_amount));
  // The round-robin cursor did not move on refused calls.
  set_strategy(Strategy::ROUND_ROBIN);
  EXPECT_EQ(balance_ok({task("t")}, {{"a", 0}, {"b", 0}}),
            (Assignments{{"a", {"t"}}, {"b", {}}}));
}

TEST_F(BalancerTest, RoundRobinContinuesAcrossCallsUntilReset) {
  set_strategy(Strategy::ROUND_ROBIN);
  std::map<std::string, float> loads{{"a", 0}, {"b", 0}, {"c", 0}};
  EXPECT_EQ(balance_ok({task("t1"), task("t2")}, loads),
            (Assignments{{"a", {"t1"}}, {"b", {"t2"}}, {"c", {}}}));
  EXPECT_EQ(balance_ok({task("t3"), task("t4")}, loads),
            (Assignments{{"a", {"t4"}}, {"b", {}}, {"c", {"t3"}}}));
  EXPECT_EQ(ask_ok<std::uint64_t>(balancer_, reset_atom::value), 0u);
  EXPECT_EQ(balance_ok({task("t5")}, loads),
            (Assignments{{"a", {"t5"}}, {"b", {}}, {"c", {}}}));
}

TEST_F(BalancerTest, PredictiveAsksThePredictorForEachModule) {
  set_strategy(Strategy::PREDICTIVE);
  // "vision" is expected to be busy, "audio" quiet; "memory" has no series.
  for (int i = 0; i < 10; ++i) {
    ask_ok<std::uint64_t>(predictor_, observe_atom::value,
                          std::string{"vision"}, ResourceType::COMPUTATIONAL,
                          0.9f);
    ask_ok<std::uint64_t>(predictor_, observe_atom::value, std::string{"audio"},
                          ResourceType::COMPUTATIONAL, 0.2f);
  }
  std::map<std::string, float> now{
      {"vision", 0.0f}, {"audio", 0.5f}, {"memory", 0.3f}};
  auto result = balance({task("t1", 0.05f)}, now);
  ASSERT_TRUE(result) << describe(result.error());
  EXPECT_EQ(result->strategy, Strategy::PREDICTIVE);
  EXPECT_NEAR(result->starting_loads.at("vision"), 0.9f, 1e-5);
  EXPECT_NEAR(result->starting_loads.at("audio"), 0.2f, 1e-5);
  EXPECT_FLOAT_EQ(result->starting_loads.at("memory"), 0.3f);
  EXPECT_EQ(result->assignments,
            (Assignments{{"audio", {"t1"}}, {"memory", {}}, {"vision", {}}}));
  // LEAST_LOADED would have picked the module that is idle now.
  set_strategy(Strategy::LEAST_LOADED);
  EXPECT_EQ(balance_ok({task("t1", 0.05f)}, now).at("vision"),
            std::vector<std::string>{"t1"});
}

TEST_F(BalancerTest, ReportedLoadsFeedThePredictorsModuleSeries) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(report("vision", 0.7f));
    ASSERT_TRUE(report("audio", 0.1f));
  }
  auto stats =
      ask_ok<std::vector<ForecastErrorStats>>(predictor_, fcstats_atom::value);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].module, "audio");
  EXPECT_EQ(stats[0].observations, 5u);
  EXPECT_EQ(stats[1].module, "vision");
  set_strategy(Strategy::PREDICTIVE);
  auto result = balance({task("t")});
  ASSERT_TRUE(result);
  EXPECT_NEAR(result->starting_loads.at("vision"), 0.7f, 1e-5);
  EXPECT_EQ(result->assignments.at("audio"), std::vector<std::string>{"t"});
}

TEST_F(BalancerTest, PredictiveFallsBackToCurrentLoadsWithoutAPredictor) {
  set_strategy(Strategy::PREDICTIVE);
  ask_ok<std::uint64_t>(predictor_, observe_atom::value, std::string{"a"},
                        ResourceType::COMPUTATIONAL, 0.9f);
  std::map<std::string, float> now{{"a", 0.0f}, {"b", 0.5f}};
  EXPECT_EQ(balance_ok({task("t")}, now).at("b"),
            std::vector<std::string>{"t"});
  // The predictor goes away: current loads decide.
  caf::anon_send_exit(predictor_, caf::exit_reason::kill);
  run();
  auto result = balance({task("t")}, now);
  ASSERT_TRUE(result) << describe(result.error());
  EXPECT_EQ(result->assignments.at("a"), std::vector<std::string>{"t"});
  EXPECT_FLOAT_EQ(result->starting_loads.at("a"), 0.0f);
  // A new predictor can be handed over.
  auto fresh = spawn_predictor(sys, PoolDirectory{}, PredictorSettings{});
  ask_ok<std::uint64_t>(fresh, observe_atom::value, std::string{"a"},
                        ResourceType::COMPUTATIONAL, 0.9f);
  self->send(balancer_, predictor_atom::value, fresh);
  run();
  EXPECT_EQ(balance_ok({task("t")}, now).at("b"),
            std::vector<std::string>{"t"});
  caf::anon_send_exit(fresh, caf::exit_reason::user_shutdown);
  run();
}

// -- on the wire
// --------------------------------------------------------------------

namespace {

class BalancerWireTest : public DeterministicFixture {
public:
  /// Through a whole caf::message, as between nodes.
  template <class T>
  T over_the_wire(const T& x) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto msg = caf::make_message(x);
    if (auto err = sink(msg))
      ADD_FAILURE() << "serializing failed: " << sys.render(err);
    caf::message back;
    caf::binary_deserializer source{sys, buf};
    if (auto err = source(back))
      ADD_FAILURE() << "deserializing failed: " << sys.render(err);
    if (!back.match_elements<T>()) {
      ADD_FAILURE() << "another type came back";
      return T{};
    }
    return back.get_as<T>(0);
  }
};

} // namespace

TEST_F(BalancerWireTest, RequestsKeepBadFloatsSoTheBalancerCanRefuseThem) {
  BalanceRequest request{
      {task("t1", nan_value, Priority::HIGH, 5ms), task("t2", 0.25f)},
      {{"a", inf_value}, {"b", 0.5f}}};
  auto back = over_the_wire(request);
  ASSERT_EQ(back.tasks.size(), 2u);
  EXPECT_EQ(back.tasks[0].task_id, "t1");
  EXPECT_EQ(back.tasks[0].priority, Priority::HIGH);
  EXPECT_TRUE(std::isnan(back.tasks[0].cost));
  EXPECT_EQ(back.tasks[0].deadline, std::chrono::nanoseconds(5ms));
  EXPECT_EQ(back.tasks[1].cost, 0.25f);
  ASSERT_EQ(back.module_loads.size(), 2u);
  EXPECT_TRUE(std::isinf(back.module_loads.at("a")));
  EXPECT_EQ(back.module_loads.at("b"), 0.5f);
}

TEST_F(BalancerWireTest, ResultsAndLoadsTravel) {
  BalanceResult result;
  result.strategy = Strategy::PREDICTIVE;
  result.assignments = {{"a", {"t1", "t2"}}, {"b", {}}};
  result.starting_loads = {{"a", 0.1f}, {"b", 0.2f}};
  result.final_loads = {{"a", 0.3f}, {"b", 0.2f}};
  auto back = over_the_wire(result);
  EXPECT_EQ(back.strategy, result.strategy);
  EXPECT_EQ(back.assignments, result.assignments);
  EXPECT_EQ(back.starting_loads, result.starting_loads);
  EXPECT_EQ(back.final_loads, result.final_loads);
  ModuleLoads loads{{{"vision", 0.4f}}};
  EXPECT_EQ(over_the_wire(loads).loads, loads.loads);
}
