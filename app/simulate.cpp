// `rros simulate`: workload parsing, the discrete-event driver on CAF's test
// coordinator, the simulated module actors, and the summary.
#include "app/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <queue>
#include <random>
#include <sstream>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "actors/manager.hpp"
#include "app/commands.hpp"
#include "app/html_report.hpp"
#include "messages/error.hpp"

namespace rros::app {

// -- workload parsing ---------------------------------------------------------

namespace {

using json = rapidjson::Value;

constexpr double max_virtual_seconds = 86400;

std::string join(std::initializer_list<const char*> names) {
  std::string result;
  for (auto name : names) {
    if (!result.empty())
      result += ", ";
    result += name;
  }
  return result;
}

std::string number_text(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

/// Collects the first problem found; every check names where it is.
class WorkloadParser {
public:
  std::string error;

  bool fail(const std::string& message) {
    if (error.empty())
      error = message;
    return false;
  }

  bool known_keys(const json& obj, const std::string& where,
                  std::initializer_list<const char*> known) {
    for (const auto& member : obj.GetObject()) {
      std::string key = member.name.GetString();
      if (std::none_of(known.begin(), known.end(),
                       [&](const char* name) { return key == name; }))
        return fail("unknown key '" + key + "' in " + where +
                    " (known keys: " + join(known) + ")");
    }
    return true;
  }

  /// Reads an optional number in [min, max] (or (min, max] when
  /// `min_exclusive`).
  bool number(const json& obj, const char* key, const std::string& where,
              double& out, double min, double max, bool min_exclusive = false) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd())
      return true;
    if (!it->value.IsNumber())
      return fail(where + "." + key + " must be a number");
    double x = it->value.GetDouble();
    bool low = min_exclusive ? x <= min : x < min;
    if (!std::isfinite(x) || low || x > max)
      return fail(where + "." + key + " must be " +
                  (min_exclusive ? "above " : "at least ") + number_text(min) +
                  " and at most " + number_text(max) + ", got " +
                  number_text(x));
    out = x;
    return true;
  }

