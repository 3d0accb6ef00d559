// Messages, atoms and typed interfaces of prediction and load balancing
// (predictor and balancer actors), with their own CAF type-ID block (offset 200
// past rros's first block so the blocks never collide). Include it where these
// messages are used; messages/type_ids.cpp registers the block.
// docs/prediction.md and docs/balancing.md describe the behaviour.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include "messages/actors.hpp"

#include "messages/atoms.hpp"
#include "messages/types.hpp"

namespace rros {

// -- atoms
// ---------------------------------------------------------------------

using observe_atom = caf::atom_constant<caf::atom("observe")>;
using predict_atom = caf::atom_constant<caf::atom("predict")>;
using prealloc_atom = caf::atom_constant<caf::atom("prealloc")>;
using fcstats_atom = caf::atom_constant<caf::atom("fcstats")>;
using balance_atom = caf::atom_constant<caf::atom("balance")>;
using strategy_atom = caf::atom_constant<caf::atom("strategy")>;
using modload_atom = caf::atom_constant<caf::atom("modload")>;
using predictor_atom = caf::atom_constant<caf::atom("predictor")>;

// -- prediction
// ----------------------------------------------------------------

/// A forecast: the seed's ResourcePrediction plus a prediction interval per
/// step. Values are in the unit of the observations (utilizations 0..1 when
/// fed by the monitor's samples). No observations: every vector is empty,
/// confidence 0 and model "none".
struct ResourceForecast {
  ResourcePrediction prediction; // one point per step, confidence, horizon
  std::string module;            // empty: the whole type
  std::vector<float> lower;      // per step, never below 0
  std::vector<float> upper;      // per step, widening with the step
  std::chrono::nanoseconds step{0};
  std::string model; // e.g. "holt(alpha=0.2,beta=0.02,phi=0.98)"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ResourceForecast& x) {
  return f(caf::meta::type_name("ResourceForecast"), x.prediction, x.module,
           x.lower, x.upper, x.step, x.model);
}

/// Which modules' forecasts the balancer wants (one type, one horizon).
struct ModuleQuery {
  std::vector<std::string> modules;
  ResourceType type = ResourceType::COMPUTATIONAL;
  std::chrono::nanoseconds horizon{0};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ModuleQuery& x) {
  return f(caf::meta::type_name("ModuleQuery"), x.modules, x.type, x.horizon);
}

/// How well one series is forecast (docs/prediction.md, "Error statistics").
struct ForecastErrorStats {
  ResourceType type = ResourceType::COMPUTATIONAL;
  std::string module;             // empty: the whole type
  std::uint64_t observations = 0; // since start or reset
  std::uint64_t history = 0;      // observations kept (bounded)
  std::uint64_t scored = 0;       // one-step forecasts scored
  float recent_mae = 0.0f;        // recent mean absolute one-step error
  float recent_rmse = 0.0f;       // recent root mean square one-step error
  float mean_abs_error = 0.0f;    // since start or reset
  float reference_mae = 0.0f;     // the reference method's, same stream
  float confidence = 0.0f;        // of a one-step forecast now
  std::string model;              // the parameters selected now
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ForecastErrorStats& x) {
  return f(caf::meta::type_name("ForecastErrorStats"), x.type, x.module,
           x.observations, x.history, x.scored, x.recent_mae, x.recent_rmse,
           x.mean_abs_error, x.reference_mae, x.confidence, x.model);
}

/// What preallocation did with one prediction.
enum class PreallocationOutcome : std::uint8_t {
  reserved,       // the shortfall is reserved
  not_needed,     // held + reserved already cover the forecast peak
  low_confidence, // confidence below the threshold: nothing done
  failed,         // the pool refused or is unreachable (see detail)
};

inline const char* to_string(PreallocationOutcome x) {
  switch (x) {
    case PreallocationOutcome::reserved:
      return "reserved";
    case PreallocationOutcome::not_needed:
      return "not_needed";
    case PreallocationOutcome::low_confidence:
      return "low_confidence";
    case PreallocationOutcome::failed:
      return "failed";
  }
  return "unknown";
}

struct Preallocation {
  ResourceType type = ResourceType::COMPUTATIONAL;
  PreallocationOutcome outcome = PreallocationOutcome::low_confidence;
  float confidence = 0.0f;
  float peak_utilization = 0.0f; // largest predicted value, at most 1
  float target = 0.0f;           // peak_utilization x capacity
  float in_use = 0.0f;           // held + reserved when asked
  float reserved = 0.0f;         // set aside now (0 unless reserved)
  std::chrono::nanoseconds ttl{0};
  std::string detail; // the pool's error when failed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Preallocation& x) {
  return f(caf::meta::type_name("Preallocation"), x.type, x.outcome,
           x.confidence, x.peak_utilization, x.target, x.in_use, x.reserved,
           x.ttl, x.detail);
}

// -- load balancing
// ------------------------------------------------------------

/// A task waiting to be placed on a module.
struct PendingTask {
  std::string task_id;
  Priority priority = Priority::NORMAL;
  float cost = 0.0f; // what it adds to a module's load (e.g. the sum of its
                     // resource requirements); finite, >= 0
  std::chrono::nanoseconds deadline{0}; // time left when listed; 0 = none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, PendingTask& x) {
  // Raw bits, like ResourceRequest::amount: CAF 0.17 mangles NaN and inf, and
  // the balancer must see a bad cost to refuse it.
  auto bits = float_bits(x.cost);
  return f(caf::meta::type_name("PendingTask"), x.task_id, x.priority, bits,
           x.deadline, caf::meta::load_callback([&]() -> caf::error {
             x.cost = float_from_bits(bits);
             return caf::none;
           }));
}

/// One balance_load call: the tasks and the modules' current loads (module
/// name -> load, in the unit of the tasks' costs). Empty loads: the loads the
/// modules reported to the balancer.
struct BalanceRequest {
  std::vector<PendingTask> tasks;
  std::map<std::string, float> module_loads;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, BalanceRequest& x) {
  std::map<std::string, std::uint32_t> bits;
  if constexpr (Inspector::reads_state)
    for (const auto& [name, load] : x.module_loads)
      bits.emplace(name, float_bits(load));
  return f(caf::meta::type_name("BalanceRequest"), x.tasks, bits,
           caf::meta::load_callback([&]() -> caf::error {
             x.module_loads.clear();
             for (const auto& [name, raw] : bits)
               x.module_loads.emplace(name, float_from_bits(raw));
             return caf::none;
           }));
}

/// Module name -> task ids (every module of the call is a key, maybe with no
/// task), and the loads the strategy started from and ended with.
struct BalanceResult {
  LoadBalancingStrategy strategy = LoadBalancingStrategy::ROUND_ROBIN;
  std::map<std::string, std::vector<std::string>> assignments;
  std::map<std::string, float> starting_loads; // forecasts for PREDICTIVE
  std::map<std::string, float> final_loads;    // plus the assigned costs
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, BalanceResult& x) {
  return f(caf::meta::type_name("BalanceResult"), x.strategy, x.assignments,
           x.starting_loads, x.final_loads);
}

/// The loads modules reported to the balancer (module name -> load).
struct ModuleLoads {
  std::map<std::string, float> loads;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ModuleLoads& x) {
  return f(caf::meta::type_name("ModuleLoads"), x.loads);
}

// -- typed interfaces
// ----------------------------------------------------------

/// Forecasts usage per type (and per module) and reserves ahead of it
/// (docs/prediction.md). Horizons are nanoseconds (caf::timespan).
using predictor_actor = caf::typed_actor<
    // A utilization sample from the monitor: one observation of its type.
    // Invalid samples (bad type, NaN, negative) are dropped.
    caf::reacts_to<sample_atom, UtilizationSample>,
    // The seed's update_prediction_model(type, actual_usage): one observation
    // of the type; replies with the series' observation count. Errors:
    // unknown_resource_type, invalid_amount (NaN, inf, negative),
    // amount_too_large (above 1e12).
    caf::replies_to<observe_atom, ResourceType, float>::with<std::uint64_t>,
    // The same for one module's series (module name first). Also
    // invalid_argument (empty name) and insufficient_resources (the limit of
    // module series is reached).
    caf::replies_to<observe_atom, std::string, ResourceType,
                    float>::with<std::uint64_t>,
    // The seed's predict_usage(type, horizon): ceil(horizon / step) values
    // (at least 1). invalid_duration when horizon <= 0, above ten years or
    // beyond max_steps.
    caf::replies_to<predict_atom, ResourceType,
                    std::chrono::nanoseconds>::with<ResourceForecast>,
    // One module's forecast (empty forecast when it has no observations).
    caf::replies_to<predict_atom, std::string, ResourceType,
                    std::chrono::nanoseconds>::with<ResourceForecast>,
    // Several modules' forecasts, in the query's order; modules without
    // observations are left out (for the balancer).
    caf::replies_to<predict_atom,
                    ModuleQuery>::with<std::vector<ResourceForecast>>,
    // The seed's preallocate_predicted: for each prediction with confidence
    // >= the threshold, an expiring reservation for the requester in that
    // type's pool (docs/prediction.md, "Preallocation"). One entry per
    // prediction, in order. Errors (nothing reserved): empty_requester,
    // unknown_resource_type, invalid_amount, invalid_duration, invalid_argument
    // (a type twice).
    caf::replies_to<prealloc_atom, std::vector<ResourcePrediction>,
                    std::string>::with<std::vector<Preallocation>>,
    // New pool handles (from the manager after a pool was replaced).
    caf::reacts_to<pools_atom, PoolDirectory>,
    // Every series' error statistics: per type in ResourceType order, each
    // type's module series after it by name.
    caf::replies_to<fcstats_atom>::with<std::vector<ForecastErrorStats>>,
    // Forgets every observation; replies with the number of series dropped.
    caf::replies_to<reset_atom>::with<std::uint64_t>>;

/// Assigns pending tasks to modules (docs/balancing.md).
using balancer_actor = caf::typed_actor<
    // The seed's balance_load with the strategy in force. Errors:
    // insufficient_resources (no module), invalid_amount (a NaN, infinite or
    // negative load or cost), invalid_argument (empty module name),
    // empty_requester (empty task id), duplicate_id (a task listed twice),
    // invalid_priority,
    // invalid_duration (negative deadline).
    caf::replies_to<balance_atom, BalanceRequest>::with<BalanceResult>,
    // The seed's set_load_balancing_strategy; replies with the new strategy.
    caf::replies_to<strategy_atom,
                    LoadBalancingStrategy>::with<LoadBalancingStrategy>,
    // The strategy in force.
    caf::replies_to<strategy_atom>::with<LoadBalancingStrategy>,
    // A module reports its load (forwarded to the predictor as an observation
    // of the module's series); replies with the number of modules known.
    caf::replies_to<modload_atom, std::string, float>::with<std::uint64_t>,
    // A module leaves: its reported load is forgotten (unknown_request when
    // it reported none).
    caf::replies_to<modload_atom, std::string>::with<std::uint64_t>,
    // The reported loads.
    caf::replies_to<modload_atom>::with<ModuleLoads>,
    // A new predictor handle (null: PREDICTIVE uses current loads).
    caf::reacts_to<predictor_atom, predictor_actor>,
    // Forgets reported loads and the round-robin cursor (the strategy stays);
    // replies with the number of reported loads dropped.
    caf::replies_to<reset_atom>::with<std::uint64_t>>;

} // namespace rros

