#include "actors/metrics_collector.hpp"

#include <cctype>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include "messages/error.hpp"

namespace rros {

namespace {

// Every request of a round gives up after this long (the round then
// completes without that answer).
constexpr auto query_timeout = std::chrono::seconds(10);

constexpr std::array<ResourceAlert::Severity, CollectorMetrics::severities>
    all_severities{ResourceAlert::Severity::INFO,
                   ResourceAlert::Severity::WARNING,
                   ResourceAlert::Severity::CRITICAL};

std::string lower(const char* text) {
  std::string result{text};
  for (auto& c : result)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

prometheus::Family<prometheus::Gauge>&
gauge_family(prometheus::Registry& registry, const std::string& name,
             const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Counter>&
counter_family(prometheus::Registry& registry, const std::string& name,
               const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

/// One gauge per resource type in a new family.
std::array<prometheus::Gauge*, resource_type_count>
per_type_gauges(prometheus::Registry& registry, const std::string& name,
                const std::string& help) {
  auto& family = gauge_family(registry, name, help);
  std::array<prometheus::Gauge*, resource_type_count> result{};
  for (auto type : all_resource_types)
    result[static_cast<std::size_t>(type)] =
        &family.Add({{"type", to_string(type)}});
  return result;
}

std::array<PolledCounter, resource_type_count>
per_type_counters(prometheus::Registry& registry, const std::string& name,
                  const std::string& help) {
  auto& family = counter_family(registry, name, help);
  std::array<PolledCounter, resource_type_count> result{};
  for (auto type : all_resource_types)
    result[static_cast<std::size_t>(type)].counter =
        &family.Add({{"type", to_string(type)}});
  return result;
}

PolledCounter single_counter(prometheus::Registry& registry,
                             const std::string& name, const std::string& help) {
  PolledCounter result;
  result.counter = &counter_family(registry, name, help).Add({});
  return result;
}

prometheus::Gauge* single_gauge(prometheus::Registry& registry,
                                const std::string& name,
                                const std::string& help) {
  return &gauge_family(registry, name, help).Add({});
}

std::size_t index_of(ResourceType type) {
  return static_cast<std::size_t>(type);
}

} // namespace

void PolledCounter::advance(std::uint64_t now) {
  auto added = now >= last ? now - last : now;
  if (added > 0)
    counter->Increment(static_cast<double>(added));
  last = now;
}

void PolledHistogram::advance(const std::vector<std::uint64_t>& counts,
                              double sum) {
  if (counts.empty())
    return; // a source that keeps no wait times
  bool restarted = counts.size() != last.size() || sum < last_sum;
  for (std::size_t b = 0; !restarted && b < counts.size(); ++b)
    restarted = counts[b] < last[b];
  std::vector<double> added(counts.size());
  bool any = false;
  for (std::size_t b = 0; b < counts.size(); ++b) {
    added[b] = static_cast<double>(restarted ? counts[b] : counts[b] - last[b]);
    any = any || added[b] > 0;
  }
  // The histogram has one bucket per bound plus +Inf, as the pools count.
  if (any && counts.size() == wait_bucket_bounds.size() + 1)
    histogram->ObserveMultiple(added, restarted ? sum : sum - last_sum);
  last = counts;
  last_sum = sum;
}

CollectorMetrics::CollectorMetrics(prometheus::Registry& registry) {
  const std::string unit =
      " (in the type's base unit: bytes for memory, configured units for the "
      "others)";
  capacity = per_type_gauges(registry, "rros_pool_capacity",
                             "Capacity of the pool" + unit);
  held = per_type_gauges(registry, "rros_pool_held",
                         "Amount held in committed grants" + unit);
  reserved = per_type_gauges(registry, "rros_pool_reserved",
                             "Amount set aside by reservations" + unit);
  available = per_type_gauges(registry, "rros_pool_available",
                              "Amount free for new grants" + unit);
  utilization = per_type_gauges(registry, "rros_pool_utilization_ratio",
                                "(held + reserved) / capacity, 0 to 1");
  waiting = per_type_gauges(registry, "rros_pool_waiting_requests",
                            "Requests waiting in the pool's queue");
  holders = per_type_gauges(registry, "rros_pool_holders",
                            "Requesters holding grants");
  grants = per_type_counters(registry, "rros_pool_grants_total",
                             "Grants made by the pool (since it started)");
  refusals = per_type_counters(
      registry, "rros_pool_refusals_total",
      "Requests the pool refused or failed (no room, above capacity or quota, "
      "shed, deadline passed)");
  refusal_reasons = &counter_family(
      registry, "rros_pool_refusals_by_reason_total",
      "Requests the pool refused or failed, by error code (reason)");
  for (auto type : all_resource_types)
    for (auto code :
         {ec::insufficient_resources, ec::exceeds_capacity, ec::exceeds_quota,
          ec::shed, ec::deadline_expired, ec::limit_exceeded})
      refusals_by_reason[index_of(type)][static_cast<std::size_t>(code)]
          .counter = &refusal_reasons->Add(
          {{"type", to_string(type)}, {"reason", to_string(code)}});
  preemptions = per_type_counters(
      registry, "rros_pool_preemptions_total",
      "Grants the pool revoked with notice, for a better-ranked waiting "
      "request or by shedding while degraded");
  expiries = per_type_counters(registry, "rros_pool_lease_expiries_total",
                               "Grants whose time-to-live ran out");
  auto& waits = prometheus::BuildHistogram()
                    .Name("rros_pool_wait_seconds")
                    .Help("Time from a waiting request's arrival to its "
                          "leaving the queue (granted, refused, cancelled)")
                    .Register(registry);
  prometheus::Histogram::BucketBoundaries bounds(wait_bucket_bounds.begin(),
                                                 wait_bucket_bounds.end());
  for (auto type : all_resource_types)
    wait_seconds[index_of(type)].histogram =
        &waits.Add({{"type", to_string(type)}}, bounds);
  degraded = per_type_gauges(registry, "rros_degraded",
                             "1 while the type is in degraded mode, else 0");
  escalation = per_type_gauges(registry, "rros_degradation_escalation_steps",
                               "Escalation steps taken while degraded");
  auto& active = gauge_family(registry, "rros_alerts_active",
                              "Active alerts by type and severity");
  auto& raised = counter_family(registry, "rros_alerts_raised_total",
                                "Alerts raised since the collector started");
  for (auto type : all_resource_types)
    for (std::size_t s = 0; s < severities; ++s) {
      prometheus::Labels labels{
          {"type", to_string(type)},
          {"severity", lower(to_string(all_severities[s]))}};
      alerts_active[index_of(type)][s] = &active.Add(labels);
      alerts_raised[index_of(type)][s] = &raised.Add(labels);
    }
  auto& entered = counter_family(
      registry, "rros_degradations_total",
      "Times the type entered degraded mode since the collector started");
  auto& stepped =
      counter_family(registry, "rros_escalations_total",
                     "Escalation steps since the collector started");
  for (auto type : all_resource_types) {
    degradations[index_of(type)] = &entered.Add({{"type", to_string(type)}});
    escalations[index_of(type)] = &stepped.Add({{"type", to_string(type)}});
  }

  bundles_waiting = single_gauge(registry, "rros_bundles_waiting",
                                 "Bundles waiting for capacity");
  bundles_held =
      single_gauge(registry, "rros_bundles_held", "Granted bundles held");
  bundle_grants = single_counter(registry, "rros_bundle_grants_total",
                                 "Bundles granted (all or nothing)");
  bundle_refusals = single_counter(registry, "rros_bundle_refusals_total",
                                   "Bundles refused, timed out or cancelled");

  auto& pending = gauge_family(registry, "rros_tasks_pending",
                               "Tasks queued by the scheduler, by priority");
  for (std::size_t p = 0; p < priorities; ++p)
    tasks_pending[p] = &pending.Add(
        {{"priority", lower(to_string(static_cast<Priority>(p)))}});
  tasks_running =
      single_gauge(registry, "rros_tasks_running", "Tasks running now");
  tasks_deferred = single_gauge(registry, "rros_tasks_deferred",
                                "Queued tasks held back by degradation");
  tasks_completed = single_counter(registry, "rros_tasks_completed_total",
                                   "Tasks whose body completed");
  tasks_failed = single_counter(registry, "rros_tasks_failed_total",
                                "Tasks whose body failed");
  auto& misses = counter_family(registry, "rros_task_deadline_misses_total",
                                "Tasks that missed their deadline");
  for (std::size_t p = 0; p < priorities; ++p)
    deadline_misses[p].counter =
        &misses.Add({{"priority", lower(to_string(static_cast<Priority>(p)))}});
  tasks_dropped =
      single_counter(registry, "rros_tasks_dropped_total",
                     "Tasks dropped at their deadline while queued");
  tasks_refused = single_counter(registry, "rros_task_admission_refusals_total",
                                 "Tasks refused at admission");
  tasks_preempted = single_counter(registry, "rros_task_preemptions_total",
                                   "Running tasks asked to stop (preempted)");

  restarts = single_counter(registry, "rros_actor_restarts_total",
                            "Crashed subsystem actors the manager replaced");
  monitor_up = single_gauge(registry, "rros_monitor_up",
                            "1 when the last round reached the monitor");
  scheduler_up = single_gauge(registry, "rros_scheduler_up",
                              "1 when the last round reached the scheduler");
  collections =
      single_counter(registry, "rros_metrics_collections_total",
                     "Collection rounds completed by the metrics collector")
          .counter;
}

void metrics_collector_state::start_round() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  again = false;
  waiters.insert(waiters.end(), std::make_move_iterator(next_waiters.begin()),
                 std::make_move_iterator(next_waiters.end()));
  next_waiters.clear();
  // Counted before any request goes out, so that no answer can end the
  // round early.
  outstanding = 5;
  auto failed = [this](const caf::error&) { answered(); };
  self->request(manager, query_timeout, status_atom::value)
      .then(
          [this](const std::vector<PoolStatus>& pools) {
            on_pools(pools);
            answered();
          },
          failed);
  self->request(manager, query_timeout, stats_atom::value)
      .then(
          [this](const std::vector<ResourceStats>& stats) {
            on_stats(stats);
            answered();
          },
          failed);
  self->request(manager, query_timeout, restarts_atom::value)
      .then(
          [this](std::uint64_t count) {
            metrics->restarts.advance(count);
            answered();
          },
          failed);
  self->request(manager, query_timeout, bundles_atom::value)
      .then(
          [this, failed](const bundle_actor& bundles) {
            if (!bundles) {
              answered();
              return;
            }
            self->request(bundles, query_timeout, stats_atom::value)
                .then(
                    [this](const BundleStats& stats) {
                      on_bundles(stats);
                      answered();
                    },
                    failed);
          },
          failed);
  self->request(manager, query_timeout, subsystems_atom::value)
      .then(
          [this](const Subsystems& sub) {
            on_subsystems(sub);
            answered();
          },
          [this](const caf::error&) {
            metrics->monitor_up->Set(0);
            metrics->scheduler_up->Set(0);
            answered();
          });
}

void metrics_collector_state::answered() {
  if (--outstanding > 0)
    return;
  running = false;
  ++rounds;
  metrics->collections->Increment();
  for (auto& promise : waiters)
    promise.deliver(rounds);
  waiters.clear();
  if (again)
    start_round();
}

void metrics_collector_state::on_pools(const std::vector<PoolStatus>& pools) {
  for (const auto& pool : pools) {
    if (!is_valid(pool.type))
      continue;
    auto i = index_of(pool.type);
    metrics->capacity[i]->Set(to_amount(pool.capacity));
    metrics->held[i]->Set(to_amount(pool.held));
    metrics->reserved[i]->Set(to_amount(pool.reserved));
    metrics->available[i]->Set(to_amount(pool.available));
    metrics->utilization[i]->Set(pool.utilization());
    metrics->waiting[i]->Set(pool.waiting);
    metrics->holders[i]->Set(pool.holders);
  }
}

void metrics_collector_state::on_stats(
    const std::vector<ResourceStats>& stats) {
  for (const auto& entry : stats) {
    if (!is_valid(entry.type))
      continue;
    auto i = index_of(entry.type);
    metrics->grants[i].advance(entry.allocation_count);
    metrics->refusals[i].advance(entry.rejection_count);
    auto& by_reason = metrics->refusals_by_reason[i];
    for (std::size_t code = 1; code < entry.refusals_by_reason.size(); ++code) {
      auto count = entry.refusals_by_reason[code];
      auto found = by_reason.find(code);
      if (found == by_reason.end()) {
        if (count == 0 || code > static_cast<std::size_t>(last_ec))
          continue;
        found = by_reason.emplace(code, PolledCounter{}).first;
        found->second.counter = &metrics->refusal_reasons->Add(
            {{"type", to_string(entry.type)},
             {"reason", to_string(static_cast<ec>(code))}});
      }
      found->second.advance(count);
    }
    metrics->preemptions[i].advance(entry.preemptions);
    metrics->expiries[i].advance(entry.expiries);
    metrics->wait_seconds[i].advance(entry.wait_counts, entry.wait_seconds_sum);
  }
}

void metrics_collector_state::on_bundles(const BundleStats& stats) {
  metrics->bundles_waiting->Set(static_cast<double>(stats.waiting));
  metrics->bundles_held->Set(static_cast<double>(stats.held));
  metrics->bundle_grants.advance(stats.granted);
  metrics->bundle_refusals.advance(stats.refused);
}

void metrics_collector_state::on_subsystems(const Subsystems& sub) {
  // Two more answers belong to this round: the monitor's and the
  // scheduler's (a missing subsystem counts as answered).
  outstanding += 2;
  if (sub.monitor) {
    if (sub.monitor != monitor) {
      // A new monitor (first round, or the manager replaced a crashed one):
      // subscribe to its alerts and state changes.
      monitor = sub.monitor;
      self->request(monitor, query_timeout, subscribe_atom::value,
                    caf::actor_cast<caf::actor>(self),
                    MonitorTopics{false, true, true})
          .then([](const MonitorTopics&) {}, [](const caf::error&) {});
    }
    self->request(sub.monitor, query_timeout, status_atom::value)
        .then(
            [this](const std::vector<TypeMonitorView>& views) {
              on_monitor(views);
              metrics->monitor_up->Set(1);
              answered();
            },
            [this](const caf::error&) {
              metrics->monitor_up->Set(0);
              answered();
            });
  } else {
    metrics->monitor_up->Set(0);
    answered();
  }
  if (sub.scheduler) {
    self->request(sub.scheduler, query_timeout, stats_atom::value)
        .then(
            [this](const SchedulerStats& stats) {
              on_scheduler(stats);
              metrics->scheduler_up->Set(1);
              answered();
            },
            [this](const caf::error&) {
              metrics->scheduler_up->Set(0);
              answered();
            });
  } else {
    metrics->scheduler_up->Set(0);
    answered();
  }
}

void metrics_collector_state::on_monitor(
    const std::vector<TypeMonitorView>& views) {
  for (const auto& view : views) {
    if (!is_valid(view.type))
      continue;
    auto i = index_of(view.type);
    metrics->degraded[i]->Set(view.degraded ? 1 : 0);
    metrics->escalation[i]->Set(view.escalation);
    std::array<double, CollectorMetrics::severities> active{};
    for (const auto& alert : view.active_alerts) {
      auto s = static_cast<std::size_t>(alert.severity);
      if (s < active.size())
        active[s] += 1;
    }
    for (std::size_t s = 0; s < active.size(); ++s)
      metrics->alerts_active[i][s]->Set(active[s]);
  }
}

void metrics_collector_state::on_scheduler(const SchedulerStats& stats) {
  for (std::size_t p = 0;
       p < CollectorMetrics::priorities && p < stats.pending_by_priority.size();
       ++p)
    metrics->tasks_pending[p]->Set(
        static_cast<double>(stats.pending_by_priority[p]));
  metrics->tasks_running->Set(static_cast<double>(stats.running));
  metrics->tasks_deferred->Set(static_cast<double>(stats.deferred));
  metrics->tasks_completed.advance(stats.completed);
  metrics->tasks_failed.advance(stats.failed);
  for (std::size_t p = 0;
       p < CollectorMetrics::priorities && p < stats.missed_by_priority.size();
       ++p)
    metrics->deadline_misses[p].advance(stats.missed_by_priority[p]);
  metrics->tasks_dropped.advance(stats.dropped);
  metrics->tasks_refused.advance(stats.refused);
  metrics->tasks_preempted.advance(stats.preempted);
}

void metrics_collector_state::on_event(const MonitorEvent& event) {
  if (!is_valid(event.type))
    return;
  auto i = index_of(event.type);
  switch (event.kind) {
    case MonitorEventKind::alert_raised: {
      auto s = static_cast<std::size_t>(event.alert.severity);
      if (s < CollectorMetrics::severities)
        metrics->alerts_raised[i][s]->Increment();
      break;
    }
    case MonitorEventKind::degraded_entered:
      metrics->degradations[i]->Increment();
      break;
    case MonitorEventKind::escalated:
      metrics->escalations[i]->Increment();
      break;
    case MonitorEventKind::alert_cleared:
    case MonitorEventKind::degraded_left:
      break;
  }
}

metrics_collector_actor::behavior_type metrics_collector(
    metrics_collector_actor::stateful_pointer<metrics_collector_state> self,
    manager_actor manager, std::shared_ptr<prometheus::Registry> registry,
    caf::timespan interval) {
  auto& st = self->state;
  st.manager = std::move(manager);
  st.registry = std::move(registry);
  st.metrics = std::make_unique<CollectorMetrics>(*st.registry);
  st.interval = interval;
  if (interval.count() > 0)
    self->send(self, collect_tick_atom::value);
  return {
      [self](collect_atom) -> caf::result<std::uint64_t> {
        auto promise = self->make_response_promise<std::uint64_t>();
        // A round already running may have read some figures before this
        // request: the caller waits for the next one.
        if (self->state.running)
          self->state.next_waiters.push_back(promise);
        else
          self->state.waiters.push_back(promise);
        self->state.start_round();
        return promise;
      },
      [self](collect_tick_atom) {
        self->state.start_round();
        self->delayed_send(self, self->state.interval,
                           collect_tick_atom::value);
      },
      [self](monitor_event_atom, const MonitorEvent& event) {
        self->state.on_event(event);
      },
  };
}

metrics_collector_actor
spawn_metrics_collector(caf::actor_system& sys, manager_actor manager,
                        std::shared_ptr<prometheus::Registry> registry,
                        caf::timespan interval) {
  return sys.spawn(metrics_collector, std::move(manager), std::move(registry),
                   interval);
}

} // namespace rros