  bool text(const json& obj, const char* key, const std::string& where,
            std::string& out) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd())
      return true;
    if (!it->value.IsString())
      return fail(where + "." + key + " must be a string");
    out = it->value.GetString();
    return true;
  }

  bool boolean(const json& obj, const char* key, const std::string& where,
               bool& out) {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd())
      return true;
    if (!it->value.IsBool())
      return fail(where + "." + key + " must be true or false");
    out = it->value.GetBool();
    return true;
  }

  /// A number or [lo, hi] with min < lo <= hi <= max.
  bool range(const json& value, const std::string& where, Range& out,
             double min, double max) {
    auto check = [&](double x) {
      return std::isfinite(x) && x > min && x <= max;
    };
    auto bad = [&] {
      return fail(where + " must be a number or [low, high] with " +
                  number_text(min) + " < low <= high <= " + number_text(max));
    };
    if (value.IsNumber()) {
      double x = value.GetDouble();
      if (!check(x))
        return bad();
      out = Range{x, x};
      return true;
    }
    if (!value.IsArray() || value.Size() != 2 || !value[0].IsNumber() ||
        !value[1].IsNumber())
      return bad();
    Range r{value[0].GetDouble(), value[1].GetDouble()};
    if (!check(r.lo) || !check(r.hi) || r.lo > r.hi)
      return bad();
    out = r;
    return true;
  }

  bool priority(const json& obj, const std::string& where, Priority& out) {
    auto it = obj.FindMember("priority");
    if (it == obj.MemberEnd())
      return true;
    std::string name = it->value.IsString() ? it->value.GetString() : "";
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    for (auto p : {Priority::CRITICAL, Priority::HIGH, Priority::NORMAL,
                   Priority::LOW, Priority::IDLE})
      if (name == to_string(p)) {
        out = p;
        return true;
      }
    return fail(where +
                ".priority must be one of CRITICAL, HIGH, NORMAL, LOW, IDLE");
  }

  bool seconds(const json& obj, const char* key, const std::string& where,
               caf::timespan& out, bool positive) {
    double x = std::chrono::duration<double>(out).count();
    if (!number(obj, key, where, x, 0, 3600, positive))
      return false;
    out = std::chrono::duration_cast<caf::timespan>(
        std::chrono::duration<double>(x));
    return true;
  }

  bool monitor(const json& obj, MonitorSettings& out) {
    const std::string where = "monitor";
    if (!obj.IsObject())
      return fail("monitor must be an object");
    if (!known_keys(obj, where,
                    {"sample_interval", "clear_margin", "clear_after",
                     "degrade_enter", "degrade_exit", "degrade_after",
                     "recover_after", "escalate_after", "shed_from"}))
      return false;
    // Ranges are checked by the monitor itself when the run starts; here
    // only the types and obvious bounds.
    if (!seconds(obj, "sample_interval", where, out.sample_interval, true) ||
        !number(obj, "clear_margin", where, out.clear_margin, 0, 1) ||
        !seconds(obj, "clear_after", where, out.clear_after, false) ||
        !number(obj, "degrade_enter", where, out.degrade_enter, 0, 1, true) ||
        !number(obj, "degrade_exit", where, out.degrade_exit, 0, 1, true) ||
        !seconds(obj, "degrade_after", where, out.degrade_after, false) ||
        !seconds(obj, "recover_after", where, out.recover_after, false) ||
        !seconds(obj, "escalate_after", where, out.escalate_after, false))
      return false;
    if (obj.HasMember("shed_from")) {
      Priority p = Priority::IDLE;
      json wrapper(rapidjson::kObjectType);
      rapidjson::Document scratch;
      wrapper.AddMember("priority",
                        json(obj["shed_from"], scratch.GetAllocator()),
                        scratch.GetAllocator());
      if (!priority(wrapper, "monitor.shed_from", p))
        return false;
      out.shed_from = p;
    }
    return true;
  }

  bool module(const json& obj, std::size_t index, const Config& config,
              double duration, ModuleSpec& out) {
    std::string where = "modules[" + std::to_string(index) + "]";
    if (!obj.IsObject())
      return fail(where + " must be an object");
    if (obj.HasMember("name") && obj["name"].IsString())
      where += " (" + std::string(obj["name"].GetString()) + ")";
    if (!known_keys(obj, where,
                    {"name", "description", "priority", "rate", "demand",
                     "hold", "deadline", "ttl", "preemptable", "start", "stop",
                     "bursts", "deaths"}))
      return false;
    if (!text(obj, "name", where, out.name) ||
        !text(obj, "description", where, out.description))
      return false;
    if (out.name.empty())
      return fail(where + " needs a non-empty \"name\"");
    if (!obj.HasMember("rate") || !obj.HasMember("demand"))
      return fail(where + " needs \"rate\" and \"demand\"");
    if (!priority(obj, where, out.priority) ||
        !number(obj, "rate", where, out.rate, 0, 10000, true) ||
        !number(obj, "deadline", where, out.deadline, 0, 3600) ||
        !number(obj, "ttl", where, out.ttl, 0, 3600) ||
        !boolean(obj, "preemptable", where, out.preemptable) ||
        !number(obj, "start", where, out.start, 0, duration) ||
        !number(obj, "stop", where, out.stop, 0, max_virtual_seconds))
      return false;
    if (obj.HasMember("hold") &&
        !range(obj["hold"], where + ".hold", out.hold, 0, 3600))
      return false;
    const auto& demand = obj["demand"];
    if (!demand.IsObject() || demand.MemberCount() == 0)
      return fail(where + ".demand must be an object of type -> amount, e.g. "
                          "{\"computational\": [5, 10]}");
    for (const auto& member : demand.GetObject()) {
      std::string key = member.name.GetString();
      auto type =
          std::find_if(all_resource_types.begin(), all_resource_types.end(),
                       [&](ResourceType t) { return key == to_string(t); });
      if (type == all_resource_types.end())
        return fail("unknown key '" + key + "' in " + where +
                    ".demand (known keys: computational, memory, attention, "
                    "io, network)");
      Range amount;
      auto capacity = config.capacity_of(*type);
      if (!range(member.value, where + ".demand." + key, amount, 0, capacity))
        return false;
      out.demand.emplace_back(*type, amount);
    }
    if (auto it = obj.FindMember("bursts"); it != obj.MemberEnd()) {
      if (!it->value.IsArray())
        return fail(where + ".bursts must be an array");
      for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
        const auto& b = it->value[i];
        auto at = where + ".bursts[" + std::to_string(i) + "]";
        if (!b.IsObject())
          return fail(at + " must be an object");
        Burst burst;
        if (!known_keys(b, at, {"at", "length", "factor"}) ||
            !number(b, "at", at, burst.at, 0, max_virtual_seconds) ||
            !number(b, "length", at, burst.length, 0, max_virtual_seconds,
                    true) ||
            !number(b, "factor", at, burst.factor, 0, 1000))
          return false;
        if (!b.HasMember("at") || !b.HasMember("length"))
          return fail(at + " needs \"at\" and \"length\"");
        out.bursts.push_back(burst);
      }
    }
    if (auto it = obj.FindMember("deaths"); it != obj.MemberEnd()) {
      if (!it->value.IsArray())
        return fail(where + ".deaths must be an array");
      for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
        const auto& d = it->value[i];
        auto at = where + ".deaths[" + std::to_string(i) + "]";
        if (!d.IsObject())
          return fail(at + " must be an object");
        Death death;
        if (!known_keys(d, at, {"at", "restart_after"}) ||
            !number(d, "at", at, death.at, 0, max_virtual_seconds) ||
            !number(d, "restart_after", at, death.restart_after, 0,
                    max_virtual_seconds))
          return false;
        if (!d.HasMember("at"))
          return fail(at + " needs \"at\"");
        out.deaths.push_back(death);
      }
      std::sort(out.deaths.begin(), out.deaths.end(),
                [](const Death& x, const Death& y) { return x.at < y.at; });
    }
    return true;
  }
};

/// "line L, column C" of a byte offset.
std::string position_of(const std::string& text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

} // namespace