CAF_BEGIN_TYPE_ID_BLOCK(rros_predictor, caf::first_custom_type_id + 200)

CAF_ADD_TYPE_ID(rros_predictor, (rros::ResourceForecast))
CAF_ADD_TYPE_ID(rros_predictor, (std::vector<rros::ResourceForecast>))
CAF_ADD_TYPE_ID(rros_predictor, (rros::ModuleQuery))
CAF_ADD_TYPE_ID(rros_predictor, (rros::ForecastErrorStats))
CAF_ADD_TYPE_ID(rros_predictor, (std::vector<rros::ForecastErrorStats>))
CAF_ADD_TYPE_ID(rros_predictor, (rros::Preallocation))
CAF_ADD_TYPE_ID(rros_predictor, (std::vector<rros::Preallocation>))
CAF_ADD_TYPE_ID(rros_predictor, (rros::PendingTask))
CAF_ADD_TYPE_ID(rros_predictor, (std::vector<rros::PendingTask>))
CAF_ADD_TYPE_ID(rros_predictor, (rros::BalanceRequest))
CAF_ADD_TYPE_ID(rros_predictor, (rros::BalanceResult))
CAF_ADD_TYPE_ID(rros_predictor, (rros::ModuleLoads))
CAF_ADD_TYPE_ID(rros_predictor, (rros::predictor_actor))
CAF_ADD_TYPE_ID(rros_predictor, (rros::balancer_actor))

CAF_END_TYPE_ID_BLOCK(rros_predictor)
