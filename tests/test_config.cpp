// rros::Config: the seed's defaults, validated updates through with(), the
// JSON reader (syntax errors with their line, shape errors naming the key),
// files, and the JSON and map round trips.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <ostream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "messages/config.hpp"

using namespace rros;

namespace rros {

// Failures print the configuration as JSON instead of its bytes.
static void PrintTo(const Config& x, std::ostream* out) {
  *out << x.to_json();
}

} // namespace rros

namespace {

/// The error code and text of an expected that should have failed, checking
/// that the text names `needle`.
::testing::AssertionResult fails_naming(const caf::expected<Config>& x, ec code,
                                        const std::string& needle) {
  if (x)
    return ::testing::AssertionFailure()
           << "succeeded, expected " << to_string(code);
  auto text = describe(x.error());
  if (!is(x.error(), code))
    return ::testing::AssertionFailure()
           << "failed with " << text << ", expected " << to_string(code);
  if (text.find(needle) == std::string::npos)
    return ::testing::AssertionFailure()
           << "the message '" << text << "' does not mention '" << needle
           << "'";
  return ::testing::AssertionSuccess();
}

/// A configuration different from the defaults in every key, with values that
/// a float (the seed's ConfigMap value type) represents exactly.
Config custom_config() {
  Config c;
  c.capacity = {250.0, 4096.0, 2.5, 12.25, 1000.0};
  c.alert_threshold = 0.75;
  c.gc_threshold = 0.5;
  c.gc_age_threshold = 60.0;
  return c;
}

/// Writes `text` to a fresh file under the test's temporary directory.
class TempFile {
public:
  TempFile(const std::string& name, const std::string& text)
    : path_(::testing::TempDir() + "rros_config_" + std::to_string(::getpid()) +
            "_" + name) {
    std::ofstream out{path_};
    out << text;
  }

  ~TempFile() {
    std::remove(path_.c_str());
  }

  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

constexpr float nan_value = std::numeric_limits<float>::quiet_NaN();
constexpr float inf_value = std::numeric_limits<float>::infinity();

} // namespace

// -- defaults -----------------------------------------------------------------

TEST(ConfigTest, DefaultsEqualTheSeeds) {
  Config c;
  EXPECT_EQ(c.capacity_of(ResourceType::COMPUTATIONAL), 100.0);
  EXPECT_EQ(c.capacity_of(ResourceType::MEMORY), 1048576.0);
  EXPECT_EQ(c.capacity_of(ResourceType::ATTENTION), 1.0);
  EXPECT_EQ(c.capacity_of(ResourceType::IO), 100.0);
  EXPECT_EQ(c.capacity_of(ResourceType::NETWORK), 100.0);
  EXPECT_EQ(c.alert_threshold, 0.85);
  EXPECT_EQ(c.gc_threshold, 0.9);
  EXPECT_EQ(c.gc_age_threshold, 300.0);
}

TEST(ConfigTest, KeysAreTheSeedsInAStableOrder) {
  const std::vector<std::string> expected{"computational_capacity",
                                          "memory_capacity",
                                          "attention_capacity",
                                          "io_capacity",
                                          "network_capacity",
                                          "alert_threshold",
                                          "gc_threshold",
                                          "gc_age_threshold",
                                          "aging_interval",
                                          "preemption_grace",
                                          "max_preemptions_per_round"};
  EXPECT_EQ(Config::keys(), expected);
  EXPECT_EQ(Config::capacity_key(ResourceType::MEMORY), "memory_capacity");
  EXPECT_EQ(Config::capacity_key(ResourceType::IO), "io_capacity");
}

// -- with()
// ---------------------------------------------------------------------

TEST(ConfigTest, WithAppliesGoodKeysAndLeavesTheOriginalAlone) {
  const Config original;
  auto updated = original.with(ConfigMap{{"memory_capacity", 2048.0f},
                                         {"alert_threshold", 0.5f},
                                         {"gc_threshold", 1.0f},
                                         {"gc_age_threshold", 0.0f}});
  ASSERT_TRUE(updated) << describe(updated.error());
  EXPECT_EQ(updated->capacity_of(ResourceType::MEMORY), 2048.0);
  EXPECT_EQ(updated->alert_threshold, 0.5);
  EXPECT_EQ(updated->gc_threshold, 1.0);
  EXPECT_EQ(updated->gc_age_threshold, 0.0);
  // Keys not named keep their values.
  EXPECT_EQ(updated->capacity_of(ResourceType::COMPUTATIONAL), 100.0);
  EXPECT_EQ(updated->capacity_of(ResourceType::NETWORK), 100.0);
  EXPECT_EQ(original, Config{});
  // An empty update is the identity.
  auto same = original.with(ConfigMap{});
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, original);
}

