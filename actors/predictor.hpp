// The predictor actor: keeps a bounded history and an online forecasting
// model per resource type (and per module when observations name one),
// answers forecasts with confidence and prediction intervals, and turns
// confident forecasts into expiring reservations in the pools.
// docs/prediction.md describes the model and every formula.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <caf/all.hpp>

#include "core/forecast.hpp"
#include "messages/predictor_messages.hpp"

namespace rros {

struct PredictorSettings {
  ForecastSettings model;
  // One observation is one step: set it to the monitor's sampling interval.
  std::chrono::nanoseconds step = std::chrono::milliseconds(100);
  std::size_t max_steps = 10'000;       // longest forecast, in steps
  std::size_t max_module_series = 1024; // (module, type) series at most
  double min_confidence = 0.5;          // preallocation threshold
  // With a data directory (core/kept_state.hpp): where the series' histories
  // are kept, rewritten after every `save_every` observations and at a reset;
  // a restart replays them into fresh models. Empty: nothing kept.
  std::string state_file;
  std::size_t save_every = 500;
};

/// Empty when the settings are usable, otherwise the sentence saying why not.
std::string check(const PredictorSettings& settings);

/// One series: the adaptive model and, scored on the same observations, the
/// reference's method (so the statistics show both errors).
struct PredictionSeries {
  explicit PredictionSeries(const ForecastSettings& settings)
    : model(settings) {}

  void observe(double y);

  AdaptiveForecaster model;
  ReferenceForecaster reference;
  double reference_issued = 0.0; // its one-step forecast of the next value
  double reference_abs_error = 0.0;
  std::uint64_t reference_scored = 0;
};

/// A series is a type's (module empty) or one module's use of a type.
struct SeriesKey {
  ResourceType type = ResourceType::COMPUTATIONAL;
  std::string module;

  bool operator<(const SeriesKey& other) const {
    if (type != other.type)
      return type < other.type;
    return module < other.module;
  }
};

struct predictor_state {
  PredictorSettings settings;
  PoolDirectory pools;
  std::map<SeriesKey, PredictionSeries> series; // by type, then module
  std::size_t module_series = 0;
  std::size_t unsaved = 0;   // observations since the history was kept
  bool state_failed = false; // the last write failed (said once)

  static inline const char* name = "rros.predictor";
};

predictor_actor::behavior_type
predictor(predictor_actor::stateful_pointer<predictor_state> self,
          PoolDirectory pools, PredictorSettings settings);

/// Spawns a predictor that reserves in `pools`. Throws rros::Error
/// (invalid_config_value) when check(settings) finds a problem.
predictor_actor spawn_predictor(caf::actor_system& sys, PoolDirectory pools,
                                PredictorSettings settings = {});

} // namespace rros
