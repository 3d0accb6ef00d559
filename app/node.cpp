// `rros node` and `rros status`.
#include <chrono>
#include <csignal>
#include <ctime>
#include <future>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/manager.hpp"
#include "app/commands.hpp"
#include "app/metrics_endpoint.hpp"
#include "app/report.hpp"
#include "messages/monitor_messages.hpp"
#include "messages/scheduler_messages.hpp"

namespace rros::app {

namespace {

using resubscribe_atom = caf::atom_constant<caf::atom("resub")>;

std::string wall_clock_text() {
  auto now = std::chrono::system_clock::to_time_t(wall_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &local);
  return buf;
}

/// One line per monitor event.
std::string describe_event(const MonitorEvent& event) {
  std::ostringstream out;
  out << wall_clock_text() << " " << to_string(event.type) << " ";
  switch (event.kind) {
    case MonitorEventKind::alert_raised:
      out << "alert " << to_string(event.alert.severity) << ": "
          << event.alert.message;
      break;
    case MonitorEventKind::alert_cleared:
      out << "alert cleared";
      break;
    case MonitorEventKind::degraded_entered:
      out << "degraded: refusing " << to_string(event.shed.refuse_from)
          << " and lower priorities";
      break;
    case MonitorEventKind::degraded_left:
      out << "recovered from degraded mode";
      break;
    case MonitorEventKind::escalated:
      out << "degradation escalated (step " << event.escalation
          << "): refusing " << to_string(event.shed.refuse_from)
          << " and lower priorities";
      break;
  }
  out << " (utilization " << std::fixed << std::setprecision(1)
      << event.utilization * 100 << "%)";
  return out.str();
}

struct printer_state {
  monitor_actor monitor;
  static inline const char* name = "rros.node.events";
};

/// Subscribes to the manager's monitor and prints its alerts and state
/// changes; subscribes again when the manager replaces a crashed monitor.
caf::behavior event_printer(caf::stateful_actor<printer_state>* self,
                            manager_actor manager) {
  self->set_down_handler([=](caf::down_msg& msg) {
    if (msg.source == self->state.monitor.address())
      self->delayed_send(self, std::chrono::milliseconds(200),
                         resubscribe_atom::value);
  });
  self->send(self, resubscribe_atom::value);
  return {
      [=](resubscribe_atom) {
        self->request(manager, std::chrono::seconds(10), subsystems_atom::value)
            .then(
                [=](const Subsystems& sub) {
                  if (!sub.monitor) {
                    self->delayed_send(self, std::chrono::milliseconds(200),
                                       resubscribe_atom::value);
                    return;
                  }
                  self->state.monitor = sub.monitor;
                  self->monitor(sub.monitor);
                  self->send(sub.monitor, subscribe_atom::value,
                             caf::actor_cast<caf::actor>(self),
                             MonitorTopics{false, true, true});
                },
                [=](caf::error& err) {
                  std::cerr << "rros node: cannot subscribe to the monitor: "
                            << describe(err) << std::endl;
                });
      },
      [=](const MonitorTopics&) {
        // The monitor's reply to the subscription.
      },
      [=](monitor_event_atom, const MonitorEvent& event) {
        std::cerr << "rros node: " << describe_event(event) << std::endl;
      },
  };
}

} // namespace

int run_node(const NodeOptions& opts) {
  NodeFileSettings file_settings;
  auto config = load_node_config(opts.config_path, file_settings);
  if (!config) {
    std::cerr << "rros node: " << describe(config.error()) << "\n";
    return 2;
  }
  // Block the shutdown signals before CAF starts its threads, so that they
  // inherit the mask and only sigwait() below sees the signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto manager = spawn_manager(sys, *config);
  if (opts.publish) {
    // No address reuse: a port another process listens on must fail here.
    auto port =
        sys.middleman().publish(manager, opts.port, opts.host.c_str(), false);
    if (!port) {
      std::cerr << "rros node: cannot publish on " << opts.host << ":"
                << opts.port << " (port in use or address not available): "
                << describe(port.error()) << "\n";
      caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
      return 2;
    }
    std::cout << "rros node: manager published on " << opts.host << ":" << *port
              << std::endl;
  } else {
    std::cout
        << "rros node: manager running (not published; use --port to publish)"
        << std::endl;
  }
  auto metrics_port =
      opts.metrics_port >= 0 ? opts.metrics_port : file_settings.metrics_port;
  std::unique_ptr<MetricsEndpoint> metrics;
  if (metrics_port >= 0) {
    auto endpoint = MetricsEndpoint::start(
        sys, manager, opts.host, static_cast<std::uint16_t>(metrics_port),
        std::chrono::duration_cast<caf::timespan>(
            std::chrono::duration<double>(opts.metrics_interval)));
    if (!endpoint) {
      std::cerr << "rros node: " << context_of(endpoint.error()) << "\n";
      caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
      return 2;
    }
    metrics = std::move(*endpoint);
    std::cout << "rros node: metrics on http://" << opts.host << ":"
              << metrics->port() << "/metrics" << std::endl;
  }
  for (auto type : all_resource_types)
    std::cerr << "rros node: pool " << to_string(type) << " capacity "
              << std::setprecision(15) << config->capacity_of(type) << "\n";
  caf::actor printer;
  if (!opts.quiet)
    printer = sys.spawn(event_printer, manager);
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "rros node: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
            << ", shutting down\n";
  if (printer)
    caf::anon_send_exit(printer, caf::exit_reason::user_shutdown);
  metrics.reset();
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  return 0;
}

// -- status
// -------------------------------------------------------------------

namespace {

/// What `rros status` shows, gathered in one round of queries.
struct NodeView {
  std::vector<PoolStatus> pools;
  std::vector<ResourceAlert> alerts;
  std::vector<TypeMonitorView> types;
  bool monitor_running = false;
  bool scheduler_running = false;
  SchedulerStats scheduler;
  std::vector<PendingTask> tasks; // queued, in dispatch order
};

/// Asks `dest` and waits at most `timeout`; the error names the query.
template <class Result, class Handle, class... Ts>
caf::expected<Result> query(caf::scoped_actor& self, const Handle& dest,
                            caf::timespan timeout, const char* what,
                            Ts&&... xs) {
  caf::expected<Result> result{caf::sec::unexpected_response};
  self->request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](Result& reply) { result = std::move(reply); },
               [&](caf::error& err) {
                 // The node's own errors pass; CAF's mean it was not reached.
                 if (err.category() == caf::atom("rros"))
                   result = std::move(err);
                 else
                   result =
                       make_error(ec::not_connected,
                                  std::string{what} + ": " + describe(err));
               });
  return result;
}

