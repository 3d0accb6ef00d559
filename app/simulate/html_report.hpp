// The self-contained HTML report of `rros simulate`: tables and inline SVG
// charts (utilization over time per type, thresholds, degraded intervals,
// forecasts against actuals), no external resources.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "app/simulate/simulation.hpp"

namespace rros::app {

/// Text made safe inside HTML elements and attributes.
std::string html_escape(const std::string& text);

/// The reports' style sheet, and the script that records script errors into
/// the page (data-errors on <html>) for the browser test; the cluster report
/// (cluster_report.hpp) uses them too.
const char* report_css();
const char* report_error_recorder();
/// The script that ends a report: data-fits (the page is no wider than the
/// window) and data-rendered="ok" on <body>.
const char* report_fit_script();

/// Renders the report.
void render_html_report(std::ostream& out, const SimResult& result);

/// Writes what `render` produces to `path`; false with `error` set when it
/// cannot.
bool write_report_file(const std::string& path,
                       const std::function<void(std::ostream&)>& render,
                       std::string& error);

/// Writes the report to `path`; false with `error` set when it cannot.
bool write_html_report(const std::string& path, const SimResult& result,
                       std::string& error);

} // namespace rros::app
