// `rros node` and `rros status`.
#include <chrono>
#include <csignal>
#include <ctime>
#include <future>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/manager.hpp"
#include "actors/sender_checks.hpp"
#include "app/commands.hpp"
#include "app/connect.hpp"
#include "app/metrics_endpoint.hpp"
#include "app/node_cluster.hpp"
#include "app/report.hpp"
#include "app/tls.hpp"
#include "core/kept_state.hpp"
#include "facade/connection_liveness.hpp"
#include "messages/format.hpp"
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

/// An alert's message without its leading type name (the line names it).
std::string message_of(const ResourceAlert& alert) {
  std::string type = to_string(alert.resource_type);
  const auto& text = alert.message;
  if (text.size() > type.size() && text.compare(0, type.size(), type) == 0 &&
      text[type.size()] == ' ')
    return text.substr(type.size() + 1);
  return text;
}

/// One line per monitor event.
std::string describe_event(const MonitorEvent& event) {
  std::ostringstream out;
  out << wall_clock_text() << " " << to_string(event.type) << " ";
  switch (event.kind) {
    case MonitorEventKind::alert_raised:
      out << "alert " << to_string(event.alert.severity) << ": "
          << message_of(event.alert);
      break;
    case MonitorEventKind::alert_cleared:
      out << "alert cleared (was " << to_string(event.alert.severity) << ": "
          << message_of(event.alert) << ")";
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

/// How much the node says on stderr (--log-level; --quiet is "error").
enum class LogLevel { error, warning, info, debug };

LogLevel log_level_of(const NodeOptions& opts) {
  if (opts.quiet || opts.log_level == "error")
    return LogLevel::error;
  if (opts.log_level == "warning")
    return LogLevel::warning;
  if (opts.log_level == "debug")
    return LogLevel::debug;
  return LogLevel::info;
}

/// The least level at which an event is printed.
LogLevel level_of(const MonitorEvent& event) {
  switch (event.kind) {
    case MonitorEventKind::alert_raised:
      return event.alert.severity == ResourceAlert::Severity::INFO
                 ? LogLevel::info
                 : LogLevel::warning;
    case MonitorEventKind::alert_cleared:
      return LogLevel::info;
    default:
      return LogLevel::warning; // degradation entered, escalated, left
  }
}

struct printer_state {
  monitor_actor monitor;
  LogLevel level = LogLevel::info;
  // Per type, the alert that stands for its degraded state: its clearing is
  // said by the "recovered" line, so it is not printed a second time.
  std::map<ResourceType, std::string> degraded_alert;
  static inline const char* name = "rros.node.events";
};

/// Subscribes to the manager's monitor and prints its alerts and state
/// changes; subscribes again when the manager replaces a crashed monitor.
caf::behavior event_printer(caf::stateful_actor<printer_state>* self,
                            manager_actor manager, LogLevel level) {
  self->state.level = level;
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
                             MonitorTopics{self->state.level == LogLevel::debug,
                                           true, true});
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
        auto& st = self->state;
        switch (event.kind) {
          case MonitorEventKind::degraded_entered:
          case MonitorEventKind::escalated:
            st.degraded_alert[event.type] = event.alert.message;
            break;
          case MonitorEventKind::degraded_left:
            st.degraded_alert.erase(event.type);
            break;
          case MonitorEventKind::alert_cleared: {
            auto i = st.degraded_alert.find(event.type);
            if (i != st.degraded_alert.end() &&
                i->second == event.alert.message)
              return; // the "recovered" line that follows says it
            break;
          }
          default:
            break;
        }
        if (level_of(event) <= st.level)
          std::cerr << "rros node: " << describe_event(event) << std::endl;
      },
      [=](sample_atom, const UtilizationSample& sample) {
        std::cerr << "rros node: " << wall_clock_text() << " "
                  << to_string(sample.type)
                  << " sample: " << amount_text(sample.type, sample.used)
                  << " of " << amount_text(sample.type, sample.capacity) << " ("
                  << std::fixed << std::setprecision(1)
                  << sample.utilization * 100 << "%)" << std::endl;
      },
  };
}

} // namespace