caf::expected<NodeView> gather(caf::scoped_actor& self,
                               const manager_actor& manager,
                               caf::timespan timeout) {
  NodeView view;
  auto pools = query<std::vector<PoolStatus>>(
      self, manager, timeout, "pool status", status_atom::value);
  if (!pools)
    return pools.error();
  view.pools = std::move(*pools);
  auto sub = query<Subsystems>(self, manager, timeout, "subsystems",
                               subsystems_atom::value);
  if (!sub)
    return sub.error();
  view.scheduler_running = static_cast<bool>(sub->scheduler);
  if (sub->scheduler) {
    auto scheduler = sub->scheduler;
    auto stats = query<SchedulerStats>(self, scheduler, timeout,
                                       "scheduler stats", stats_atom::value);
    if (!stats)
      return stats.error();
    auto tasks = query<std::vector<PendingTask>>(
        self, scheduler, timeout, "scheduler tasks", pending_atom::value);
    if (!tasks)
      return tasks.error();
    view.scheduler = std::move(*stats);
    view.tasks = std::move(*tasks);
  }
  if (sub->monitor) {
    auto monitor = sub->monitor;
    auto alerts = query<std::vector<ResourceAlert>>(
        self, monitor, timeout, "monitor alerts", alerts_atom::value);
    if (!alerts)
      return alerts.error();
    auto types = query<std::vector<TypeMonitorView>>(
        self, monitor, timeout, "monitor status", status_atom::value);
    if (!types)
      return types.error();
    view.monitor_running = true;
    view.alerts = std::move(*alerts);
    view.types = std::move(*types);
  }
  return view;
}

