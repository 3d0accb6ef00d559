#include "actors/balancer.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <utility>

#include "actors/sender_checks.hpp"
#include "messages/error.hpp"
#include "messages/validate.hpp"

namespace rros {

namespace {

using self_ptr = balancer_actor::stateful_pointer<balancer_state>;

bool is_valid(LoadBalancingStrategy x) {
  return static_cast<std::uint8_t>(x) <=
         static_cast<std::uint8_t>(LoadBalancingStrategy::PREDICTIVE);
}

caf::error check_module_load(const std::string& module, float load) {
  if (auto err = check_name(module, "module name"))
    return err;
  return check_quantity(load, "the load of module '" + module + "'");
}

/// Modules by current load, then by name: begin() is the least loaded.
using load_order = std::set<std::pair<double, std::string>>;

/// Places `task` on the least-loaded module and adds its cost there.
void place_on_least_loaded(const PendingTask& task, load_order& order,
                           std::map<std::string, double>& loads,
                           BalanceResult& result) {
  auto least = *order.begin();
  order.erase(order.begin());
  least.first += task.cost;
  loads[least.second] = least.first;
  result.assignments[least.second].push_back(task.task_id);
  order.insert(least);
}

/// Places `tasks`, in their order, each on the module least loaded at that
/// point.
void place_in_order(const std::vector<PendingTask>& tasks,
                    std::map<std::string, double>& loads,
                    BalanceResult& result) {
  load_order order;
  for (const auto& [module, load] : loads)
    order.emplace(load, module);
  for (const auto& task : tasks)
    place_on_least_loaded(task, order, loads, result);
}

} // namespace

bool more_urgent(const PendingTask& x, const PendingTask& y) {
  if (x.priority != y.priority)
    return x.priority < y.priority;
  // A deadline of 0 means none: after every real deadline.
  auto x_deadline = x.deadline.count() > 0 ? x.deadline.count() : INT64_MAX;
  auto y_deadline = y.deadline.count() > 0 ? y.deadline.count() : INT64_MAX;
  if (x_deadline != y_deadline)
    return x_deadline < y_deadline;
  return x.task_id < y.task_id;
}

caf::error check_balance_input(const std::vector<PendingTask>& tasks,
                               const std::map<std::string, float>& loads) {
  if (loads.empty())
    return make_error(ec::insufficient_resources,
                      "no module to assign tasks to (no loads given or "
                      "reported)");
  for (const auto& [module, load] : loads)
    if (auto err = check_module_load(module, load))
      return err;
  std::set<std::string> ids;
  for (const auto& task : tasks) {
    // A task id is the requester of the task's bundle (as in the scheduler).
    if (auto err = check_requester(task.task_id, "a task id"))
      return err;
    if (!ids.insert(task.task_id).second)
      return make_error(ec::duplicate_id,
                        "task '" + task.task_id + "' is listed twice");
    if (auto err = check_priority(task.priority))
      return err;
    if (auto err = check_quantity(task.cost,
                                  "the cost of task '" + task.task_id + "'"))
      return err;
    auto what = "the deadline of task '" + task.task_id + "' (0 = none)";
    if (auto err = check_duration(task.deadline, what.c_str()))
      return err;
  }
  return caf::none;
}

caf::expected<BalanceOutput> assign_tasks(const BalanceInput& input) {
  if (!is_valid(input.strategy))
    return make_error(ec::invalid_config_value,
                      "load balancing strategy " +
                          std::to_string(static_cast<int>(input.strategy)) +
                          " is not one of the four strategies");
  if (auto err = check_balance_input(input.tasks, input.loads))
    return err;
  BalanceOutput out;
  auto& result = out.result;
  result.strategy = input.strategy;
  out.cursor = input.cursor;
  // Sums in double: many small costs must not be lost to float rounding.
  std::map<std::string, double> loads;
  for (const auto& [module, load] : input.loads) {
    double start = load;
    if (input.strategy == LoadBalancingStrategy::PREDICTIVE) {
      auto f = input.forecast_loads.find(module);
      if (f != input.forecast_loads.end() && std::isfinite(f->second) &&
          f->second >= 0)
        start = f->second;
    }
    loads.emplace(module, start);
    result.starting_loads.emplace(module, static_cast<float>(start));
    result.assignments[module]; // every module is listed, maybe empty
  }
  auto tasks = input.tasks;
  switch (input.strategy) {
    case LoadBalancingStrategy::ROUND_ROBIN: {
      std::sort(tasks.begin(), tasks.end(), more_urgent);
      // Start after the module that took the last task of the previous call.
      auto next = loads.upper_bound(out.cursor);
      for (const auto& task : tasks) {
        if (next == loads.end())
          next = loads.begin();
        next->second += task.cost;
        result.assignments[next->first].push_back(task.task_id);
        out.cursor = next->first;
        ++next;
      }
      break;
    }
    case LoadBalancingStrategy::PRIORITY_BASED: {
      // The most urgent task takes the least-loaded module, the next one the
      // least-loaded module after that, and so on.
      std::sort(tasks.begin(), tasks.end(), more_urgent);
      place_in_order(tasks, loads, result);
      break;
    }
    case LoadBalancingStrategy::LEAST_LOADED:
    case LoadBalancingStrategy::PREDICTIVE: {
      // Largest cost first (LPT): the greedy order that keeps final loads
      // closest together; ties in urgency order.
      std::sort(tasks.begin(), tasks.end(),
                [](const PendingTask& x, const PendingTask& y) {
                  if (x.cost != y.cost)
                    return x.cost > y.cost;
                  return more_urgent(x, y);
                });
      place_in_order(tasks, loads, result);
      break;
    }
  }
  for (const auto& [module, load] : loads)
    result.final_loads.emplace(module, static_cast<float>(load));
  return out;
}

// -- the actor
// ------------------------------------------------------------------

namespace {

void watch_predictor(self_ptr self, predictor_actor predictor) {
  auto& st = self->state;
  if (st.predictor)
    self->demonitor(st.predictor.address());
  st.predictor = std::move(predictor);
  if (st.predictor)
    self->monitor(st.predictor);
}

/// Mean of each forecast's points: the load a module is expected to carry
/// over the horizon.
std::map<std::string, float>
mean_loads(const std::vector<ResourceForecast>& forecasts) {
  std::map<std::string, float> result;
  for (const auto& f : forecasts) {
    const auto& points = f.prediction.predicted_usage;
    if (points.empty())
      continue;
    double sum = 0;
    for (auto x : points)
      sum += x;
    result[f.module] = static_cast<float>(sum / points.size());
  }
  return result;
}

caf::result<BalanceResult> balance(self_ptr self, BalanceRequest& request) {
  auto& st = self->state;
  BalanceInput input;
  input.strategy = st.settings.strategy;
  input.tasks = std::move(request.tasks);
  input.loads =
      request.module_loads.empty() ? st.reported : request.module_loads;
  input.cursor = st.cursor;
  if (auto err = check_balance_input(input.tasks, input.loads))
    return err;
  if (input.strategy != LoadBalancingStrategy::PREDICTIVE || !st.predictor) {
    auto out = assign_tasks(input);
    if (!out)
      return out.error();
    st.cursor = out->cursor;
    return std::move(out->result);
  }
  ModuleQuery query;
  for (const auto& [module, load] : input.loads)
    query.modules.push_back(module);
  query.type = st.settings.load_type;
  query.horizon = st.settings.horizon;
  auto promise = self->make_response_promise<BalanceResult>();
  auto shared_input = std::make_shared<BalanceInput>(std::move(input));
  auto finish = [promise, shared_input]() mutable {
    auto out = assign_tasks(*shared_input);
    if (out)
      promise.deliver(std::move(out->result));
    else
      promise.deliver(out.error());
  };
  self->request(st.predictor, caf::infinite, predict_atom::value, query)
      .then(
          [=](const std::vector<ResourceForecast>& forecasts) mutable {
            shared_input->forecast_loads = mean_loads(forecasts);
            finish();
          },
          // No forecasts (predictor gone or failing): current loads.
          [=](caf::error&) mutable { finish(); });
  return promise;
}

} // namespace

balancer_actor::behavior_type balancer(self_ptr self, predictor_actor predictor,
                                       BalancerSettings settings) {
  self->state.settings = settings;
  watch_predictor(self, std::move(predictor));
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.predictor && msg.source == st.predictor.address())
      st.predictor = nullptr;
  });
  return {
      [=](balance_atom, BalanceRequest& request) {
        return balance(self, request);
      },
      [=](strategy_atom, LoadBalancingStrategy strategy)
          -> caf::result<LoadBalancingStrategy> {
        if (!may_administer(self))
          return admin_refused("the load balancing strategy");
        if (!is_valid(strategy))
          return make_error(ec::invalid_config_value,
                            "load balancing strategy " +
                                std::to_string(static_cast<int>(strategy)) +
                                " is not one of the four strategies");
        self->state.settings.strategy = strategy;
        return strategy;
      },
      [=](strategy_atom) { return self->state.settings.strategy; },
      [=](modload_atom, const std::string& module,
          float load) -> caf::result<std::uint64_t> {
        auto& st = self->state;
        if (auto err = check_module_load(module, load))
          return err;
        st.reported[module] = load;
        if (st.predictor)
          self->request(st.predictor, caf::infinite, observe_atom::value,
                        module, st.settings.load_type, load)
              .then([](std::uint64_t) {},
                    // The predictor's module limit only costs forecasts.
                    [](caf::error&) {});
        return static_cast<std::uint64_t>(st.reported.size());
      },
      [=](modload_atom,
          const std::string& module) -> caf::result<std::uint64_t> {
        auto& st = self->state;
        if (st.reported.erase(module) == 0)
          return make_error(ec::unknown_request,
                            "module '" + module + "' reported no load");
        return static_cast<std::uint64_t>(st.reported.size());
      },
      [=](modload_atom) { return ModuleLoads{self->state.reported}; },
      [=](predictor_atom, predictor_actor predictor) {
        if (!from_local(self))
          return; // wiring from the manager: local senders only
        watch_predictor(self, std::move(predictor));
      },
      [=](reset_atom) -> caf::result<std::uint64_t> {
        if (!may_administer(self))
          return admin_refused("a reset of the balancer");
        auto& st = self->state;
        auto dropped = static_cast<std::uint64_t>(st.reported.size());
        st.reported.clear();
        st.cursor.clear();
        return dropped;
      },
  };
}

balancer_actor spawn_balancer(caf::actor_system& sys, predictor_actor predictor,
                              BalancerSettings settings) {
  if (!is_valid(settings.strategy))
    throw Error(ec::invalid_config_value,
                "balancer settings: unknown load balancing strategy");
  if (!rros::is_valid(settings.load_type))
    throw Error(ec::invalid_config_value,
                "balancer settings: unknown load type");
  if (settings.horizon.count() <= 0)
    throw Error(ec::invalid_config_value,
                "balancer settings: the forecast horizon must be positive");
  return sys.spawn(balancer, std::move(predictor), settings);
}

} // namespace rros