/// The data directory's settings, after locking it and reading what it keeps
/// (reported in one line); nothing when it cannot be used (said on stderr).
std::optional<std::shared_ptr<const StorageSettings>>
prepare_storage(const NodeOptions& opts, DirectoryLock& lock,
                std::string& summary) {
  auto settings = std::make_shared<StorageSettings>();
  settings->dir = !opts.data_dir.empty()   ? opts.data_dir
                  : opts.node_name.empty() ? std::string{"rros-data"}
                                           : "rros-data-" + opts.node_name;
  settings->journal.sync =
      opts.sync_per_record ? SyncMode::per_record : SyncMode::group;
  settings->journal.snapshot_every = opts.snapshot_every;
  settings->group_interval = timespan_of(opts.group_commit);
  settings->reattach_grace = timespan_of(opts.reattach_grace);
  if (auto failed = DirectoryLock::acquire(settings->dir, lock)) {
    std::cerr << "rros node: " << failed->file << ": " << failed->message
              << "\n";
    return std::nullopt;
  }
  std::size_t grants = 0;
  std::size_t reservations = 0;
  std::size_t replayed = 0;
  for (auto type : all_resource_types) {
    auto read = recover_books(pool_files(settings->dir, type));
    if (auto failed = std::get_if<StorageError>(&read)) {
      std::cerr << "rros node: cannot recover the books: " << failed->text()
                << "\n";
      return std::nullopt;
    }
    const auto& found = std::get<RecoveredBooks>(read);
    // Ids are unique across the node's pools, also across restarts: every
    // pool's new ids start above every kept id of any pool.
    skip_incarnations_past(incarnation_of(found.books.highest_id));
    grants += found.books.leases.size();
    reservations += found.books.reservations.size();
    replayed += found.replayed;
  }
  // The monitor's and predictor's files: a damaged one stops the node
  // here, like a damaged log.
  auto monitor_kept = load_monitor_state(monitor_state_file(settings->dir));
  auto predictor_kept =
      load_predictor_state(predictor_state_file(settings->dir));
  for (const auto* failed : {std::get_if<StorageError>(&monitor_kept),
                             std::get_if<StorageError>(&predictor_kept)})
    if (failed != nullptr) {
      std::cerr << "rros node: cannot recover the books: " << failed->text()
                << "\n";
      return std::nullopt;
    }
  std::size_t degraded = 0;
  std::size_t alerts = 0;
  if (const auto& kept = std::get<std::optional<MonitorKept>>(monitor_kept))
    for (const auto& t : kept->types) {
      degraded += t.degraded ? 1 : 0;
      alerts += (t.threshold_alert ? 1 : 0) + (t.degraded_alert ? 1 : 0);
    }
  std::size_t series = 0;
  if (const auto& kept = std::get<std::optional<PredictorKept>>(predictor_kept))
    series = kept->series.size();
  std::ostringstream out;
  out << "rros node: books kept in " << settings->dir << " ("
      << (opts.sync_per_record ? "fsync per record" : "group commit")
      << "); recovered " << grants << " grants and " << reservations
      << " reservations (" << replayed << " log records replayed), " << alerts
      << " active alerts, " << degraded << " degraded types and " << series
      << " forecast series"
      << (grants > 0 ? ", waiting " + format_number(opts.reattach_grace) +
                           " s for their holders to reattach"
                     : std::string{});
  summary = out.str();
  return std::shared_ptr<const StorageSettings>{std::move(settings)};
}