TEST(ConfigTest, WithInDoublePrecisionKeepsValuesExact) {
  // The double overload (used by the file reader) does not round to float.
  const Config original = custom_config();
  auto c = original.with(std::map<std::string, double>{
      {"alert_threshold", 0.85}, {"gc_threshold", 0.9}, {"io_capacity", 0.1}});
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->alert_threshold, 0.85);
  EXPECT_EQ(c->gc_threshold, 0.9);
  EXPECT_EQ(c->capacity_of(ResourceType::IO), 0.1);
  EXPECT_EQ(original, custom_config());
  // Values a float cannot hold are still checked in full precision.
  EXPECT_TRUE(fails_naming(
      original.with(std::map<std::string, double>{{"io_capacity", 1e300}}),
      ec::invalid_config_value, "io_capacity"));
  EXPECT_TRUE(fails_naming(original.with(std::map<std::string, double>{
                               {"gc_threshold", 1.0 + 1e-12}}),
                           ec::invalid_config_value, "gc_threshold"));
  EXPECT_TRUE(fails_naming(
      original.with(std::map<std::string, double>{{"memory_capacity", 5e-7}}),
      ec::invalid_config_value, "memory_capacity"));
  EXPECT_TRUE(
      fails_naming(original.with(std::map<std::string, double>{{"cpu", 1.0}}),
                   ec::unknown_config_key, "cpu"));
  EXPECT_EQ(original, custom_config());
}

TEST(ConfigTest, WithAcceptsTheCapacityBounds) {
  auto c = Config{}.with(
      ConfigMap{{"attention_capacity", 2e-6f},
                {"io_capacity", 1e12f}}); // 1e12f is just below 1e12
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->capacity_of(ResourceType::ATTENTION),
            static_cast<double>(2e-6f));
  EXPECT_EQ(c->capacity_of(ResourceType::IO), static_cast<double>(1e12f));
}

TEST(ConfigTest, WithRefusesAnUnknownKey) {
  const Config original = custom_config();
  EXPECT_TRUE(fails_naming(original.with(ConfigMap{{"cpu_capacity", 10.0f}}),
                           ec::unknown_config_key, "cpu_capacity"));
  // A good key next to the unknown one is not applied either.
  EXPECT_TRUE(fails_naming(original.with(ConfigMap{{"memory_capacity", 10.0f},
                                                   {"zzz_unknown", 1.0f}}),
                           ec::unknown_config_key, "zzz_unknown"));
  EXPECT_EQ(original, custom_config());
}

TEST(ConfigTest, WithRefusesBadCapacities) {
  const Config original;
  const float bad[] = {-1.0f,      0.0f,  -0.0f,   nan_value, inf_value,
                       -inf_value, 2e12f, 1.1e12f, 1e-7f};
  for (auto type : all_resource_types) {
    auto key = Config::capacity_key(type);
    for (auto value : bad)
      EXPECT_TRUE(fails_naming(original.with(ConfigMap{{key, value}}),
                               ec::invalid_config_value, key))
          << key << " = " << value;
  }
  EXPECT_EQ(original, Config{});
}

TEST(ConfigTest, WithRefusesThresholdsOutsideTheUnitInterval) {
  const Config original;
  const float bad[] = {0.0f, -0.0f,     -0.5f,     1.0001f,
                       2.0f, nan_value, inf_value, -inf_value};
  for (const char* key : {"alert_threshold", "gc_threshold"})
    for (auto value : bad)
      EXPECT_TRUE(fails_naming(original.with(ConfigMap{{key, value}}),
                               ec::invalid_config_value, key))
          << key << " = " << value;
  EXPECT_EQ(original, Config{});
}

