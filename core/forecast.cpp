#include "core/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace rros {

namespace {

// The parameter grid. The first entry makes the forecasts until candidates
// have been scored; the others take over when their recent error is smaller.
constexpr double level_weights[] = {0.2, 0.02, 0.05, 0.1, 0.35, 0.5, 0.7, 0.9};
constexpr double trend_weights[] = {0.005, 0.02, 0.1, 0.3};
constexpr double dampings[] = {0.9, 0.98};
constexpr double seasonal_level_weights[] = {0.05, 0.1, 0.2, 0.4};
constexpr double seasonal_trend_weights[] = {0.02, 0.1};
constexpr double season_weights[] = {0.05, 0.2, 0.5};
constexpr double seasonal_damping = 0.95;

/// Confidence is 1 / (1 + relative error / this): 0.5 when the expected
/// error is a quarter of the series' recent level.
constexpr double confidence_error_scale = 0.25;

/// phi + phi^2 + ... + phi^h: how much of the trend h steps add.
double damped_sum(double phi, std::size_t h) {
  double sum = 0.0;
  double power = 1.0;
  for (std::size_t i = 0; i < h; ++i) {
    power *= phi;
    sum += power;
  }
  return sum;
}

} // namespace

std::string check(const ForecastSettings& settings) {
  if (settings.history_limit < 16 || settings.history_limit > 1'000'000)
    return "history_limit must be in [16, 1000000], got " +
           std::to_string(settings.history_limit);
  if (settings.season_length == 1 || settings.season_length > max_season_length)
    return "season_length must be 0 (none) or in [2, " +
           std::to_string(max_season_length) + "], got " +
           std::to_string(settings.season_length);
  if (settings.season_length * 2 > settings.history_limit)
    return "history_limit (" + std::to_string(settings.history_limit) +
           ") must hold two seasons of " +
           std::to_string(settings.season_length);
  if (settings.error_window < 2 || settings.error_window > 100'000)
    return "error_window must be in [2, 100000], got " +
           std::to_string(settings.error_window);
  if (settings.selection_window < 2 || settings.selection_window > 100'000)
    return "selection_window must be in [2, 100000], got " +
           std::to_string(settings.selection_window);
  if (settings.min_scored < 1 || settings.min_scored > 100'000)
    return "min_scored must be in [1, 100000], got " +
           std::to_string(settings.min_scored);
  if (!std::isfinite(settings.interval_z) || settings.interval_z <= 0 ||
      settings.interval_z > 10)
    return "interval_z must be in (0, 10]";
  return {};
}

// -- the reference ------------------------------------------------------------

void ReferenceForecaster::observe(double y) {
  recent_.push_back(y);
  if (recent_.size() > window)
    recent_.pop_front();
  ++observations_;
}

std::vector<double> ReferenceForecaster::forecast(std::size_t steps) const {
  if (recent_.empty())
    return {};
  auto n = static_cast<double>(recent_.size());
  double mean = 0.0;
  for (auto y : recent_)
    mean += y;
  mean /= n;
  // Least-squares slope of the window against its index.
  double slope = 0.0;
  if (recent_.size() > 1) {
    auto mid = (n - 1.0) / 2.0;
    double num = 0.0;
    double den = 0.0;
    for (std::size_t i = 0; i < recent_.size(); ++i) {
      auto dx = static_cast<double>(i) - mid;
      num += dx * (recent_[i] - mean);
      den += dx * dx;
    }
    slope = num / den;
  }
  std::vector<double> result(steps);
  for (std::size_t h = 1; h <= steps; ++h)
    result[h - 1] = std::max(0.0, mean + slope * static_cast<double>(h));
  return result;
}

// -- the adaptive model -------------------------------------------------------

AdaptiveForecaster::AdaptiveForecaster(ForecastSettings settings)
  : settings_(settings)
  , decay_(2.0 / (static_cast<double>(settings.error_window) + 1.0))
  , selection_decay_(2.0 /
                     (static_cast<double>(settings.selection_window) + 1.0)) {
  for (auto alpha : level_weights)
    for (auto beta : trend_weights)
      for (auto phi : dampings) {
        Candidate c;
        c.params = SmoothingParams{alpha, beta, 0.0, phi, false};
        candidates_.push_back(c);
      }
  if (settings_.season_length >= 2)
    for (auto alpha : seasonal_level_weights)
      for (auto beta : seasonal_trend_weights)
        for (auto gamma : season_weights) {
          Candidate c;
          c.params =
              SmoothingParams{alpha, beta, gamma, seasonal_damping, true};
          candidates_.push_back(c);
        }
}

double AdaptiveForecaster::point(const Candidate& c, std::size_t step) const {
  auto result = c.level + damped_sum(c.params.phi, step) * c.trend;
  if (c.params.seasonal) {
    // The observation `step` steps ahead has absolute index
    // observations_ + step - 1; its phase picks the seasonal term.
    auto m = c.season.size();
    result += c.season[(observations_ + step - 1) % m];
  }
  return result;
}

void AdaptiveForecaster::update(Candidate& c, double y) const {
  const auto& p = c.params;
  double seasonal_term = 0.0;
  std::size_t phase = 0;
  if (p.seasonal) {
    phase = observations_ % c.season.size();
    seasonal_term = c.season[phase];
  }
  auto previous_level = c.level;
  auto previous_trend = c.trend;
  c.level = p.alpha * (y - seasonal_term) +
            (1.0 - p.alpha) * (previous_level + p.phi * previous_trend);
  c.trend = p.beta * (c.level - previous_level) +
            (1.0 - p.beta) * p.phi * previous_trend;
  if (p.seasonal)
    c.season[phase] = p.gamma * (y - previous_level - p.phi * previous_trend) +
                      (1.0 - p.gamma) * seasonal_term;
}

void AdaptiveForecaster::score(double& average, double value, double decay,
                               bool first) {
  // The first error starts the average instead of pulling a zero towards it.
  average = first ? value : average + decay * (value - average);
}

void AdaptiveForecaster::start_seasonal() {
  // One season of history: its mean is the level, the deviations from it the
  // seasonal terms of their phases; the trend starts flat.
  auto m = settings_.season_length;
  auto first = history_.size() - m;
  double mean = 0.0;
  for (std::size_t i = first; i < history_.size(); ++i)
    mean += history_[i];
  mean /= static_cast<double>(m);
  for (auto& c : candidates_) {
    if (!c.params.seasonal)
      continue;
    c.level = mean;
    c.trend = 0.0;
    c.season.assign(m, 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      // history_[first + i] is the observation with absolute index
      // observations_ - m + i.
      auto index = observations_ - m + i;
      c.season[index % m] = history_[first + i] - mean;
    }
    c.ready = true;
  }
}

void AdaptiveForecaster::observe(double y) {
  // Score the forecast that was issued for this observation.
  if (observations_ > 0) {
    auto error = std::abs(y - issued_);
    bool first = scored_ == 0;
    score(recent_abs_error_, error, decay_, first);
    score(recent_sq_error_, error * error, decay_, first);
    total_abs_error_ += error;
    ++scored_;
  }
  score(recent_level_, std::abs(y), decay_, observations_ == 0);
  for (auto& c : candidates_) {
    if (c.ready) {
      auto error = std::abs(y - point(c, 1));
      score(c.recent_abs_error, error, selection_decay_, c.scored == 0);
      ++c.scored;
      update(c, y);
    } else if (!c.params.seasonal) {
      c.level = y;
      c.trend = 0.0;
      c.ready = true;
    }
  }
  history_.push_back(y);
  if (history_.size() > settings_.history_limit)
    history_.pop_front();
  ++observations_;
  if (settings_.season_length >= 2 && observations_ == settings_.season_length)
    start_seasonal();
  select();
  issued_ = point(candidates_[selected_], 1);
}

void AdaptiveForecaster::select() {
  // A candidate competes once it has been scored min_scored times; until one
  // has, the first candidate forecasts. Ties go to the earlier candidate.
  std::size_t best = 0;
  bool found = false;
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    const auto& c = candidates_[i];
    if (!c.ready || c.scored < settings_.min_scored)
      continue;
    if (!found || c.recent_abs_error < candidates_[best].recent_abs_error) {
      best = i;
      found = true;
    }
  }
  selected_ = best;
}

std::vector<double> AdaptiveForecaster::spread(const SmoothingParams& p,
                                               std::size_t steps) const {
  // Variance of the h-step error of additive damped Holt(-Winters) relative to
  // the one-step variance: 1 + sum_{j<h} c_j^2 with
  // c_j = alpha (1 + beta (phi + ... + phi^j)) + gamma [j is a multiple of m].
  std::vector<double> result(steps);
  double variance = 1.0;
  double damped = 0.0;
  double power = 1.0;
  for (std::size_t h = 1; h <= steps; ++h) {
    result[h - 1] = std::sqrt(variance);
    power *= p.phi;
    damped += power;
    auto c = p.alpha * (1.0 + p.beta * damped);
    if (p.seasonal && h % settings_.season_length == 0)
      c += p.gamma;
    variance += c * c;
  }
  return result;
}

double AdaptiveForecaster::confidence(std::size_t steps) const {
  if (scored_ < settings_.min_scored || steps == 0)
    return 0.0;
  auto growth = spread(selected(), steps);
  double mean_growth = 0.0;
  for (auto g : growth)
    mean_growth += g;
  mean_growth /= static_cast<double>(steps);
  auto relative_error =
      recent_abs_error_ * mean_growth / std::max(recent_level_, 1e-9);
  return 1.0 / (1.0 + relative_error / confidence_error_scale);
}

Forecast AdaptiveForecaster::forecast(std::size_t steps) const {
  Forecast result;
  if (observations_ == 0 || steps == 0) {
    result.model = "none";
    return result;
  }
  const auto& c = candidates_[selected_];
  auto growth = spread(c.params, steps);
  auto half_width = settings_.interval_z * recent_rmse();
  result.point.resize(steps);
  result.lower.resize(steps);
  result.upper.resize(steps);
  for (std::size_t h = 1; h <= steps; ++h) {
    // Usage is never negative: the forecast and its interval stop at 0.
    auto value = std::max(0.0, point(c, h));
    auto width = half_width * growth[h - 1];
    result.point[h - 1] = value;
    result.lower[h - 1] = std::max(0.0, value - width);
    result.upper[h - 1] = value + width;
  }
  result.confidence = confidence(steps);
  result.model = describe_selected();
  return result;
}

double AdaptiveForecaster::recent_rmse() const {
  return std::sqrt(std::max(0.0, recent_sq_error_));
}

double AdaptiveForecaster::mean_abs_error() const {
  return scored_ > 0 ? total_abs_error_ / static_cast<double>(scored_) : 0.0;
}

const SmoothingParams& AdaptiveForecaster::selected() const {
  return candidates_[selected_].params;
}

std::string AdaptiveForecaster::describe_selected() const {
  const auto& p = selected();
  std::ostringstream out;
  out << (p.seasonal ? "holt-winters(" : "holt(") << "alpha=" << p.alpha
      << ",beta=" << p.beta;
  if (p.seasonal)
    out << ",gamma=" << p.gamma << ",season=" << settings_.season_length;
  out << ",phi=" << p.phi << ")";
  return out.str();
}

} // namespace rros