bool parse_workload(const std::string& text, const std::string& origin,
                    Workload& out, std::string& error) {
  auto prefix = "workload " + origin + ": ";
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseCommentsFlag>(text.c_str(), text.size());
  if (doc.HasParseError()) {
    error = prefix + "malformed JSON at " +
            position_of(text, doc.GetErrorOffset()) + ": " +
            rapidjson::GetParseError_En(doc.GetParseError());
    return false;
  }
  if (!doc.IsObject()) {
    error = prefix + "expected a JSON object at the top";
    return false;
  }
  WorkloadParser p;
  Workload w;
  w.origin = origin;
  double seed = static_cast<double>(w.seed);
  bool ok = p.known_keys(doc, "the workload",
                         {"name", "description", "duration", "seed", "config",
                          "monitor", "forecast", "modules"}) &&
            p.text(doc, "name", "the workload", w.name) &&
            p.text(doc, "description", "the workload", w.description) &&
            p.number(doc, "duration", "the workload", w.duration, 0,
                     max_virtual_seconds, true) &&
            p.number(doc, "seed", "the workload", seed, 0, 9007199254740992.0);
  w.seed = static_cast<std::uint64_t>(seed);
  if (ok && doc.HasMember("config")) {
    const auto& cfg = doc["config"];
    if (!cfg.IsObject()) {
      ok = p.fail("config must be an object of configuration key -> number");
    } else {
      std::map<std::string, double> update;
      for (const auto& member : cfg.GetObject()) {
        if (!member.value.IsNumber()) {
          ok = p.fail("config." + std::string(member.name.GetString()) +
                      " must be a number");
          break;
        }
        update[member.name.GetString()] = member.value.GetDouble();
      }
      if (ok) {
        auto config = Config{}.with(update);
        if (!config)
          ok = p.fail("config: " + describe(config.error()));
        else
          w.config = *config;
      }
    }
  }
  if (ok && doc.HasMember("monitor"))
    ok = p.monitor(doc["monitor"], w.monitor);
  if (ok && doc.HasMember("forecast")) {
    const auto& f = doc["forecast"];
    if (!f.IsObject())
      ok = p.fail("forecast must be an object");
    else
      ok = p.known_keys(f, "forecast", {"every", "horizon"}) &&
           p.number(f, "every", "forecast", w.forecast_every, 0,
                    max_virtual_seconds, true) &&
           p.number(f, "horizon", "forecast", w.forecast_horizon, 0, 600, true);
  }
  if (ok) {
    auto it = doc.FindMember("modules");
    if (it == doc.MemberEnd() || !it->value.IsArray() || it->value.Empty()) {
      ok = p.fail("\"modules\" must be a non-empty array");
    } else {
      for (rapidjson::SizeType i = 0; ok && i < it->value.Size(); ++i) {
        ModuleSpec m;
        ok = p.module(it->value[i], i, w.config, w.duration, m);
        if (ok) {
          for (const auto& other : w.modules)
            if (other.name == m.name)
              ok = p.fail("two modules are named '" + m.name + "'");
          w.modules.push_back(std::move(m));
        }
      }
    }
  }
  if (!ok) {
    error = prefix + p.error;
    return false;
  }
  out = std::move(w);
  return true;
}

// -- simulation
// -----------------------------------------------------------------

namespace {

using sim_task_atom = caf::atom_constant<caf::atom("simtask")>;
using sim_done_atom = caf::atom_constant<caf::atom("simdone")>;
using time_point = caf::actor_clock::time_point;

caf::timespan span_of(double seconds) {
  return caf::timespan{
      static_cast<caf::timespan::rep>(std::llround(seconds * 1e9))};
}

double seconds_of(caf::timespan x) {
  return std::chrono::duration<double>(x).count();
}

/// A seeded generator with its own distributions: std:: distributions differ
/// across standard libraries, and a seed must repeat a run everywhere.
class Rng {
public:
  explicit Rng(std::uint64_t seed)
    : gen_(seed) {}

  double uniform() { // [0, 1) with 53 random bits
    return static_cast<double>(gen_() >> 11) * 0x1.0p-53;
  }

  double between(const Range& r) {
    return r.lo + (r.hi - r.lo) * uniform();
  }

  double exponential(double rate) {
    return -std::log1p(-uniform()) / rate;
  }

private:
  std::mt19937_64 gen_;
};

/// splitmix64: independent streams per module from one seed, so adding a
/// module leaves the others' draws unchanged.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

enum class Outcome : std::uint8_t {
  pending,         // asked, no reply yet
  held,            // granted and holding
  completed,       // held to the end of its work and released
  preempted,       // revoked for a higher priority
  shed_revoked,    // revoked because its type degraded
  expired,         // its lease's time-to-live ran out
  refused,         // refused at once
  deadline_missed, // waited and was not granted in time
  shed_refused,    // refused because its type was degraded
  lost,            // the module died before the reply
  killed,          // the module died while holding it
  failed,          // any other error
};

struct TaskRecord {
  std::size_t module = 0;
  Priority priority = Priority::NORMAL;
  std::vector<BundleItem> items;
  caf::timespan deadline{0}, ttl{0}, hold{0};
  bool preemptable = false;
  // Filled in by the module actor:
  Outcome outcome = Outcome::pending;
  bool partial = false;
  caf::timespan issued{0}, granted{0};
  GrantId grant = 0;   // single-type tasks
  BundleId bundle = 0; // bundles
};

/// What the driver shares with the actors it spawns. Safe without locks: on
/// the test coordinator every actor runs on the driver's thread.
struct Shared {
  std::vector<TaskRecord> tasks;
  std::vector<std::string> module_names;
  PoolDirectory pools;
  bundle_actor bundles;
  time_point t0;
  SimResult* result = nullptr;