TEST(ConfigTest, WithRefusesANegativeOrNonFiniteGcAge) {
  const Config original;
  for (auto value : {-1.0f, -0.001f, nan_value, inf_value, -inf_value})
    EXPECT_TRUE(
        fails_naming(original.with(ConfigMap{{"gc_age_threshold", value}}),
                     ec::invalid_config_value, "gc_age_threshold"))
        << value;
  EXPECT_EQ(original, Config{});
}

TEST(ConfigTest, WithReportsTheFirstBadKeyInNameOrder) {
  // Both keys are bad; the report does not depend on hash order.
  auto result = Config{}.with(
      ConfigMap{{"memory_capacity", -1.0f}, {"io_capacity", 0.0f}});
  EXPECT_TRUE(fails_naming(result, ec::invalid_config_value, "io_capacity"));
}

// -- from_json()
// ------------------------------------------------------------------

TEST(ConfigTest, FromJsonReadsEveryKey) {
  auto c = Config::from_json(R"({
    "computational_capacity": 250,
    "memory_capacity": 4096,
    "attention_capacity": 2.5,
    "io_capacity": 12.25,
    "network_capacity": 1000,
    "alert_threshold": 0.75,
    "gc_threshold": 0.5,
    "gc_age_threshold": 60
  })");
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(*c, custom_config());
}

TEST(ConfigTest, FromJsonKeepsDefaultsForMissingKeys) {
  auto empty = Config::from_json("{}");
  ASSERT_TRUE(empty) << describe(empty.error());
  EXPECT_EQ(*empty, Config{});
  auto some = Config::from_json(R"({"gc_threshold": 0.5, "io_capacity": 7})");
  ASSERT_TRUE(some) << describe(some.error());
  Config expected;
  expected.gc_threshold = 0.5;
  expected.capacity[static_cast<std::size_t>(ResourceType::IO)] = 7.0;
  EXPECT_EQ(*some, expected);
}

TEST(ConfigTest, FromJsonNamesTheLineOfASyntaxError) {
  // Line 3 lacks the colon after its key.
  EXPECT_TRUE(fails_naming(Config::from_json("{\n"
                                             "  \"alert_threshold\": 0.5,\n"
                                             "  \"gc_threshold\" 0.5\n"
                                             "}\n"),
                           ec::malformed_config, "line 3"));
  // A trailing comma: the parser stops at the brace on line 5.
  EXPECT_TRUE(fails_naming(Config::from_json("{\n"
                                             "  \"io_capacity\": 1,\n"
                                             "\n"
                                             "  \"gc_threshold\": 0.5,\n"
                                             "}\n"),
                           ec::malformed_config, "line 5"));
  EXPECT_TRUE(fails_naming(Config::from_json("{\"io_capacity\": 1,, }"),
                           ec::malformed_config, "line 1"));
  EXPECT_TRUE(
      fails_naming(Config::from_json(""), ec::malformed_config, "line 1"));
}

TEST(ConfigTest, FromJsonRefusesARootThatIsNotAnObject) {
  for (const char* text : {"[1, 2]", "42", "\"io_capacity\"", "null", "true"})
    EXPECT_TRUE(fails_naming(Config::from_json(text), ec::malformed_config,
                             "JSON object"))
        << text;
}

TEST(ConfigTest, FromJsonRefusesAValueThatIsNotANumber) {
  for (const char* value :
       {"\"high\"", "true", "null", "[0.5]", "{\"x\": 1}"}) {
    auto text =
        std::string{"{\"io_capacity\": 5, \"gc_threshold\": "} + value + "}";
    EXPECT_TRUE(fails_naming(Config::from_json(text), ec::malformed_config,
                             "gc_threshold"))
        << text;
  }
}

TEST(ConfigTest, FromJsonRefusesAnUnknownKey) {
  EXPECT_TRUE(fails_naming(Config::from_json(R"({"cpu_capacity": 5})"),
                           ec::unknown_config_key, "cpu_capacity"));
}

