// The monitor's handlers: polling and listening to the pools, per-type
// figures and trends, alert rules with hysteresis, degradation with
// escalation and shedding, subscriptions. Longer than ~600 lines because the
// alert and degradation state machines read the same per-type figures; each
// section below is one of them.
#include "actors/monitor.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "actors/sender_checks.hpp"
#include "core/kept_state.hpp"
#include "messages/error.hpp"
#include "messages/limits.hpp"
#include "messages/validate.hpp"

namespace rros {

namespace {

using self_ptr = monitor_actor::stateful_pointer<monitor_state>;
using Severity = ResourceAlert::Severity;

constexpr std::uint32_t max_history_limit = 100000;

// The trend needs a few recent points, not every report of a busy pool.
constexpr std::size_t max_window_points = 4096;

// -- formatting ---------------------------------------------------------------

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", fraction * 100.0);
  return buf;
}

std::string number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

/// A load or capacity in its own units, with a float's precision.
std::string amount_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

/// A dwell for alert texts, to a tenth of a second ("2 s", "2.5 s"): a
/// measured dwell overshoots the configured one by a poll's jitter, which
/// would only be noise ("2.00021s").
std::string seconds_text(caf::timespan x) {
  auto tenths = std::llround(std::chrono::duration<double>(x).count() * 10);
  auto text = std::to_string(tenths / 10);
  if (tenths % 10 != 0)
    text += "." + std::to_string(tenths % 10);
  return text + " s";
}

std::string type_name(ResourceType type) {
  return to_string(type);
}

/// The actor clock as a timestamp for messages (virtual in tests).
caf::timestamp stamp(monitor_time t) {
  return caf::timestamp{
      std::chrono::duration_cast<caf::timespan>(t.time_since_epoch())};
}

double seconds_between(monitor_time from, monitor_time to) {
  return std::chrono::duration<double>(to - from).count();
}

float finite_or_zero(double x) {
  return std::isfinite(x) ? static_cast<float>(x) : 0.0f;
}

// -- validation
// -----------------------------------------------------------------

caf::error bad_setting(const std::string& what) {
  return make_error(ec::invalid_config_value, what);
}

caf::error check_threshold(double x) {
  if (!std::isfinite(x) || x <= 0 || x > 1)
    return bad_setting("alert threshold must be a finite number in (0, 1], "
                       "got " +
                       number(x));
  return caf::none;
}

// -- per-type rules -----------------------------------------------------------

TypeWatch& watch_of(self_ptr self, ResourceType type) {
  return self->state.types[static_cast<std::size_t>(type)];
}

/// Threshold comparisons run in float, the precision of the rule, so that a
/// utilization of exactly 85% reaches a threshold of 0.85.
float clear_level(const TypeWatch& w, const MonitorSettings& s) {
  return static_cast<float>(
      std::max(0.0, static_cast<double>(w.rule.threshold) - s.clear_margin));
}

bool below_clear_level(double utilization, float level) {
  auto u = static_cast<float>(utilization);
  return level > 0 ? u < level : u <= 0;
}

std::uint32_t max_escalation(const MonitorSettings& s) {
  return static_cast<std::uint32_t>(static_cast<int>(s.shed_from) -
                                    static_cast<int>(Priority::NORMAL));
}

/// Each escalation step sheds one priority more, never above NORMAL.
ShedPolicy shed_policy_of(const TypeWatch& w, const MonitorSettings& s) {
  if (!w.degraded)
    return ShedPolicy{};
  auto from = static_cast<int>(s.shed_from) - static_cast<int>(w.escalation);
  ShedPolicy result;
  result.degraded = true;
  result.refuse_from =
      static_cast<Priority>(std::max(from, static_cast<int>(Priority::NORMAL)));
  result.revoke_preemptable = true;
  return result;
}

double average_of(const TypeWatch& w, monitor_time now) {
  auto elapsed = seconds_between(w.since, now);
  if (elapsed <= 0)
    return w.utilization;
  return (w.integral + w.utilization * seconds_between(w.last_change, now)) /
         elapsed;
}

/// Least-squares slope of the observations within the trend window, per
/// second; 0 without two distinct instants.
double trend_of(const TypeWatch& w, monitor_time now,
                const MonitorSettings& s) {
  auto start = now - s.trend_window;
  double n = 0, sum_x = 0, sum_y = 0;
  for (const auto& [at, u] : w.window)
    if (at >= start) {
      n += 1;
      sum_x += seconds_between(start, at);
      sum_y += u;
    }
  if (n < 2)
    return 0;
  auto mean_x = sum_x / n;
  auto mean_y = sum_y / n;
  double sxx = 0, sxy = 0;
  for (const auto& [at, u] : w.window)
    if (at >= start) {
      auto dx = seconds_between(start, at) - mean_x;
      sxx += dx * dx;
      sxy += dx * (u - mean_y);
    }
  if (sxx <= 0)
    return 0;
  auto slope = sxy / sxx;
  return std::isfinite(slope) ? slope : 0;
}

void trim_window(TypeWatch& w, monitor_time now, const MonitorSettings& s) {
  auto start = now - s.trend_window;
  while (!w.window.empty() && (w.window.front().first < start ||
                               w.window.size() > max_window_points))
    w.window.pop_front();
}

TypeMonitorView view_of(self_ptr self, const TypeWatch& w) {
  const auto& s = self->state.settings;
  auto now = self->clock().now();
  TypeMonitorView v;
  v.type = w.type;
  v.observed = w.observed;
  v.utilization = finite_or_zero(w.utilization);
  v.average = w.observed ? finite_or_zero(average_of(w, now)) : 0.0f;
  v.peak = finite_or_zero(w.peak);
  v.trend = finite_or_zero(trend_of(w, now, s));
  v.used = std::isfinite(w.used) ? w.used : 0.0;
  v.capacity = std::isfinite(w.capacity) ? w.capacity : 0.0;
  v.rule = w.rule;
  v.clear_threshold = clear_level(w, s);
  v.degraded = w.degraded;
  v.manual = w.manual;
  v.escalation = w.escalation;
  v.shed = shed_policy_of(w, s);
  if (w.threshold_alert)
    v.active_alerts.push_back(*w.threshold_alert);
  if (w.degraded_alert)
    v.active_alerts.push_back(*w.degraded_alert);
  return v;
}

std::vector<TypeMonitorView> views_of(self_ptr self) {
  std::vector<TypeMonitorView> result;
  for (const auto& w : self->state.types)
    result.push_back(view_of(self, w));
  return result;
}

// -- alerts, events and the pools ---------------------------------------------

ResourceAlert make_alert(Severity severity, ResourceType type,
                         std::string message, double threshold) {
  ResourceAlert alert;
  alert.severity = severity;
  alert.resource_type = type;
  alert.message = std::move(message);
  alert.threshold_violated = finite_or_zero(threshold);
  alert.timestamp = wall_clock::now();
  return alert;
}

/// Drops the oldest alerts past settings.history_limit; true when it did.
bool trim_history(monitor_state& st) {
  if (st.history.size() <= st.settings.history_limit)
    return false;
  st.history.erase(st.history.begin(),
                   st.history.begin() +
                       static_cast<std::ptrdiff_t>(st.history.size() -
                                                   st.settings.history_limit));
  return true;
}

/// Notes a change of the alert state: written by the next poll, so at most
/// once per sample interval however fast the changes come (an adapt_atom
/// flood cannot make every message an fsync).
void keep_state(self_ptr self) {
  auto& st = self->state;
  st.state_dirty = !st.state_file.empty();
}

/// Writes the alert state to the data directory, so that a restart finds
/// the alerts, degraded modes and rules as they were (docs/durability.md). A
/// failed write is said once on stderr and tried again at the next poll.
void write_state(self_ptr self) {
  auto& st = self->state;
  MonitorKept kept;
  for (const auto& w : st.types) {
    KeptTypeAlerts t;
    t.type = static_cast<std::uint8_t>(w.type);
    t.own_rule = w.own_rule;
    t.rule_threshold = w.rule.threshold;
    t.rule_severity = static_cast<std::uint8_t>(w.rule.severity);
    if (w.threshold_alert)
      t.threshold_alert = kept_alert_of(*w.threshold_alert);
    t.degraded = w.degraded;
    t.manual = w.manual;
    t.escalation = w.escalation;
    if (w.degraded_alert)
      t.degraded_alert = kept_alert_of(*w.degraded_alert);
    kept.types.push_back(std::move(t));
  }
  for (const auto& alert : st.history)
    kept.history.push_back(kept_alert_of(alert));
  auto failed = save_monitor_state(st.state_file, kept);
  if (failed && !st.state_failed)
    std::cerr << "rros: cannot keep the monitor's alert state: "
              << failed->text() << "\n";
  st.state_failed = failed.has_value();
  st.state_dirty = failed.has_value();
}

void record(self_ptr self, const ResourceAlert& alert) {
  auto& st = self->state;
  st.history.push_back(alert);
  trim_history(st);
  keep_state(self);
}

bool is_alert_kind(MonitorEventKind kind) {
  return kind == MonitorEventKind::alert_raised ||
         kind == MonitorEventKind::alert_cleared;
}

/// Sends an event to the subscribers of its topic.
void tell(self_ptr self, MonitorEventKind kind, const TypeWatch& w,
          const ResourceAlert& alert) {
  MonitorEvent event;
  event.kind = kind;
  event.type = w.type;
  event.alert = alert;
  event.utilization = finite_or_zero(w.utilization);
  event.degraded = w.degraded;
  event.escalation = w.escalation;
  event.shed = shed_policy_of(w, self->state.settings);
  event.at = stamp(self->clock().now());
  auto alert_topic = is_alert_kind(kind);
  // Sent with the monitor as sender (subscribers are dynamically typed, so
  // the typed send() does not apply): the scheduler accepts degradation
  // events from its monitor only. Subscribers' handlers return nothing.
  for (const auto& sub : self->state.subscribers)
    if (alert_topic ? sub.topics.alerts : sub.topics.state_changes)
      caf::unsafe_send_as(self, sub.handle, monitor_event_atom::value, event);
}

void send_sample(self_ptr self, const TypeWatch& w) {
  UtilizationSample sample;
  sample.type = w.type;
  sample.utilization = finite_or_zero(w.utilization);
  sample.used = w.used;
  sample.capacity = w.capacity;
  sample.at = stamp(self->clock().now());
  for (const auto& sub : self->state.subscribers)
    if (sub.topics.samples)
      caf::anon_send(sub.handle, sample_atom::value, sample);
}

const pool_actor* pool_of(self_ptr self, ResourceType type) {
  const auto& pools = self->state.pools.pools;
  auto i = static_cast<std::size_t>(type);
  if (i >= pools.size() || !pools[i])
    return nullptr;
  return &pools[i];
}

/// Tells the type's pool what to shed now; remembers shedding pools so the
/// monitor's exit lifts their policies (see resource_monitor).
void send_shed(self_ptr self, const TypeWatch& w) {
  auto i = static_cast<std::size_t>(w.type);
  auto pool = pool_of(self, w.type);
  (*self->state.shedding)[i] = w.degraded && pool ? *pool : pool_actor{};
  if (pool)
    self->send(*pool, shed_atom::value,
               shed_policy_of(w, self->state.settings));
}

std::string shed_text(const TypeWatch& w, const MonitorSettings& s) {
  return std::string{"shedding "} +
         to_string(shed_policy_of(w, s).refuse_from) +
         " and lower priorities (requests refused, preemptable grants "
         "revoked)";
}

// -- transitions
// ------------------------------------------------------------------

void raise_threshold_alert(self_ptr self, TypeWatch& w) {
  auto alert = make_alert(
      w.rule.severity, w.type,
      type_name(w.type) + " utilization " + percent(w.utilization) +
          " reached the alert threshold " + percent(w.rule.threshold),
      w.rule.threshold);
  w.threshold_alert = alert;
  w.below_clear_since.reset();
  record(self, alert);
  tell(self, MonitorEventKind::alert_raised, w, alert);
}

void clear_threshold_alert(self_ptr self, TypeWatch& w) {
  auto alert = *w.threshold_alert;
  w.threshold_alert.reset();
  w.below_clear_since.reset();
  keep_state(self);
  tell(self, MonitorEventKind::alert_cleared, w, alert);
}

void enter_degraded(self_ptr self, TypeWatch& w, bool manual,
                    const std::string& reason, double threshold) {
  const auto& s = self->state.settings;
  w.degraded = true;
  w.manual = manual;
  w.escalation = 0;
  w.step_since = self->clock().now();
  w.above_enter_since.reset();
  w.below_exit_since.reset();
  auto alert =
      make_alert(Severity::CRITICAL, w.type,
                 type_name(w.type) + " entered degraded mode: " + reason +
                     "; " + shed_text(w, s),
                 threshold);
  w.degraded_alert = alert;
  record(self, alert);
  send_shed(self, w);
  tell(self, MonitorEventKind::alert_raised, w, alert);
  tell(self, MonitorEventKind::degraded_entered, w, alert);
}

/// Leaves degraded mode; `reason` empty: a reset (no INFO alert, but the
/// subscribers still hear of the change).
void leave_degraded(self_ptr self, TypeWatch& w, const std::string& reason) {
  const auto& s = self->state.settings;
  auto cleared = w.degraded_alert;
  w.degraded = false;
  w.manual = false;
  w.escalation = 0;
  w.degraded_alert.reset();
  w.below_exit_since.reset();
  // Entering again needs a whole new dwell above the threshold.
  if (w.observed && w.utilization > s.degrade_enter)
    w.above_enter_since = self->clock().now();
  else
    w.above_enter_since.reset();
  send_shed(self, w);
  if (cleared)
    tell(self, MonitorEventKind::alert_cleared, w, *cleared);
  if (reason.empty()) {
    tell(self, MonitorEventKind::degraded_left, w,
         cleared ? *cleared : ResourceAlert{});
    return;
  }
  auto info = make_alert(Severity::INFO, w.type,
                         type_name(w.type) + " left degraded mode: " + reason,
                         s.degrade_exit);
  record(self, info);
  tell(self, MonitorEventKind::alert_raised, w, info);
  tell(self, MonitorEventKind::degraded_left, w, info);
}

void escalate(self_ptr self, TypeWatch& w) {
  const auto& s = self->state.settings;
  ++w.escalation;
  w.step_since = self->clock().now();
  auto alert =
      make_alert(Severity::CRITICAL, w.type,
                 type_name(w.type) + " still degraded after " +
                     seconds_text(s.escalate_after) + " at " +
                     percent(w.utilization) + ": escalation step " +
                     std::to_string(w.escalation) + ", " + shed_text(w, s),
                 s.degrade_exit);
  w.degraded_alert = alert; // the active alert says what is shed now
  record(self, alert);
  send_shed(self, w);
  tell(self, MonitorEventKind::alert_raised, w, alert);
  tell(self, MonitorEventKind::escalated, w, alert);
}

/// Schedules a dwell check for the earliest moment a timed rule may fire,
/// unless an earlier check is already on its way.
void schedule_check(self_ptr self, TypeWatch& w) {
  const auto& s = self->state.settings;
  auto now = self->clock().now();
  std::optional<monitor_time> next;
  auto consider = [&](monitor_time t) {
    if (t > now && (!next || t < *next))
      next = t;
  };
  if (w.threshold_alert && w.below_clear_since)
    consider(*w.below_clear_since + s.clear_after);
  if (!w.degraded && w.above_enter_since)
    consider(*w.above_enter_since + s.degrade_after);
  if (w.degraded && w.below_exit_since)
    consider(*w.below_exit_since + s.recover_after);
  if (w.degraded && s.escalate_after.count() > 0 &&
      w.escalation < max_escalation(s) && w.utilization >= s.degrade_exit)
    consider(w.step_since + s.escalate_after);
  if (!next)
    return;
  if (!w.pending_checks.empty() && *w.pending_checks.begin() <= *next)
    return;
  w.pending_checks.insert(*next);
  self->delayed_send(self, *next - now, dwell_atom::value, w.type);
}

/// Applies every rule to the type's latest utilization at the current time.
void evaluate(self_ptr self, TypeWatch& w) {
  if (!w.observed)
    return;
  const auto& s = self->state.settings;
  auto now = self->clock().now();
  auto u = w.utilization;
  // Alerts: raised at once, cleared after clear_after below the clear level.
  if (!w.threshold_alert) {
    w.below_clear_since.reset();
    if (static_cast<float>(u) >= w.rule.threshold)
      raise_threshold_alert(self, w);
  } else if (below_clear_level(u, clear_level(w, s))) {
    if (!w.below_clear_since)
      w.below_clear_since = now;
    if (now - *w.below_clear_since >= s.clear_after)
      clear_threshold_alert(self, w);
  } else {
    w.below_clear_since.reset();
  }
  // Degradation: entered after degrade_after above degrade_enter, left after
  // recover_after below degrade_exit (not when entered by hand).
  if (!w.degraded) {
    w.below_exit_since.reset();
    if (u > s.degrade_enter) {
      if (!w.above_enter_since)
        w.above_enter_since = now;
      if (now - *w.above_enter_since >= s.degrade_after)
        enter_degraded(self, w, false,
                       "utilization " + percent(u) + " above " +
                           percent(s.degrade_enter) + " for " +
                           seconds_text(now - *w.above_enter_since),
                       s.degrade_enter);
    } else {
      w.above_enter_since.reset();
    }
  } else {
    w.above_enter_since.reset();
    if (!w.manual && u < s.degrade_exit) {
      if (!w.below_exit_since)
        w.below_exit_since = now;
      if (now - *w.below_exit_since >= s.recover_after)
        leave_degraded(self, w,
                       "utilization " + percent(u) + " below " +
                           percent(s.degrade_exit) + " for " +
                           seconds_text(now - *w.below_exit_since));
    } else {
      w.below_exit_since.reset();
    }
    // A degraded state that does not recover sheds more, step by step.
    if (w.degraded && s.escalate_after.count() > 0 &&
        w.escalation < max_escalation(s) && u >= s.degrade_exit &&
        now - w.step_since >= s.escalate_after)
      escalate(self, w);
  }
  schedule_check(self, w);
}

/// Adds an observation to the type's statistics (not to its rules).
void observe(self_ptr self, TypeWatch& w, double utilization, double used,
             double capacity, bool forward) {
  const auto& s = self->state.settings;
  auto now = self->clock().now();
  if (!w.observed) {
    w.observed = true;
    w.since = now;
    w.integral = 0;
    w.peak = utilization;
  } else {
    w.integral += w.utilization * seconds_between(w.last_change, now);
  }
  w.last_change = now;
  w.utilization = utilization;
  w.used = used;
  w.capacity = capacity;
  w.peak = std::max(w.peak, utilization);
  w.window.emplace_back(now, utilization);
  trim_window(w, now, s);
  if (forward)
    send_sample(self, w);
}

/// A pool's ledger (a poll's reply or the pool's own report).
void on_status(self_ptr self, const PoolStatus& status, bool forward) {
  if (!is_valid(status.type) || status.capacity <= 0)
    return;
  auto& w = watch_of(self, status.type);
  observe(self, w, status.utilization(),
          to_amount(status.held + status.reserved), to_amount(status.capacity),
          forward);
  evaluate(self, w);
}

void poll_pools(self_ptr self) {
  for (const auto& pool : self->state.pools.pools) {
    if (!pool)
      continue;
    self->request(pool, caf::infinite, status_atom::value)
        .then([=](const PoolStatus& status) { on_status(self, status, true); },
              [](const caf::error&) {
                // The pool is gone: the manager sends its replacement.
              });
  }
}

void listen_to(self_ptr self, const pool_actor& pool, bool on) {
  if (pool)
    self->send(pool, listen_atom::value, caf::actor_cast<caf::actor>(self), on);
}

void restart_polling(self_ptr self) {
  auto& st = self->state;
  ++st.poll_generation;
  self->send(self, poll_atom::value, st.poll_generation);
}

/// Takes up the alert state a previous run kept: rules, active alerts,
/// degraded modes (the pools shed again) and the history. Timers start over:
/// every dwell is judged afresh from the next observation.
void restore_state(self_ptr self, const MonitorKept& kept) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (const auto& t : kept.types) {
    auto& w = watch_of(self, static_cast<ResourceType>(t.type));
    if (t.own_rule) {
      w.own_rule = true;
      w.rule.threshold = t.rule_threshold;
      w.rule.severity = static_cast<Severity>(t.rule_severity);
    }
    if (t.threshold_alert)
      w.threshold_alert = alert_of(*t.threshold_alert);
    if (t.degraded) {
      w.degraded = true;
      w.manual = t.manual;
      w.escalation = std::min(t.escalation, max_escalation(st.settings));
      w.step_since = now;
      if (t.degraded_alert)
        w.degraded_alert = alert_of(*t.degraded_alert);
      send_shed(self, w);
    }
  }
  for (const auto& alert : kept.history)
    st.history.push_back(alert_of(alert));
  trim_history(st);
}

} // namespace