  caf::timespan since_start(time_point t) const {
    return t - t0;
  }
};

struct module_state {
  // Held tasks by (type, grant id) of each leg, to route revoke notices.
  std::map<std::pair<ResourceType, GrantId>, std::uint64_t> legs;
  static inline const char* name = "rros.sim.module";
};

using module_actor = caf::stateful_actor<module_state>;

void forget_legs(module_actor* self, std::uint64_t id) {
  auto& legs = self->state.legs;
  for (auto i = legs.begin(); i != legs.end();)
    i = i->second == id ? legs.erase(i) : std::next(i);
}

/// Returns a held task's grant(s); replies are of no interest (a grant that
/// is gone already answers unknown_grant).
void give_back(module_actor* self, Shared* shared, std::uint64_t id) {
  auto& task = shared->tasks[id];
  if (task.bundle != 0)
    self->request(shared->bundles, caf::infinite, release_atom::value,
                  task.bundle)
        .then([](std::vector<ReleaseReceipt>&) {}, [](caf::error&) {});
  else
    self->request(shared->pools[task.items[0].type], caf::infinite,
                  release_atom::value, task.grant)
        .then([](ReleaseReceipt&) {}, [](caf::error&) {});
  forget_legs(self, id);
}

void on_granted(module_actor* self, Shared* shared, std::uint64_t id) {
  auto& task = shared->tasks[id];
  task.outcome = Outcome::held;
  task.granted = shared->since_start(self->clock().now());
  self->delayed_send(self, task.hold, sim_done_atom::value, id);
}

void on_refused(Shared* shared, std::uint64_t id, const caf::error& err) {
  auto& task = shared->tasks[id];
  if (is(err, ec::deadline_expired))
    task.outcome = Outcome::deadline_missed;
  else if (is(err, ec::shed))
    task.outcome = Outcome::shed_refused;
  else if (is(err, ec::insufficient_resources) || is(err, ec::exceeds_quota))
    task.outcome = Outcome::refused;
  else
    task.outcome = Outcome::failed;
}

/// A simulated module: asks for each task's demand when the driver says so,
/// holds it for the task's duration, releases it, and gives a grant back
/// early when a pool revokes it.
caf::behavior sim_module(module_actor* self, Shared* shared,
                         std::size_t index) {
  return {
      [=](sim_task_atom, std::uint64_t id) {
        auto& task = shared->tasks[id];
        task.issued = shared->since_start(self->clock().now());
        const auto& name = shared->module_names[index];
        if (task.items.size() == 1) {
          ResourceRequest req{
              name, task.items[0].type, task.priority, task.items[0].amount,
              std::chrono::duration_cast<std::chrono::milliseconds>(
                  task.deadline)};
          req.ttl = task.ttl;
          req.preemptable = task.preemptable;
          req.request_id = id + 1;
          self->request(shared->pools[req.resource_type], caf::infinite,
                        allocate_atom::value, req)
              .then(
                  [=](ResourceAllocation& grant) {
                    auto& t = shared->tasks[id];
                    if (grant.allocated_amount <= 0 || grant.grant_id == 0) {
                      t.outcome = Outcome::refused;
                      return;
                    }
                    t.grant = grant.grant_id;
                    t.partial = !grant.fully_satisfied;
                    self->state.legs[{grant.resource_type, grant.grant_id}] =
                        id;
                    on_granted(self, shared, id);
                  },
                  [=](caf::error& err) { on_refused(shared, id, err); });
          return;
        }
        BundleRequest req;
        req.requester_id = name;
        req.priority = task.priority;
        req.items = task.items;
        req.deadline = task.deadline;
        req.ttl = task.ttl;
        req.preemptable = task.preemptable;
        req.request_id = id + 1;
        self->request(shared->bundles, caf::infinite, allocate_atom::value, req)
            .then(
                [=](BundleGrant& grant) {
                  shared->tasks[id].bundle = grant.bundle_id;
                  for (const auto& leg : grant.legs)
                    self->state.legs[{leg.resource_type, leg.grant_id}] = id;
                  on_granted(self, shared, id);
                },
                [=](caf::error& err) { on_refused(shared, id, err); });
      },
      [=](sim_done_atom, std::uint64_t id) {
        auto& task = shared->tasks[id];
        if (task.outcome != Outcome::held)
          return;
        task.outcome = Outcome::completed;
        give_back(self, shared, id);
      },
      [=](revoke_atom, const GrantNotice& notice) {
        auto i = self->state.legs.find({notice.resource_type, notice.grant_id});
        if (i == self->state.legs.end())
          return;
        auto id = i->second;
        auto& task = shared->tasks[id];
        if (task.outcome != Outcome::held)
          return;
        switch (notice.reason) {
          case RevokeReason::expired:
            task.outcome = Outcome::expired;
            break;
          case RevokeReason::preempted:
            task.outcome = Outcome::preempted;
            break;
          case RevokeReason::shed:
            task.outcome = Outcome::shed_revoked;
            break;
        }
        // Preempted and shed grants are welcome back before the grace period
        // ends; a bundle gives back its other legs with the revoked one.
        give_back(self, shared, id);
      },
  };
}

/// Hears the monitor: utilization samples, alerts and degradation.
caf::behavior sim_observer(caf::event_based_actor* self, Shared* shared) {
  return {
      [=](sample_atom, const UtilizationSample& sample) {
        if (!is_valid(sample.type))
          return;
        auto at = seconds_of(shared->since_start(self->clock().now()));
        shared->result->types[static_cast<std::size_t>(sample.type)]
            .samples.emplace_back(at, sample.utilization);
      },
      [=](monitor_event_atom, const MonitorEvent& event) {
        if (!is_valid(event.type))
          return;
        auto at = seconds_of(shared->since_start(self->clock().now()));
        auto& series =
            shared->result->types[static_cast<std::size_t>(event.type)];
        std::ostringstream text;
        bool alert = false;
        text << to_string(event.type) << ": ";
        switch (event.kind) {
          case MonitorEventKind::alert_raised:
            ++series.alerts;
            alert = true;
            text << "alert " << to_string(event.alert.severity) << ": "
                 << event.alert.message;
            break;
          case MonitorEventKind::alert_cleared:
            alert = true;
            text << "alert cleared";
            break;
          case MonitorEventKind::degraded_entered:
            series.degraded.emplace_back(at, -1);
            text << "degraded, shedding " << to_string(event.shed.refuse_from)
                 << " and below";
            break;
          case MonitorEventKind::degraded_left:
            if (!series.degraded.empty() && series.degraded.back().second < 0)
              series.degraded.back().second = at;
            text << "recovered";
            break;
          case MonitorEventKind::escalated:
            ++series.escalations;
            text << "escalated (step " << event.escalation << "), shedding "
                 << to_string(event.shed.refuse_from) << " and below";
            break;
        }
        if (event.kind != MonitorEventKind::alert_raised)
          text << " (utilization " << std::fixed << std::setprecision(1)
               << event.utilization * 100 << "%)";
        shared->result->events.push_back({at, text.str(), alert});
      },
  };
}

enum class EventKind : std::uint8_t {
  arrival,
  rate_change,
  death,
  restart,
  forecast
};

struct Event {
  caf::timespan at;
  std::uint64_t seq;
  EventKind kind;
  std::size_t module;
  std::uint64_t generation; // arrivals of an older generation are stale

