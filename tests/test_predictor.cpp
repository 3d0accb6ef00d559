// The predictor actor as a message script: observations from the monitor's
// samples and from update_prediction_model, per-type and per-module series,
// forecasts with one value per step, confidence and intervals, error
// statistics, reset, and preallocation into expiring pool reservations.
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "fixture.hpp"

#include "actors/pool.hpp"
#include "actors/predictor.hpp"
#include "core/kept_state.hpp"
#include "messages/predictor_messages.hpp"
#include "process.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;
constexpr auto io = ResourceType::IO;
constexpr float nan_value = std::numeric_limits<float>::quiet_NaN();
constexpr float inf_value = std::numeric_limits<float>::infinity();

std::chrono::nanoseconds ns(std::chrono::nanoseconds x) {
  return x;
}

ResourcePrediction prediction(ResourceType type, std::vector<float> usage,
                              float confidence,
                              std::chrono::milliseconds horizon = 500ms) {
  ResourcePrediction result;
  result.resource_type = type;
  result.predicted_usage = std::move(usage);
  result.confidence = confidence;
  result.horizon = horizon;
  return result;
}

class PredictorTest : public DeterministicFixture {
public:
  PredictorTest() {
    for (auto type : all_resource_types)
      pools_.pools.push_back(sys.spawn(rros::pool, type, 100.0, PoolPolicy{}));
    predictor_ = spawn_predictor(sys, pools_, PredictorSettings{});
    run();
  }

  ~PredictorTest() override {
    for (auto& pool : pools_.pools)
      caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(predictor_, caf::exit_reason::user_shutdown);
    run();
  }

  caf::expected<std::uint64_t> observe(ResourceType type, float value) {
    return ask<std::uint64_t>(predictor_, observe_atom::value, type, value);
  }

  caf::expected<std::uint64_t> observe(const std::string& module,
                                       ResourceType type, float value) {
    return ask<std::uint64_t>(predictor_, observe_atom::value, module, type,
                              value);
  }

  void feed(ResourceType type, const std::vector<float>& values) {
    for (auto value : values)
      ASSERT_TRUE(observe(type, value));
  }

  void feed(const std::string& module, ResourceType type, float value,
            int times) {
    for (int i = 0; i < times; ++i)
      ASSERT_TRUE(observe(module, type, value));
  }

  caf::expected<ResourceForecast> predict(ResourceType type,
                                          std::chrono::nanoseconds horizon) {
    return ask<ResourceForecast>(predictor_, predict_atom::value, type,
                                 horizon);
  }

  std::vector<ForecastErrorStats> stats() {
    return ask_ok<std::vector<ForecastErrorStats>>(predictor_,
                                                   fcstats_atom::value);
  }

  caf::expected<std::vector<Preallocation>>
  preallocate(std::vector<ResourcePrediction> xs,
              std::string requester = "planner") {
    return ask<std::vector<Preallocation>>(predictor_, prealloc_atom::value,
                                           std::move(xs), std::move(requester));
  }

  PoolStatus status(ResourceType type) {
    return ask_ok<PoolStatus>(pools_[type], status_atom::value);
  }

  void hold(ResourceType type, float amount) {
    ask_ok<ResourceAllocation>(pools_[type], allocate_atom::value,
                               request("other", type, amount));
  }

  static constexpr units u(double amount) {
    return static_cast<units>(amount * units_per_amount);
  }

  PoolDirectory pools_;
  predictor_actor predictor_;
};

} // namespace

// -- observations
// ---------------------------------------------------------------

TEST_F(PredictorTest, UpdatePredictionModelAddsObservations) {
  EXPECT_EQ(observe(compute, 0.5f), 1u);
  EXPECT_EQ(observe(compute, 0.6f), 2u);
  EXPECT_EQ(observe(compute, 0.0f), 3u);
  auto s = stats();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].type, compute);
  EXPECT_EQ(s[0].module, "");
  EXPECT_EQ(s[0].observations, 3u);
  EXPECT_EQ(s[0].history, 3u);
  EXPECT_EQ(s[0].scored, 2u);
}

