// The shell client (rros alloc, release, renew, reserve, cancel, quota,
// degrade): one operation on a running node, through CAF's middleman like
// `rros status`. A grant or reservation is held by this process's own actor,
// so the node takes it back when the process ends, however it ends; alloc and
// reserve therefore stay until Ctrl-C, --hold, the grant's end (--ttl,
// preemption, shedding) or the node's disconnect, and return what they hold
// on the way out. Exit codes: 0 done, 2 bad input or no node reached, 3 the
// node refused or failed the operation.
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "app/commands.hpp"
#include "app/connect.hpp"
#include "app/report.hpp"
#include "facade/connection_liveness.hpp"
#include "messages/monitor_messages.hpp"

namespace rros::app {

namespace {

using steady = std::chrono::steady_clock;

constexpr int exit_refused = 3;

volatile std::sig_atomic_t stop_signal = 0;

extern "C" void on_stop_signal(int sig) {
  stop_signal = sig;
}

/// From here on SIGINT and SIGTERM end the hold instead of the process.
void catch_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

ResourceType type_of(const std::string& name) {
  for (auto type : all_resource_types)
    if (name == to_string(type))
      return type;
  return ResourceType::COMPUTATIONAL; // main.cpp accepts only the five names
}

Priority priority_of(const std::string& name) {
  for (int i = 0; i < 5; ++i)
    if (name == to_string(static_cast<Priority>(i)))
      return static_cast<Priority>(i);
  return Priority::NORMAL;
}

std::string seconds_text(double s) {
  return plain_number(s, 3) + " s";
}

std::chrono::nanoseconds nanoseconds_of(double seconds) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(seconds));
}

class Client {
public:
  Client(const ClientOptions& opts, caf::actor_system& sys,
         manager_actor manager)
    : opts_(opts)
    , self_(sys)
    , manager_(std::move(manager))
    , timeout_(timespan_of(opts.timeout))
    , type_(type_of(opts.type))
    , requester_(opts.requester.empty() ? "shell-" + std::to_string(::getpid())
                                        : opts.requester) {
    // nop
  }

  int run() {
    const auto& c = opts_.command;
    if (c == "degrade")
      return degrade();
    auto directory = query<PoolDirectory>(self_, manager_, timeout_,
                                          "pool directory", pools_atom::value);
    if (!directory)
      return fail(directory.error());
    pool_ = (*directory)[type_];
    if (c == "alloc")
      return alloc();
    if (c == "release")
      return release();
    if (c == "renew")
      return renew();
    if (c == "reserve")
      return reserve();
    if (c == "cancel")
      return cancel();
    if (c == "quota")
      return quota();
    std::cerr << "rros: unknown client command '" << c << "'\n";
    return 2;
  }

private:
  /// One line for an error; 3 when the node refused, 2 when not reached.
  int fail(const caf::error& err, const std::string& doing = {}) {
    std::cerr << "rros " << opts_.command << ": "
              << (doing.empty() ? "" : doing + ": ") << describe(err) << "\n";
    return is(err, ec::not_connected) ? 2 : exit_refused;
  }

  std::string amount(float x) const {
    return amount_text(type_, x);
  }

  // -- holding ---------------------------------------------------------------

  enum class HoldEnd { signal, elapsed, revoked, node_lost };

  /// Waits for the end of a hold: a stop signal, `hold` seconds (< 0: no
  /// limit), a revoke notice for `grant` (0: none expected), or the pool's
  /// node going away.
  HoldEnd hold(double seconds, GrantId grant, GrantNotice& notice) {
    catch_stop_signals();
    self_->monitor(pool_);
    auto until =
        seconds >= 0
            ? steady::now() + std::chrono::duration_cast<steady::duration>(
                                  std::chrono::duration<double>(seconds))
            : steady::time_point::max();
    for (;;) {
      if (stop_signal != 0)
        return HoldEnd::signal;
      if (steady::now() >= until)
        return HoldEnd::elapsed;
      std::optional<HoldEnd> end;
      self_->receive(
          [&](revoke_atom, const GrantNotice& n) {
            if (grant != 0 && n.grant_id == grant) {
              notice = n;
              end = HoldEnd::revoked;
            }
          },
          [&](caf::down_msg&) { end = HoldEnd::node_lost; },
          caf::after(std::chrono::milliseconds(50)) >> [] {});
      if (end)
        return *end;
    }
  }

  const char* signal_name() const {
    return stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
  }

  // -- the commands ----------------------------------------------------------