void print_text(std::ostream& out, const StatusOptions& opts,
                const NodeView& view) {
  out << "node " << opts.host << ":" << opts.port << "\n";
  print_pool_table(out, view.pools);
  if (!view.monitor_running) {
    out << "alerts: monitor not running\n";
  } else if (view.alerts.empty()) {
    out << "alerts: none\n";
  } else {
    out << "alerts:\n";
    for (const auto& alert : view.alerts)
      out << "  " << std::left << std::setw(9) << to_string(alert.severity)
          << std::setw(14) << to_string(alert.resource_type) << alert.message
          << "\n";
  }
  if (view.monitor_running) {
    std::ostringstream degraded;
    for (const auto& type : view.types)
      if (type.degraded) {
        degraded << "  " << std::left << std::setw(14) << to_string(type.type)
                 << "refusing " << to_string(type.shed.refuse_from)
                 << " and lower priorities";
        if (type.escalation > 0)
          degraded << ", escalation step " << type.escalation;
        if (type.manual)
          degraded << " (entered by hand)";
        degraded << "\n";
      }
    if (degraded.str().empty())
      out << "degraded: none\n";
    else
      out << "degraded:\n" << degraded.str();
  }
  if (!view.scheduler_running) {
    out << "scheduler: not running\n";
    return;
  }
  const auto& st = view.scheduler;
  out << "scheduler: " << st.pending_tasks << " pending";
  if (st.pending_tasks > 0 && st.pending_by_priority.size() == 5) {
    out << " (";
    for (std::size_t i = 0; i < 5; ++i)
      out << (i ? ", " : "") << to_string(static_cast<Priority>(i)) << " "
          << st.pending_by_priority[i];
    out << ")";
  }
  out << ", " << st.running << " running; " << st.completed << " completed, "
      << st.failed << " failed, " << st.missed << " missed deadlines, "
      << st.preempted << " preempted"
      << (st.degraded ? "; deferring under degradation" : "") << "\n";
  constexpr std::size_t shown = 10;
  for (std::size_t i = 0; i < view.tasks.size() && i < shown; ++i) {
    const auto& task = view.tasks[i];
    out << "  " << std::left << std::setw(24) << task.task_id << std::setw(9)
        << to_string(task.priority) << "cost " << task.cost;
    if (task.deadline.count() > 0)
      out << ", deadline in " << std::fixed << std::setprecision(2)
          << std::chrono::duration<double>(task.deadline).count() << " s";
    out << "\n";
  }
  if (view.tasks.size() > shown)
    out << "  ... and " << view.tasks.size() - shown << " more\n";
}

