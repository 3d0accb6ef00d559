// The self-contained HTML report of `rros simulate`: tables and inline SVG
// charts (utilization over time per type, thresholds, degraded intervals,
// forecasts against actuals), no external resources.
#pragma once

#include <ostream>
#include <string>

#include "app/simulate/simulation.hpp"

namespace rros::app {

/// Renders the report.
void render_html_report(std::ostream& out, const SimResult& result);

/// Writes the report to `path`; false with `error` set when it cannot.
bool write_html_report(const std::string& path, const SimResult& result,
                       std::string& error);

} // namespace rros::app