  bool operator>(const Event& other) const {
    return at != other.at ? at > other.at : seq > other.seq;
  }
};

/// One module's arrival process.
struct ModuleRun {
  const ModuleSpec* spec = nullptr;
  Rng rng{0};
  caf::actor actor;
  bool alive = true;
  std::uint64_t generation = 0;
  std::size_t next_death = 0;

  double rate_at(double t, double end) const {
    double stop = spec->stop < 0 ? end : spec->stop;
    if (!alive || t < spec->start || t >= stop)
      return 0;
    double rate = spec->rate;
    for (const auto& b : spec->bursts)
      if (t >= b.at && t < b.at + b.length)
        rate *= b.factor;
    return rate;
  }
};

/// The test coordinator plus a blocking request helper that never blocks on
/// a reply that has not arrived.
class Driver {
public:
  explicit Driver(caf::actor_system& sys)
    : sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler()))
    , self(sys, true) {}

  template <class Result, class Handle, class... Ts>
  caf::expected<Result> ask(const Handle& dest, Ts&&... xs) {
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    sched.run();
    if (self->mailbox().empty())
      return caf::make_error(caf::sec::request_timeout);
    caf::expected<Result> result{caf::sec::unexpected_response};
    handle.receive([&](Result& reply) { result = std::move(reply); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Moves virtual time to `target` (from the clock's start), firing every
  /// timer on its own due time, and runs what became ready.
  void advance_to(time_point target) {
    sched.run();
    auto& clock = sched.clock();
    for (;;) {
      const auto& schedule = clock.schedule();
      if (schedule.empty() || schedule.begin()->first > target)
        break;
      auto due = std::max(schedule.begin()->first, clock.now());
      sched.advance_time(due - clock.now());
      sched.run();
    }
    if (target > clock.now())
      sched.advance_time(target - clock.now());
    sched.run();
  }

  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
};

} // namespace

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

  auto manager = spawn_manager(sys, workload.config);
  drv.sched.run();
  auto subsystems = drv.ask<Subsystems>(manager, subsystems_atom::value);
  auto pools = drv.ask<PoolDirectory>(manager, pools_atom::value);
  auto bundles = drv.ask<bundle_actor>(manager, bundles_atom::value);
  if (!subsystems || !pools || !bundles || !subsystems->monitor ||
      !subsystems->predictor)
    return fail("the embedded node did not start its subsystems");
  auto monitor = caf::actor_cast<monitor_actor>(subsystems->monitor);
  auto predictor = caf::actor_cast<predictor_actor>(subsystems->predictor);
  auto settings =
      drv.ask<MonitorSettings>(monitor, settings_atom::value, workload.monitor);
  if (!settings)
    return fail("workload " + workload.origin +
                ": monitor: " + describe(settings.error()));

  Shared shared;
  shared.result = &result;
  shared.pools = *pools;
  shared.bundles = *bundles;
  shared.t0 = drv.sched.clock().now();
  for (const auto& m : workload.modules)
    shared.module_names.push_back(m.name);

  auto observer = sys.spawn(sim_observer, &shared);
  auto subscribed =
      drv.ask<MonitorTopics>(monitor, subscribe_atom::value, observer,
                             MonitorTopics{true, true, true});
  if (!subscribed)
    return fail("cannot subscribe to the monitor: " +
                describe(subscribed.error()));

  // -- the event queue
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue;
  std::uint64_t seq = 0;
  auto end = span_of(duration);
  auto push = [&](caf::timespan at, EventKind kind, std::size_t module,
                  std::uint64_t generation = 0) {
    if (at <= end)
      queue.push(Event{at, seq++, kind, module, generation});
  };
  std::vector<ModuleRun> runs(workload.modules.size());
  auto schedule_arrival = [&](std::size_t i, double now_s) {
    auto& run = runs[i];
    ++run.generation;
    auto rate = run.rate_at(now_s, duration);
    if (rate > 0)
      push(span_of(now_s + run.rng.exponential(rate)), EventKind::arrival, i,
           run.generation);
  };
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto& run = runs[i];
    run.spec = &workload.modules[i];
    run.rng = Rng{mix(seed ^ mix(i + 1))};
    run.actor = sys.spawn(sim_module, &shared, i);
    push(span_of(run.spec->start), EventKind::rate_change, i);
    if (run.spec->stop >= 0)
      push(span_of(run.spec->stop), EventKind::rate_change, i);
    for (const auto& b : run.spec->bursts) {
      push(span_of(b.at), EventKind::rate_change, i);
      push(span_of(b.at + b.length), EventKind::rate_change, i);
    }
    for (const auto& d : run.spec->deaths)
      push(span_of(d.at), EventKind::death, i);
  }
  for (double t = workload.forecast_every; t < duration;
       t += workload.forecast_every)
    push(span_of(t), EventKind::forecast, 0);

  auto handle = [&](const Event& ev) {
    double now_s = seconds_of(ev.at);
    auto& run = runs[ev.module];
    switch (ev.kind) {
      case EventKind::arrival: {
        if (ev.generation != run.generation || !run.alive)
          return;
        TaskRecord task;
        task.module = ev.module;
        task.priority = run.spec->priority;
        for (const auto& [type, amount] : run.spec->demand)
          task.items.push_back(
              BundleItem{type, static_cast<float>(run.rng.between(amount))});
        task.hold = span_of(run.rng.between(run.spec->hold));
        task.deadline = span_of(run.spec->deadline);
        task.ttl = span_of(run.spec->ttl);
        task.preemptable = run.spec->preemptable;
        shared.tasks.push_back(std::move(task));
        caf::anon_send(run.actor, sim_task_atom::value,
                       static_cast<std::uint64_t>(shared.tasks.size() - 1));
        schedule_arrival(ev.module, now_s);
        return;
      }
      case EventKind::rate_change:
        // Poisson arrivals are memoryless: redrawing at a change is exact.
        schedule_arrival(ev.module, now_s);
        return;
      case EventKind::death: {
        const auto& death = run.spec->deaths[run.next_death++];
        if (!run.alive)
          return;
        run.alive = false;
        ++result.deaths;
        for (auto& task : shared.tasks) {
          if (task.module != ev.module)
            continue;
          if (task.outcome == Outcome::held) {
            task.outcome = Outcome::killed;
            ++result.held_at_death;
          } else if (task.outcome == Outcome::pending) {
            task.outcome = Outcome::lost;
          }
        }
        caf::anon_send_exit(run.actor, caf::exit_reason::kill);
        schedule_arrival(ev.module, now_s);
        std::ostringstream text;
        text << run.spec->name << " died, its grants return to the pools";
        if (death.restart_after >= 0)
          text << " (restart in " << death.restart_after << " s)";
        result.events.push_back({now_s, text.str()});
        if (death.restart_after >= 0)
          push(span_of(now_s + death.restart_after), EventKind::restart,
               ev.module);
        return;
      }
      case EventKind::restart:
        run.alive = true;
        run.actor = sys.spawn(sim_module, &shared, ev.module);
        ++result.restarts;
        result.events.push_back({now_s, run.spec->name + " restarted"});
        schedule_arrival(ev.module, now_s);
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
    }
  };

  for (const auto& m : workload.modules)
    for (const auto& b : m.bursts)
      if (b.at < duration)
        result.events.push_back({b.at, m.name + " bursts: arrivals x" +
                                           number_text(b.factor) + " for " +
                                           number_text(b.length) + " s"});

  double next_report = duration / 10;
  while (!queue.empty() && queue.top().at <= end) {
    auto ev = queue.top();
    queue.pop();
    drv.advance_to(shared.t0 + ev.at);
    handle(ev);
    drv.sched.run();
    if (progress && seconds_of(ev.at) >= next_report) {
      progress(seconds_of(ev.at), duration);
      while (next_report <= seconds_of(ev.at))
        next_report += duration / 10;
    }
  }
  drv.advance_to(shared.t0 + end);
  if (progress)
    progress(duration, duration);

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

  for (const auto& task : shared.tasks) {
    auto& counts = result.by_priority[static_cast<std::size_t>(task.priority)];
    ++counts.issued;
    bool granted =
        task.outcome == Outcome::held || task.outcome == Outcome::completed ||
        task.outcome == Outcome::preempted ||
        task.outcome == Outcome::shed_revoked ||
        task.outcome == Outcome::expired || task.outcome == Outcome::killed;
    if (granted) {
      if (task.partial)
        ++counts.partial;
      else
        ++counts.granted;
      auto wait = seconds_of(task.granted - task.issued);
      if (wait > 0) {
        ++counts.waited;
        counts.wait_total += wait;
      }
    }
    switch (task.outcome) {
      case Outcome::completed:
        ++result.completed;
        break;
      case Outcome::preempted:
        ++result.preempted;
        break;
      case Outcome::shed_revoked:
        ++result.shed_revoked;
        break;
      case Outcome::expired:
        ++result.expired;
        break;
      case Outcome::refused:
      case Outcome::failed:
        ++counts.refused;
        break;
      case Outcome::deadline_missed:
        ++counts.deadline_missed;
        break;
      case Outcome::shed_refused:
        ++counts.shed;
        break;
      case Outcome::lost:
        ++counts.lost;
        break;
      case Outcome::held:
        ++result.running_at_end;
        break;
      case Outcome::pending:
        ++result.waiting_at_end;
        break;
      case Outcome::killed:
        break;
    }
  }

  caf::anon_send_exit(observer, caf::exit_reason::user_shutdown);
  for (auto& run : runs)
    if (run.alive)
      caf::anon_send_exit(run.actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  drv.sched.run();
  return true;
}

// -- the summary
// ----------------------------------------------------------------

namespace {

std::string percent(double fraction) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << fraction * 100 << "%";
  return out.str();
}

std::string fixed(double x, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << x;
  return out.str();
}

double degraded_seconds(const TypeSeries& series) {
  double total = 0;
  for (const auto& [from, to] : series.degraded)
    total += to - from;
  return total;
}

} // namespace