TEST_F(PredictorTest, TheMonitorsSamplesAreObservationsOfTheirType) {
  UtilizationSample sample;
  sample.type = ResourceType::MEMORY;
  sample.utilization = 0.3f;
  for (int i = 0; i < 4; ++i)
    self->send(predictor_, sample_atom::value, sample);
  // Invalid samples are dropped (the monitor expects no reply).
  auto bad = sample;
  bad.utilization = nan_value;
  self->send(predictor_, sample_atom::value, bad);
  bad = sample;
  bad.type = static_cast<ResourceType>(9);
  self->send(predictor_, sample_atom::value, bad);
  run();
  auto s = stats();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].type, ResourceType::MEMORY);
  EXPECT_EQ(s[0].observations, 4u);
  auto f = predict(ResourceType::MEMORY, 200ms);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->prediction.predicted_usage.size(), 2u);
  EXPECT_FLOAT_EQ(f->prediction.predicted_usage[0], 0.3f);
}

TEST_F(PredictorTest, BadObservationsAreRefusedAndChangeNothing) {
  EXPECT_TRUE(fails_with(observe(compute, nan_value), ec::invalid_amount));
  EXPECT_TRUE(fails_with(observe(compute, inf_value), ec::invalid_amount));
  EXPECT_TRUE(fails_with(observe(compute, -inf_value), ec::invalid_amount));
  EXPECT_TRUE(fails_with(observe(compute, -0.1f), ec::invalid_amount));
  EXPECT_TRUE(fails_with(observe(compute, 2e12f), ec::amount_too_large));
  EXPECT_TRUE(fails_with(observe(static_cast<ResourceType>(7), 0.5f),
                         ec::unknown_resource_type));
  EXPECT_TRUE(fails_with(observe("", compute, 0.5f), ec::invalid_argument));
  EXPECT_TRUE(
      fails_with(observe("vision", compute, nan_value), ec::invalid_amount));
  EXPECT_TRUE(stats().empty());
}

// -- forecasts
// ------------------------------------------------------------------

TEST_F(PredictorTest, AForecastHasOneValuePerStepOfTheHorizon) {
  feed(compute, std::vector<float>(20, 0.4f));
  struct Case {
    std::chrono::nanoseconds horizon;
    std::size_t steps;
  };
  for (auto c : {Case{100ms, 1}, Case{250ms, 3}, Case{1s, 10}, Case{1ns, 1},
                 Case{101ms, 2}}) {
    auto f = predict(compute, c.horizon);
    ASSERT_TRUE(f) << describe(f.error());
    EXPECT_EQ(f->prediction.predicted_usage.size(), c.steps)
        << c.horizon.count();
    EXPECT_EQ(f->lower.size(), c.steps);
    EXPECT_EQ(f->upper.size(), c.steps);
    EXPECT_EQ(f->step, ns(100ms));
    EXPECT_EQ(f->prediction.resource_type, compute);
    EXPECT_EQ(f->prediction.horizon,
              std::chrono::ceil<std::chrono::milliseconds>(c.horizon));
  }
}

TEST_F(PredictorTest, BadHorizonsAndTypesAreRefused) {
  feed(compute, {0.4f, 0.5f});
  EXPECT_TRUE(fails_with(predict(compute, 0ns), ec::invalid_duration));
  EXPECT_TRUE(fails_with(predict(compute, -1ms), ec::invalid_duration));
  // 10000 steps of 100 ms at most.
  EXPECT_TRUE(predict(compute, 1000s));
  EXPECT_TRUE(fails_with(predict(compute, 1000s + 1ns), ec::invalid_duration));
  EXPECT_TRUE(fails_with(predict(static_cast<ResourceType>(5), 1s),
                         ec::unknown_resource_type));
  EXPECT_TRUE(fails_with(ask<ResourceForecast>(predictor_, predict_atom::value,
                                               std::string{}, compute, ns(1s)),
                         ec::invalid_argument));
}

TEST_F(PredictorTest, WithoutObservationsTheForecastIsEmptyWithConfidence0) {
  auto f = predict(ResourceType::NETWORK, 1s);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->prediction.predicted_usage.empty());
  EXPECT_TRUE(f->lower.empty());
  EXPECT_TRUE(f->upper.empty());
  EXPECT_EQ(f->prediction.confidence, 0.0f);
  EXPECT_EQ(f->prediction.horizon, 1000ms);
  EXPECT_EQ(f->model, "none");
}

