#include "actors/predictor.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "actors/sender_checks.hpp"
#include "core/kept_state.hpp"
#include "core/ledger.hpp"
#include "messages/error.hpp"
#include "messages/validate.hpp"

namespace rros {

std::string check(const PredictorSettings& settings) {
  if (auto problem = check(settings.model); !problem.empty())
    return problem;
  if (settings.step.count() <= 0)
    return "the forecast step must be positive";
  if (settings.max_steps < 1 || settings.max_steps > 1'000'000)
    return "max_steps must be in [1, 1000000], got " +
           std::to_string(settings.max_steps);
  if (settings.max_module_series > 1'000'000)
    return "max_module_series must be at most 1000000, got " +
           std::to_string(settings.max_module_series);
  if (!(settings.min_confidence >= 0.0 && settings.min_confidence <= 1.0))
    return "min_confidence must be in [0, 1]";
  if (settings.save_every == 0)
    return "save_every must be at least 1";
  return {};
}

void PredictionSeries::observe(double y) {
  if (reference.observations() > 0) {
    reference_abs_error += std::abs(y - reference_issued);
    ++reference_scored;
  }
  model.observe(y);
  reference.observe(y);
  reference_issued = reference.forecast(1).front();
}

namespace {

using self_ptr = predictor_actor::stateful_pointer<predictor_state>;

/// An observation must be a usage: finite, not negative, at most 1e12.
caf::error check_observation(double value) {
  return check_quantity(value, "an observed usage");
}

caf::error check_module(const std::string& module) {
  return check_name(module, "module name");
}

/// Steps of a forecast: ceil(horizon / step), refused when not positive or
/// beyond max_steps.
caf::expected<std::size_t> steps_of(const PredictorSettings& settings,
                                    std::chrono::nanoseconds horizon) {
  if (auto err = check_duration(horizon, "the forecast horizon",
                                zero_duration::refused))
    return err;
  auto step = settings.step.count();
  auto steps = horizon.count() / step + (horizon.count() % step != 0 ? 1 : 0);
  if (static_cast<std::uint64_t>(steps) > settings.max_steps)
    return make_error(ec::invalid_duration,
                      "a horizon of " + std::to_string(horizon.count()) +
                          " ns is " + std::to_string(steps) +
                          " steps, more than the limit of " +
                          std::to_string(settings.max_steps));
  return static_cast<std::size_t>(std::max<std::int64_t>(1, steps));
}

/// The series for `key`, created on first use; nullptr (and `err`) when a new
/// module series would pass the limit.
PredictionSeries* series_for(predictor_state& st, const SeriesKey& key,
                             caf::error& err) {
  auto i = st.series.find(key);
  if (i != st.series.end())
    return &i->second;
  if (!key.module.empty()) {
    if (st.module_series >= st.settings.max_module_series) {
      err = make_error(ec::insufficient_resources,
                       "the predictor keeps at most " +
                           std::to_string(st.settings.max_module_series) +
                           " module series; '" + key.module +
                           "' would be one more");
      return nullptr;
    }
    ++st.module_series;
  }
  return &st.series.emplace(key, PredictionSeries{st.settings.model})
              .first->second;
}

/// Writes every series' history to the data directory (when there is one).
void keep_history(predictor_state& st) {
  st.unsaved = 0;
  if (st.settings.state_file.empty())
    return;
  PredictorKept kept;
  for (const auto& [key, series] : st.series) {
    const auto& history = series.model.history();
    kept.series.push_back(KeptSeries{static_cast<std::uint8_t>(key.type),
                                     key.module,
                                     {history.begin(), history.end()}});
  }
  auto failed = save_predictor_state(st.settings.state_file, kept);
  if (failed && !st.state_failed)
    std::cerr << "rros: cannot keep the predictor's history: " << failed->text()
              << "\n";
  st.state_failed = failed.has_value();
}

/// Replays a kept history into fresh series: the models are those that saw
/// the kept observations (the newest history_limit of each series).
void restore_history(predictor_state& st, const PredictorKept& kept) {
  for (const auto& k : kept.series) {
    caf::error err;
    auto series = series_for(
        st, SeriesKey{static_cast<ResourceType>(k.type), k.module}, err);
    if (series == nullptr)
      continue; // more module series than this run's limit
    for (auto y : k.observations)
      series->observe(y);
  }
}

/// Counts an observation; every save_every of them the history is kept.
void note_observation(predictor_state& st) {
  if (++st.unsaved >= st.settings.save_every)
    keep_history(st);
}

caf::expected<std::uint64_t> observe(predictor_state& st, SeriesKey key,
                                     float value) {
  if (auto err = check_type(key.type))
    return err;
  if (auto err = check_observation(value))
    return err;
  caf::error err;
  auto series = series_for(st, key, err);
  if (!series)
    return err;
  series->observe(value);
  note_observation(st);
  return series->model.observations();
}

std::vector<float> to_floats(const std::vector<double>& xs) {
  std::vector<float> result;
  result.reserve(xs.size());
  for (auto x : xs)
    result.push_back(static_cast<float>(x));
  return result;
}

ResourceForecast make_forecast(const predictor_state& st, const SeriesKey& key,
                               std::size_t steps,
                               std::chrono::nanoseconds horizon) {
  ResourceForecast result;
  result.prediction.resource_type = key.type;
  result.prediction.horizon =
      std::chrono::ceil<std::chrono::milliseconds>(horizon);
  result.module = key.module;
  result.step = st.settings.step;
  auto i = st.series.find(key);
  if (i == st.series.end()) {
    result.model = "none";
    return result;
  }
  auto forecast = i->second.model.forecast(steps);
  result.prediction.predicted_usage = to_floats(forecast.point);
  result.prediction.confidence = static_cast<float>(forecast.confidence);
  result.lower = to_floats(forecast.lower);
  result.upper = to_floats(forecast.upper);
  result.model = std::move(forecast.model);
  return result;
}

ForecastErrorStats stats_of(const SeriesKey& key,
                            const PredictionSeries& series) {
  const auto& m = series.model;
  ForecastErrorStats result;
  result.type = key.type;
  result.module = key.module;
  result.observations = m.observations();
  result.history = m.history().size();
  result.scored = m.scored();
  result.recent_mae = static_cast<float>(m.recent_mae());
  result.recent_rmse = static_cast<float>(m.recent_rmse());
  result.mean_abs_error = static_cast<float>(m.mean_abs_error());
  result.reference_mae =
      series.reference_scored > 0
          ? static_cast<float>(series.reference_abs_error /
                               static_cast<double>(series.reference_scored))
          : 0.0f;
  result.confidence = static_cast<float>(m.confidence(1));
  result.model = m.describe_selected();
  return result;
}

// -- preallocation ------------------------------------------------------------

caf::error check_predictions(const std::vector<ResourcePrediction>& xs,
                             const std::string& requester) {
  if (auto err = check_requester(requester))
    return err;
  std::set<ResourceType> seen;
  for (const auto& x : xs) {
    if (auto err = check_type(x.resource_type))
      return err;
    if (!seen.insert(x.resource_type).second)
      return make_error(ec::invalid_argument,
                        std::string{"two predictions for "} +
                            to_string(x.resource_type));
    if (!std::isfinite(x.confidence) || x.confidence < 0 || x.confidence > 1)
      return make_error(ec::invalid_amount,
                        "confidence must be in [0, 1], got " +
                            format_number(x.confidence));
    for (auto value : x.predicted_usage)
      if (auto err = check_quantity(value, "a predicted utilization"))
        return err;
    if (auto err = check_duration(x.horizon,
                                  "a prediction's horizon (the reservation's "
                                  "time-to-live)",
                                  zero_duration::refused))
      return err;
  }
  return caf::none;
}

/// The replies of one preallocate call, delivered when the last pool answers.
struct PreallocationJob {
  std::vector<Preallocation> results;
  std::size_t outstanding = 0;
  caf::typed_response_promise<std::vector<Preallocation>> promise;

