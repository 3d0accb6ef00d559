// The HTML report of `rros simulate` (see html_report.hpp): one page with
// inline CSS, the summary tables and one SVG chart per type, rendered from a
// SimResult.
#include "app/simulate/html_report.hpp"

#include "app/report.hpp"
#include "app/simulate/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace rros::app {

using sim::number_text;

namespace {

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(double x, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << x;
  return out.str();
}

std::string percent(double fraction) {
  return fixed(fraction * 100, 1) + "%";
}

/// Maps (seconds, utilization) onto one chart's plot area.
struct Plot {
  double width = 960, height = 220;
  double left = 48, right = 12, top = 10, bottom = 26;
  double duration = 1;

  double x(double seconds) const {
    return left +
           (width - left - right) * std::clamp(seconds / duration, 0.0, 1.0);
  }
  double y(double fraction) const {
    return top +
           (height - top - bottom) * (1 - std::clamp(fraction, 0.0, 1.05));
  }
};

/// Samples beyond ~2 per pixel are averaged in buckets (each bucket's peak is
/// kept as its own point so that spikes stay visible).
std::vector<std::pair<double, double>>
thin(const std::vector<std::pair<double, float>>& samples, std::size_t max) {
  std::vector<std::pair<double, double>> out;
  if (samples.size() <= max) {
    for (const auto& [t, u] : samples)
      out.emplace_back(t, u);
    return out;
  }
  std::size_t per = (samples.size() + max / 2 - 1) / (max / 2);
  for (std::size_t i = 0; i < samples.size(); i += per) {
    auto last = std::min(samples.size(), i + per);
    auto peak = std::max_element(
        samples.begin() + static_cast<std::ptrdiff_t>(i),
        samples.begin() + static_cast<std::ptrdiff_t>(last),
        [](const auto& a, const auto& b) { return a.second < b.second; });
    double low = 1e9;
    double low_t = samples[i].first;
    for (auto j = i; j < last; ++j)
      if (samples[j].second < low) {
        low = samples[j].second;
        low_t = samples[j].first;
      }
    if (low_t < peak->first) {
      out.emplace_back(low_t, low);
      out.emplace_back(peak->first, peak->second);
    } else {
      out.emplace_back(peak->first, peak->second);
      out.emplace_back(low_t, low);
    }
  }
  return out;
}

void chart(std::ostream& out, const SimResult& r, ResourceType type) {
  const auto& s = r.types[static_cast<std::size_t>(type)];
  Plot p;
  p.duration = r.duration > 0 ? r.duration : 1;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << p.width
      << " " << p.height << "\" role=\"img\" aria-label=\"" << to_string(type)
      << " utilization over time\">\n";
  out << "<rect x=\"" << p.left << "\" y=\"" << p.top << "\" width=\""
      << p.width - p.left - p.right << "\" height=\""
      << p.height - p.top - p.bottom << "\" class=\"area\"/>\n";
  for (const auto& [from, to] : s.degraded)
    out << "<rect class=\"degraded\" x=\"" << fixed(p.x(from), 1) << "\" y=\""
        << p.top << "\" width=\""
        << fixed(std::max(1.0, p.x(to) - p.x(from)), 1) << "\" height=\""
        << p.height - p.top - p.bottom << "\"><title>degraded "
        << fixed(from, 1) << " s - " << fixed(to, 1) << " s</title></rect>\n";
  // Grid and axes.
  for (int pct = 0; pct <= 100; pct += 25)
    out << "<line class=\"grid\" x1=\"" << p.left << "\" x2=\""
        << p.width - p.right << "\" y1=\"" << fixed(p.y(pct / 100.0), 1)
        << "\" y2=\"" << fixed(p.y(pct / 100.0), 1) << "\"/><text x=\""
        << p.left - 6 << "\" y=\"" << fixed(p.y(pct / 100.0) + 4, 1)
        << "\" class=\"label\" text-anchor=\"end\">" << pct << "%</text>\n";
  double tick = r.duration <= 60     ? 10
                : r.duration <= 300  ? 30
                : r.duration <= 1200 ? 120
                                     : 600;
  for (double t = 0; t <= r.duration + 1e-9; t += tick)
    out << "<text x=\"" << fixed(p.x(t), 1) << "\" y=\"" << p.height - 8
        << "\" class=\"label\" text-anchor=\"middle\">" << fixed(t, 0)
        << " s</text>\n";
  // Event markers (deaths, restarts, bursts) as thin vertical lines.
  for (const auto& ev : r.events) {
    bool module_event = ev.text.find("died") != std::string::npos ||
                        ev.text.find("restarted") != std::string::npos ||
                        ev.text.find("bursts") != std::string::npos;
    if (!module_event)
      continue;
    out << "<line class=\"marker\" x1=\"" << fixed(p.x(ev.at), 1) << "\" x2=\""
        << fixed(p.x(ev.at), 1) << "\" y1=\"" << p.top << "\" y2=\""
        << p.height - p.bottom << "\"><title>" << fixed(ev.at, 1)
        << " s: " << escape(ev.text) << "</title></line>\n";
  }
  // Thresholds.
  auto hline = [&](double value, const char* cls, const std::string& label) {
    out << "<line class=\"" << cls << "\" x1=\"" << p.left << "\" x2=\""
        << p.width - p.right << "\" y1=\"" << fixed(p.y(value), 1) << "\" y2=\""
        << fixed(p.y(value), 1) << "\"><title>" << label << "</title></line>\n";
  };
  hline(s.alert_threshold, "alert",
        "alert threshold " + percent(s.alert_threshold));
  hline(r.degrade_enter, "enter", "degrade above " + percent(r.degrade_enter));
  hline(r.degrade_exit, "exit", "recover below " + percent(r.degrade_exit));
  // Forecasts: the interval as a band, the point forecast dashed.
  for (const auto& f : r.forecasts) {
    if (f.type != type || f.predicted.empty())
      continue;
    auto t_of = [&](std::size_t i) { return f.at + f.step * (i + 1); };
    if (f.lower.size() == f.predicted.size() &&
        f.upper.size() == f.predicted.size()) {
      out << "<polygon class=\"band\" points=\"";
      for (std::size_t i = 0; i < f.upper.size(); ++i)
        out << fixed(p.x(t_of(i)), 1) << "," << fixed(p.y(f.upper[i]), 1)
            << " ";
      for (std::size_t i = f.lower.size(); i-- > 0;)
        out << fixed(p.x(t_of(i)), 1) << "," << fixed(p.y(f.lower[i]), 1)
            << " ";
      out << "\"/>\n";
    }
    out << "<polyline class=\"forecast\" points=\"";
    for (std::size_t i = 0; i < f.predicted.size(); ++i)
      out << fixed(p.x(t_of(i)), 1) << "," << fixed(p.y(f.predicted[i]), 1)
          << " ";
    out << "\"><title>forecast made at " << fixed(f.at, 0)
        << " s</title></polyline>\n";
  }
  // The actual utilization.
  auto points = thin(s.samples, 2000);
  out << "<polyline class=\"actual\" points=\"";
  for (const auto& [t, u] : points)
    out << fixed(p.x(t), 1) << "," << fixed(p.y(u), 1) << " ";
  out << "\"/>\n</svg>\n";
}

const char* style = R"css(
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; font-size: .9em; }
th, td { padding: .2em .7em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.text { text-align: left; }
.area { fill: #fafafa; stroke: #bbb; }
.grid { stroke: #e4e4e4; }
.label { font-size: 11px; fill: #666; }
.degraded { fill: #f4c7c3; opacity: .7; }
.actual { fill: none; stroke: #1f6fb2; stroke-width: 1.2; }
.forecast { fill: none; stroke: #7b3fa0; stroke-width: 1.5; stroke-dasharray: 4 3; }
.band { fill: #7b3fa0; opacity: .15; }
.alert { stroke: #e69500; stroke-dasharray: 6 4; }
.enter { stroke: #c0392b; stroke-dasharray: 2 3; }
.exit { stroke: #2e8b57; stroke-dasharray: 2 3; }
.marker { stroke: #888; stroke-dasharray: 1 3; }
.legend span { margin-right: 1.2em; font-size: .85em; }
.sw { display: inline-block; width: 1.6em; height: .6em; margin-right: .3em; vertical-align: middle; }
)css";

} // namespace

void render_html_report(std::ostream& out, const SimResult& r) {
  const auto& w = r.workload;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
         "charset=\"utf-8\">\n"
      << "<title>rros simulate: " << escape(w.name) << ", seed " << r.seed
      << "</title>\n<style>" << style << "</style>\n</head>\n<body>\n";
  out << "<h1>rros simulate: workload &ldquo;" << escape(w.name)
      << "&rdquo;</h1>\n<p>" << escape(w.description) << "</p>\n<p>Seed "
      << r.seed << ", " << fixed(r.duration, 0) << " s of virtual time, "
      << w.modules.size() << " modules, workload from " << escape(w.origin)
      << ".</p>\n";

  out << "<h2>Utilization per type</h2>\n<table>\n<tr><th>type</th><th>capacity"
         "</th><th>mean</th><th>peak</th><th>alerts</th><th>time degraded</th>"
         "<th>escalations</th></tr>\n";
  for (auto type : all_resource_types) {
    const auto& s = r.types[static_cast<std::size_t>(type)];
    double degraded = 0;
    for (const auto& [from, to] : s.degraded)
      degraded += to - from;
    out << "<tr><td>" << to_string(type) << "</td><td>"
        << (type == ResourceType::MEMORY
                ? binary_bytes(w.config.capacity_of(type))
                : number_text(w.config.capacity_of(type)))
        << "</td><td>" << percent(s.mean) << "</td><td>" << percent(s.peak)
        << "</td><td>" << s.alerts << "</td><td>" << fixed(degraded, 1)
        << " s</td><td>" << s.escalations << "</td></tr>\n";
  }
  out << "</table>\n";

  out << "<div class=\"legend\"><span><i class=\"sw\" "
         "style=\"background:#1f6fb2\">"
         "</i>utilization (monitor samples)</span><span><i class=\"sw\" "
         "style=\"background:#7b3fa0\"></i>forecast and its interval</span>"
         "<span><i class=\"sw\" style=\"background:#e69500\"></i>alert "
         "threshold</span><span><i class=\"sw\" style=\"background:#c0392b\">"
         "</i>degrade above</span><span><i class=\"sw\" style=\"background:"
         "#2e8b57\"></i>recover below</span><span><i class=\"sw\" style=\""
         "background:#f4c7c3\"></i>degraded</span><span><i class=\"sw\" "
         "style=\"background:#888\"></i>module death, restart, burst</span>"
         "</div>\n";
  for (auto type : all_resource_types) {
    out << "<h2>" << to_string(type) << "</h2>\n";
    chart(out, r, type);
  }

  out << "<h2>Requests by priority</h2>\n<table>\n<tr><th>priority</th>"
         "<th>issued</th><th>granted</th><th>partial</th><th>waited</th>"
         "<th>mean wait</th><th>refused</th><th>deadline misses</th>"
         "<th>shed</th><th>lost to deaths</th></tr>\n";
  for (std::size_t i = 0; i < r.by_priority.size(); ++i) {
    const auto& c = r.by_priority[i];
    out << "<tr><td>" << to_string(static_cast<Priority>(i)) << "</td><td>"
        << c.issued << "</td><td>" << c.granted << "</td><td>" << c.partial
        << "</td><td>" << c.waited << "</td><td>"
        << (c.waited ? fixed(c.wait_total / c.waited * 1000, 1) + " ms" : "-")
        << "</td><td>" << c.refused << "</td><td>" << c.deadline_missed
        << "</td><td>" << c.shed << "</td><td>" << c.lost << "</td></tr>\n";
  }
  out << "</table>\n<p>Grants taken back: " << r.preempted << " preempted, "
      << r.shed_revoked << " shed while degraded, " << r.expired
      << " expired. Tasks completed: " << r.completed
      << ". Module deaths: " << r.deaths << " (" << r.restarts << " restarted, "
      << r.held_at_death
      << " grants returned by the pools). Bundles: " << r.bundles_granted
      << " granted, " << r.bundles_refused << " refused, " << r.bundle_attempts
      << " attempts.</p>\n";

  out << "<h2>Forecast error</h2>\n<p>One step ahead (one monitor sample), in "
         "percentage points of utilization; the reference is the seed's "
         "method scored on the same samples.</p>\n<table>\n<tr><th>type</th>"
         "<th>scored</th><th>mean abs error</th><th>reference</th><th>recent "
         "RMSE</th><th>confidence</th><th>model</th></tr>\n";
  for (const auto& s : r.forecast_errors)
    out << "<tr><td>" << to_string(s.type) << "</td><td>" << s.scored
        << "</td><td>" << fixed(s.mean_abs_error * 100, 2) << "</td><td>"
        << fixed(s.reference_mae * 100, 2) << "</td><td>"
        << fixed(s.recent_rmse * 100, 2) << "</td><td>"
        << fixed(s.confidence, 2) << "</td><td class=\"text\">"
        << escape(s.model) << "</td></tr>\n";
  out << "</table>\n";

  out << "<h2>Workload</h2>\n<table>\n<tr><th>module</th><th>priority</th>"
         "<th>rate /s</th><th>demand</th><th>hold s</th><th>deadline s</th>"
         "<th>ttl s</th><th>preemptable</th><th>what</th></tr>\n";
  for (const auto& m : w.modules) {
    std::ostringstream demand;
    for (const auto& [type, amount] : m.demand) {
      demand << to_string(type) << " " << number_text(amount.lo);
      if (amount.hi != amount.lo)
        demand << "-" << number_text(amount.hi);
      demand << "<br>";
    }
    out << "<tr><td>" << escape(m.name) << "</td><td>" << to_string(m.priority)
        << "</td><td>" << number_text(m.rate) << "</td><td>" << demand.str()
        << "</td><td>" << number_text(m.hold.lo) << "-"
        << number_text(m.hold.hi) << "</td><td>" << number_text(m.deadline)
        << "</td><td>" << number_text(m.ttl) << "</td><td>"
        << (m.preemptable ? "yes" : "no") << "</td><td class=\"text\">"
        << escape(m.description) << "</td></tr>\n";
  }
  out << "</table>\n";

  out << "<h2>Events</h2>\n<table>\n<tr><th>time</th><th class=\"text\">"
         "event</th></tr>\n";
  for (const auto& ev : r.events)
    out << "<tr><td>" << fixed(ev.at, 1) << " s</td><td class=\"text\">"
        << escape(ev.text) << "</td></tr>\n";
  out << "</table>\n</body>\n</html>\n";
}

bool write_html_report(const std::string& path, const SimResult& result,
                       std::string& error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    error =
        "cannot write the report to '" + path + "': " + std::strerror(errno);
    return false;
  }
  render_html_report(out, result);
  out.close();
  if (!out) {
    error = "writing the report to '" + path + "' failed";
    return false;
  }
  return true;
}

} // namespace rros::app