void print_summary(std::ostream& out, const SimResult& r) {
  const auto& w = r.workload;
  out << "rros simulate: workload \"" << w.name << "\" (" << w.modules.size()
      << " modules), seed " << r.seed << ", " << fixed(r.duration, 0)
      << " s of virtual time\n  capacities:";
  for (auto type : all_resource_types)
    out << " " << to_string(type) << " " << std::setprecision(15)
        << w.config.capacity_of(type);
  out << "\n\nUtilization per type\n"
      << std::left << std::setw(15) << "type" << std::right << std::setw(8)
      << "mean" << std::setw(8) << "peak" << std::setw(8) << "alerts"
      << std::setw(11) << "degraded" << std::setw(13) << "escalations"
      << "\n";
  for (auto type : all_resource_types) {
    const auto& s = r.types[static_cast<std::size_t>(type)];
    out << std::left << std::setw(15) << to_string(type) << std::right
        << std::setw(8) << percent(s.mean) << std::setw(8) << percent(s.peak)
        << std::setw(8) << s.alerts << std::setw(11)
        << (fixed(degraded_seconds(s), 1) + " s") << std::setw(13)
        << s.escalations << "\n";
  }

  out << "\nRequests by priority (a bundle counts once)\n"
      << std::left << std::setw(10) << "priority" << std::right << std::setw(8)
      << "issued" << std::setw(9) << "granted" << std::setw(9) << "partial"
      << std::setw(8) << "waited" << std::setw(11) << "mean wait"
      << std::setw(9) << "refused" << std::setw(10) << "deadline"
      << std::setw(7) << "shed" << std::setw(7) << "lost"
      << "\n";
  PriorityCounts total;
  auto row = [&](const std::string& name, const PriorityCounts& c) {
    out << std::left << std::setw(10) << name << std::right << std::setw(8)
        << c.issued << std::setw(9) << c.granted << std::setw(9) << c.partial
        << std::setw(8) << c.waited << std::setw(11)
        << (c.waited ? fixed(c.wait_total / c.waited * 1000, 1) + " ms" : "-")
        << std::setw(9) << c.refused << std::setw(10) << c.deadline_missed
        << std::setw(7) << c.shed << std::setw(7) << c.lost << "\n";
  };
  for (std::size_t i = 0; i < r.by_priority.size(); ++i) {
    const auto& c = r.by_priority[i];
    row(to_string(static_cast<Priority>(i)), c);
    total.issued += c.issued;
    total.granted += c.granted;
    total.partial += c.partial;
    total.waited += c.waited;
    total.wait_total += c.wait_total;
    total.refused += c.refused;
    total.deadline_missed += c.deadline_missed;
    total.shed += c.shed;
    total.lost += c.lost;
  }
  row("total", total);
  out << "  deadline: deadline misses (waited, not granted in time); shed: "
         "refused while the type was degraded\n";

  out << "\nGrants taken back: " << r.preempted << " preempted, "
      << r.shed_revoked << " shed while degraded, " << r.expired
      << " expired (ttl)\n"
      << "Tasks: " << r.completed << " completed, " << r.running_at_end
      << " running and " << r.waiting_at_end << " waiting at the end\n"
      << "Module deaths: " << r.deaths << " (" << r.restarts << " restarted, "
      << r.held_at_death << " grants returned by the pools)\n"
      << "Bundles: " << r.bundles_granted << " granted, " << r.bundles_refused
      << " refused, " << r.bundle_attempts << " attempts\n";

  out << "\nForecast error (one step ahead, utilization in percentage "
         "points)\n"
      << std::left << std::setw(15) << "type" << std::right << std::setw(8)
      << "scored" << std::setw(9) << "MAE" << std::setw(11) << "reference"
      << std::setw(12) << "confidence"
      << "  model\n";
  for (const auto& s : r.forecast_errors)
    out << std::left << std::setw(15) << to_string(s.type) << std::right
        << std::setw(8) << s.scored << std::setw(9)
        << fixed(s.mean_abs_error * 100, 2) << std::setw(11)
        << fixed(s.reference_mae * 100, 2) << std::setw(12)
        << fixed(s.confidence, 2) << "  " << s.model << "\n";

  // Alerts are counted above; the timeline lists what changed the system.
  constexpr std::size_t shown = 20;
  std::vector<const SimEvent*> notable;
  for (const auto& ev : r.events)
    if (!ev.alert)
      notable.push_back(&ev);
  out << "\nTimeline (degradation, bursts, module deaths";
  if (notable.size() > shown)
    out << "; first " << shown << " of " << notable.size();
  out << "; every event is in the report)\n";
  if (notable.empty())
    out << "  nothing happened beyond alerts\n";
  for (std::size_t i = 0; i < notable.size() && i < shown; ++i)
    out << std::right << std::setw(8) << fixed(notable[i]->at, 1) << " s  "
        << notable[i]->text << "\n";
}