TEST_F(PredictorTest, ConfidenceAndIntervalComeFromTheForecastError) {
  feed(compute, std::vector<float>(30, 0.5f));
  std::vector<float> jumpy;
  for (int i = 0; i < 30; ++i)
    jumpy.push_back(i % 2 == 0 ? 0.1f : 0.9f);
  feed(io, jumpy);
  auto steady = predict(compute, 1s);
  auto noisy = predict(io, 1s);
  ASSERT_TRUE(steady && noisy);
  EXPECT_GT(steady->prediction.confidence, 0.99f);
  EXPECT_LT(noisy->prediction.confidence, 0.5f);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_FLOAT_EQ(steady->lower[i], steady->upper[i]);
    EXPECT_LE(noisy->lower[i], noisy->prediction.predicted_usage[i]);
    EXPECT_GE(noisy->upper[i], noisy->prediction.predicted_usage[i]);
    if (i > 0) {
      EXPECT_GE(noisy->upper[i] - noisy->prediction.predicted_usage[i],
                noisy->upper[i - 1] - noisy->prediction.predicted_usage[i - 1]);
    }
  }
  EXPECT_GT(noisy->upper[9] - noisy->lower[9], 0.5f);
}

TEST_F(PredictorTest, ModuleSeriesAreKeptApartFromTheTypeSeries) {
  feed("vision", compute, 0.7f, 10);
  feed("audio", compute, 0.2f, 10);
  // The type's own series has no observations.
  auto whole = predict(compute, 1s);
  ASSERT_TRUE(whole);
  EXPECT_TRUE(whole->prediction.predicted_usage.empty());
  auto vision = ask<ResourceForecast>(predictor_, predict_atom::value,
                                      std::string{"vision"}, compute, ns(1s));
  ASSERT_TRUE(vision);
  EXPECT_EQ(vision->module, "vision");
  ASSERT_EQ(vision->prediction.predicted_usage.size(), 10u);
  EXPECT_NEAR(vision->prediction.predicted_usage[9], 0.7f, 1e-5);
  // Several modules at once: those without observations are left out.
  ModuleQuery query{{"vision", "ghost", "audio"}, compute, 500ms};
  auto many = ask<std::vector<ResourceForecast>>(predictor_,
                                                 predict_atom::value, query);
  ASSERT_TRUE(many);
  ASSERT_EQ(many->size(), 2u);
  EXPECT_EQ((*many)[0].module, "vision");
  EXPECT_EQ((*many)[1].module, "audio");
  EXPECT_NEAR((*many)[1].prediction.predicted_usage[4], 0.2f, 1e-5);
  // Another type of the same module is another series.
  auto other = ask<ResourceForecast>(predictor_, predict_atom::value,
                                     std::string{"vision"}, io, ns(1s));
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->prediction.predicted_usage.empty());
  query.modules.push_back("");
  EXPECT_TRUE(fails_with(ask<std::vector<ResourceForecast>>(
                             predictor_, predict_atom::value, query),
                         ec::invalid_argument));
  query = ModuleQuery{{"vision"}, compute, 0ns};
  EXPECT_TRUE(fails_with(ask<std::vector<ResourceForecast>>(
                             predictor_, predict_atom::value, query),
                         ec::invalid_duration));
}

