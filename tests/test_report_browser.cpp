// The HTML report of `rros simulate` in a real browser: Debian's headless
// Chromium loads a default run's report and dumps the DOM after the page's
// scripts ran. The report records script errors (window.onerror, console
// errors) into the DOM and sets data-rendered="ok" when its script ended;
// the test fails on any recorded error and when the page is wider than the
// window at 1280 px and at 400 px (the narrow width through an iframe, since
// headless windows are at least 500 px wide). Every process is bounded in
// time and stopped by its pid (process.hpp). Skipped only when the rros
// program is not built or chromium is not installed (CI installs it).
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "browser.hpp"

using namespace std::chrono_literals;
using namespace rros::test;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string rros_program() {
  auto path = test_binary_dir() + "/../rros";
  return file_exists(path) ? path : std::string{};
}

class ReportInBrowser : public ::testing::Test {
protected:
  void SetUp() override {
    rros_ = rros_program();
    if (rros_.empty())
      GTEST_SKIP() << "the rros program is not built next to the tests";
    chromium_ = chromium_program();
    if (chromium_.empty())
      GTEST_SKIP() << "chromium is not installed (apt-get install chromium; "
                      "scripts/setup.sh --test installs it)";
    dir_ = make_temp_dir("rros-report");
  }

  /// Runs the simulation (default workload unless `args` say otherwise) and
  /// returns the report's path.
  std::string simulate(std::vector<std::string> args) {
    auto path = dir_ + "/report.html";
    args.insert(args.begin(), {"simulate", "--no-progress", "--report", path});
    ChildProcess sim(rros_, args);
    auto code = sim.finish(120s);
    EXPECT_EQ(code, 0) << sim.err;
    return path;
  }

  std::string chromium(const std::string& url, std::vector<std::string> args) {
    return run_chromium(chromium_, dir_, url, std::move(args));
  }

  std::string rros_, chromium_, dir_;
};

} // namespace

TEST_F(ReportInBrowser, RendersWithoutErrorsAndFitsWideAndNarrowWindows) {
  auto report = simulate({});
  auto size = read_all(report).size();
  std::cout << "report of a default run: " << size << " bytes\n";

  // Wide window: the scripts ran to the end, no error, nothing overflows.
  auto dom =
      chromium("file://" + report, {"--window-size=1280,900", "--dump-dom"});
  expect_rendered_cleanly(dom);
  // What a reader looks for is there: notable events first, labelled
  // thresholds, the forecast switch.
  EXPECT_LT(dom.find("What happened"), dom.find("Utilization per type"));
  EXPECT_NE(dom.find(">alert 85.0%</text>"), std::string::npos);
  EXPECT_NE(dom.find("id=\"show-forecasts\""), std::string::npos);

  // Narrow: the report in a 400 px frame of a page that copies what the
  // report recorded into its own DOM.
  std::ofstream(dir_ + "/narrow.html")
      << "<!DOCTYPE html><html><body style=\"margin:0\"><iframe id=\"f\" "
         "src=\"report.html\" style=\"width:400px;height:900px;border:0\">"
         "</iframe><script>\n"
         "var f = document.getElementById('f');\n"
         "f.addEventListener('load', function () {\n"
         "  var d = f.contentDocument;\n"
         "  if (!d) { document.body.setAttribute('data-frame', 'blocked'); "
         "return; }\n"
         "  document.body.setAttribute('data-frame', 'read');\n"
         "  ['data-rendered', 'data-fits', 'data-widths'].forEach(function (a) "
         "{\n"
         "    document.body.setAttribute('data-frame-' + a.slice(5), "
         "d.body.getAttribute(a) || ''); });\n"
         "  var e = d.documentElement.getAttribute('data-errors');\n"
         "  if (e) document.body.setAttribute('data-frame-errors', e);\n"
         "});\n</script></body></html>\n";
  auto narrow = chromium("file://" + dir_ + "/narrow.html",
                         {"--window-size=600,900", "--dump-dom"});
  ASSERT_EQ(dom_attribute(narrow, "data-frame"), "read") << narrow;
  EXPECT_EQ(dom_attribute(narrow, "data-frame-rendered"), "ok");
  EXPECT_EQ(dom_attribute(narrow, "data-frame-errors"), std::nullopt);
  EXPECT_EQ(dom_attribute(narrow, "data-frame-fits"), "yes")
      << "page/window widths "
      << dom_attribute(narrow, "data-frame-widths").value_or("?");
  EXPECT_EQ(
      dom_attribute(narrow, "data-frame-widths").value_or("").rfind("400/", 0),
      0u);

  // A screenshot (what docs/report.png shows).
  auto png = dir_ + "/report.png";
  chromium("file://" + report, {"--window-size=1000,1300", "--hide-scrollbars",
                                "--screenshot=" + png});
  auto image = read_all(png);
  ASSERT_GT(image.size(), 8u);
  EXPECT_EQ(image.substr(1, 3), "PNG");
}

TEST_F(ReportInBrowser, AnErrorInThePageIsCaught) {
  // The check above is only worth something if a broken script shows: the
  // same report with a failing script and a console error at the end.
  auto html = read_all(simulate({"--duration", "30"}));
  auto end = html.rfind("</body>");
  ASSERT_NE(end, std::string::npos);
  html.insert(end, "<script>console.error('broken on purpose'); "
                   "notDefinedAnywhere();</script>\n");
  std::ofstream(dir_ + "/broken.html") << html;
  auto dom = run_chromium(chromium_, dir_, "file://" + dir_ + "/broken.html",
                          {"--window-size=1280,900", "--dump-dom"},
                          /*expect_clean=*/false);
  auto errors = dom_attribute(dom, "data-errors");
  ASSERT_TRUE(errors) << dom.substr(0, 2000);
  EXPECT_NE(errors->find("broken on purpose"), std::string::npos) << *errors;
  EXPECT_NE(errors->find("notDefinedAnywhere"), std::string::npos) << *errors;
}

TEST_F(ReportInBrowser, TheClusterReportRendersAChartPerNode) {
  auto report =
      simulate({"--nodes", "3", "--lose", "b@100", "--duration", "200"});
  auto dom =
      chromium("file://" + report, {"--window-size=1280,900", "--dump-dom"});
  expect_rendered_cleanly(dom);
  // One chart per node, the lost one marked, every type drawn on a survivor.
  std::size_t charts = 0;
  for (auto at = dom.find("aria-label=\"utilization of node");
       at != std::string::npos;
       at = dom.find("aria-label=\"utilization of node", at + 1))
    ++charts;
  EXPECT_EQ(charts, 3u);
  EXPECT_NE(dom.find("Node b (lost at 100.0 s)"), std::string::npos);
  EXPECT_NE(dom.find(">lost</text>"), std::string::npos);
  EXPECT_EQ(dom.find("MISMATCH"), std::string::npos);
}
