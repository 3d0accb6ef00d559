// The driver of `rros simulate` (simulate() in simulation.hpp): a
// discrete-event simulation on CAF's test coordinator. It starts a manager
// node in the process, spawns one actor per workload module
// (module_actors.hpp), and moves the virtual clock to the next workload event
// (a task's arrival, a rate change at a burst, a death, a restart, a
// forecast) or the next actor timer, whichever comes first, running every
// message due. At the end it gathers the monitor's, predictor's and bundle
// coordinator's figures and counts each task's outcome.
#include "app/simulate/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <queue>
#include <sstream>

#include <caf/all.hpp>

#include "actors/manager.hpp"
#include "app/simulate/module_actors.hpp"
#include "app/simulate/text.hpp"
#include "app/simulate/virtual_time.hpp"
#include "messages/error.hpp"

namespace rros::app {

using namespace sim;

bool simulate(const Workload& workload, std::uint64_t seed, double duration,
              const ProgressFn& progress, SimResult& result,
              std::string& error) {
  result = SimResult{};
  result.workload = workload;
  result.seed = seed;
  result.duration = duration;
  result.degrade_enter = workload.monitor.degrade_enter;
  result.degrade_exit = workload.monitor.degrade_exit;

  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  Driver drv{sys};
  auto fail = [&](std::string message) {
    error = std::move(message);
    return false;
  };

  Shared shared; // outlives stop_all: the actors point at it
  std::vector<caf::actor> spawned;
  StopAll stop_all{spawned, drv};

  auto manager = spawn_manager(sys, workload.config);
  spawned.push_back(caf::actor_cast<caf::actor>(manager));
  drv.sched.run();
  auto subsystems = drv.ask<Subsystems>(manager, subsystems_atom::value);
  auto pools = drv.ask<PoolDirectory>(manager, pools_atom::value);
  auto bundles = drv.ask<bundle_actor>(manager, bundles_atom::value);
  if (!subsystems || !pools || !bundles || !subsystems->monitor ||
      !subsystems->predictor)
    return fail("the embedded node did not start its subsystems");
  auto monitor = subsystems->monitor;
  auto predictor = subsystems->predictor;
  auto settings =
      drv.ask<MonitorSettings>(monitor, settings_atom::value, workload.monitor);
  if (!settings)
    return fail("workload " + workload.origin +
                ": monitor: " + describe(settings.error()));

  shared.result = &result;
  shared.pools = *pools;
  shared.bundles = *bundles;
  shared.t0 = drv.sched.clock().now();
  for (const auto& m : workload.modules)
    shared.module_names.push_back(m.name);

  auto observer = sys.spawn(sim_observer, &shared);
  spawned.push_back(observer);
  auto subscribed =
      drv.ask<MonitorTopics>(monitor, subscribe_atom::value, observer,
                             MonitorTopics{true, true, true});
  if (!subscribed)
    return fail("cannot subscribe to the monitor: " +
                describe(subscribed.error()));

  Timeline timeline{workload, seed, duration};
  auto& runs = timeline.runs;
  for (auto& run : runs) {
    run.actor = sys.spawn(sim_module, &shared,
                          static_cast<std::size_t>(&run - runs.data()));
    spawned.push_back(run.actor);
  }
  for (double t = workload.forecast_every; t < duration;
       t += workload.forecast_every)
    timeline.push(span_of(t), EventKind::forecast, 0);

  DeathCounts deaths{result.deaths, result.restarts, result.held_at_death};
  auto handle = [&](const Event& ev) {
    double now_s = seconds_of(ev.at);
    auto& run = runs[ev.module];
    switch (ev.kind) {
      case EventKind::arrival:
        if (auto task = timeline.arrive(ev, shared.tasks))
          caf::anon_send(runs[ev.module].actor, sim_task_atom::value, *task);
        return;
      case EventKind::rate_change:
        timeline.schedule_arrival(ev.module, now_s);
        return;
      case EventKind::death:
        if (die(timeline, ev, shared.tasks, result.events, "the pools", deaths))
          caf::anon_send_exit(run.actor, caf::exit_reason::kill);
        return;
      case EventKind::restart:
        run.actor = sys.spawn(sim_module, &shared, ev.module);
        spawned.push_back(run.actor);
        restarted(timeline, ev, result.events, deaths);
        return;
      case EventKind::forecast:
        for (auto type : all_resource_types) {
          auto horizon = std::chrono::duration_cast<std::chrono::nanoseconds>(
              span_of(workload.forecast_horizon));
          auto fc = drv.ask<ResourceForecast>(predictor, predict_atom::value,
                                              type, horizon);
          if (!fc || fc->prediction.predicted_usage.empty())
            continue;
          ForecastTrace trace;
          trace.type = type;
          trace.at = now_s;
          trace.step = seconds_of(fc->step);
          trace.predicted = fc->prediction.predicted_usage;
          trace.lower = fc->lower;
          trace.upper = fc->upper;
          result.forecasts.push_back(std::move(trace));
        }
        return;
      case EventKind::sample:
      case EventKind::node_loss:
        return; // a cluster run's
    }
  };

  add_bursts(workload, duration, result.events);
  timeline.run(drv, shared.t0, progress, handle);

  // -- figures at the end
  if (auto views =
          drv.ask<std::vector<TypeMonitorView>>(monitor, status_atom::value)) {
    for (const auto& view : *views) {
      if (!is_valid(view.type))
        continue;
      auto& series = result.types[static_cast<std::size_t>(view.type)];
      series.mean = view.average;
      series.peak = view.peak;
      series.alert_threshold = view.rule.threshold;
    }
  }
  if (auto stats = drv.ask<std::vector<ForecastErrorStats>>(
          predictor, fcstats_atom::value))
    for (const auto& s : *stats)
      if (s.module.empty())
        result.forecast_errors.push_back(s);
  if (auto stats = drv.ask<BundleStats>(*bundles, stats_atom::value)) {
    result.bundles_granted = stats->granted;
    result.bundles_refused = stats->refused;
    result.bundle_attempts = stats->attempts;
  }
  for (auto& series : result.types)
    if (!series.degraded.empty() && series.degraded.back().second < 0)
      series.degraded.back().second = duration;
  std::stable_sort(
      result.events.begin(), result.events.end(),
      [](const SimEvent& x, const SimEvent& y) { return x.at < y.at; });

  tally_tasks(shared.tasks, result);
  result.waiting_at_end = static_cast<std::uint64_t>(std::count_if(
      shared.tasks.begin(), shared.tasks.end(),
      [](const TaskRecord& t) { return t.outcome == Outcome::pending; }));

  return true; // stop_all ends the actors
}

} // namespace rros::app