TEST_F(PredictorTest, TheNumberOfModuleSeriesIsBounded) {
  PredictorSettings settings;
  settings.max_module_series = 2;
  auto small = spawn_predictor(sys, pools_, settings);
  auto observe_on = [&](const std::string& module, ResourceType type) {
    return ask<std::uint64_t>(small, observe_atom::value, module, type, 0.5f);
  };
  EXPECT_TRUE(observe_on("a", compute));
  EXPECT_TRUE(observe_on("a", io));
  EXPECT_TRUE(fails_with(observe_on("b", compute), ec::insufficient_resources));
  EXPECT_EQ(observe_on("a", compute), 2u); // known series still grow
  // Type series do not count against the limit.
  EXPECT_TRUE(ask<std::uint64_t>(small, observe_atom::value, compute, 0.5f));
  caf::anon_send_exit(small, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(PredictorTest, ErrorStatisticsCompareTheModelWithTheReference) {
  // A ramp: the reference's window mean lags it, Holt's trend does not.
  for (int t = 0; t < 200; ++t)
    ASSERT_TRUE(observe(compute, 0.002f * static_cast<float>(t)));
  feed("vision", compute, 0.3f, 5);
  feed("audio", compute, 0.3f, 5);
  ASSERT_TRUE(observe(ResourceType::MEMORY, 0.1f));
  auto s = stats();
  ASSERT_EQ(s.size(), 4u);
  // Per type in ResourceType order, each type's modules after it by name.
  EXPECT_EQ(s[0].module, "");
  EXPECT_EQ(s[0].type, compute);
  EXPECT_EQ(s[1].module, "audio");
  EXPECT_EQ(s[2].module, "vision");
  EXPECT_EQ(s[3].type, ResourceType::MEMORY);
  EXPECT_EQ(s[0].observations, 200u);
  EXPECT_EQ(s[0].scored, 199u);
  EXPECT_GT(s[0].reference_mae, 0.0f);
  EXPECT_LT(s[0].mean_abs_error, s[0].reference_mae);
  EXPECT_LT(s[0].recent_mae, 0.001f);
  EXPECT_GT(s[0].confidence, 0.9f);
  EXPECT_EQ(s[0].model.rfind("holt(", 0), 0u) << s[0].model;
  EXPECT_EQ(s[3].scored, 0u);
  EXPECT_EQ(s[3].confidence, 0.0f);
}

TEST_F(PredictorTest, ResetForgetsEverySeries) {
  feed(compute, {0.1f, 0.2f});
  feed("vision", io, 0.3f, 3);
  EXPECT_EQ(ask_ok<std::uint64_t>(predictor_, reset_atom::value), 2u);
  EXPECT_TRUE(stats().empty());
  auto f = predict(compute, 1s);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->prediction.predicted_usage.empty());
  EXPECT_EQ(observe(compute, 0.5f), 1u);
}

TEST_F(PredictorTest, SpawningWithBadSettingsThrows) {
  PredictorSettings settings;
  settings.step = 0ns;
  EXPECT_THROW(spawn_predictor(sys, pools_, settings), Error);
  settings = PredictorSettings{};
  settings.model.season_length = 1;
  EXPECT_THROW(spawn_predictor(sys, pools_, settings), Error);
  settings = PredictorSettings{};
  settings.min_confidence = 1.5;
  EXPECT_THROW(spawn_predictor(sys, pools_, settings), Error);
}

// -- preallocation
// --------------------------------------------------------------

TEST_F(PredictorTest, AConfidentForecastBecomesAnExpiringReservation) {
  hold(compute, 20);
  auto result = preallocate({prediction(compute, {0.3f, 0.6f, 0.5f}, 0.8f)});
  ASSERT_TRUE(result) << describe(result.error());
  ASSERT_EQ(result->size(), 1u);
  const auto& p = (*result)[0];
  EXPECT_EQ(p.outcome, PreallocationOutcome::reserved);
  EXPECT_FLOAT_EQ(p.peak_utilization, 0.6f);
  EXPECT_FLOAT_EQ(p.target, 60.0f);
  EXPECT_FLOAT_EQ(p.in_use, 20.0f);
  EXPECT_FLOAT_EQ(p.reserved, 40.0f);
  EXPECT_EQ(p.ttl, ns(500ms));
  EXPECT_EQ(status(compute).reserved, u(40));
  // Unused, it returns to the pool when the horizon has passed.
  advance(499ms);
  EXPECT_EQ(status(compute).reserved, u(40));
  advance(1ms);
  EXPECT_EQ(status(compute).reserved, 0);
  EXPECT_EQ(status(compute).held, u(20));
}

TEST_F(PredictorTest, PreallocationSkipsWhatIsNotConfidentOrNotNeeded) {
  hold(io, 50);
  auto result = preallocate({
      prediction(compute, {0.9f}, 0.49f),
      prediction(io, {0.3f, 0.5f}, 0.9f),
      prediction(ResourceType::NETWORK, {}, 0.0f),
      prediction(ResourceType::ATTENTION, {2.5f}, 0.5f),
  });
  ASSERT_TRUE(result) << describe(result.error());
  ASSERT_EQ(result->size(), 4u);
  EXPECT_EQ((*result)[0].outcome, PreallocationOutcome::low_confidence);
  EXPECT_EQ((*result)[1].outcome, PreallocationOutcome::not_needed);
  EXPECT_FLOAT_EQ((*result)[1].target, 50.0f);
  EXPECT_EQ((*result)[2].outcome, PreallocationOutcome::low_confidence);
  // A utilization above 1 asks for the whole capacity.
  EXPECT_EQ((*result)[3].outcome, PreallocationOutcome::reserved);
  EXPECT_FLOAT_EQ((*result)[3].peak_utilization, 1.0f);
  EXPECT_FLOAT_EQ((*result)[3].reserved, 100.0f);
  EXPECT_EQ(status(compute).reserved, 0);
  EXPECT_EQ(status(io).reserved, 0);
  EXPECT_EQ(status(ResourceType::ATTENTION).reserved, u(100));
}

TEST_F(PredictorTest, RepeatedPreallocationDoesNotReserveTwice) {
  auto first = preallocate({prediction(compute, {0.4f}, 0.9f, 1000ms)});
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)[0].outcome, PreallocationOutcome::reserved);
  auto second = preallocate({prediction(compute, {0.5f}, 0.9f, 1000ms)});
  ASSERT_TRUE(second);
  EXPECT_EQ((*second)[0].outcome, PreallocationOutcome::reserved);
  EXPECT_FLOAT_EQ((*second)[0].in_use, 40.0f);
  EXPECT_FLOAT_EQ((*second)[0].reserved, 10.0f);
  EXPECT_EQ(status(compute).reserved, u(50));
}