/// The flags, with what they leave unset taken from the configuration
/// file's keys (a flag wins over a key).
NodeOptions with_file_settings(NodeOptions opts, const NodeFileSettings& file) {
  if (opts.node_name.empty())
    opts.node_name = file.node_name;
  if (!opts.cluster_from_flag && !file.cluster_name.empty())
    opts.cluster_name = file.cluster_name;
  if (opts.join.empty())
    opts.join = file.join;
  if (opts.data_dir.empty())
    opts.data_dir = file.data_dir;
  if (!opts.heartbeat_from_flag && file.heartbeat_interval > 0)
    opts.heartbeat_interval = file.heartbeat_interval;
  if (!opts.timeout_from_flag && file.connection_timeout > 0)
    opts.connection_timeout = file.connection_timeout;
  return opts;
}

int run_node(const NodeOptions& flags) {
  NodeFileSettings file_settings;
  auto config = load_node_config(flags.config_path, file_settings);
  if (!config) {
    std::cerr << "rros node: " << describe(config.error()) << "\n";
    return 2;
  }
  auto opts = with_file_settings(flags, file_settings);
  if (opts.connection_timeout <= opts.heartbeat_interval) {
    std::cerr << "rros node: the connection timeout ("
              << format_number(opts.connection_timeout)
              << " s) must be longer than the heartbeat interval ("
              << format_number(opts.heartbeat_interval)
              << " s): a healthy peer would be cut between two heartbeats\n";
    return 2;
  }
  // TLS files from the flags, else from the configuration file.
  auto tls = opts.tls.enabled() ? opts.tls : file_settings.tls;
  if (tls.enabled()) {
    if (auto err = check_tls_files(tls)) {
      std::cerr << "rros node: " << context_of(err) << "\n";
      return 2;
    }
  } else if (!is_loopback_host(opts.host) && !opts.insecure) {
    std::cerr << "rros node: refusing to serve " << opts.host
              << " in plaintext: give --tls-cert, --tls-key and --tls-ca (or "
                 "--insecure on a network you trust)\n";
    return 2;
  }
  if (auto problem = cluster_flags_problem(opts)) {
    std::cerr << "rros node: " << *problem << "\n";
    return 2;
  }
  // The data directory: locked for this process, checked before anything
  // starts (a damaged file stops the node with one line, nothing guessed).
  DirectoryLock data_lock;
  std::shared_ptr<const StorageSettings> storage;
  std::string storage_summary;
  if (opts.persist) {
    auto prepared = prepare_storage(opts, data_lock, storage_summary);
    if (!prepared)
      return 2;
    storage = std::move(*prepared);
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
  configure_network(cfg, tls);
  // Peers that hang are cut after the timeout; their grants come back as
  // for a closed connection (facade/connection_liveness.hpp).
  set_connection_liveness(cfg, {timespan_of(opts.heartbeat_interval),
                                timespan_of(opts.connection_timeout)});
  // Served on loopback only, every peer is a process of this machine: the
  // "local connection" that may administer (docs/security.md).
  if (is_loopback_host(opts.host))
    caf::put(cfg.content, admin_from_peers_key, true);
  caf::actor_system sys{cfg};
  auto manager = spawn_manager(sys, *config, storage);
  std::uint16_t published_port = 0;
  if (opts.publish) {
    // No address reuse: a port another process listens on must fail here.
    auto port = publish_on(manager, opts.port, opts.host, tls.enabled());
    if (!port) {
      std::cerr << "rros node: cannot publish on " << opts.host << ":"
                << opts.port << " (port in use or address not available): "
                << describe(port.error()) << "\n";
      caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
      return 2;
    }
    std::cout << "rros node: manager published on " << opts.host << ":" << *port
              << (tls.enabled() ? " (TLS: peers need a certificate of the CA " +
                                      tls.ca + ")"
                  : is_loopback_host(opts.host)
                      ? std::string{" (plaintext, loopback only: no TLS "
                                    "certificates)"}
                      : std::string{" (plaintext, --insecure: anyone who "
                                    "reaches this address is a client and "
                                    "can read the traffic)"})
              << std::endl;
    published_port = *port;
  } else {
    std::cout
        << "rros node: manager running (not published; use --port to publish)"
        << std::endl;
  }
  // After the first line, which scripts read for the port.
  if (!storage_summary.empty())
    std::cout << storage_summary << std::endl;
  std::optional<NodeMembership> member;
  if (!opts.node_name.empty()) {
    member = start_membership(sys, opts, published_port, tls, manager);
    if (!member) {
      caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
      return 2;
    }
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
  auto level = log_level_of(opts);
  if (level >= LogLevel::info)
    for (auto type : all_resource_types)
      std::cerr << "rros node: pool " << to_string(type) << " capacity "
                << (type == ResourceType::MEMORY
                        ? binary_bytes(config->capacity_of(type))
                        : plain_number(config->capacity_of(type)))
                << "\n";
  caf::actor printer;
  if (level > LogLevel::error)
    printer = sys.spawn(event_printer, manager, level);
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "rros node: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
            << ", shutting down\n";
  if (member) {
    // Drain: no new clients or members, peers told before the exit.
    unpublish_on(manager, published_port, tls.enabled());
    drain_membership(sys, *member);
  }
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
  std::vector<PendingTask> tasks;   // queued, in dispatch order
  std::vector<PoolHolders> holders; // per pool: holders, waiting, quotas
};

caf::expected<NodeView> gather(caf::scoped_actor& self,
                               const manager_actor& manager,
                               caf::timespan timeout) {
  NodeView view;
  auto pools = query<std::vector<PoolStatus>>(
      self, manager, timeout, "pool status", status_atom::value);
  if (!pools)
    return pools.error();
  view.pools = std::move(*pools);
  auto directory = query<PoolDirectory>(self, manager, timeout,
                                        "pool directory", pools_atom::value);
  if (!directory)
    return directory.error();
  for (const auto& pool : directory->pools) {
    auto holders = query<PoolHolders>(self, pool, timeout, "pool holders",
                                      holders_atom::value);
    if (!holders)
      return holders.error();
    view.holders.push_back(std::move(*holders));
  }
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

std::string seconds_text(std::chrono::nanoseconds x) {
  return plain_number(std::chrono::duration<double>(x).count(), 1) + " s";
}

std::string quota_limit_text(ResourceType type, float limit) {
  return limit > 0 ? amount_text(type, limit) : std::string{"none"};
}

/// What waits per type, like `ray status` shows its demands.
void print_demand(std::ostream& out, const NodeView& view) {
  std::ostringstream lines;
  for (const auto& pool : view.holders) {
    if (pool.waiting.empty())
      continue;
    units total = 0;
    std::array<std::size_t, 5> by_priority{};
    std::chrono::nanoseconds longest{0};
    for (const auto& w : pool.waiting) {
      total += w.amount;
      ++by_priority[static_cast<std::size_t>(w.priority) % 5];
      longest = std::max(longest, w.waited);
    }
    lines << "  " << std::left << std::setw(14) << to_string(pool.type)
          << pool.waiting.size()
          << (pool.waiting.size() == 1 ? " request for " : " requests for ")
          << amount_text(pool.type, to_amount(total)) << " (";
    bool first = true;
    for (std::size_t i = 0; i < by_priority.size(); ++i)
      if (by_priority[i] > 0) {
        lines << (first ? "" : ", ") << to_string(static_cast<Priority>(i))
              << " " << by_priority[i];
        first = false;
      }
    lines << "), longest waiting " << seconds_text(longest) << "\n";
  }
  if (lines.str().empty())
    out << "waiting: none\n";
  else
    out << "waiting:\n" << lines.str();
}

/// Per type: holders, waiting requests and quotas (rros status --holders).
void print_holders(std::ostream& out, const NodeView& view) {
  for (const auto& pool : view.holders) {
    auto type = pool.type;
    auto amount = [&](units x) { return amount_text(type, to_amount(x)); };
    out << "\n" << to_string(type) << "\n";
    if (pool.holders.empty()) {
      out << "  holders: none\n";
    } else {
      out << "  " << std::left << std::setw(24) << "holder" << std::right
          << std::setw(14) << "held" << std::setw(14) << "reserved"
          << "  grants\n";
      for (const auto& h : pool.holders) {
        out << "  " << std::left << std::setw(24) << h.requester << std::right
            << std::setw(14) << amount(h.held) << std::setw(14)
            << amount(h.reserved) << "  ";
        for (std::size_t i = 0; i < h.grants.size(); ++i)
          out << (i ? " " : "") << h.grants[i];
        if (h.grants.empty())
          out << "-";
        out << "\n";
      }
    }
    if (pool.waiting.empty()) {
      out << "  waiting: none\n";
    } else {
      out << "  " << std::left << std::setw(24) << "waiting" << std::setw(12)
          << "request" << std::setw(10) << "priority" << std::right
          << std::setw(14) << "amount" << std::setw(10) << "waited"
          << "  deadline in\n";
      for (const auto& w : pool.waiting)
        out << "  " << std::left << std::setw(24) << w.requester
            << std::setw(12) << w.request_id << std::setw(10)
            << to_string(w.priority) << std::right << std::setw(14)
            << amount(w.amount) << std::setw(10) << seconds_text(w.waited)
            << "  "
            << (w.deadline_in.count() > 0 ? seconds_text(w.deadline_in)
                                          : std::string{"-"})
            << "\n";
    }
    if (!pool.quotas.empty()) {
      out << "  " << std::left << std::setw(24) << "quota" << std::right
          << std::setw(28) << "used / hard" << std::setw(14) << "min"
          << std::setw(8) << "weight"
          << "  members\n";
      for (const auto& q : pool.quotas) {
        auto used =
            amount(q.used) + " / " + quota_limit_text(type, q.quota.max);
        out << "  " << std::left << std::setw(24) << q.quota.name << std::right
            << std::setw(28) << used << std::setw(14)
            << amount_text(type, q.quota.min) << std::setw(8)
            << plain_number(q.quota.weight, 3) << "  ";
        if (q.quota.members.empty())
          out << q.quota.name;
        for (std::size_t i = 0; i < q.quota.members.size(); ++i)
          out << (i ? ", " : "") << q.quota.members[i];
        out << "\n";
      }
    }
  }
}

void print_text(std::ostream& out, const StatusOptions& opts,
                const NodeView& view) {
  out << "node " << opts.host << ":" << opts.port << "\n";
  print_pool_table(out, view.pools);
  print_demand(out, view);
  if (opts.holders)
    print_holders(out, view);
  if (!view.monitor_running) {
    out << "alerts: monitor not running\n";
  } else if (view.alerts.empty()) {
    out << "alerts: none\n";
  } else {
    out << "alerts:\n";
    for (const auto& alert : view.alerts)
      out << "  " << std::left << std::setw(9) << to_string(alert.severity)
          << std::setw(14) << to_string(alert.resource_type)
          << message_of(alert) << "\n";
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

std::string to_json(const StatusOptions& opts, const NodeView& view,
                    const std::optional<ClusterView>& cluster) {
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
    const PoolHolders* listing = nullptr;
    for (const auto& h : view.holders)
      if (h.type == pool.type)
        listing = &h;
    if (listing != nullptr) {
      units waiting_amount = 0;
      for (const auto& x : listing->waiting)
        waiting_amount += x.amount;
      w.Key("waiting_amount");
      w.Double(to_amount(waiting_amount));
    }
    if (opts.holders && listing != nullptr) {
      auto seconds = [](std::chrono::nanoseconds x) {
        return std::chrono::duration<double>(x).count();
      };
      w.Key("holders");
      w.StartArray();
      for (const auto& h : listing->holders) {
        w.StartObject();
        w.Key("requester");
        w.String(h.requester.c_str());
        w.Key("held");
        w.Double(to_amount(h.held));
        w.Key("reserved");
        w.Double(to_amount(h.reserved));
        w.Key("grants");
        w.StartArray();
        for (auto id : h.grants)
          w.Uint64(id);
        w.EndArray();
        w.EndObject();
      }
      w.EndArray();
      w.Key("waiting_requests");
      w.StartArray();
      for (const auto& x : listing->waiting) {
        w.StartObject();
        w.Key("requester");
        w.String(x.requester.c_str());
        w.Key("request_id");
        w.Uint64(x.request_id);
        w.Key("priority");
        w.String(to_string(x.priority));
        w.Key("amount");
        w.Double(to_amount(x.amount));
        w.Key("waited_s");
        w.Double(seconds(x.waited));
        w.Key("deadline_in_s");
        w.Double(seconds(x.deadline_in));
        w.EndObject();
      }
      w.EndArray();
      w.Key("quotas");
      w.StartArray();
      for (const auto& q : listing->quotas) {
        w.StartObject();
        w.Key("group");
        w.String(q.quota.name.c_str());
        w.Key("members");
        w.StartArray();
        for (const auto& m : q.quota.members)
          w.String(m.c_str());
        w.EndArray();
        w.Key("used");
        w.Double(to_amount(q.used));
        w.Key("hard");
        w.Double(shortest_double(q.quota.max));
        w.Key("min");
        w.Double(shortest_double(q.quota.min));
        w.Key("weight");
        w.Double(shortest_double(q.quota.weight));
        w.EndObject();
      }
      w.EndArray();
    }
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
    w.Double(shortest_double(alert.threshold_violated));
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
      w.Double(shortest_double(static_cast<float>(task.cost)));
      w.Key("deadline_s");
      w.Double(std::chrono::duration<double>(task.deadline).count());
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  if (cluster) {
    w.Key("cluster");
    write_cluster_json(w, *cluster);
  }
  w.EndObject();
  return buf.GetString();
}

} // namespace

int run_status(const StatusOptions& opts) {
  auto timeout = std::chrono::duration_cast<caf::timespan>(
      std::chrono::duration<double>(opts.timeout));
  auto endpoint = opts.host + ":" + std::to_string(opts.port);
  caf::actor_system_config cfg;
  if (!configure_client(cfg, opts.tls, "status"))
    return 2;
  set_connection_liveness(
      cfg, {timespan_of(opts.heartbeat_interval), caf::timespan{0}});
  caf::actor_system sys{cfg};
  auto manager = connect_manager(sys, opts.host, opts.port, opts.timeout,
                                 "status", opts.tls);
  if (!manager)
    return 2;
  caf::scoped_actor self{sys};
  bool tty = ::isatty(STDOUT_FILENO);
  // A cluster member also shows its view of the cluster.
  auto membership = find_membership(sys, *manager);
  for (int round = 1;; ++round) {
    auto view = gather(self, *manager, timeout);
    std::optional<ClusterView> cluster;
    if (view && membership) {
      auto seen = query<ClusterView>(self, *membership, timeout, "cluster view",
                                     view_atom::value);
      if (!seen)
        view = seen.error();
      else
        cluster = std::move(*seen);
    }
    if (!view) {
      std::cerr << "rros status: " << endpoint << ": "
                << context_of(view.error()) << "\n";
      return 2;
    }
    if (opts.json) {
      std::cout << to_json(opts, *view, cluster) << std::endl;
    } else {
      if (opts.watch && tty)
        std::cout << "\x1b[H\x1b[2J"; // clear the screen between refreshes
      else if (opts.watch && round > 1)
        std::cout << "\n";
      if (opts.watch)
        std::cout << wall_clock_text() << "  ";
      print_text(std::cout, opts, *view);
      if (cluster)
        print_cluster(std::cout, *cluster);
      std::cout << std::flush;
    }
    if (!opts.watch || (opts.count > 0 && round >= opts.count))
      break;
    std::this_thread::sleep_for(std::chrono::duration<double>(opts.interval));
  }
  return 0;
}

} // namespace rros::app