  int alloc() {
    ResourceRequest req(requester_, type_, priority_of(opts_.priority),
                        static_cast<float>(opts_.amount),
                        std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::duration<double>(opts_.wait)));
    req.ttl = nanoseconds_of(opts_.ttl);
    req.preemptable = opts_.preemptable;
    req.request_id = opts_.request_id != 0
                         ? opts_.request_id
                         : static_cast<std::uint64_t>(::getpid());
    if (opts_.wait > 0)
      std::cerr << "rros alloc: waiting up to " << seconds_text(opts_.wait)
                << " (requester " << requester_ << ", request "
                << req.request_id << ")" << std::endl;
    auto grant = query<ResourceAllocation>(
        self_, pool_, timeout_ + timespan_of(opts_.wait), "allocate",
        allocate_atom::value, req);
    if (!grant)
      return fail(grant.error(), "refused");
    if (grant->grant_id == 0 || grant->allocated_amount <= 0) {
      std::cerr << "rros alloc: nothing granted (" << to_string(type_)
                << " has nothing left)\n";
      return exit_refused;
    }
    auto id = grant->grant_id;
    std::cout << "granted " << amount(grant->allocated_amount) << " "
              << to_string(type_) << " to " << requester_ << ": grant " << id;
    if (!grant->fully_satisfied)
      std::cout << " (partial: asked for " << amount(req.amount) << ")";
    std::cout << std::endl;
    std::cerr << "rros alloc: holding grant " << id << " "
              << (opts_.hold >= 0 ? "for " + seconds_text(opts_.hold)
                  : opts_.ttl > 0 ? "until its time-to-live ends or Ctrl-C"
                                  : std::string{"until Ctrl-C"})
              << std::endl;
    GrantNotice notice;
    auto end = hold(opts_.hold, id, notice);
    switch (end) {
      case HoldEnd::node_lost:
        std::cerr << "rros alloc: lost the pool (the node went away or "
                     "replaced it); grant "
                  << id << " ends with it\n";
        return 2;
      case HoldEnd::revoked:
        if (notice.reason == RevokeReason::expired) {
          std::cerr << "rros alloc: grant " << id
                    << " expired (its time-to-live ended)\n";
          return 0;
        }
        // Preempted or shed: give it back now rather than after the grace.
        give_back(id);
        std::cerr << "rros alloc: grant " << id << " revoked ("
                  << to_string(notice.reason) << ") and released\n";
        return exit_refused;
      case HoldEnd::signal:
      case HoldEnd::elapsed:
        break;
    }
    auto what = end == HoldEnd::signal ? std::string{signal_name()}
                                       : "held " + seconds_text(opts_.hold);
    return give_back(id, what);
  }

  /// Releases grant `id`; says so on stderr when `what` is given.
  int give_back(GrantId id, const std::string& what = {}) {
    auto receipt = query<ReleaseReceipt>(self_, pool_, timeout_, "release",
                                         release_atom::value, id);
    if (what.empty())
      return receipt ? 0 : 2;
    if (!receipt) {
      if (is(receipt.error(), ec::unknown_grant)) {
        std::cerr << "rros alloc: " << what << "; grant " << id
                  << " was already returned\n";
        return 0;
      }
      return fail(receipt.error(), "release");
    }
    std::cerr << "rros alloc: " << what << ": released grant " << id << " ("
              << amount(receipt->released_amount) << " " << to_string(type_)
              << ")\n";
    return 0;
  }

  int release() {
    caf::expected<ReleaseReceipt> receipt{caf::sec::unexpected_response};
    if (opts_.grant != 0)
      receipt = query<ReleaseReceipt>(self_, pool_, timeout_, "release",
                                      release_atom::value,
                                      static_cast<GrantId>(opts_.grant));
    else
      receipt = query<ReleaseReceipt>(
          self_, pool_, timeout_, "release", release_atom::value, requester_,
          static_cast<float>(opts_.amount),
          opts_.up_to ? ReleaseMode::up_to_held : ReleaseMode::exact);
    if (!receipt)
      return fail(receipt.error(), "refused");
    std::cout << "released " << amount(receipt->released_amount) << " "
              << to_string(type_);
    if (opts_.grant != 0)
      std::cout << " (grant " << opts_.grant << ")";
    std::cout << "; " << receipt->requester_id << " still holds "
              << amount(receipt->still_held) << std::endl;
    return 0;
  }

  int renew() {
    auto grant = query<ResourceAllocation>(
        self_, pool_, timeout_, "renew", renew_atom::value,
        static_cast<GrantId>(opts_.grant), nanoseconds_of(opts_.ttl));
    if (!grant)
      return fail(grant.error(), "refused");
    std::cout << "renewed grant " << opts_.grant << " ("
              << amount(grant->allocated_amount) << " " << to_string(type_)
              << " held by " << grant->requester_id << "): expires in "
              << seconds_text(opts_.ttl) << std::endl;
    return 0;
  }

  int reserve() {
    caf::expected<PoolStatus> status{caf::sec::unexpected_response};
    auto amount_f = static_cast<float>(opts_.amount);
    if (opts_.ttl > 0)
      status = query<PoolStatus>(self_, pool_, timeout_, "reserve",
                                 reserve_atom::value, requester_, amount_f,
                                 nanoseconds_of(opts_.ttl));
    else
      status = query<PoolStatus>(self_, pool_, timeout_, "reserve",
                                 reserve_atom::value, requester_, amount_f);
    if (!status)
      return fail(status.error(), "refused");
    std::cout << "reserved " << amount(amount_f) << " " << to_string(type_)
              << " for " << requester_ << "; "
              << amount(static_cast<float>(to_amount(status->available)))
              << " available to others" << std::endl;
    // With a time-to-live the node returns it itself when the hold ends.
    auto seconds = opts_.hold >= 0 ? opts_.hold
                   : opts_.ttl > 0 ? opts_.ttl
                                   : -1;
    std::cerr << "rros reserve: holding the reservation "
              << (seconds >= 0 ? "for " + seconds_text(seconds)
                               : std::string{"until Ctrl-C"})
              << std::endl;
    GrantNotice unused;
    auto end = hold(seconds, 0, unused);
    if (end == HoldEnd::node_lost) {
      std::cerr << "rros reserve: lost the pool (the node went away or "
                   "replaced it); the reservation ends with it\n";
      return 2;
    }
    if (end == HoldEnd::elapsed && opts_.ttl > 0 && seconds >= opts_.ttl) {
      std::cerr << "rros reserve: its time-to-live ended; the node returned "
                   "what was unused\n";
      return 0;
    }
    auto what = end == HoldEnd::signal ? std::string{signal_name()}
                                       : "held " + seconds_text(seconds);
    auto returned = query<float>(self_, pool_, timeout_, "unreserve",
                                 unreserve_atom::value, requester_);
    if (!returned) {
      if (is(returned.error(), ec::nothing_held)) {
        std::cerr << "rros reserve: " << what
                  << "; nothing was left to return (used or expired)\n";
        return 0;
      }
      return fail(returned.error(), "unreserve");
    }
    std::cerr << "rros reserve: " << what << ": returned " << amount(*returned)
              << " " << to_string(type_) << "\n";
    return 0;
  }

  int cancel() {
    if (opts_.reservation) {
      auto returned = query<float>(self_, pool_, timeout_, "unreserve",
                                   unreserve_atom::value, requester_);
      if (!returned)
        return fail(returned.error(), "refused");
      std::cout << "returned " << amount(*returned) << " " << to_string(type_)
                << " reserved for " << requester_ << std::endl;
      return 0;
    }
    auto done = query<bool>(self_, pool_, timeout_, "cancel",
                            cancel_atom::value, requester_, opts_.request_id);
    if (!done)
      return fail(done.error(), "refused");
    std::cout << "cancelled request " << opts_.request_id << " of "
              << requester_ << " waiting for " << to_string(type_) << std::endl;
    return 0;
  }

  int quota() {
    Quota spec;
    spec.name = opts_.group;
    if (!opts_.remove) {
      spec.members = opts_.members;
      spec.min = static_cast<float>(opts_.min);
      spec.max = static_cast<float>(opts_.max);
      spec.weight = static_cast<float>(opts_.weight);
    }
    auto set =
        query<Quota>(self_, pool_, timeout_, "quota", quota_atom::value, spec);
    if (!set)
      return fail(set.error(), "refused");
    if (opts_.remove) {
      std::cout << "removed the quota of " << spec.name << " on "
                << to_string(type_) << std::endl;
      return 0;
    }
    std::cout << "quota " << set->name << " on " << to_string(type_) << ": min "
              << amount(set->min) << ", max "
              << (set->max > 0 ? amount(set->max) : std::string{"none"})
              << ", weight " << plain_number(set->weight, 3) << ", members ";
    if (set->members.empty())
      std::cout << set->name;
    for (std::size_t i = 0; i < set->members.size(); ++i)
      std::cout << (i ? ", " : "") << set->members[i];
    std::cout << std::endl;
    return 0;
  }

  int degrade() {
    auto sub = query<Subsystems>(self_, manager_, timeout_, "subsystems",
                                 subsystems_atom::value);
    if (!sub)
      return fail(sub.error());
    if (!sub->monitor) {
      std::cerr << "rros degrade: the node runs no monitor\n";
      return exit_refused;
    }
    auto view = query<TypeMonitorView>(self_, sub->monitor, timeout_, "degrade",
                                       degrade_atom::value, type_, !opts_.off);
    if (!view)
      return fail(view.error(), "refused");
    if (view->degraded)
      std::cout << to_string(type_) << " degraded"
                << (view->manual ? " by hand" : "") << ": refusing "
                << to_string(view->shed.refuse_from) << " and lower priorities"
                << std::endl;
    else
      std::cout << to_string(type_) << " not degraded" << std::endl;
    return 0;
  }

  const ClientOptions& opts_;
  caf::scoped_actor self_;
  manager_actor manager_;
  caf::timespan timeout_;
  ResourceType type_;
  std::string requester_;
  pool_actor pool_;
};

} // namespace

int run_client(const ClientOptions& opts) {
  caf::actor_system_config cfg;
  if (!configure_client(cfg, opts.tls, opts.command))
    return 2;
  set_connection_liveness(
      cfg, {timespan_of(opts.heartbeat_interval), caf::timespan{0}});
  caf::actor_system sys{cfg};
  auto manager = connect_manager(sys, opts.host, opts.port, opts.timeout,
                                 opts.command, opts.tls);
  if (!manager)
    return 2;
  Client client{opts, sys, *manager};
  return client.run();
}

} // namespace rros::app