std::string to_json(const StatusOptions& opts, const NodeView& view) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("node");
  auto endpoint = opts.host + ":" + std::to_string(opts.port);
  w.String(endpoint.c_str());
  w.Key("pools");
  w.StartArray();
  for (const auto& pool : view.pools) {
    w.StartObject();
    w.Key("type");
    w.String(to_string(pool.type));
    w.Key("capacity");
    w.Double(to_amount(pool.capacity));
    w.Key("held");
    w.Double(to_amount(pool.held));
    w.Key("reserved");
    w.Double(to_amount(pool.reserved));
    w.Key("available");
    w.Double(to_amount(pool.available));
    w.Key("utilization");
    w.Double(pool.utilization());
    w.Key("holders");
    w.Uint(pool.holders);
    w.Key("waiting");
    w.Uint(pool.waiting);
    w.EndObject();
  }
  w.EndArray();
  w.Key("monitor_running");
  w.Bool(view.monitor_running);
  w.Key("alerts");
  w.StartArray();
  for (const auto& alert : view.alerts) {
    w.StartObject();
    w.Key("severity");
    w.String(to_string(alert.severity));
    w.Key("type");
    w.String(to_string(alert.resource_type));
    w.Key("message");
    w.String(alert.message.c_str());
    w.Key("threshold");
    w.Double(alert.threshold_violated);
    w.EndObject();
  }
  w.EndArray();
  w.Key("degraded");
  w.StartArray();
  for (const auto& type : view.types) {
    if (!type.degraded)
      continue;
    w.StartObject();
    w.Key("type");
    w.String(to_string(type.type));
    w.Key("refuse_from");
    w.String(to_string(type.shed.refuse_from));
    w.Key("escalation");
    w.Uint(type.escalation);
    w.Key("manual");
    w.Bool(type.manual);
    w.EndObject();
  }
  w.EndArray();
  w.Key("scheduler");
  w.StartObject();
  w.Key("active");
  w.Bool(view.scheduler_running);
  if (view.scheduler_running) {
    const auto& st = view.scheduler;
    w.Key("pending");
    w.Uint64(st.pending_tasks);
    w.Key("running");
    w.Uint64(st.running);
    w.Key("completed");
    w.Uint64(st.completed);
    w.Key("failed");
    w.Uint64(st.failed);
    w.Key("missed");
    w.Uint64(st.missed);
    w.Key("preempted");
    w.Uint64(st.preempted);
    w.Key("tasks");
    w.StartArray();
    for (const auto& task : view.tasks) {
      w.StartObject();
      w.Key("id");
      w.String(task.task_id.c_str());
      w.Key("priority");
      w.String(to_string(task.priority));
      w.Key("cost");
      w.Double(task.cost);
      w.Key("deadline_s");
      w.Double(std::chrono::duration<double>(task.deadline).count());
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  w.EndObject();
  return buf.GetString();
}

} // namespace

int run_status(const StatusOptions& opts) {
  auto timeout = std::chrono::duration_cast<caf::timespan>(
      std::chrono::duration<double>(opts.timeout));
  auto endpoint = opts.host + ":" + std::to_string(opts.port);
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  // CAF's connect blocks without a bound (a silent host would hang it), so
  // it runs aside and the wait is bounded here.
  auto pending = std::async(std::launch::async, [&] {
    return sys.middleman().remote_actor<manager_actor>(opts.host, opts.port);
  });
  if (pending.wait_for(timeout) != std::future_status::ready) {
    std::cerr << "rros status: cannot reach a manager at " << endpoint
              << ": no answer within " << opts.timeout << " s" << std::endl;
    std::_Exit(2); // the connect thread cannot be interrupted
  }
  auto manager = pending.get();
  if (!manager) {
    std::cerr << "rros status: cannot reach a manager at " << endpoint
              << " (nothing listening, unreachable, or not an rros node): "
              << describe(manager.error()) << "\n";
    return 2;
  }
  caf::scoped_actor self{sys};
  bool tty = ::isatty(STDOUT_FILENO);
  for (int round = 1;; ++round) {
    auto view = gather(self, *manager, timeout);
    if (!view) {
      std::cerr << "rros status: " << endpoint << ": "
                << context_of(view.error()) << "\n";
      return 2;
    }
    if (opts.json) {
      std::cout << to_json(opts, *view) << std::endl;
    } else {
      if (opts.watch && tty)
        std::cout << "\x1b[H\x1b[2J"; // clear the screen between refreshes
      else if (opts.watch && round > 1)
        std::cout << "\n";
      if (opts.watch)
        std::cout << wall_clock_text() << "  ";
      print_text(std::cout, opts, *view);
      std::cout << std::flush;
    }
    if (!opts.watch || (opts.count > 0 && round >= opts.count))
      break;
    std::this_thread::sleep_for(std::chrono::duration<double>(opts.interval));
  }
  return 0;
}

} // namespace rros::app
