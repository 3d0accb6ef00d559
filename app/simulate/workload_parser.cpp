// The workload parser of `rros simulate` (see workload.hpp): reads a workload
// from JSON (rapidjson, comments allowed) and refuses anything it does not
// know with one line naming the problem and where it is: malformed JSON with
// line and column, an unknown key with the known ones, a value out of range.
#include "app/simulate/workload.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <map>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "app/simulate/text.hpp"
#include "messages/config.hpp"
#include "messages/error.hpp"

namespace rros::app {

namespace {

using json = rapidjson::Value;
using sim::number_text;

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
  auto [line, column] = line_and_column(text, offset);
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

} // namespace rros::app
