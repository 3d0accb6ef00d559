// The scheduler dispatch part of `rros bench` (see scheduler_dispatch.hpp):
// submits tasks with empty bodies at once and times them until the last one
// has completed.
#include "app/bench/scheduler_dispatch.hpp"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/manager.hpp"
#include "actors/scheduler.hpp"
#include "messages/error.hpp"
#include "messages/scheduler_messages.hpp"
#include "messages/type_ids.hpp"

namespace rros::app::benchmark {

namespace {

using steady = std::chrono::steady_clock;

constexpr int rounds = 5;
constexpr std::uint32_t concurrency = 8;
// Detached bodies start a thread each: fewer of them keep the part short.
constexpr std::size_t max_detached_tasks = 2000;
constexpr auto round_deadline = std::chrono::seconds(120);

struct Mode {
  const char* name;
  bool detached;
  bool with_resources;
};

double median_of(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  if (n == 0)
    return 0;
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// One run: submits `n` tasks at once and waits for their completion events.
/// Returns tasks per second, or a negative value after printing an error.
double one_round(std::ostream& out, caf::actor_system& sys,
                 caf::scoped_actor& self, const bundle_actor& bundles,
                 const PoolDirectory& pools, const Mode& mode, std::size_t n) {
  SchedulerSettings settings;
  settings.max_concurrent = concurrency;
  settings.detached = mode.detached;
  auto scheduler = spawn_scheduler(sys, bundles, pools, settings);
  auto me = caf::actor_cast<caf::actor>(self);
  auto begin = steady::now();
  for (std::size_t i = 0; i < n; ++i) {
    TaskSubmission t;
    t.task_id = "bench-" + std::to_string(i);
    t.priority = Priority::NORMAL;
    t.body = [] {};
    if (mode.with_resources)
      t.requirements[ResourceType::COMPUTATIONAL] = 1.0f;
    t.notify = me;
    caf::anon_send(scheduler, schedule_atom::value, std::move(t));
  }
  std::size_t completed = 0;
  std::string error;
  bool timed_out = false;
  while (completed < n && error.empty() && !timed_out) {
    self->receive(
        [&](task_event_atom, const TaskEvent& ev) {
          if (ev.kind == TaskEventKind::completed)
            ++completed;
          else
            error = ev.task_id + " " + to_string(ev.kind) + ": " + ev.detail;
        },
        caf::after(round_deadline) >> [&] { timed_out = true; });
  }
  auto end = steady::now();
  caf::anon_send_exit(scheduler, caf::exit_reason::user_shutdown);
  if (timed_out)
    error = "only " + std::to_string(completed) + " of " + std::to_string(n) +
            " tasks completed in time";
  if (!error.empty()) {
    out << "error: scheduler bench (" << mode.name << "): " << error << "\n";
    return -1;
  }
  auto seconds = std::chrono::duration<double>(end - begin).count();
  return seconds > 0 ? static_cast<double>(n) / seconds : 0;
}

} // namespace

void bench_scheduler_dispatch(std::ostream& out, std::size_t tasks) {
  if (tasks == 0) {
    out << "error: scheduler bench needs at least one task\n";
    return;
  }
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  auto manager = spawn_manager(sys, Config{});
  caf::scoped_actor self{sys};
  PoolDirectory pools;
  bundle_actor bundles;
  std::string error;
  self->request(manager, caf::infinite, pools_atom::value)
      .receive([&](PoolDirectory& x) { pools = std::move(x); },
               [&](caf::error& err) { error = describe(err); });
  self->request(manager, caf::infinite, bundles_atom::value)
      .receive([&](bundle_actor& x) { bundles = std::move(x); },
               [&](caf::error& err) { error = describe(err); });
  if (!error.empty()) {
    out << "error: scheduler bench: " << error << "\n";
    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
    return;
  }
  const Mode modes[] = {
      {"normal actors, 1 computational bundle", false, true},
      {"normal actors, no requirements", false, false},
      {"detached actors, 1 computational bundle", true, true},
  };
  out << "scheduler dispatch: empty bodies, automatic dispatch, " << concurrency
      << " at once, median of " << rounds << " runs\n";
  for (const auto& mode : modes) {
    auto n = mode.detached ? std::min(tasks, max_detached_tasks) : tasks;
    std::vector<double> figures;
    for (int r = 0; r < rounds; ++r) {
      auto x = one_round(out, sys, self, bundles, pools, mode, n);
      if (x < 0)
        break;
      figures.push_back(x);
    }
    if (figures.size() == static_cast<std::size_t>(rounds))
      out << "  " << std::left << std::setw(42) << mode.name << std::right
          << std::setw(12) << std::fixed << std::setprecision(0)
          << median_of(figures) << " tasks/s (" << n << " tasks per run)\n";
  }
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
}

} // namespace rros::app::benchmark
