// What the monitor and the predictor keep across a restart, without actors
// (issue 14): read back as written, nothing before the first write, damage,
// a newer version and values out of range refused with the file named.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include <cereal/archives/portable_binary.hpp>
#include <gtest/gtest.h>

#include "core/kept_state.hpp"
#include "core/snapshot_file.hpp"
#include "process.hpp"

using namespace rros;
using namespace rros::test;

namespace {

KeptAlert alert(std::uint8_t type, std::string message) {
  KeptAlert a;
  a.severity = static_cast<std::uint8_t>(ResourceAlert::Severity::CRITICAL);
  a.type = type;
  a.message = std::move(message);
  a.threshold = 0.95f;
  a.at_ns = 1'700'000'000'123'456'789;
  return a;
}

MonitorKept some_alert_state() {
  MonitorKept kept;
  KeptTypeAlerts memory;
  memory.type = static_cast<std::uint8_t>(ResourceType::MEMORY);
  memory.own_rule = true;
  memory.rule_threshold = 0.6f;
  memory.rule_severity = 1;
  memory.threshold_alert = alert(memory.type, "memory utilization 97%");
  memory.degraded = true;
  memory.manual = true;
  memory.escalation = 2;
  memory.degraded_alert = alert(memory.type, "memory entered degraded mode");
  KeptTypeAlerts io;
  io.type = static_cast<std::uint8_t>(ResourceType::IO);
  io.rule_threshold = 0.85f;
  kept.types = {memory, io};
  kept.history = {alert(1, "first"), alert(3, "second")};
  return kept;
}

bool same(const KeptAlert& x, const KeptAlert& y) {
  return x.severity == y.severity && x.type == y.type &&
         x.message == y.message && x.threshold == y.threshold &&
         x.at_ns == y.at_ns;
}

std::string read_all(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << bytes;
}

class KeptStateTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = make_temp_dir("rros-kept");
  }
  void TearDown() override {
    std::filesystem::remove_all(dir);
  }
  std::string dir;
};

} // namespace

TEST_F(KeptStateTest, AlertStateReadsBackAsWritten) {
  auto file = monitor_state_file(dir);
  auto before = load_monitor_state(file);
  ASSERT_TRUE(std::holds_alternative<std::optional<MonitorKept>>(before));
  EXPECT_FALSE(std::get<std::optional<MonitorKept>>(before).has_value());
  auto written = some_alert_state();
  ASSERT_FALSE(save_monitor_state(file, written));
  auto loaded = load_monitor_state(file);
  ASSERT_TRUE(std::holds_alternative<std::optional<MonitorKept>>(loaded))
      << std::get<StorageError>(loaded).text();
  const auto& kept = *std::get<std::optional<MonitorKept>>(loaded);
  ASSERT_EQ(kept.types.size(), 2u);
  const auto& memory = kept.types[0];
  EXPECT_EQ(memory.type, written.types[0].type);
  EXPECT_TRUE(memory.own_rule);
  EXPECT_EQ(memory.rule_threshold, 0.6f);
  EXPECT_EQ(memory.rule_severity, 1);
  ASSERT_TRUE(memory.threshold_alert && memory.degraded_alert);
  EXPECT_TRUE(same(*memory.threshold_alert, *written.types[0].threshold_alert));
  EXPECT_TRUE(same(*memory.degraded_alert, *written.types[0].degraded_alert));
  EXPECT_TRUE(memory.degraded);
  EXPECT_TRUE(memory.manual);
  EXPECT_EQ(memory.escalation, 2u);
  EXPECT_FALSE(kept.types[1].threshold_alert);
  EXPECT_FALSE(kept.types[1].degraded);
  ASSERT_EQ(kept.history.size(), 2u);
  EXPECT_TRUE(same(kept.history[1], written.history[1]));
}

TEST_F(KeptStateTest, AnAlertKeepsItsTimeToTheNanosecond) {
  ResourceAlert a;
  a.severity = ResourceAlert::Severity::WARNING;
  a.resource_type = ResourceType::NETWORK;
  a.message = "network utilization 91%";
  a.threshold_violated = 0.9f;
  a.timestamp = wall_time{std::chrono::duration_cast<wall_clock::duration>(
      std::chrono::nanoseconds{1'800'000'000'000'000'001})};
  auto back = alert_of(kept_alert_of(a));
  EXPECT_EQ(back.severity, a.severity);
  EXPECT_EQ(back.resource_type, a.resource_type);
  EXPECT_EQ(back.message, a.message);
  EXPECT_EQ(back.threshold_violated, a.threshold_violated);
  EXPECT_EQ(back.timestamp, a.timestamp);
}