TEST_F(PredictorTest, BadPreallocationInputIsRefusedAndReservesNothing) {
  auto good = prediction(compute, {0.5f}, 0.9f);
  auto with = [&](auto change) {
    auto p = prediction(io, {0.5f}, 0.9f);
    change(p);
    return std::vector<ResourcePrediction>{good, p};
  };
  EXPECT_TRUE(fails_with(preallocate({good}, ""), ec::empty_requester));
  EXPECT_TRUE(fails_with(preallocate({good, good}), ec::invalid_argument));
  EXPECT_TRUE(
      fails_with(preallocate(with([](auto& p) { p.confidence = nan_value; })),
                 ec::invalid_amount));
  EXPECT_TRUE(
      fails_with(preallocate(with([](auto& p) { p.confidence = 1.5f; })),
                 ec::invalid_amount));
  EXPECT_TRUE(fails_with(preallocate(with([](auto& p) {
                           p.predicted_usage = {0.2f, -0.1f};
                         })),
                         ec::invalid_amount));
  EXPECT_TRUE(fails_with(
      preallocate(with([](auto& p) { p.predicted_usage = {inf_value}; })),
      ec::invalid_amount));
  EXPECT_TRUE(fails_with(preallocate(with([](auto& p) { p.horizon = 0ms; })),
                         ec::invalid_duration));
  EXPECT_TRUE(fails_with(preallocate(with([](auto& p) {
                           p.resource_type = static_cast<ResourceType>(8);
                         })),
                         ec::unknown_resource_type));
  for (auto type : all_resource_types)
    EXPECT_EQ(status(type).reserved, 0) << to_string(type);
}

TEST_F(PredictorTest, AMissingOrDeadPoolFailsOnlyItsOwnEntry) {
  // Without pools every confident entry fails; a new directory fixes that.
  auto blind = spawn_predictor(sys, PoolDirectory{}, PredictorSettings{});
  auto ask_blind = [&] {
    return ask<std::vector<Preallocation>>(
        blind, prealloc_atom::value,
        std::vector<ResourcePrediction>{prediction(compute, {0.3f}, 0.9f)},
        std::string{"planner"});
  };
  auto result = ask_blind();
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)[0].outcome, PreallocationOutcome::failed);
  EXPECT_NE((*result)[0].detail.find("no pool"), std::string::npos);
  self->send(blind, pools_atom::value, pools_);
  run();
  result = ask_blind();
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)[0].outcome, PreallocationOutcome::reserved);
  caf::anon_send_exit(blind, caf::exit_reason::user_shutdown);
  // A pool that is down: its entry fails, the others proceed.
  caf::anon_send_exit(pools_[io], caf::exit_reason::kill);
  run();
  auto mixed = preallocate({prediction(io, {0.3f}, 0.9f),
                            prediction(ResourceType::NETWORK, {0.2f}, 0.9f)});
  ASSERT_TRUE(mixed);
  EXPECT_EQ((*mixed)[0].outcome, PreallocationOutcome::failed);
  EXPECT_FALSE((*mixed)[0].detail.empty());
  EXPECT_EQ((*mixed)[1].outcome, PreallocationOutcome::reserved);
  EXPECT_EQ(status(ResourceType::NETWORK).reserved, u(20));
}