// -- validation of settings ---------------------------------------------------

caf::error check_settings(const MonitorSettings& s) {
  auto open_unit = [](double x) { return std::isfinite(x) && x > 0 && x < 1; };
  if (s.sample_interval.count() <= 0)
    return bad_setting("sample_interval must be above 0, got " +
                       std::to_string(s.sample_interval.count()) + " ns");
  if (!std::isfinite(s.clear_margin) || s.clear_margin < 0 ||
      s.clear_margin >= 1)
    return bad_setting("clear_margin must be a finite number in [0, 1), got " +
                       number(s.clear_margin));
  const std::pair<const char*, caf::timespan> dwells[] = {
      {"clear_after", s.clear_after},
      {"degrade_after", s.degrade_after},
      {"recover_after", s.recover_after},
      {"escalate_after", s.escalate_after}};
  for (const auto& [name, value] : dwells)
    if (value.count() < 0)
      return bad_setting(std::string{name} + " must not be negative, got " +
                         std::to_string(value.count()) + " ns");
  if (!open_unit(s.degrade_enter))
    return bad_setting("degrade_enter must be a finite number in (0, 1), got " +
                       number(s.degrade_enter));
  if (!open_unit(s.degrade_exit) || s.degrade_exit >= s.degrade_enter)
    return bad_setting("degrade_exit must be a finite number in (0, "
                       "degrade_enter), got " +
                       number(s.degrade_exit) + " with degrade_enter " +
                       number(s.degrade_enter));
  if (s.shed_from != Priority::IDLE && s.shed_from != Priority::LOW)
    return bad_setting("shed_from must be IDLE or LOW, got " +
                       std::to_string(static_cast<int>(s.shed_from)));
  if (s.trend_window.count() <= 0)
    return bad_setting("trend_window must be above 0, got " +
                       std::to_string(s.trend_window.count()) + " ns");
  if (s.history_limit < 1 || s.history_limit > max_history_limit)
    return bad_setting("history_limit must be in [1, 100000], got " +
                       std::to_string(s.history_limit));
  return caf::none;
}

