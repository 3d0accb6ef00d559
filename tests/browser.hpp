// Headless Chromium for the tests of the simulate report: runs Debian's
// chromium on a page with a private profile, bounded in time and stopped by
// its pid (process.hpp), and reads what the page's script recorded into the
// DOM (data-rendered, data-errors, data-fits; app/simulate/html_report.cpp).
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "process.hpp"

namespace rros::test {

inline std::string chromium_program() {
  return find_executable({"/usr/bin/chromium", "/usr/bin/chromium-browser",
                          "/usr/bin/google-chrome"});
}

/// The value of attribute `name` on the first element that has it, or
/// nothing when no element has it.
inline std::optional<std::string> dom_attribute(const std::string& dom,
                                                const std::string& name) {
  std::smatch m;
  if (std::regex_search(dom, m, std::regex(" " + name + "=\"([^\"]*)\"")))
    return m[1].str();
  return std::nullopt;
}

/// Chromium on `url` with `args` (e.g. --dump-dom, --screenshot=PATH), its
/// profile in `dir`; returns stdout. Fails the test when it does not end
/// within 90 s, exits non-zero or logs an uncaught exception of the page.
inline std::string run_chromium(const std::string& chromium,
                                const std::string& dir, const std::string& url,
                                std::vector<std::string> args,
                                bool expect_clean = true) {
  using namespace std::chrono_literals;
  std::vector<std::string> all{"--headless=new",
                               "--no-sandbox", // root in CI containers
                               "--disable-gpu",
                               "--user-data-dir=" + dir + "/profile",
                               "--allow-file-access-from-files",
                               "--enable-logging=stderr",
                               "--v=0"};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back(url);
  ChildProcess browser(chromium, all);
  auto code = browser.finish(90s);
  EXPECT_TRUE(code.has_value()) << "chromium did not end within 90 s";
  EXPECT_EQ(code.value_or(-1), 0) << browser.err;
  // Uncaught exceptions also show in chromium's log of the console.
  if (expect_clean) {
    EXPECT_EQ(browser.err.find("Uncaught"), std::string::npos) << browser.err;
  }
  return browser.out;
}

/// Expects a page whose script ran to its end without recording an error
/// and that is no wider than the window.
inline void expect_rendered_cleanly(const std::string& dom) {
  EXPECT_EQ(dom_attribute(dom, "data-rendered"), "ok") << dom.substr(0, 2000);
  EXPECT_EQ(dom_attribute(dom, "data-errors"), std::nullopt);
  EXPECT_EQ(dom_attribute(dom, "data-fits"), "yes")
      << "window/page widths "
      << dom_attribute(dom, "data-widths").value_or("?");
}

} // namespace rros::test
