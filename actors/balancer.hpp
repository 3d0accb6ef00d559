// Load balancing: a pure assignment of pending tasks to modules by one of the
// four LoadBalancingStrategy values, and the balancer actor that holds the
// strategy, the loads modules report and the predictor handle (PREDICTIVE).
// docs/balancing.md describes each strategy and the task orders.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "messages/predictor_messages.hpp"

namespace rros {

/// Everything one assignment depends on.
struct BalanceInput {
  LoadBalancingStrategy strategy = LoadBalancingStrategy::LEAST_LOADED;
  std::vector<PendingTask> tasks;
  std::map<std::string, float> loads; // module -> current load
  // PREDICTIVE: module -> forecast load, replacing the current load of each
  // module listed (others keep their current load). Ignored otherwise.
  std::map<std::string, float> forecast_loads;
  // ROUND_ROBIN: the module that took the previous call's last task (empty:
  // start at the first module by name). Ignored otherwise.
  std::string cursor;
};

struct BalanceOutput {
  BalanceResult result;
  std::string cursor; // ROUND_ROBIN's cursor after this call
};

/// Checks tasks and loads: at least one module, names not empty, loads and
/// costs finite, >= 0 and at most 1e12, task ids present and distinct,
/// valid priorities, deadlines not negative.
caf::error check_balance_input(const std::vector<PendingTask>& tasks,
                               const std::map<std::string, float>& loads);

/// Assigns every task to exactly one module; the same input always gives the
/// same output. Fails with the errors of check_balance_input.
caf::expected<BalanceOutput> assign_tasks(const BalanceInput& input);

/// The order in which ROUND_ROBIN and PRIORITY_BASED place tasks: priority
/// (CRITICAL first), then deadline (earliest first, none last), then id.
bool more_urgent(const PendingTask& x, const PendingTask& y);

struct BalancerSettings {
  LoadBalancingStrategy strategy = LoadBalancingStrategy::LEAST_LOADED;
  // The predictor series of module loads: reported loads are observations of
  // (module, load_type), and PREDICTIVE reads those series.
  ResourceType load_type = ResourceType::COMPUTATIONAL;
  // PREDICTIVE uses each module's mean forecast over this horizon.
  std::chrono::nanoseconds horizon = std::chrono::seconds(1);
};

struct balancer_state {
  BalancerSettings settings;
  std::map<std::string, float> reported; // module -> last reported load
  std::string cursor;                    // round robin, across calls
  predictor_actor predictor;             // null: no forecasts

  static inline const char* name = "rros.balancer";
};

balancer_actor::behavior_type
balancer(balancer_actor::stateful_pointer<balancer_state> self,
         predictor_actor predictor, BalancerSettings settings);

/// Spawns a balancer that asks `predictor` (may be null) for forecasts.
/// Throws rros::Error (invalid_config_value) for a bad strategy, load type or
/// a horizon that is not positive.
balancer_actor spawn_balancer(caf::actor_system& sys, predictor_actor predictor,
                              BalancerSettings settings = {});

} // namespace rros