// -- the actor
// ------------------------------------------------------------------

monitor_actor::behavior_type
resource_monitor(monitor_actor::stateful_pointer<monitor_state> self,
                 PoolDirectory pools, Config config, MonitorSettings settings,
                 std::string state_file) {
  auto& st = self->state;
  st.state_file = std::move(state_file);
  st.pools = std::move(pools);
  st.settings = settings;
  st.default_threshold = config.alert_threshold;
  st.types.resize(resource_type_count);
  for (auto type : all_resource_types) {
    auto& w = watch_of(self, type);
    w.type = type;
    w.capacity = config.capacity_of(type); // until the pool reports
    w.rule.type = type;
    w.rule.threshold = static_cast<float>(st.default_threshold);
    w.rule.severity = Severity::WARNING;
  }
  // A monitor that ends must not leave pools shedding for ever.
  self->attach_functor([shedding = st.shedding] {
    for (auto& pool : *shedding)
      if (pool)
        caf::anon_send(pool, shed_atom::value, ShedPolicy{});
  });
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const Subscriber& x) {
                                return x.handle.address() == msg.source;
                              }),
               subs.end());
  });
  if (!st.state_file.empty()) {
    // The node checked the file before it started (rros node); a file
    // damaged since is said and the monitor starts from nothing.
    auto loaded = load_monitor_state(st.state_file);
    if (auto failed = std::get_if<StorageError>(&loaded))
      std::cerr << "rros: the monitor's alert state is not restored: "
                << failed->text() << "\n";
    else if (const auto& kept = std::get<std::optional<MonitorKept>>(loaded))
      restore_state(self, *kept);
  }
  for (const auto& pool : st.pools.pools)
    listen_to(self, pool, true);
  restart_polling(self);
  return {
      [=](usage_atom, const PoolStatus& status) {
        // Reports come from the monitor's own pools, each about its own type.
        auto& st = self->state;
        auto sender = self->current_sender();
        if (!sender || !is_valid(status.type) ||
            st.pools.pools.size() != resource_type_count ||
            sender->address() != st.pools[status.type].address())
          return;
        on_status(self, status, false);
      },
      [=](pools_atom, PoolDirectory& directory) {
        auto& st = self->state;
        // Wiring from the manager: local senders only, complete directories
        // (reports are checked against it by type).
        if (!from_local(self) || directory.pools.size() != resource_type_count)
          return;
        for (const auto& old : st.pools.pools)
          if (old && std::find(directory.pools.begin(), directory.pools.end(),
                               old) == directory.pools.end())
            listen_to(self, old, false);
        st.pools = std::move(directory);
        for (const auto& pool : st.pools.pools)
          listen_to(self, pool, true);
        // A replacement pool starts without a shed policy.
        for (auto& w : st.types)
          if (w.degraded)
            send_shed(self, w);
        poll_pools(self);
      },
      [=](settings_atom,
          const MonitorSettings& update) -> caf::result<MonitorSettings> {
        if (!may_administer(self))
          return admin_refused("the monitor's settings");
        if (auto err = check_settings(update))
          return err;
        auto& st = self->state;
        auto before = st.settings;
        st.settings = update;
        if (before.sample_interval != update.sample_interval)
          restart_polling(self);
        if (trim_history(st))
          keep_state(self);
        auto now = self->clock().now();
        for (auto& w : st.types) {
          trim_window(w, now, update);
          if (!w.degraded)
            continue;
          w.escalation = std::min(w.escalation, max_escalation(update));
          send_shed(self, w); // shed_from may have changed
        }
        for (auto& w : st.types)
          evaluate(self, w);
        return update;
      },
      [=](settings_atom) { return self->state.settings; },
      [=](config_atom,
          const Config& update) -> caf::result<std::vector<AlertRule>> {
        if (!may_administer(self))
          return admin_refused("the monitor's configuration");
        if (auto err = check_threshold(update.alert_threshold))
          return err;
        auto& st = self->state;
        st.default_threshold = update.alert_threshold;
        std::vector<AlertRule> rules;
        for (auto& w : st.types) {
          // The manager sends the configuration once every pool took its
          // new capacity and before it replies to the caller; the pool's own
          // report may come later. adapt_to_load converts with it from now.
          auto capacity = update.capacity_of(w.type);
          if (std::isfinite(capacity) && capacity > 0)
            w.capacity = capacity;
          if (!w.own_rule)
            w.rule.threshold = static_cast<float>(st.default_threshold);
          evaluate(self, w);
          rules.push_back(w.rule);
        }
        return rules;
      },
      [=](threshold_atom, const AlertRule& rule) -> caf::result<AlertRule> {
        if (!may_administer(self))
          return admin_refused("an alert threshold");
        if (auto err = check_type(rule.type))
          return err;
        if (auto err = check_threshold(rule.threshold))
          return err;
        if (rule.severity > Severity::CRITICAL)
          return bad_setting("alert severity must be INFO, WARNING or "
                             "CRITICAL, got " +
                             std::to_string(static_cast<int>(rule.severity)));
        auto& w = watch_of(self, rule.type);
        w.rule = rule;
        w.own_rule = true;
        keep_state(self);
        evaluate(self, w);
        return rule;
      },
      [=](subscribe_atom, caf::actor& subscriber,
          const MonitorTopics& topics) -> caf::result<MonitorTopics> {
        if (auto err = check_handle(subscriber, "subscriber"))
          return err;
        if (auto err = check_subscriber(self, subscriber, topics.any()))
          return err;
        auto& subs = self->state.subscribers;
        auto i =
            std::find_if(subs.begin(), subs.end(), [&](const Subscriber& x) {
              return x.handle == subscriber;
            });
        // Another node's subscriptions are bounded (its own are not).
        if (topics.any() && i == subs.end() &&
            subscriber.node() != self->node() &&
            std::count_if(subs.begin(), subs.end(), [&](const Subscriber& x) {
              return x.handle.node() == subscriber.node();
            }) >= static_cast<long>(max_subscriptions_per_node))
          return make_error(ec::limit_exceeded,
                            "at most " +
                                std::to_string(max_subscriptions_per_node) +
                                " monitor subscriptions per other node");
        if (!topics.any()) {
          if (i != subs.end()) {
            self->demonitor(subscriber);
            subs.erase(i);
          }
        } else if (i != subs.end()) {
          i->topics = topics;
        } else {
          self->monitor(subscriber);
          subs.push_back(Subscriber{std::move(subscriber), topics});
        }
        return topics;
      },
      [=](degrade_atom, ResourceType type,
          bool on) -> caf::result<TypeMonitorView> {
        if (!may_administer(self))
          return admin_refused("degradation by hand");
        if (auto err = check_type(type))
          return err;
        auto& w = watch_of(self, type);
        if (on && !w.degraded)
          enter_degraded(self, w, true, "entered by hand", 0.0);
        else if (on && !w.manual) {
          w.manual = true; // pinned: only a manual exit ends it now
          keep_state(self);
        } else if (w.degraded)
          leave_degraded(self, w, "left by hand");
        schedule_check(self, w);
        return view_of(self, w);
      },
      [=](adapt_atom, const LoadReport& report)
          -> caf::result<std::vector<TypeMonitorView>> {
        // Check everything first: a bad entry changes nothing.
        for (const auto& [type, value] : report.loads) {
          if (auto err = check_type(type))
            return err;
          if (auto err =
                  check_quantity(value, "the load of " + type_name(type) +
                                            " (in its own units)"))
            return err;
          auto capacity = watch_of(self, type).capacity;
          if (!std::isfinite(capacity) || capacity <= 0)
            return make_error(ec::pool_unavailable, "the capacity of " +
                                                        type_name(type) +
                                                        " is not known");
        }
        const auto& s = self->state.settings;
        for (auto type : all_resource_types) {
          auto entry = report.loads.find(type);
          if (entry == report.loads.end())
            continue;
          auto& w = watch_of(self, type);
          auto load = static_cast<double>(entry->second);
          // Loads are in the type's own units: above capacity is above 1.
          auto u = load / w.capacity;
          observe(self, w, u, load, w.capacity, true);
          if (u > s.degrade_enter && !w.degraded)
            enter_degraded(self, w, false,
                           "reported load " + amount_text(load) + " of " +
                               amount_text(w.capacity) + " (" + percent(u) +
                               ") above " + percent(s.degrade_enter),
                           s.degrade_enter);
          else if (u < s.degrade_exit && w.degraded)
            leave_degraded(self, w,
                           "reported load " + amount_text(load) + " of " +
                               amount_text(w.capacity) + " (" + percent(u) +
                               ") below " + percent(s.degrade_exit));
          evaluate(self, w);
        }
        return views_of(self);
      },
      [=](status_atom) { return views_of(self); },
      [=](alerts_atom) {
        std::vector<ResourceAlert> result;
        for (const auto& w : self->state.types) {
          if (w.threshold_alert)
            result.push_back(*w.threshold_alert);
          if (w.degraded_alert)
            result.push_back(*w.degraded_alert);
        }
        return result;
      },
      [=](history_atom) { return self->state.history; },
      [=](is_degraded_atom) {
        const auto& types = self->state.types;
        return std::any_of(types.begin(), types.end(),
                           [](const TypeWatch& w) { return w.degraded; });
      },
      [=](reset_atom) -> caf::result<std::vector<TypeMonitorView>> {
        if (!may_administer(self))
          return admin_refused("a reset of the monitor");
        auto& st = self->state;
        auto now = self->clock().now();
        for (auto& w : st.types) {
          if (w.threshold_alert)
            clear_threshold_alert(self, w);
          if (w.degraded)
            leave_degraded(self, w, "");
          // Judged again from the next observation, with fresh statistics.
          w.below_clear_since.reset();
          w.above_enter_since.reset();
          w.below_exit_since.reset();
          w.since = now;
          w.last_change = now;
          w.integral = 0;
          w.peak = w.utilization;
          w.window.clear();
        }
        st.history.clear();
        keep_state(self);
        return views_of(self);
      },
      [=](poll_atom, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.poll_generation)
          return; // the interval changed since
        if (st.state_dirty)
          write_state(self);
        poll_pools(self);
        self->delayed_send(self, st.settings.sample_interval, poll_atom::value,
                           generation);
      },
      [=](dwell_atom, ResourceType type) {
        if (!is_valid(type))
          return;
        auto& w = watch_of(self, type);
        auto now = self->clock().now();
        w.pending_checks.erase(w.pending_checks.begin(),
                               w.pending_checks.upper_bound(now));
        evaluate(self, w);
      },
  };
}

monitor_actor spawn_monitor(caf::actor_system& sys, PoolDirectory pools,
                            const Config& config, MonitorSettings settings,
                            std::string state_file) {
  if (auto err = check_settings(settings))
    throw Error(ec::invalid_config_value, context_of(err));
  if (auto err = check_threshold(config.alert_threshold))
    throw Error(ec::invalid_config_value, context_of(err));
  return sys.spawn(resource_monitor, std::move(pools), config, settings,
                   std::move(state_file));
}

} // namespace rros
