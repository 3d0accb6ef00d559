#include "messages/config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <cereal/archives/json.hpp>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

namespace rros {

namespace {

constexpr std::size_t first_non_capacity_key = resource_type_count;

caf::error bad_value(const std::string& key, double value, const char* rule) {
  std::ostringstream out;
  out << "configuration key '" << key << "' = " << value << ": " << rule;
  return make_error(ec::invalid_config_value, out.str());
}

} // namespace

std::pair<std::size_t, std::size_t> line_and_column(const std::string& text,
                                                    std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

const std::vector<std::string>& Config::keys() {
  static const std::vector<std::string> result = [] {
    std::vector<std::string> xs;
    for (auto type : all_resource_types)
      xs.push_back(capacity_key(type));
    for (const auto& setting : settings())
      xs.emplace_back(setting.key);
    return xs;
  }();
  return result;
}

const std::vector<Config::Setting>& Config::settings() {
  static const std::vector<Setting> result{
      {"alert_threshold", &Config::alert_threshold, 0, false, 1,
       "must be a fraction in (0, 1]"},
      {"gc_threshold", &Config::gc_threshold, 0, false, 1,
       "must be a fraction in (0, 1]"},
      // Beyond ~31 years a duration would overflow the clocks it is used with.
      {"gc_age_threshold", &Config::gc_age_threshold, 0, true, 1e9,
       "must be in [0, 1e9] seconds"},
      {"aging_interval", &Config::aging_interval, 0, false, 1e9,
       "must be in (0, 1e9] seconds"},
      {"preemption_grace", &Config::preemption_grace, 0, true, 1e9,
       "must be in [0, 1e9] seconds"},
      {"max_preemptions_per_round", &Config::max_preemptions_per_round, 1, true,
       1e6, "must be a whole number in [1, 1e6]"},
  };
  return result;
}

std::string Config::capacity_key(ResourceType type) {
  return std::string{to_string(type)} + "_capacity";
}

caf::expected<Config> Config::with(const ConfigMap& update) const {
  std::map<std::string, double> values;
  for (const auto& [name, value] : update)
    values.emplace(name, static_cast<double>(value));
  return with(values);
}

caf::expected<Config>
Config::with(const std::map<std::string, double>& update) const {
  Config result = *this;
  // std::map visits keys in a stable order, so the first error reported does
  // not depend on a hash map's iteration order.
  const auto& known = keys();
  for (const auto& [name, value] : update) {
    auto pos = std::find(known.begin(), known.end(), name);
    if (pos == known.end())
      return make_error(ec::unknown_config_key,
                        "unknown configuration key '" + name + "'");
    if (!std::isfinite(value))
      return bad_value(name, value, "must be a finite number");
    auto index = static_cast<std::size_t>(pos - known.begin());
    if (index < first_non_capacity_key) {
      if (value > max_amount)
        return bad_value(name, value, "capacity must be at most 1e12");
      // At least one unit, with room for a float's rounding (1e-6f is
      // 0.99999999747 units).
      if (value * units_per_amount < 0.999999)
        return bad_value(name, value, "capacity must be at least 0.000001");
      result.capacity[index] = value;
    } else {
      const auto& setting = settings()[index - first_non_capacity_key];
      bool above_min =
          setting.min_inclusive ? value >= setting.min : value > setting.min;
      bool whole = setting.member != &Config::max_preemptions_per_round ||
                   value == std::floor(value);
      if (!above_min || value > setting.max || !whole)
        return bad_value(name, value, setting.rule);
      result.*setting.member = value;
    }
  }
  return result;
}

caf::expected<Config> Config::from_json(const std::string& text) {
  // First pass with rapidjson: syntax errors with line and column, and the
  // shape (an object of numbers) checked key by key.
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError()) {
    auto [line, column] = line_and_column(text, doc.GetErrorOffset());
    std::ostringstream out;
    out << "line " << line << ", column " << column << ": "
        << rapidjson::GetParseError_En(doc.GetParseError());
    return make_error(ec::malformed_config, out.str());
  }
  if (!doc.IsObject())
    return make_error(ec::malformed_config,
                      "the configuration must be a JSON object of key: number");
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string name = it->name.GetString();
    if (!it->value.IsNumber())
      return make_error(ec::malformed_config,
                        "configuration key '" + name + "' must be a number");
  }
  // Second pass with cereal into the typed struct (Config::load validates).
  try {
    std::istringstream in{text};
    cereal::JSONInputArchive archive{in};
    Config result;
    result.load(archive);
    return result;
  } catch (const Error& err) {
    return make_error(err.code(), err.what()); // what() is the context only
  } catch (const std::exception& err) {
    return make_error(ec::malformed_config, err.what());
  }
}

caf::expected<Config> Config::from_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(ec::malformed_config,
                      "cannot read configuration file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto result = from_json(buffer.str());
  if (!result) {
    auto code = static_cast<ec>(result.error().code());
    auto text = describe(result.error());
    auto colon = text.find(": ");
    return make_error(
        code, path + ": " +
                  (colon == std::string::npos ? text : text.substr(colon + 2)));
  }
  return result;
}

std::string Config::to_json() const {
  std::ostringstream out;
  {
    cereal::JSONOutputArchive archive{out};
    save(archive);
  }
  return out.str();
}

ConfigMap Config::to_map() const {
  ConfigMap result;
  for (auto type : all_resource_types)
    result[capacity_key(type)] = static_cast<float>(capacity_of(type));
  for (const auto& setting : settings())
    result[setting.key] = static_cast<float>(this->*setting.member);
  return result;
}

} // namespace rros