  void finish_one() {
    if (--outstanding == 0)
      promise.deliver(results);
  }
};

/// The largest float amount that converts to at most `limit` units (a float
/// near 1e6 is only exact to 1/16, and the pool rounds to the nearest unit).
float amount_within(units limit) {
  auto amount = static_cast<float>(to_amount(limit));
  while (amount > 0 && to_units(amount) > limit)
    amount = std::nextafter(amount, 0.0f);
  return amount;
}

void reserve_ahead(self_ptr self, std::shared_ptr<PreallocationJob> job,
                   std::size_t index, pool_actor pool, std::string requester) {
  auto fail = [job, index](const caf::error& err) {
    job->results[index].outcome = PreallocationOutcome::failed;
    job->results[index].detail = describe(err);
    job->finish_one();
  };
  self->request(pool, caf::infinite, status_atom::value)
      .then(
          [=](const PoolStatus& status) {
            auto& entry = job->results[index];
            auto target = static_cast<units>(std::floor(
                entry.peak_utilization * static_cast<double>(status.capacity)));
            auto in_use = status.held + status.reserved;
            entry.target = static_cast<float>(to_amount(target));
            entry.in_use = static_cast<float>(to_amount(in_use));
            // target <= capacity, so the shortfall is always available;
            // the pool may still refuse it (quotas, or a change in between).
            auto shortfall = target - in_use;
            auto amount = amount_within(shortfall);
            if (shortfall <= 0 || amount <= 0) {
              entry.outcome = PreallocationOutcome::not_needed;
              job->finish_one();
              return;
            }
            self->request(pool, caf::infinite, reserve_atom::value, requester,
                          amount, entry.ttl)
                .then(
                    [=](const PoolStatus&) {
                      job->results[index].outcome =
                          PreallocationOutcome::reserved;
                      job->results[index].reserved = amount;
                      job->finish_one();
                    },
                    fail);
          },
          fail);
}

caf::result<std::vector<Preallocation>>
preallocate(self_ptr self, const std::vector<ResourcePrediction>& predictions,
            const std::string& requester) {
  auto& st = self->state;
  if (auto err = check_predictions(predictions, requester))
    return err;
  auto job = std::make_shared<PreallocationJob>();
  std::vector<std::size_t> confident;
  for (const auto& p : predictions) {
    Preallocation entry;
    entry.type = p.resource_type;
    entry.confidence = p.confidence;
    for (auto value : p.predicted_usage)
      entry.peak_utilization = std::max(entry.peak_utilization, value);
    // Predictions are utilizations: above 1 asks for the whole capacity.
    entry.peak_utilization = std::min(entry.peak_utilization, 1.0f);
    entry.ttl = p.horizon;
    if (p.confidence >= st.settings.min_confidence) {
      const auto& pools = st.pools.pools;
      auto slot = static_cast<std::size_t>(p.resource_type);
      if (slot < pools.size() && pools[slot]) {
        confident.push_back(job->results.size());
      } else {
        entry.outcome = PreallocationOutcome::failed;
        entry.detail = std::string{"no pool for "} + to_string(p.resource_type);
      }
    }
    job->results.push_back(std::move(entry));
  }
  if (confident.empty())
    return job->results;
  job->outstanding = confident.size();
  job->promise = self->make_response_promise<std::vector<Preallocation>>();
  auto promise = job->promise;
  for (auto index : confident)
    reserve_ahead(self, job, index, st.pools[job->results[index].type],
                  requester);
  return promise;
}

} // namespace

predictor_actor::behavior_type predictor(self_ptr self, PoolDirectory pools,
                                         PredictorSettings settings) {
  auto& st = self->state;
  st.settings = settings;
  st.pools = std::move(pools);
  if (!st.settings.state_file.empty()) {
    // The node checked the file before it started (rros node); a file
    // damaged since is said and the predictor starts from nothing.
    auto loaded = load_predictor_state(st.settings.state_file);
    if (auto failed = std::get_if<StorageError>(&loaded))
      std::cerr << "rros: the predictor's history is not restored: "
                << failed->text() << "\n";
    else if (const auto& kept = std::get<std::optional<PredictorKept>>(loaded))
      restore_history(st, *kept);
  }
  // A clean stop (the node shutting down, the manager replacing its
  // children) keeps the observations since the last write; a kill cannot.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    if (!msg.reason)
      return; // as CAF's default: a normal exit of a linked actor is ignored
    if (self->state.unsaved > 0)
      keep_history(self->state);
    self->quit(msg.reason);
  });
  return {
      [=](sample_atom, const UtilizationSample& sample) {
        // The monitor expects no reply: a bad sample is dropped.
        static_cast<void>(observe(self->state, SeriesKey{sample.type, {}},
                                  sample.utilization));
      },
      [=](observe_atom, ResourceType type,
          float value) -> caf::result<std::uint64_t> {
        auto result = observe(self->state, SeriesKey{type, {}}, value);
        if (!result)
          return result.error();
        return *result;
      },
      [=](observe_atom, const std::string& module, ResourceType type,
          float value) -> caf::result<std::uint64_t> {
        if (auto err = check_module(module))
          return err;
        auto result = observe(self->state, SeriesKey{type, module}, value);
        if (!result)
          return result.error();
        return *result;
      },
      [=](predict_atom, ResourceType type,
          std::chrono::nanoseconds horizon) -> caf::result<ResourceForecast> {
        if (auto err = check_type(type))
          return err;
        auto steps = steps_of(self->state.settings, horizon);
        if (!steps)
          return steps.error();
        return make_forecast(self->state, SeriesKey{type, {}}, *steps, horizon);
      },
      [=](predict_atom, const std::string& module, ResourceType type,
          std::chrono::nanoseconds horizon) -> caf::result<ResourceForecast> {
        if (auto err = check_module(module))
          return err;
        if (auto err = check_type(type))
          return err;
        auto steps = steps_of(self->state.settings, horizon);
        if (!steps)
          return steps.error();
        return make_forecast(self->state, SeriesKey{type, module}, *steps,
                             horizon);
      },
      [=](predict_atom, const ModuleQuery& query)
          -> caf::result<std::vector<ResourceForecast>> {
        if (auto err = check_type(query.type))
          return err;
        for (const auto& module : query.modules)
          if (auto err = check_module(module))
            return err;
        auto steps = steps_of(self->state.settings, query.horizon);
        if (!steps)
          return steps.error();
        std::vector<ResourceForecast> result;
        for (const auto& module : query.modules) {
          SeriesKey key{query.type, module};
          if (self->state.series.count(key) > 0)
            result.push_back(
                make_forecast(self->state, key, *steps, query.horizon));
        }
        return result;
      },
      [=](prealloc_atom, const std::vector<ResourcePrediction>& predictions,
          const std::string& requester) {
        return preallocate(self, predictions, requester);
      },
      [=](pools_atom, PoolDirectory pools) {
        // Wiring from the manager: local senders only, complete directories.
        if (!from_local(self) || pools.pools.size() != resource_type_count)
          return;
        self->state.pools = std::move(pools);
      },
      [=](fcstats_atom) {
        std::vector<ForecastErrorStats> result;
        for (const auto& [key, series] : self->state.series)
          result.push_back(stats_of(key, series));
        return result;
      },
      [=](reset_atom) -> caf::result<std::uint64_t> {
        if (!may_administer(self))
          return admin_refused("a reset of the predictor");
        auto& st = self->state;
        auto dropped = static_cast<std::uint64_t>(st.series.size());
        st.series.clear();
        st.module_series = 0;
        keep_history(st);
        return dropped;
      },
  };
}

predictor_actor spawn_predictor(caf::actor_system& sys, PoolDirectory pools,
                                PredictorSettings settings) {
  if (auto problem = check(settings); !problem.empty())
    throw Error(ec::invalid_config_value, "predictor settings: " + problem);
  return sys.spawn(predictor, std::move(pools), settings);
}

} // namespace rros