// -- the command
// ----------------------------------------------------------------

int run_simulate(const SimulateOptions& opts) {
  if (opts.print_workload) {
    std::cout << default_workload_json();
    return 0;
  }
  std::string text;
  std::string origin = "(embedded default)";
  if (!opts.workload_path.empty()) {
    std::ifstream in(opts.workload_path, std::ios::binary);
    if (!in) {
      std::cerr << "rros simulate: cannot read workload file '"
                << opts.workload_path << "'\n";
      return 2;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
    origin = opts.workload_path;
  } else {
    text = default_workload_json();
  }
  Workload workload;
  std::string error;
  if (!parse_workload(text, origin, workload, error)) {
    std::cerr << "rros simulate: " << error << "\n";
    return 2;
  }
  auto seed = opts.seed_given ? opts.seed : workload.seed;
  auto duration = opts.duration > 0 ? opts.duration : workload.duration;
  // Check the report's place before spending the run on it.
  if (!opts.report_path.empty()) {
    std::ofstream probe(opts.report_path, std::ios::app);
    if (!probe) {
      std::cerr << "rros simulate: cannot write the report to '"
                << opts.report_path << "'\n";
      return 2;
    }
  }
  bool tty = ::isatty(STDERR_FILENO);
  auto started = std::chrono::steady_clock::now();
  ProgressFn progress;
  if (opts.progress && duration >= 60)
    progress = [&](double done, double total) {
      auto wall = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - started)
                      .count();
      std::cerr << (tty ? "\r" : "") << "rros simulate: " << std::setw(3)
                << static_cast<int>(done / total * 100 + 0.5) << "% ("
                << fixed(done, 0) << " of " << fixed(total, 0) << " s virtual, "
                << fixed(wall, 1) << " s wall)"
                << (tty && done < total ? "" : "\n") << std::flush;
    };
  SimResult result;
  try {
    if (!simulate(workload, seed, duration, progress, result, error)) {
      std::cerr << "rros simulate: " << error << "\n";
      return 2;
    }
  } catch (const std::exception& err) {
    std::cerr << "rros simulate: " << err.what() << "\n";
    return 1;
  }
  print_summary(std::cout, result);
  std::cout << std::flush;
  if (!opts.report_path.empty()) {
    if (!write_html_report(opts.report_path, result, error)) {
      std::cerr << "rros simulate: " << error << "\n";
      return 2;
    }
    std::cerr << "rros simulate: report written to " << opts.report_path
              << "\n";
  }
  return 0;
}