TEST_F(PredictorTest, SamplesToForecastToReservation) {
  // The monitor reports a steady 40 % of computational capacity.
  UtilizationSample sample;
  sample.type = compute;
  sample.utilization = 0.4f;
  for (int i = 0; i < 20; ++i)
    self->send(predictor_, sample_atom::value, sample);
  run();
  auto f = predict(compute, 1s);
  ASSERT_TRUE(f);
  EXPECT_GE(f->prediction.confidence, 0.5f);
  auto result = preallocate({f->prediction}, "vision");
  ASSERT_TRUE(result);
  EXPECT_EQ((*result)[0].outcome, PreallocationOutcome::reserved);
  EXPECT_NEAR((*result)[0].reserved, 40.0f, 1e-4);
  EXPECT_EQ((*result)[0].ttl, ns(1s));
  EXPECT_NEAR(static_cast<double>(status(compute).reserved), u(40), 100);
  advance(1s);
  EXPECT_EQ(status(compute).reserved, 0);
}

// -- on the wire
// ------------------------------------------------------------------

namespace {

class PredictorWireTest : public DeterministicFixture {
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

TEST_F(PredictorWireTest, ForecastsStatisticsAndPreallocationsTravel) {
  ResourceForecast f;
  f.prediction = prediction(io, {0.25f, 0.5f}, 0.75f, 200ms);
  f.module = "vision";
  f.lower = {0.125f, 0.25f};
  f.upper = {0.375f, 0.75f};
  f.step = 100ms;
  f.model = "holt(alpha=0.2,beta=0.02,phi=0.98)";
  std::vector<ResourceForecast> fs{f};
  auto back = over_the_wire(fs);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].prediction.resource_type, io);
  EXPECT_EQ(back[0].prediction.predicted_usage, f.prediction.predicted_usage);
  EXPECT_EQ(back[0].prediction.confidence, 0.75f);
  EXPECT_EQ(back[0].prediction.horizon, 200ms);
  EXPECT_EQ(back[0].module, "vision");
  EXPECT_EQ(back[0].lower, f.lower);
  EXPECT_EQ(back[0].upper, f.upper);
  EXPECT_EQ(back[0].step, ns(100ms));
  EXPECT_EQ(back[0].model, f.model);

  Preallocation p;
  p.type = ResourceType::NETWORK;
  p.outcome = PreallocationOutcome::not_needed;
  p.confidence = 0.5f;
  p.peak_utilization = 0.75f;
  p.target = 75.0f;
  p.in_use = 80.0f;
  p.ttl = 1s;
  p.detail = "x";
  auto p_back = over_the_wire(std::vector<Preallocation>{p});
  ASSERT_EQ(p_back.size(), 1u);
  EXPECT_EQ(p_back[0].type, p.type);
  EXPECT_EQ(p_back[0].outcome, p.outcome);
  EXPECT_EQ(p_back[0].target, p.target);
  EXPECT_EQ(p_back[0].in_use, p.in_use);
  EXPECT_EQ(p_back[0].ttl, p.ttl);
  EXPECT_EQ(p_back[0].detail, p.detail);

  ForecastErrorStats s;
  s.type = ResourceType::MEMORY;
  s.module = "audio";
  s.observations = 12;
  s.scored = 11;
  s.mean_abs_error = 0.5f;
  s.reference_mae = 0.75f;
  s.model = "holt";
  auto s_back = over_the_wire(std::vector<ForecastErrorStats>{s});
  ASSERT_EQ(s_back.size(), 1u);
  EXPECT_EQ(s_back[0].module, "audio");
  EXPECT_EQ(s_back[0].observations, 12u);
  EXPECT_EQ(s_back[0].reference_mae, 0.75f);

  ModuleQuery q{{"a", "b"}, io, 1s};
  auto q_back = over_the_wire(q);
  EXPECT_EQ(q_back.modules, q.modules);
  EXPECT_EQ(q_back.type, io);
  EXPECT_EQ(q_back.horizon, ns(1s));
}

// -- kept across a restart (issue 14, docs/durability.md) ---------------------

namespace {

/// A predictor keeping its history in `dir`, written after every 10th
/// observation.
PredictorSettings kept_in(const std::string& dir) {
  PredictorSettings settings;
  settings.state_file = predictor_state_file(dir);
  settings.save_every = 10;
  return settings;
}

} // namespace