TEST_F(KeptStateTest, PredictorHistoryReadsBackAsWritten) {
  auto file = predictor_state_file(dir);
  PredictorKept written;
  written.series.push_back(KeptSeries{0, "", {1.0, 2.5, 0.0, 1e12}});
  written.series.push_back(KeptSeries{2, "vision", {0.125}});
  ASSERT_FALSE(save_predictor_state(file, written));
  auto loaded = load_predictor_state(file);
  ASSERT_TRUE(std::holds_alternative<std::optional<PredictorKept>>(loaded))
      << std::get<StorageError>(loaded).text();
  const auto& kept = *std::get<std::optional<PredictorKept>>(loaded);
  ASSERT_EQ(kept.series.size(), 2u);
  EXPECT_EQ(kept.series[0].observations, written.series[0].observations);
  EXPECT_EQ(kept.series[1].module, "vision");
  EXPECT_EQ(kept.series[1].type, 2);
  EXPECT_EQ(kept.series[1].observations, written.series[1].observations);
}

TEST_F(KeptStateTest, ADamagedFileIsRefusedWithItsName) {
  auto file = monitor_state_file(dir);
  ASSERT_FALSE(save_monitor_state(file, some_alert_state()));
  auto bytes = read_all(file);
  bytes[bytes.size() - 3] ^= 0x40; // inside the payload: the CRC differs
  write_all(file, bytes);
  auto loaded = load_monitor_state(file);
  auto* failed = std::get_if<StorageError>(&loaded);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->file, file);
  // Cut short: refused too, never half read.
  write_all(file, bytes.substr(0, bytes.size() / 2));
  loaded = load_monitor_state(file);
  ASSERT_NE(std::get_if<StorageError>(&loaded), nullptr);
}

TEST_F(KeptStateTest, AStateFromANewerVersionIsRefused) {
  // A payload whose version is one past this build's, framed correctly.
  auto file = predictor_state_file(dir);
  std::ostringstream payload;
  {
    cereal::PortableBinaryOutputArchive archive{payload};
    archive(static_cast<std::uint32_t>(kept_state_version + 1));
  }
  ASSERT_FALSE(write_file_atomically(
      file, snapshot_file_bytes(0, payload.str()), CrashPoint{}));
  auto loaded = load_predictor_state(file);
  auto* failed = std::get_if<StorageError>(&loaded);
  ASSERT_NE(failed, nullptr);
  EXPECT_NE(failed->message.find("newer version"), std::string::npos)
      << failed->text();
}

TEST_F(KeptStateTest, ValuesOutOfRangeAreRefused) {
  auto file = monitor_state_file(dir);
  auto bad_type = some_alert_state();
  bad_type.types[1].type = 5;
  ASSERT_FALSE(save_monitor_state(file, bad_type));
  auto loaded = load_monitor_state(file);
  ASSERT_NE(std::get_if<StorageError>(&loaded), nullptr);
  auto bad_threshold = some_alert_state();
  bad_threshold.types[0].rule_threshold = 1.5f;
  ASSERT_FALSE(save_monitor_state(file, bad_threshold));
  loaded = load_monitor_state(file);
  ASSERT_NE(std::get_if<StorageError>(&loaded), nullptr);
  auto bad_severity = some_alert_state();
  bad_severity.history[0].severity = 9;
  ASSERT_FALSE(save_monitor_state(file, bad_severity));
  loaded = load_monitor_state(file);
  ASSERT_NE(std::get_if<StorageError>(&loaded), nullptr);

  auto series_file = predictor_state_file(dir);
  for (auto y : {std::numeric_limits<double>::quiet_NaN(),
                 std::numeric_limits<double>::infinity(), -1.0}) {
    PredictorKept bad;
    bad.series.push_back(KeptSeries{0, "", {1.0, y}});
    ASSERT_FALSE(save_predictor_state(series_file, bad));
    auto read = load_predictor_state(series_file);
    EXPECT_NE(std::get_if<StorageError>(&read), nullptr) << y;
  }
}