// -- the embedded default workload
// ---------------------------------------------

// config/workloads/default.json, compiled in so that `rros simulate` works
// from any directory. Keep both identical: tests/test_program.cpp compares
// them.
const std::string& default_workload_json() {
  static const std::string text = R"rros_workload({
  "name": "default",
  "description": "A cognitive stack for five minutes: perception, reasoning, memory consolidation, a background indexer and a telemetry uplink share the five budgets; vision bursts at 120 s, audio dies at 180 s and reasoning at 230 s.",
  "duration": 300,
  "seed": 42,
  "config": {
    "computational_capacity": 100,
    "memory_capacity": 1048576,
    "attention_capacity": 1,
    "io_capacity": 100,
    "network_capacity": 100,
    "alert_threshold": 0.85
  },
  "monitor": {
    "degrade_enter": 0.95,
    "degrade_exit": 0.7,
    "degrade_after": 2,
    "recover_after": 1,
    "escalate_after": 30
  },
  "forecast": { "every": 10, "horizon": 5 },
  "modules": [
    {
      "name": "vision",
      "description": "object detection on camera frames",
      "priority": "HIGH",
      "rate": 6,
      "demand": { "computational": [3, 6] },
      "hold": [0.5, 1.5],
      "deadline": 0.3,
      "bursts": [ { "at": 120, "length": 25, "factor": 3 } ]
    },
    {
      "name": "audio",
      "description": "speech front end: features and keyword spotting",
      "priority": "NORMAL",
      "rate": 5,
      "demand": { "computational": [2, 4], "io": [1, 3] },
      "hold": [0.4, 1.0],
      "deadline": 0.2,
      "deaths": [ { "at": 180, "restart_after": 8 } ]
    },
    {
      "name": "reasoning",
      "description": "planner episodes needing compute, working memory and attention together",
      "priority": "NORMAL",
      "rate": 0.6,
      "demand": { "computational": [8, 15], "memory": [32768, 131072], "attention": [0.1, 0.25] },
      "hold": [2, 5],
      "deadline": 2,
      "deaths": [ { "at": 230, "restart_after": 15 } ]
    },
    {
      "name": "consolidation",
      "description": "memory consolidation: long, preemptable batches with a lease time-to-live",
      "priority": "LOW",
      "rate": 0.3,
      "demand": { "memory": [131072, 262144], "io": [5, 15] },
      "hold": [5, 12],
      "ttl": 10,
      "preemptable": true
    },
    {
      "name": "indexer",
      "description": "background indexer: takes what is free, gives way to everybody",
      "priority": "IDLE",
      "rate": 2,
      "demand": { "computational": [5, 10] },
      "hold": [1, 3],
      "preemptable": true
    },
    {
      "name": "attention",
      "description": "salience tracking holding slices of attention",
      "priority": "HIGH",
      "rate": 2,
      "demand": { "attention": [0.05, 0.15] },
      "hold": [0.5, 2],
      "deadline": 0.5
    },
    {
      "name": "uplink",
      "description": "telemetry uplink",
      "priority": "NORMAL",
      "rate": 1,
      "demand": { "network": [10, 30] },
      "hold": [1, 4],
      "deadline": 1
    },
    {
      "name": "safety",
      "description": "safety monitor: small, rare and never refused",
      "priority": "CRITICAL",
      "rate": 0.5,
      "demand": { "computational": [5, 10] },
      "hold": [0.5, 1],
      "deadline": 0.1
    }
  ]
}
)rros_workload";
  return text;
}

} // namespace rros::app
