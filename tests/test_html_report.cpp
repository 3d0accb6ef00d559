// The HTML report of `rros simulate` rendered from made-up results (no
// simulation): a day of virtual time with ten samples a second, a forecast
// every ten seconds and thousands of flapping alerts must give a report of a
// few MB at most (the size is printed), with one min/max pair per pixel
// column, the alerts folded into counts, labelled thresholds and markers,
// and time ticks in round units. When chromium is installed, the page is
// also rendered headless and must run its script without an error.
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "app/simulate/html_report.hpp"
#include "browser.hpp"

using namespace rros;
using namespace rros::app;
using namespace rros::test;

namespace {

constexpr double day = 86400;

SimResult a_day() {
  SimResult r;
  r.workload.name = "a day";
  r.workload.origin = "made up in tests/test_html_report.cpp";
  r.workload.modules.resize(3);
  r.workload.modules[0].name = "vision";
  r.workload.modules[1].name = "audio";
  r.workload.modules[2].name = "reasoning";
  r.seed = 7;
  r.duration = day;
  for (auto type : all_resource_types) {
    auto& s = r.types[static_cast<std::size_t>(type)];
    auto phase = static_cast<double>(static_cast<int>(type));
    s.samples.reserve(static_cast<std::size_t>(day * 10));
    for (std::size_t i = 0; i < static_cast<std::size_t>(day * 10); ++i) {
      double t = static_cast<double>(i) / 10;
      double u = 0.5 + 0.4 * std::sin(t / 3000 + phase) +
                 0.1 * std::sin(t * 1.7 + phase);
      s.samples.emplace_back(t, static_cast<float>(std::clamp(u, 0.0, 1.0)));
    }
    s.mean = 0.5;
    s.peak = 1;
    for (double t = 100; t < day; t += 900)
      s.degraded.emplace_back(t, t + 300);
    s.alerts = 8640;
    s.escalations = 10;
  }
  // A forecast of 50 steps every 10 s per type.
  for (double t = 10; t < day; t += 10)
    for (auto type : all_resource_types) {
      ForecastTrace f;
      f.type = type;
      f.at = t;
      f.step = 0.1;
      f.predicted.assign(50, 0.6f);
      f.lower.assign(50, 0.3f);
      f.upper.assign(50, 1.4f); // above the chart: clamped
      r.forecasts.push_back(std::move(f));
    }
  // Alerts flapping every 10 s on every type, degradation every 900 s,
  // deaths and bursts every hour.
  for (double t = 5; t < day; t += 10)
    for (auto type : all_resource_types) {
      auto name = std::string{to_string(type)};
      bool raise = static_cast<long>(t) / 10 % 2 == 0;
      r.events.push_back({t,
                          raise ? name + ": alert WARNING: " + name +
                                      " utilization 90.0% above 85.0% for 2 s"
                                : name + ": alert cleared (utilization 80.0%)",
                          true, static_cast<int>(type), raise ? "WARNING" : "",
                          ""});
    }
  for (double t = 100; t < day; t += 900)
    r.events.push_back({t, "computational: degraded, shedding IDLE and below",
                        false, 0, "", ""});
  for (double t = 1800; t < day; t += 3600) {
    r.events.push_back({t, "audio died, its grants return to the pools", false,
                        -1, "", "audio died"});
    r.events.push_back({t + 600, "vision bursts: arrivals x3 for 25 s", false,
                        -1, "", "vision burst x3"});
  }
  return r;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size()))
    ++n;
  return n;
}

/// The text after each `prefix` up to the next double quote.
std::vector<std::string> values_after(const std::string& text,
                                      const std::string& prefix) {
  std::vector<std::string> result;
  for (auto at = text.find(prefix); at != std::string::npos;
       at = text.find(prefix, at + 1)) {
    auto from = at + prefix.size();
    result.push_back(text.substr(from, text.find('"', from) - from));
  }
  return result;
}

} // namespace

TEST(HtmlReport, ADayOfVirtualTimeGivesAFewMegabytes) {
  auto result = a_day();
  std::ostringstream out;
  render_html_report(out, result);
  auto html = out.str();
  std::cout << "report of an 86400 s run (" << result.events.size()
            << " events, " << result.forecasts.size() << " forecasts, "
            << result.types[0].samples.size()
            << " samples per type): " << html.size() << " bytes\n";
  EXPECT_LT(html.size(), 3u * 1024 * 1024);

  // Each chart: the mean line has one point per pixel column (820), the
  // band from lowest to highest two.
  auto actual = values_after(html, "<polyline class=\"actual\" points=\"");
  ASSERT_EQ(actual.size(), resource_type_count);
  for (const auto& points : actual)
    EXPECT_EQ(count(points, ","), 820u);
  auto range = values_after(html, "<polygon class=\"range\" points=\"");
  ASSERT_EQ(range.size(), resource_type_count);
  for (const auto& points : range)
    EXPECT_EQ(count(points, ","), 1640u);
  // Forecasts stay inside the plot: clipped, and the interval's 1.4 drawn
  // at the top (105%) rather than above the chart.
  EXPECT_EQ(count(html, "clip-path=\"url(#clip-"), resource_type_count);
  // Time ticks in hours, thresholds labelled.
  EXPECT_NE(html.find(">3 h</text>"), std::string::npos);
  EXPECT_NE(html.find(">24 h</text>"), std::string::npos);
  EXPECT_EQ(html.find(" s</text>"), std::string::npos);
  EXPECT_EQ(count(html, ">alert 85.0%</text>"), resource_type_count);
  EXPECT_EQ(count(html, ">degrade 95.0%</text>"), resource_type_count);
  EXPECT_EQ(count(html, ">recover 70.0%</text>"), resource_type_count);
  EXPECT_NE(html.find(">audio died</text>"), std::string::npos);
  // Alerts folded: a summary row per type, and runs in the log.
  EXPECT_NE(html.find("<td>computational</td><td class=\"text\">4320 "
                      "warning</td><td>4320</td>"),
            std::string::npos);
  EXPECT_NE(html.find("attention: alert warning raised "), std::string::npos);
  EXPECT_LE(count(html, "<tr"), 1200u);
  // Degradation flapping folds into one row per type; notable events come
  // first.
  EXPECT_NE(html.find("computational: degraded 96 times, 8 h 00 min in all, "
                      "between 1 min 40 s and 23 h 46 min"),
            std::string::npos);
  // Notable events come first.
  EXPECT_LT(html.find("What happened"), html.find("Utilization per type"));

  auto chromium = chromium_program();
  if (chromium.empty())
    GTEST_SKIP() << "chromium is not installed: the page was not rendered";
  auto dir = make_temp_dir("rros-html-report");
  std::ofstream(dir + "/day.html") << html;
  expect_rendered_cleanly(
      run_chromium(chromium, dir, "file://" + dir + "/day.html",
                   {"--window-size=1280,900", "--dump-dom"}));
}

TEST(HtmlReport, ShortRunsTickInSecondsAndMinutes) {
  SimResult r;
  r.duration = 90;
  for (double t = 0; t <= 90; t += 0.1)
    r.types[0].samples.emplace_back(t, 0.5f);
  std::ostringstream out;
  render_html_report(out, r);
  auto html = out.str();
  for (const char* tick :
       {">0</text>", ">15 s</text>", ">45 s</text>", ">1 min</text>",
        ">1 min 15 s</text>", ">1 min 30 s</text>"})
    EXPECT_NE(html.find(tick), std::string::npos) << tick;
  EXPECT_NE(html.find("No degradation, escalation, death or burst."),
            std::string::npos);
}
