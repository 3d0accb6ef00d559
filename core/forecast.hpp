// Forecasting models for the predictor, free of actors so that they can be
// measured on their own (tests/test_forecast.cpp): the reference's method
// (a 10-sample moving average plus a linear trend) and the adaptive model that
// replaces it (damped Holt / additive Holt-Winters, its parameters picked
// online by recent one-step error). docs/prediction.md explains the formulas.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace rros {

/// Settings of one series' model.
struct ForecastSettings {
  std::size_t history_limit = 512;    // observations kept per series
  std::size_t season_length = 0;      // in steps; 0 = no season (Holt only)
  std::size_t error_window = 30;      // effective window of the recent errors
                                      // behind confidence and interval
  std::size_t selection_window = 200; // effective window of the errors that
                                      // pick the parameters
  std::size_t min_scored = 5;         // scored forecasts before confidence > 0
  double interval_z = 1.96;           // prediction interval: +- z sigma (95 %)
};

/// Largest season length accepted (each seasonal candidate keeps one value
/// per phase).
constexpr std::size_t max_season_length = 4096;

/// Empty when the settings are usable, otherwise the sentence saying why not.
std::string check(const ForecastSettings& settings);

/// A multi-step forecast: one point and one interval per step.
struct Forecast {
  std::vector<double> point;
  std::vector<double> lower;
  std::vector<double> upper;
  double confidence = 0.0; // 0..1, from the model's own recent error
  std::string model;       // which model and parameters made it
};

/// The reference's method: the mean of the last 10 observations plus the
/// least-squares slope of those observations times the step number (1, 2,
/// ...). With fewer than 10 it uses what it has (no slope with one).
class ReferenceForecaster {
public:
  static constexpr std::size_t window = 10;

  void observe(double y);
  std::vector<double> forecast(std::size_t steps) const;
  std::size_t observations() const {
    return observations_;
  }

private:
  std::deque<double> recent_;
  std::size_t observations_ = 0;
};

/// Parameters of one exponential-smoothing candidate.
struct SmoothingParams {
  double alpha = 0.2; // level
  double beta = 0.0;  // trend
  double gamma = 0.0; // season (seasonal candidates only)
  double phi = 1.0;   // trend damping
  bool seasonal = false;
};

/// Damped Holt (and additive Holt-Winters when a season length is set),
/// fitted online: a small grid of parameter sets runs side by side and the one
/// with the smallest recent one-step error makes the forecast. Its confidence
/// and interval come from the errors of the forecasts it actually issued.
class AdaptiveForecaster {
public:
  explicit AdaptiveForecaster(ForecastSettings settings = {});

  /// Adds an observation (finite, checked by the caller): scores the
  /// forecasts made for it, updates every candidate, picks the best.
  void observe(double y);

  /// One value per step for `steps` steps (steps >= 1). Without observations:
  /// empty vectors and confidence 0.
  Forecast forecast(std::size_t steps) const;

  /// Observations seen since construction (the history keeps the newest).
  std::uint64_t observations() const {
    return observations_;
  }
  const std::deque<double>& history() const {
    return history_;
  }
  const ForecastSettings& settings() const {
    return settings_;
  }

  /// Issued one-step forecasts scored against the observation that followed.
  std::uint64_t scored() const {
    return scored_;
  }
  /// Exponentially weighted mean absolute / root mean square one-step error
  /// over about `error_window` recent forecasts.
  double recent_mae() const {
    return recent_abs_error_;
  }
  double recent_rmse() const;
  /// Mean absolute one-step error since construction.
  double mean_abs_error() const;
  /// Confidence of a forecast `steps` long (what forecast(steps) reports).
  double confidence(std::size_t steps) const;

  /// The candidate making forecasts now.
  const SmoothingParams& selected() const;
  std::string describe_selected() const;

private:
  struct Candidate {
    SmoothingParams params;
    double level = 0.0;
    double trend = 0.0;
    std::vector<double> season; // one value per phase (seasonal only)
    bool ready = false;
    std::uint64_t scored = 0;
    double recent_abs_error = 0.0;
  };

  double point(const Candidate& c, std::size_t step) const;
  void update(Candidate& c, double y) const;
  void start_seasonal();
  void select();
  /// Growth of the forecast error's standard deviation at `step` relative to
  /// step 1 (1 at step 1, never shrinking).
  std::vector<double> spread(const SmoothingParams& p, std::size_t steps) const;
  static void score(double& average, double value, double decay, bool first);

  ForecastSettings settings_;
  double decay_;           // weight of the newest error in recent averages
  double selection_decay_; // the same for the candidates' errors
  std::vector<Candidate> candidates_;
  std::size_t selected_ = 0;
  std::deque<double> history_;
  std::uint64_t observations_ = 0;
  // The issued one-step forecast for the next observation.
  double issued_ = 0.0;
  std::uint64_t scored_ = 0;
  double recent_abs_error_ = 0.0;
  double recent_sq_error_ = 0.0;
  double total_abs_error_ = 0.0;
  double recent_level_ = 0.0; // recent mean |y|: the scale of the errors
};

} // namespace rros