TEST(ConfigTest, FromJsonRefusesValuesOutOfRangeNamingTheKey) {
  EXPECT_TRUE(fails_naming(Config::from_json(R"({"alert_threshold": 1.5})"),
                           ec::invalid_config_value, "alert_threshold"));
  EXPECT_TRUE(fails_naming(Config::from_json(R"({"memory_capacity": -3})"),
                           ec::invalid_config_value, "memory_capacity"));
  EXPECT_TRUE(fails_naming(Config::from_json(R"({"io_capacity": 5e12})"),
                           ec::invalid_config_value, "io_capacity"));
  EXPECT_TRUE(fails_naming(Config::from_json(R"({"gc_age_threshold": -1})"),
                           ec::invalid_config_value, "gc_age_threshold"));
  // Beyond float's range: refused for its value, not for an overflow to inf.
  EXPECT_TRUE(fails_naming(Config::from_json(R"({"io_capacity": 1e300})"),
                           ec::invalid_config_value, "at most 1e12"));
}

TEST(ConfigTest, FromJsonMessagesCarryTheCategoryOnlyOnce) {
  auto result = Config::from_json(R"({"alert_threshold": 1.5})");
  ASSERT_FALSE(result);
  auto text = describe(result.error());
  EXPECT_EQ(text.find("invalid_config_value"),
            text.rfind("invalid_config_value"))
      << text;
}

// -- from_file()
// ------------------------------------------------------------------

TEST(ConfigTest, FromFileNamesAMissingFile) {
  auto path = ::testing::TempDir() + "rros_config_does_not_exist.json";
  EXPECT_TRUE(
      fails_naming(Config::from_file(path), ec::malformed_config, path));
}

TEST(ConfigTest, FromFileReadsAFileWeWrote) {
  TempFile file{"good.json", custom_config().to_json()};
  auto c = Config::from_file(file.path());
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(*c, custom_config());
}

TEST(ConfigTest, FromFileNamesTheFileAndTheLineOfAnError) {
  TempFile file{"bad.json",
                "{\n  \"io_capacity\": 1\n  \"gc_threshold\": 0.5\n}\n"};
  auto c = Config::from_file(file.path());
  EXPECT_TRUE(fails_naming(c, ec::malformed_config, file.path()));
  EXPECT_TRUE(fails_naming(c, ec::malformed_config, "line 3"));
  TempFile unknown{"unknown.json", R"({"cpu_capacity": 5})"};
  auto u = Config::from_file(unknown.path());
  EXPECT_TRUE(fails_naming(u, ec::unknown_config_key, unknown.path()));
  EXPECT_TRUE(fails_naming(u, ec::unknown_config_key, "cpu_capacity"));
}

// -- round trips
// --------------------------------------------------------------------

TEST(ConfigTest, ToJsonFromJsonRoundTripOfACustomConfig) {
  auto c = Config::from_json(custom_config().to_json());
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(*c, custom_config());
}

TEST(ConfigTest, ToJsonFromJsonRoundTripOfTheDefaults) {
  // 0.85 and 0.9 are not floats: the round trip must not pass them through
  // the seed's float map.
  auto c = Config::from_json(Config{}.to_json());
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(*c, Config{}) << "alert_threshold " << c->alert_threshold
                          << ", gc_threshold " << c->gc_threshold;
}

TEST(ConfigTest, ToMapHasEveryKey) {
  auto map = custom_config().to_map();
  EXPECT_EQ(map.size(), Config::keys().size());
  for (const auto& key : Config::keys())
    EXPECT_EQ(map.count(key), 1u) << key;
  EXPECT_EQ(map.at("memory_capacity"), 4096.0f);
  EXPECT_EQ(map.at("alert_threshold"), 0.75f);
  EXPECT_EQ(map.at("gc_age_threshold"), 60.0f);
}

TEST(ConfigTest, ToMapRoundTripThroughWith) {
  // Exact for values a float holds.
  auto c = Config{}.with(custom_config().to_map());
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(*c, custom_config());
  // The defaults pass through float: equal at float precision, and stable
  // from then on.
  auto d = custom_config().with(Config{}.to_map());
  ASSERT_TRUE(d) << describe(d.error());
  for (auto type : all_resource_types)
    EXPECT_EQ(static_cast<float>(d->capacity_of(type)),
              static_cast<float>(Config{}.capacity_of(type)));
  EXPECT_EQ(static_cast<float>(d->alert_threshold), 0.85f);
  EXPECT_EQ(static_cast<float>(d->gc_threshold), 0.9f);
  EXPECT_EQ(d->gc_age_threshold, 300.0);
  auto again = custom_config().with(d->to_map());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *d);
}
