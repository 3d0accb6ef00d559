// rros: the resource manager's command-line program.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/cli_values.hpp"
#include "app/commands.hpp"

#ifndef RROS_VERSION
#define RROS_VERSION "unknown"
#endif

namespace {

using namespace rros::app;

/// Splits "HOST:PORT"; false when the text is not of that form.
bool split_endpoint(const std::string& text, std::string& host,
                    std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return false;
  host = text.substr(0, colon);
  try {
    std::size_t used = 0;
    auto value = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || value == 0 || value > 65535)
      return false;
    port = static_cast<std::uint16_t>(value);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

const std::vector<std::string> type_names{"computational", "memory",
                                          "attention", "io", "network"};
const std::vector<std::string> priority_names{"CRITICAL", "HIGH", "NORMAL",
                                              "LOW", "IDLE"};

/// An option that takes a value; never the next option as its value.
template <class T>
CLI::Option* value_option(CLI::App* app, const std::string& name, T& into,
                          const std::string& description) {
  return app->add_option(name, into, description)->check(not_an_option());
}

/// --tls-cert, --tls-key and --tls-ca, shared by the node and every command
/// that reaches one.
void add_tls(CLI::App* app, TlsFiles& tls, const std::string& whose) {
  value_option(app, "--tls-cert", tls.certificate,
               "TLS: " + whose +
                   " certificate (PEM; with --tls-key and "
                   "--tls-ca)");
  value_option(app, "--tls-key", tls.key,
               "TLS: the certificate's private key (PEM, not encrypted)");
  value_option(app, "--tls-ca", tls.ca,
               "TLS: the cluster CA's certificate (PEM); peers must have a "
               "certificate it signed");
}

/// The shell client's subcommands share --connect, --timeout and TLS.
struct ClientCommand {
  CLI::App* app = nullptr;
  std::string endpoint;
  ClientOptions opts;
  std::string hold, ttl, wait; // durations, converted after parsing
  std::string heartbeat;
};

constexpr const char* client_heartbeat_help =
    "time between heartbeats to the node; must be shorter than the node's "
    "--connection-timeout, or an idle client is cut and loses its grants "
    "(default: 1s)";

CLI::App* add_client(CLI::App& parent, ClientCommand& c,
                     const std::string& name, const std::string& description) {
  c.opts.command = name;
  c.app = parent.add_subcommand(name, description);
  value_option(c.app, "--connect", c.endpoint, "the node's HOST:PORT")
      ->required();
  value_option(c.app, "--timeout", c.opts.timeout,
               "seconds allowed for connecting and for each reply")
      ->capture_default_str()
      ->check(real_number(0.1, 600));
  value_option(c.app, "--heartbeat-interval", c.heartbeat,
               client_heartbeat_help)
      ->check(duration_value(0.01, 3600));
  add_tls(c.app, c.opts.tls, "this client's");
  return c.app;
}

void add_type(ClientCommand& c) {
  value_option(c.app, "--type", c.opts.type,
               "resource type: computational, memory, attention, io, network")
      ->required()
      ->check(CLI::IsMember(type_names, CLI::ignore_case));
}

void add_requester(ClientCommand& c, bool required) {
  auto opt = value_option(c.app, "--requester", c.opts.requester,
                          required ? "the requester's id"
                                   : "the requester's id (default: "
                                     "shell-<pid of this command>)");
  if (required)
    opt->required();
}

/// The command named on the line (the first word that is one), or "".
std::string command_of(int argc, char** argv, CLI::App& app) {
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
      if (sub->get_name() == word)
        return word;
  }
  return {};
}

std::string command_list(CLI::App& app) {
  std::string names;
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
    names += (names.empty() ? "" : ", ") + sub->get_name();
  return names;
}

/// Bash completion generated from the CLI definition: subcommands, then
/// each subcommand's options, and the values of --type and --priority.
std::string bash_completion(CLI::App& app) {
  std::string out = "# bash completion for rros (rros completion bash)\n"
                    "_rros() {\n"
                    "  local cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
                    "  local prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
                    "  case \"$prev\" in\n"
                    "    --type) COMPREPLY=($(compgen -W \"";
  for (const auto& t : type_names)
    out += t + " ";
  out += "\" -- \"$cur\")); return ;;\n"
         "    --priority) COMPREPLY=($(compgen -W \"";
  for (const auto& p : priority_names)
    out += p + " ";
  out += "\" -- \"$cur\")); return ;;\n"
         "    --log-level) COMPREPLY=($(compgen -W \"error warning info "
         "debug\" -- \"$cur\")); return ;;\n"
         "    completion) COMPREPLY=($(compgen -W \"bash\" -- \"$cur\")); "
         "return ;;\n"
         "    --workload|--config|--report) COMPREPLY=($(compgen -f -- "
         "\"$cur\")); return ;;\n"
         "  esac\n"
         "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
         "    COMPREPLY=($(compgen -W \"";
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
    out += sub->get_name() + " ";
  out += "help --help --version\" -- \"$cur\")); return\n"
         "  fi\n"
         "  case \"${COMP_WORDS[1]}\" in\n";
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    out += "    " + sub->get_name() + ") COMPREPLY=($(compgen -W \"";
    for (const auto* opt : sub->get_options())
      for (const auto& name : opt->get_lnames())
        out += "--" + name + " ";
    out += "\" -- \"$cur\")) ;;\n";
  }
  out += "    help) COMPREPLY=($(compgen -W \"";
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
    out += sub->get_name() + " ";
  out += "\" -- \"$cur\")) ;;\n"
         "  esac\n"
         "}\n"
         "complete -F _rros rros\n";
  return out;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "rros: a resource arbiter for modular, cognitive-style systems.\n"
      "Modules compete for computational, memory, attention, I/O and "
      "network budgets; pool actors grant and reclaim them exactly."};
  app.name("rros");
  app.require_subcommand(1);
  app.set_version_flag("--version", "rros " RROS_VERSION);
  app.footer("Examples:\n"
             "  rros simulate                     five minutes of simulated "
             "modules in seconds,\n"
             "                                    a summary and "
             "rros-report.html\n"
             "  rros simulate --seed 7 --duration 120 --report /tmp/r.html\n"
             "  rros demo                         short demonstration on an "
             "embedded node\n"
             "  rros node --port 4242             run a manager node on "
             "127.0.0.1:4242\n"
             "  rros status --connect 127.0.0.1:4242 --watch\n"
             "  rros alloc --connect 127.0.0.1:4242 --type computational "
             "--amount 25\n"
             "                                    take a grant and hold it "
             "until Ctrl-C\n"
             "  rros bench --runs 3               throughput and latency "
             "beside baselines\n"
             "  rros help simulate                one command's options\n"
             "  source <(rros completion bash)    tab completion in bash");

  DemoOptions demo_opts;
  auto demo = app.add_subcommand(
      "demo", "Run a short demonstration against an "
              "embedded manager node and print what happened");
  value_option(demo, "--config", demo_opts.config_path,
               "JSON configuration (default: the embedded defaults)");
  demo->footer("Examples:\n  rros demo\n  rros demo --config "
               "config/default.json");

  NodeOptions node_opts;
  auto node =
      app.add_subcommand("node", "Run a manager node until SIGINT/SIGTERM");
  value_option(node, "--config", node_opts.config_path,
               "JSON configuration (default: config/default.json if present)");
  value_option(node, "--host", node_opts.host,
               "address to publish on (and to serve metrics on)")
      ->capture_default_str();
  auto port_opt =
      value_option(node, "--port", node_opts.port,
                   "publish the manager on this port (0: any free port)")
          ->check(whole_number(0, 65535));
  node->add_flag("--quiet", node_opts.quiet,
                 "no event lines (alerts, degradation) on stderr");
  value_option(node, "--metrics-port", node_opts.metrics_port,
               "serve Prometheus metrics on http://HOST:P/metrics (0: any "
               "free port, printed; default: the config's metrics_port)")
      ->check(CLI::Range(0, 65535));
  value_option(node, "--metrics-interval", node_opts.metrics_interval,
               "seconds between metric collection rounds")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  value_option(node, "--log-level", node_opts.log_level,
               "which event lines go to stderr: error (none but errors), "
               "warning (WARNING and CRITICAL alerts, degradation), info "
               "(also INFO alerts and cleared alerts), debug (also every "
               "utilization sample)")
      ->capture_default_str()
      ->check(CLI::IsMember({"error", "warning", "info", "debug"},
                            CLI::ignore_case));
  std::string node_heartbeat, node_timeout;
  value_option(node, "--heartbeat-interval", node_heartbeat,
               "time between heartbeats to every connected client and node "
               "(default: 1s)")
      ->check(duration_value(0.01, 3600));
  value_option(node, "--connection-timeout", node_timeout,
               "a client or node not heard from for this long is cut off and "
               "its grants return, as for a closed connection; it must be "
               "longer than --heartbeat-interval (default: 5s)")
      ->check(duration_value(0.02, 86400));
  value_option(node, "--name", node_opts.node_name,
               "this node's name in its cluster (letters, digits, '.', '_', "
               "'-'); makes the node a cluster member (needs --port)");
  value_option(node, "--cluster", node_opts.cluster_name,
               "the cluster's name: members of another name are refused")
      ->capture_default_str();
  std::string node_join;
  value_option(node, "--join", node_join,
               "join the cluster through the first of these members that "
               "answers: HOST:PORT[,HOST:PORT...] (needs --name)");
  value_option(node, "--data-dir", node_opts.data_dir,
               "keep the books here across restarts: a write-ahead log and "
               "snapshots per resource type (default: ./rros-data, or "
               "./rros-data-NAME with --name)");
  node->add_flag("!--no-persist", node_opts.persist,
                 "keep the books in memory only (a restart forgets them)");
  std::string node_sync = "group";
  value_option(node, "--sync", node_sync,
               "when a change reaches the disk before its reply: group "
               "(one fsync for the changes of --group-commit) or record (an "
               "fsync per change)")
      ->capture_default_str()
      ->check(CLI::IsMember({"group", "record"}));
  std::string node_group_commit, node_grace;
  value_option(node, "--group-commit", node_group_commit,
               "with --sync group: how long a change waits for its fsync "
               "(default: 0, one fsync as soon as the requests already "
               "queued are handled)")
      ->check(duration_value(0, 1));
  value_option(node, "--snapshot-every", node_opts.snapshot_every,
               "records between snapshots (the log starts anew after each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000000));
  value_option(node, "--reattach-grace", node_grace,
               "after a restart, how long restored grants wait for their "
               "holders to reattach before they return (default: 30s)")
      ->check(duration_value(0.001, 86400));
  add_tls(node, node_opts.tls, "the node's");
  node->add_flag("--insecure", node_opts.insecure,
                 "allow serving a non-loopback --host in plaintext (without "
                 "TLS anyone who reaches it is a client)");
  node->footer("Prints the published port on stdout, then one line per alert "
               "and change of\ndegradation on stderr until SIGINT/SIGTERM. "
               "Without TLS files it serves\nloopback addresses only, unless "
               "--insecure.\n"
               "Examples:\n"
               "  rros node --port 4242\n"
               "  rros node --host 0.0.0.0 --port 4242 --tls-cert c/node.pem "
               "--tls-key c/node-key.pem --tls-ca c/ca.pem\n"
               "  rros node --port 0 --log-level warning   any free port "
               "(printed), problems only\n"
               "  rros node --metrics-port 9464 Prometheus metrics on "
               "127.0.0.1:9464/metrics");

  StatusOptions status_opts;
  std::string endpoint;
  auto status = app.add_subcommand(
      "status",
      "Print a running node's pools, waiting demand, alerts, degraded types "
      "and tasks");
  value_option(status, "--connect", endpoint, "the node's HOST:PORT")
      ->required();
  status->add_flag("--json", status_opts.json,
                   "one JSON object (per refresh with --watch)");
  std::string status_heartbeat;
  value_option(status, "--heartbeat-interval", status_heartbeat,
               client_heartbeat_help)
      ->check(duration_value(0.01, 3600));
  status->add_flag("--holders", status_opts.holders,
                   "per type: who holds what (with grant ids), the waiting "
                   "requests in serving order, quotas with used / hard");
  status->add_flag("--watch", status_opts.watch,
                   "refresh until interrupted (Ctrl-C)");
  value_option(status, "--interval", status_opts.interval,
               "seconds between refreshes with --watch")
      ->capture_default_str()
      ->check(real_number(0.1, 3600.0));
  value_option(status, "--count", status_opts.count,
               "with --watch: stop after this many refreshes (0: never)")
      ->capture_default_str()
      ->check(whole_number(0, 1000000));
  value_option(status, "--timeout", status_opts.timeout,
               "seconds allowed for connecting and for each query")
      ->capture_default_str()
      ->check(real_number(0.1, 600.0));
  add_tls(status, status_opts.tls, "this client's");
  status->footer("Shows per type capacity, held, reserved, available and "
                 "utilization (memory\nin KiB/MiB/GiB), what waits, the "
                 "active alerts, degraded types and the\nscheduler's tasks.\n"
                 "Examples:\n"
                 "  rros status --connect 127.0.0.1:4242\n"
                 "  rros status --connect 127.0.0.1:4242 --holders\n"
                 "  rros status --connect 127.0.0.1:4242 --json\n"
                 "  rros status --connect 127.0.0.1:4242 --watch --interval "
                 "1");

  std::string certs_dir;
  auto certs = app.add_subcommand(
      "certs", "Make TLS certificates for a test cluster (with the openssl "
               "command line)");
  certs->require_subcommand(1);
  auto certs_init = certs->add_subcommand(
      "init", "Make a cluster CA and node, client and admin certificates "
              "signed by it in DIR");
  certs_init->add_option("DIR", certs_dir, "directory (made if missing)")
      ->required();
  certs->footer("Writes ca.pem, ca-key.pem and, for node, client and admin, "
                "NAME.pem and\nNAME-key.pem; refuses a DIR that holds a CA "
                "already.\n"
                "Examples:\n"
                "  rros certs init ./cluster-certs\n"
                "  rros node --host 0.0.0.0 --port 4242 --tls-cert "
                "cluster-certs/node.pem \\\n"
                "      --tls-key cluster-certs/node-key.pem --tls-ca "
                "cluster-certs/ca.pem");
  certs_init->footer("Examples:\n  rros certs init ./cluster-certs");

  // -- the shell client
  ClientCommand alloc_cmd;
  auto alloc = add_client(
      app, alloc_cmd, "alloc",
      "Take a grant from a running node and hold it: until Ctrl-C, for "
      "--hold, or until its --ttl ends");
  add_type(alloc_cmd);
  value_option(alloc, "--amount", alloc_cmd.opts.amount,
               "how much (memory: bytes)")
      ->required()
      ->check(real_number(0.000001, 1e12));
  value_option(alloc, "--priority", alloc_cmd.opts.priority,
               "CRITICAL, HIGH, NORMAL, LOW or IDLE")
      ->capture_default_str()
      ->check(CLI::IsMember(priority_names, CLI::ignore_case));
  add_requester(alloc_cmd, false);
  value_option(alloc, "--wait", alloc_cmd.wait,
               "how long the request may wait when it does not fit (default: "
               "refused at once)")
      ->check(duration_value(0.001, 86400));
  value_option(alloc, "--ttl", alloc_cmd.ttl,
               "the grant's time-to-live (renewable with rros renew)")
      ->check(duration_value(0.001, 315360000));
  value_option(alloc, "--hold", alloc_cmd.hold,
               "hold the grant this long, then release it (default: until "
               "Ctrl-C)")
      ->check(duration_value(0, 315360000));
  alloc->add_flag("--preemptable", alloc_cmd.opts.preemptable,
                  "a higher priority may take it back (with notice)");
  value_option(alloc, "--request-id", alloc_cmd.opts.request_id,
               "the id to cancel it by while it waits (default: this "
               "command's pid)")
      ->check(whole_number(1, UINT64_MAX));
  alloc->footer(
      "Prints 'granted <amount> <type> to <requester>: grant <id>' on stdout; "
      "the grant is\nheld by this process (the node takes it back if the "
      "process dies).\nExamples:\n"
      "  rros alloc --connect 127.0.0.1:4242 --type computational --amount 25\n"
      "  rros alloc --connect 127.0.0.1:4242 --type memory --amount 1048576 "
      "--hold 30s\n"
      "  rros alloc --connect 127.0.0.1:4242 --type io --amount 10 --priority "
      "HIGH --wait 5s --ttl 1m");

  ClientCommand release_cmd;
  auto release =
      add_client(app, release_cmd, "release",
                 "Return a grant by id, or an amount a requester holds");
  add_type(release_cmd);
  auto grant_opt =
      value_option(release, "--grant", release_cmd.opts.grant, "the grant's id")
          ->check(whole_number(1, UINT64_MAX));
  auto release_requester = value_option(
      release, "--requester", release_cmd.opts.requester,
      "with --amount: the requester whose grants (newest first) return");
  auto release_amount =
      value_option(release, "--amount", release_cmd.opts.amount,
                   "with --requester: how much to return")
          ->check(real_number(0.000001, 1e12));
  auto up_to = release->add_flag(
      "--up-to", release_cmd.opts.up_to,
      "with --amount: return at most what is held instead of refusing more");
  grant_opt->excludes(release_requester)->excludes(release_amount);
  release_requester->needs(release_amount);
  release_amount->needs(release_requester);
  up_to->needs(release_amount);
  release->footer("Examples:\n"
                  "  rros release --connect 127.0.0.1:4242 --type "
                  "computational --grant 7\n"
                  "  rros release --connect 127.0.0.1:4242 --type memory "
                  "--requester indexer --amount 4096 --up-to");

  ClientCommand renew_cmd;
  auto renew = add_client(app, renew_cmd, "renew",
                          "Restart a grant's time-to-live from now");
  add_type(renew_cmd);
  value_option(renew, "--grant", renew_cmd.opts.grant, "the grant's id")
      ->required()
      ->check(whole_number(1, UINT64_MAX));
  value_option(renew, "--ttl", renew_cmd.ttl, "the new time-to-live")
      ->required()
      ->check(duration_value(0.001, 315360000));
  renew->footer("Example:\n  rros renew --connect 127.0.0.1:4242 --type "
                "computational --grant 7 --ttl 1m");

  ClientCommand reserve_cmd;
  auto reserve = add_client(
      app, reserve_cmd, "reserve",
      "Set an amount aside for a requester (others cannot take it; the "
      "requester's own grants use it first) and hold it like alloc");
  add_type(reserve_cmd);
  value_option(reserve, "--amount", reserve_cmd.opts.amount, "how much")
      ->required()
      ->check(real_number(0.000001, 1e12));
  add_requester(reserve_cmd, false);
  value_option(reserve, "--ttl", reserve_cmd.ttl,
               "return it to the pool after this long unless used")
      ->check(duration_value(0.001, 315360000));
  value_option(reserve, "--hold", reserve_cmd.hold,
               "keep it this long, then return it (default: until Ctrl-C, or "
               "the --ttl)")
      ->check(duration_value(0, 315360000));
  reserve->footer("Example:\n  rros reserve --connect 127.0.0.1:4242 --type "
                  "attention --amount 0.2 --requester vision --ttl 30s");

  ClientCommand cancel_cmd;
  auto cancel =
      add_client(app, cancel_cmd, "cancel",
                 "Cancel a waiting request, or return a requester's unused "
                 "reservations");
  add_type(cancel_cmd);
  add_requester(cancel_cmd, true);
  auto request_opt =
      value_option(cancel, "--request", cancel_cmd.opts.request_id,
                   "the waiting request's id (rros status --holders lists "
                   "them)")
          ->check(whole_number(0, UINT64_MAX));
  auto reservation_flag =
      cancel->add_flag("--reservation", cancel_cmd.opts.reservation,
                       "return the requester's unused reservations instead");
  request_opt->excludes(reservation_flag);
  cancel->footer("Examples:\n"
                 "  rros cancel --connect 127.0.0.1:4242 --type io "
                 "--requester shell-4711 --request 4711\n"
                 "  rros cancel --connect 127.0.0.1:4242 --type attention "
                 "--requester vision --reservation");

  ClientCommand quota_cmd;
  auto quota = add_client(
      app, quota_cmd, "quota",
      "Set or remove a requester group's quota on one type (guaranteed "
      "--min, hard --max, fair-share --weight)");
  add_type(quota_cmd);
  value_option(quota, "--group", quota_cmd.opts.group, "the group's name")
      ->required();
  value_option(quota, "--member", quota_cmd.opts.members,
               "a requester in the group (repeat; none: the group is the "
               "requester named --group)");
  auto min_opt = value_option(quota, "--min", quota_cmd.opts.min,
                              "guaranteed amount (withheld from others "
                              "while unused)")
                     ->check(real_number(0, 1e12));
  auto max_opt =
      value_option(quota, "--max", quota_cmd.opts.max, "hard limit (0: none)")
          ->check(real_number(0, 1e12));
  auto weight_opt = value_option(quota, "--weight", quota_cmd.opts.weight,
                                 "share of contended capacity")
                        ->capture_default_str()
                        ->check(real_number(0.000001, 1e6));
  auto remove_flag = quota->add_flag("--remove", quota_cmd.opts.remove,
                                     "remove the group's quota");
  remove_flag->excludes(min_opt)->excludes(max_opt)->excludes(weight_opt);
  quota->footer("Examples:\n"
                "  rros quota --connect 127.0.0.1:4242 --type computational "
                "--group batch --member indexer --member backup --max 30\n"
                "  rros quota --connect 127.0.0.1:4242 --type computational "
                "--group batch --remove");

  ClientCommand degrade_cmd;
  auto degrade = add_client(
      app, degrade_cmd, "degrade",
      "Put a type into degraded mode by hand (low priorities shed), or take "
      "it out with --off");
  add_type(degrade_cmd);
  degrade->add_flag("--off", degrade_cmd.opts.off, "leave degraded mode");
  degrade->footer("Examples:\n"
                  "  rros degrade --connect 127.0.0.1:4242 --type attention\n"
                  "  rros degrade --connect 127.0.0.1:4242 --type attention "
                  "--off");

  BenchOptions bench_opts;
  auto bench =
      app.add_subcommand("bench", "Measure allocate/release throughput and "
                                  "latency beside baselines from the same run");
  value_option(bench, "--runs", bench_opts.runs,
               "repetitions (medians are reported)")
      ->capture_default_str()
      ->check(whole_number(1, 100));
  auto ops_opt = value_option(bench, "--ops", bench_opts.operations,
                              "allocate/release cycles per run and client");
  ops_opt->capture_default_str()->check(whole_number(100, 10000000));
  auto threads_opt = value_option(bench, "--threads", bench_opts.threads,
                                  "plain threads for the facade figures");
  threads_opt->capture_default_str()->check(whole_number(1, 64));
  auto scale_opt = bench->add_flag(
      "--scale", bench_opts.scale,
      "instead: how the cost of one event grows with the number waiting "
      "(pool waiters, waiting bundles, pending tasks; N = 100 to --scale-max "
      "by powers of 10; --runs repetitions)");
  scale_opt->excludes(ops_opt)->excludes(threads_opt);
  auto flood_opt = bench->add_flag(
      "--flood", bench_opts.flood,
      "instead: one client floods a pool past its waiting limit while "
      "another allocates and releases (--ops cycles, --runs repetitions); "
      "peak RSS, refusals and the other's p50 beside its quiet p50");
  flood_opt->excludes(threads_opt)->excludes(scale_opt);
  auto cluster_opt =
      bench
          ->add_flag("--cluster", bench_opts.cluster,
                     "instead: three local nodes as one cluster; placement "
                     "throughput through the cluster client (--ops cycles, "
                     "--runs repetitions) and the time until a killed and a "
                     "frozen node are marked lost (docs/cluster.md)")
          ->excludes(threads_opt)
          ->excludes(scale_opt)
          ->excludes(flood_opt);
  bench
      ->add_flag("--durability", bench_opts.durability,
                 "instead: allocate/release through a pool with its books in "
                 "memory, with group commit and with an fsync per record, "
                 "from one client and from pipelined clients (--ops cycles, "
                 "--runs repetitions; data under the working directory; "
                 "docs/durability.md)")
      ->excludes(threads_opt)
      ->excludes(scale_opt)
      ->excludes(flood_opt)
      ->excludes(cluster_opt);
  value_option(bench, "--scale-max", bench_opts.scale_max,
               "largest N measured with --scale")
      ->capture_default_str()
      ->check(whole_number(100, 100000))
      ->needs(scale_opt);
  bench->footer("Examples:\n"
                "  rros bench --runs 5 --ops 20000 --threads 2\n"
                "  rros bench --scale --scale-max 10000   one event's cost "
                "with 100 to 10000 waiting\n"
                "  rros bench --flood --runs 3            a flood past the "
                "limits beside a steady client\n"
                "  rros bench --durability --ops 2000     persistence beside "
                "the in-memory pool");

  SimulateOptions sim_opts;
  auto simulate = app.add_subcommand(
      "simulate",
      "Run a workload of simulated modules (vision, audio, reasoning, ...) "
      "against an in-process node on virtual time; print a summary and write "
      "an HTML report");
  value_option(simulate, "--workload", sim_opts.workload_path,
               "workload JSON (default: the embedded default, as in "
               "config/workloads/default.json)");
  auto seed_opt = value_option(
      simulate, "--seed", sim_opts.seed,
      "random seed; the same seed gives the same summary (default: the "
      "workload's)");
  seed_opt->check(whole_number(0, UINT64_MAX));
  value_option(simulate, "--duration", sim_opts.duration,
               "virtual seconds to simulate (default: the workload's)")
      ->check(real_number(0.001, 86400.0));
  value_option(simulate, "--report", sim_opts.report_path,
               "where the HTML report goes (\"\": none)")
      ->capture_default_str();
  value_option(simulate, "--nodes", sim_opts.nodes,
               "simulate a cluster of this many nodes (a, b, ...) in the "
               "process; each module places through a cluster client of its "
               "own (default 1: one node)")
      ->check(whole_number(1, 8));
  value_option(simulate, "--lose", sim_opts.lose,
               "NODE@SECONDS: kill that node at that virtual time, as a crash "
               "(with --nodes)");
  simulate->add_flag("!--no-progress", sim_opts.progress,
                     "no progress lines on stderr");
  simulate->add_flag("--print-workload", sim_opts.print_workload,
                     "print the embedded default workload and exit");
  simulate->footer(
      "Examples:\n"
      "  rros simulate\n"
      "  rros simulate --seed 7 --duration 600 --report out/run7.html\n"
      "  rros simulate --workload config/workloads/default.json\n"
      "  rros simulate --nodes 3 --lose b@150   a cluster losing a node\n"
      "  rros simulate --print-workload > my.json   a starting point for your "
      "own");

  std::string shell;
  auto completion = app.add_subcommand(
      "completion", "Print a shell completion script (bash)");
  completion->add_option("shell", shell, "the shell: bash")
      ->required()
      ->check(CLI::IsMember({"bash"}));
  completion->footer("Example:\n  source <(rros completion bash)\n"
                     "  rros completion bash > "
                     "/etc/bash_completion.d/rros");

  // Before CLI11: `rros help [COMMAND]` and an unknown command by name
  // (CLI11 would only say that a subcommand is required).
  if (argc >= 2) {
    std::string first = argv[1];
    if (first == "help") {
      if (argc == 2) {
        std::cout << app.help();
        return 0;
      }
      std::string name = argv[2];
      for (const auto* sub :
           app.get_subcommands([](CLI::App*) { return true; }))
        if (sub->get_name() == name) {
          std::cout << sub->help("rros");
          return 0;
        }
      std::cerr << "rros help: unknown command '" << name
                << "' (commands: " << command_list(app) << ")\n";
      return 2;
    }
    if (!first.empty() && first[0] != '-' && command_of(2, argv, app).empty()) {
      std::cerr << "rros: unknown command '" << first
                << "' (commands: " << command_list(app)
                << "; see rros --help)\n";
      return 2;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) // --help, --version
      return app.exit(e);
    // One line naming the problem, like every other bad input, pointing at
    // the help of the command it concerns.
    auto command = command_of(argc, argv, app);
    if (command.empty()) {
      if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr)
        std::cerr << "rros: a command is required (" << command_list(app)
                  << "; see rros --help)\n";
      else
        std::cerr << "rros: " << e.what() << " (see rros --help)\n";
    } else {
      std::cerr << "rros " << command << ": " << e.what() << " (see rros "
                << command << " --help)\n";
    }
    return 2;
  }

  if (*simulate) {
    sim_opts.seed_given = seed_opt->count() > 0;
    return run_simulate(sim_opts);
  }
  if (*demo)
    return run_demo(demo_opts);
  if (*node) {
    node_opts.publish = port_opt->count() > 0;
    node_opts.heartbeat_from_flag = !node_heartbeat.empty();
    node_opts.timeout_from_flag = !node_timeout.empty();
    if (!node_heartbeat.empty())
      node_opts.heartbeat_interval = duration_seconds(node_heartbeat);
    if (!node_timeout.empty())
      node_opts.connection_timeout = duration_seconds(node_timeout);
    node_opts.sync_per_record = node_sync == "record";
    if (!node_group_commit.empty())
      node_opts.group_commit = duration_seconds(node_group_commit);
    if (!node_grace.empty())
      node_opts.reattach_grace = duration_seconds(node_grace);
    for (std::size_t at = 0; !node_join.empty() && at <= node_join.size();) {
      auto comma = std::min(node_join.find(',', at), node_join.size());
      auto seed = node_join.substr(at, comma - at);
      std::string seed_host;
      std::uint16_t seed_port = 0;
      if (!split_endpoint(seed, seed_host, seed_port)) {
        std::cerr << "rros node: --join expects HOST:PORT[,HOST:PORT...], got '"
                  << seed << "'\n";
        return 2;
      }
      node_opts.join.push_back(seed);
      at = comma + 1;
    }
    // The timeout against the interval is checked by run_node, once the
    // configuration file's keys filled in what the flags left unset.
    node_opts.cluster_from_flag = node->count("--cluster") > 0;
    return run_node(node_opts);
  }
  if (*status) {
    if (!split_endpoint(endpoint, status_opts.host, status_opts.port)) {
      std::cerr << "rros status: --connect expects HOST:PORT with a port in "
                   "1..65535, got '"
                << endpoint << "'\n";
      return 2;
    }
    if (!status_heartbeat.empty())
      status_opts.heartbeat_interval = duration_seconds(status_heartbeat);
    return run_status(status_opts);
  }
  if (*bench)
    return run_bench(bench_opts);
  if (*certs_init)
    return run_certs_init(certs_dir);
  if (*completion) {
    std::cout << bash_completion(app);
    return 0;
  }
  for (auto* c : {&alloc_cmd, &release_cmd, &renew_cmd, &reserve_cmd,
                  &cancel_cmd, &quota_cmd, &degrade_cmd}) {
    if (!*c->app)
      continue;
    auto& opts = c->opts;
    if (!split_endpoint(c->endpoint, opts.host, opts.port)) {
      std::cerr << "rros " << opts.command
                << ": --connect expects HOST:PORT with a port in 1..65535, "
                   "got '"
                << c->endpoint << "'\n";
      return 2;
    }
    if (!c->hold.empty())
      opts.hold = duration_seconds(c->hold);
    if (!c->ttl.empty())
      opts.ttl = duration_seconds(c->ttl);
    if (!c->wait.empty())
      opts.wait = duration_seconds(c->wait);
    if (!c->heartbeat.empty())
      opts.heartbeat_interval = duration_seconds(c->heartbeat);
    if (opts.command == "release" && opts.grant == 0 &&
        opts.requester.empty()) {
      std::cerr << "rros release: give --grant ID, or --requester NAME with "
                   "--amount (see rros release --help)\n";
      return 2;
    }
    if (opts.command == "cancel" && !opts.reservation &&
        request_opt->count() == 0) {
      std::cerr << "rros cancel: give --request ID, or --reservation (see "
                   "rros cancel --help)\n";
      return 2;
    }
    if (opts.command == "quota" && !opts.remove && min_opt->count() == 0 &&
        max_opt->count() == 0 && weight_opt->count() == 0) {
      std::cerr << "rros quota: give --min, --max or --weight, or --remove "
                   "(see rros quota --help)\n";
      return 2;
    }
    return run_client(opts);
  }
  return 0;
}
