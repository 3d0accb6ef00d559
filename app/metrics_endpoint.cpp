#include "app/metrics_endpoint.hpp"

#include <cmath>
#include <exception>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/metrics_collector.hpp"

namespace rros::app {

namespace {

/// "HOST:PORT" with a host and a port in [1, 65535].
bool is_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size() ||
      text.size() - colon - 1 > 5)
    return false;
  for (auto i = colon + 1; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9')
      return false;
  auto port = std::stoul(text.substr(colon + 1));
  return port >= 1 && port <= 65535;
}

} // namespace

caf::expected<Config> load_node_config(const std::string& path,
                                       NodeFileSettings& node) {
  constexpr const char* default_path = "config/default.json";
  constexpr const char* port_key = "metrics_port";
  struct stat info;
  std::string file = path;
  if (file.empty()) {
    if (::stat(default_path, &info) != 0)
      return Config{};
    file = default_path;
  } else if (::stat(file.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return make_error(ec::malformed_config,
                      "configuration '" + file +
                          "' is a directory; give a JSON file");
  }
  std::ifstream in{file};
  rapidjson::Document doc;
  std::stringstream text;
  if (in) {
    text << in.rdbuf();
    doc.Parse(text.str().c_str(), text.str().size());
  }
  // Unreadable or malformed files: Config's own reader names the problem
  // (with line and column).
  const char* tls_keys[] = {"tls_certificate", "tls_key", "tls_ca"};
  const char* other_keys[] = {"name",
                              "cluster",
                              "join",
                              "data_dir",
                              "heartbeat_interval",
                              "connection_timeout"};
  auto has_node_key = [&] {
    if (doc.HasMember(port_key))
      return true;
    for (auto key : tls_keys)
      if (doc.HasMember(key))
        return true;
    for (auto key : other_keys)
      if (doc.HasMember(key))
        return true;
    return false;
  };
  if (!in || doc.HasParseError() || !doc.IsObject() || !has_node_key())
    return Config::from_file(file);
  if (doc.HasMember(port_key)) {
    const auto& value = doc[port_key];
    double port = value.IsNumber() ? value.GetDouble() : -1;
    if (!value.IsNumber() || port < 0 || port > 65535 ||
        port != std::floor(port))
      return make_error(ec::invalid_config_value,
                        file + ": configuration key '" + port_key +
                            "' must be a whole number in [0, 65535] (0: any "
                            "free port)");
    node.metrics_port = static_cast<int>(port);
    doc.RemoveMember(port_key);
  }
  // TLS files; a relative path is relative to the file's directory.
  auto dir = file.find('/') == std::string::npos
                 ? std::string{}
                 : file.substr(0, file.rfind('/') + 1);
  std::string* tls_fields[] = {&node.tls.certificate, &node.tls.key,
                               &node.tls.ca};
  for (std::size_t i = 0; i < 3; ++i) {
    auto key = tls_keys[i];
    if (!doc.HasMember(key))
      continue;
    const auto& value = doc[key];
    if (!value.IsString() || value.GetStringLength() == 0)
      return make_error(ec::invalid_config_value,
                        file + ": configuration key '" + key +
                            "' must be a file's path");
    std::string path = value.GetString();
    *tls_fields[i] = path[0] == '/' ? path : dir + path;
    doc.RemoveMember(key);
  }
  auto refuse = [&](const char* key, const std::string& what) {
    return make_error(ec::invalid_config_value, file + ": configuration key '" +
                                                    key + "' must be " + what);
  };
  // Names are checked where the flags' are (a name's characters).
  std::pair<const char*, std::string*> names[] = {
      {"name", &node.node_name},
      {"cluster", &node.cluster_name},
      {"data_dir", &node.data_dir}};
  for (auto& [key, field] : names) {
    if (!doc.HasMember(key))
      continue;
    const auto& value = doc[key];
    if (!value.IsString() || value.GetStringLength() == 0)
      return refuse(key, "a non-empty string");
    *field = value.GetString();
    if (field == &node.data_dir && (*field)[0] != '/')
      *field = dir + *field;
    doc.RemoveMember(key);
  }
  if (doc.HasMember("join")) {
    const auto& value = doc["join"];
    if (!value.IsArray())
      return refuse("join", "an array of \"HOST:PORT\" strings");
    for (const auto& seed : value.GetArray()) {
      if (!seed.IsString() || !is_endpoint(seed.GetString()))
        return refuse("join", "an array of \"HOST:PORT\" strings");
      node.join.emplace_back(seed.GetString());
    }
    doc.RemoveMember("join");
  }
  // The flags' bounds (rros node --help).
  struct Duration {
    const char* key;
    double* field;
    double lo;
    double hi;
    const char* range;
  } durations[] = {{"heartbeat_interval", &node.heartbeat_interval, 0.01, 3600,
                    "a number of seconds in [0.01, 3600]"},
                   {"connection_timeout", &node.connection_timeout, 0.02, 86400,
                    "a number of seconds in [0.02, 86400]"}};
  for (auto& [key, field, lo, hi, range] : durations) {
    if (!doc.HasMember(key))
      continue;
    const auto& value = doc[key];
    if (!value.IsNumber() || !(value.GetDouble() >= lo) ||
        !(value.GetDouble() <= hi))
      return refuse(key, range);
    *field = value.GetDouble();
    doc.RemoveMember(key);
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  auto result = Config::from_json(buffer.GetString());
  if (!result)
    return make_error(static_cast<ec>(result.error().code()),
                      file + ": " + context_of(result.error()));
  return result;
}

MetricsEndpoint::~MetricsEndpoint() {
  // No scrape may read the registry while the collector goes away.
  exposer_.reset();
  if (collector_)
    caf::anon_send_exit(collector_, caf::exit_reason::user_shutdown);
}

caf::expected<std::unique_ptr<MetricsEndpoint>>
MetricsEndpoint::start(caf::actor_system& sys, const manager_actor& manager,
                       const std::string& host, std::uint16_t port,
                       caf::timespan interval) {
  // An IPv6 literal needs brackets before the port ("[::1]:9464").
  auto address =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
      std::to_string(port);
  auto result = std::make_unique<MetricsEndpoint>();
  result->registry_ = std::make_shared<prometheus::Registry>();
  try {
    // One server thread: scrapes are rare and cheap.
    result->exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& ex) {
    return make_error(
        ec::invalid_argument,
        "cannot serve metrics on " + address +
            " (port in use or address not available): " + ex.what());
  }
  auto ports = result->exposer_->GetListeningPorts();
  if (ports.empty())
    return make_error(ec::invalid_argument,
                      "cannot serve metrics on " + address +
                          ": the server listens on no port");
  result->port_ = ports.front();
  result->collector_ =
      spawn_metrics_collector(sys, manager, result->registry_, interval);
  result->exposer_->RegisterCollectable(result->registry_);
  return result;
}

} // namespace rros::app