TEST_F(PredictorTest, ARestartedPredictorForecastsAsBeforeFromItsKeptHistory) {
  auto dir = rros::test::make_temp_dir("rros-predictor-kept");
  auto settings = kept_in(dir);
  auto first = spawn_predictor(sys, pools_, settings);
  run();
  // 40 observations with a trend and a module series: the history is kept
  // after every 10th (the last one written after the 40th).
  for (int i = 0; i < 35; ++i)
    ASSERT_TRUE(ask<std::uint64_t>(first, observe_atom::value,
                                   ResourceType::MEMORY,
                                   static_cast<float>(10 + i % 7 + i * 0.5)));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(ask<std::uint64_t>(first, observe_atom::value,
                                   std::string{"vision"}, ResourceType::IO,
                                   static_cast<float>(3 + i)));
  auto before =
      ask_ok<ResourceForecast>(first, predict_atom::value, ResourceType::MEMORY,
                               std::chrono::nanoseconds{1s});
  auto module_before = ask_ok<ResourceForecast>(
      first, predict_atom::value, std::string{"vision"}, ResourceType::IO,
      std::chrono::nanoseconds{1s});
  caf::anon_send_exit(first, caf::exit_reason::kill);
  run();

  auto second = spawn_predictor(sys, pools_, settings);
  run();
  auto after = ask_ok<ResourceForecast>(second, predict_atom::value,
                                        ResourceType::MEMORY,
                                        std::chrono::nanoseconds{1s});
  // The same observations replayed into a fresh model: the same forecast.
  EXPECT_EQ(after.prediction.predicted_usage,
            before.prediction.predicted_usage);
  EXPECT_EQ(after.prediction.confidence, before.prediction.confidence);
  EXPECT_EQ(after.lower, before.lower);
  EXPECT_EQ(after.upper, before.upper);
  EXPECT_EQ(after.model, before.model);
  auto module_after = ask_ok<ResourceForecast>(
      second, predict_atom::value, std::string{"vision"}, ResourceType::IO,
      std::chrono::nanoseconds{1s});
  EXPECT_EQ(module_after.prediction.predicted_usage,
            module_before.prediction.predicted_usage);
  // A reset is kept too: the next restart starts with nothing.
  ask_ok<std::uint64_t>(second, reset_atom::value);
  caf::anon_send_exit(second, caf::exit_reason::kill);
  run();
  auto third = spawn_predictor(sys, pools_, settings);
  run();
  auto none =
      ask_ok<ResourceForecast>(third, predict_atom::value, ResourceType::MEMORY,
                               std::chrono::nanoseconds{1s});
  EXPECT_EQ(none.prediction.confidence, 0.0f);
  caf::anon_send_exit(third, caf::exit_reason::kill);
  run();
  std::filesystem::remove_all(dir);
}

TEST_F(PredictorTest,
       ObservationsSinceTheLastKeptHistoryAreTheOnesACrashLosesAndAStopKeeps) {
  auto dir = rros::test::make_temp_dir("rros-predictor-kept");
  auto settings = kept_in(dir);
  auto first = spawn_predictor(sys, pools_, settings);
  run();
  for (int i = 0; i < 13; ++i)
    ASSERT_TRUE(ask<std::uint64_t>(first, observe_atom::value,
                                   ResourceType::NETWORK, 5.0f));
  caf::anon_send_exit(first, caf::exit_reason::kill);
  run();
  auto second = spawn_predictor(sys, pools_, settings);
  run();
  // 10 were kept; the next observation is the 11th the model has seen.
  EXPECT_EQ(ask_ok<std::uint64_t>(second, observe_atom::value,
                                  ResourceType::NETWORK, 5.0f),
            11u);
  // A clean stop keeps what a crash loses.
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(ask<std::uint64_t>(second, observe_atom::value,
                                   ResourceType::NETWORK, 5.0f));
  caf::anon_send_exit(second, caf::exit_reason::user_shutdown);
  run();
  auto third = spawn_predictor(sys, pools_, settings);
  run();
  EXPECT_EQ(ask_ok<std::uint64_t>(third, observe_atom::value,
                                  ResourceType::NETWORK, 5.0f),
            15u);
  caf::anon_send_exit(third, caf::exit_reason::kill);
  run();
  settings.save_every = 0;
  EXPECT_THROW(spawn_predictor(sys, pools_, settings), Error);
  std::filesystem::remove_all(dir);
}
