// The HTML report of `rros simulate` (see html_report.hpp): one page with
// inline CSS and a small script, what happened first (notable events, alerts
// folded into counts), then the summary tables and one SVG chart per type,
// rendered from a SimResult. Its size is bounded whatever the duration: the
// charts keep one min/max pair per pixel column, a bounded number of
// forecasts and markers, and the event log folds alerts and stops at a limit.
#include "app/simulate/html_report.hpp"

#include "app/report.hpp"
#include "app/simulate/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <sstream>

namespace rros::app {

using sim::number_text;

namespace {

// Bounds that keep the page a few MB at most (see the top of the file).
constexpr std::size_t notable_shown = 40; // in "What happened"
constexpr std::size_t log_rows = 1000;    // rows of the event log
constexpr double forecast_gap_px = 24;    // between forecasts drawn
constexpr std::size_t max_markers = 400;  // per chart, after merging
constexpr double label_char_px = 6.2;     // width estimate of a label glyph
constexpr int marker_label_rows = 2;

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

std::string lower(std::string text) {
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string two_digits(long x) {
  return (x < 10 ? "0" : "") + std::to_string(x);
}

/// A moment of the run for people: "12.3 s", "5 min 07 s", "2 h 05 min".
std::string time_text(double seconds) {
  if (seconds < 60)
    return fixed(seconds, 1) + " s";
  auto whole = static_cast<long>(std::floor(seconds));
  if (seconds < 3600)
    return std::to_string(whole / 60) + " min " + two_digits(whole % 60) + " s";
  return std::to_string(whole / 3600) + " h " + two_digits(whole % 3600 / 60) +
         " min";
}

/// A round tick step giving at most ~`target` ticks over `duration`.
double tick_step(double duration, int target = 8) {
  static const double steps[] = {0.1,   0.2,   0.5,   1,      2,      5,
                                 10,    15,    30,    60,     120,    300,
                                 600,   900,   1800,  3600,   7200,   10800,
                                 21600, 43200, 86400, 172800, 432000, 864000};
  for (double step : steps)
    if (duration / step <= target)
      return step;
  return std::ceil(duration / target / 86400) * 86400;
}

/// A tick's label in the unit of the step: "30 s", "5 min", "1 h 30 min".
std::string tick_text(double t, double step) {
  auto whole = static_cast<long>(std::llround(t));
  if (t <= 0)
    return "0";
  if (step < 1)
    return number_text(std::round(t * 10) / 10) + " s";
  if (step < 60) {
    if (whole < 60 || whole % 60 == 0)
      return whole < 60 ? std::to_string(whole) + " s"
                        : std::to_string(whole / 60) + " min";
    return std::to_string(whole / 60) + " min " + std::to_string(whole % 60) +
           " s";
  }
  if (step < 3600) {
    if (whole < 3600)
      return std::to_string(whole / 60) + " min";
    auto minutes = whole % 3600 / 60;
    return std::to_string(whole / 3600) + " h" +
           (minutes ? " " + std::to_string(minutes) + " min" : "");
  }
  if (step < 86400 || whole % 86400 != 0)
    return std::to_string(whole / 3600) + " h";
  return std::to_string(whole / 86400) + " d";
}

/// Maps (seconds, utilization) onto one chart's plot area; labels of
/// markers above it, of thresholds to its right.
struct Plot {
  double width = 960, height = 250;
  double left = 48, right = 92, top = 34, bottom = 26;
  double duration = 1;

  double inner_width() const {
    return width - left - right;
  }
  double inner_height() const {
    return height - top - bottom;
  }
  double x(double seconds) const {
    return left + inner_width() * std::clamp(seconds / duration, 0.0, 1.0);
  }
  double y(double fraction) const {
    return top + inner_height() * (1 - std::clamp(fraction, 0.0, 1.05) / 1.05);
  }
  /// The pixel column of a moment (0 .. columns() - 1).
  std::size_t column(double seconds) const {
    auto c = static_cast<long>(std::floor(seconds / duration * columns()));
    return static_cast<std::size_t>(
        std::clamp<long>(c, 0, static_cast<long>(columns()) - 1));
  }
  std::size_t columns() const {
    return static_cast<std::size_t>(inner_width());
  }
  double column_x(std::size_t c) const {
    return left + static_cast<double>(c) + 0.5;
  }
};

/// The lowest, highest and mean sample of one pixel column.
struct Column {
  double lo = 0, hi = 0, sum = 0;
  std::size_t n = 0;
};

/// Samples reduced to one min/max pair (and mean) per pixel column, so that
/// a chart keeps every spike and dip at any duration with a bounded number
/// of points.
std::vector<Column> downsample(const std::vector<std::pair<double, float>>& s,
                               const Plot& p) {
  std::vector<Column> cols(p.columns());
  for (const auto& [t, u] : s) {
    auto& c = cols[p.column(t)];
    if (c.n++ == 0) {
      c.lo = c.hi = c.sum = u;
      continue;
    }
    c.lo = std::min<double>(c.lo, u);
    c.hi = std::max<double>(c.hi, u);
    c.sum += u;
  }
  return cols;
}

bool is_module_event(const SimEvent& ev) {
  return !ev.marker.empty();
}

const char* type_name(int type) {
  return type >= 0 && type < static_cast<int>(resource_type_count)
             ? to_string(static_cast<ResourceType>(type))
             : "";
}

/// Every event in time order (bursts are logged at the start of the run).
std::vector<const SimEvent*> in_time_order(const SimResult& r) {
  std::vector<const SimEvent*> events;
  events.reserve(r.events.size());
  for (const auto& ev : r.events)
    events.push_back(&ev);
  std::stable_sort(
      events.begin(), events.end(),
      [](const SimEvent* a, const SimEvent* b) { return a->at < b->at; });
  return events;
}

void chart(std::ostream& out, const SimResult& r, ResourceType type,
           const std::vector<const SimEvent*>& events) {
  const auto& s = r.types[static_cast<std::size_t>(type)];
  const auto name = std::string{to_string(type)};
  Plot p;
  p.duration = r.duration > 0 ? r.duration : 1;
  const double plot_right = p.left + p.inner_width();
  const double plot_bottom = p.top + p.inner_height();
  out << "<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" "
         "viewBox=\"0 0 "
      << p.width << " " << p.height << "\" role=\"img\" aria-label=\"" << name
      << " utilization over time\">\n<defs><clipPath id=\"clip-" << name
      << "\"><rect x=\"" << p.left << "\" y=\"" << p.top << "\" width=\""
      << p.inner_width() << "\" height=\"" << p.inner_height()
      << "\"/></clipPath></defs>\n";
  out << "<rect x=\"" << p.left << "\" y=\"" << p.top << "\" width=\""
      << p.inner_width() << "\" height=\"" << p.inner_height()
      << "\" class=\"area\"/>\n";

  // Degraded intervals, merged when less than a pixel apart; the first wide
  // one carries a label.
  {
    bool labelled = false;
    auto flush = [&](double from, double to) {
      double x0 = p.x(from), x1 = std::max(p.x(to), x0 + 1);
      out << "<rect class=\"degraded\" x=\"" << fixed(x0, 1) << "\" y=\""
          << p.top << "\" width=\"" << fixed(x1 - x0, 1) << "\" height=\""
          << p.inner_height() << "\"><title>degraded " << time_text(from)
          << " - " << time_text(to) << "</title></rect>\n";
      if (!labelled && x1 - x0 >= 56) {
        out << "<text class=\"label degraded-label\" x=\"" << fixed(x0 + 3, 1)
            << "\" y=\"" << plot_bottom - 5 << "\">degraded</text>\n";
        labelled = true;
      }
    };
    double from = -1, to = -1;
    for (auto [a, b] : s.degraded) {
      if (b < 0)
        b = r.duration; // still degraded at the end
      if (from >= 0 && p.x(a) <= p.x(to) + 1) {
        to = std::max(to, b);
        continue;
      }
      if (from >= 0)
        flush(from, to);
      from = a;
      to = b;
    }
    if (from >= 0)
      flush(from, to);
  }

  // Grid and axes: utilization in quarters, time in round steps with units.
  for (int pct = 0; pct <= 100; pct += 25) {
    auto y = fixed(p.y(pct / 100.0), 1);
    out << "<line class=\"grid\" x1=\"" << p.left << "\" x2=\"" << plot_right
        << "\" y1=\"" << y << "\" y2=\"" << y << "\"/><text x=\"" << p.left - 6
        << "\" y=\"" << fixed(p.y(pct / 100.0) + 4, 1)
        << "\" class=\"label\" text-anchor=\"end\">" << pct << "%</text>\n";
  }
  double step = tick_step(p.duration);
  for (int i = 0;; ++i) {
    double t = i * step;
    if (t > p.duration + 1e-9)
      break;
    auto x = fixed(p.x(t), 1);
    out << "<line class=\"tick\" x1=\"" << x << "\" x2=\"" << x << "\" y1=\""
        << plot_bottom << "\" y2=\"" << plot_bottom + 4 << "\"/><text x=\"" << x
        << "\" y=\"" << p.height - 8
        << "\" class=\"label\" text-anchor=\"middle\">" << tick_text(t, step)
        << "</text>\n";
  }

  // Forecasts (switchable, light): at most one per forecast_gap_px, drawn
  // only within the run and clipped to the plot.
  out << "<g class=\"fc\" clip-path=\"url(#clip-" << name << ")\">\n";
  double last_x = -1e9;
  for (const auto& f : r.forecasts) {
    if (f.type != type || f.predicted.empty() || f.at > p.duration)
      continue;
    if (p.x(f.at) - last_x < forecast_gap_px)
      continue;
    last_x = p.x(f.at);
    auto t_of = [&](std::size_t i) {
      return f.at + f.step * static_cast<double>(i + 1);
    };
    // The points within the run, at most one per pixel.
    std::vector<std::size_t> shown;
    double px = -1e9;
    for (std::size_t i = 0; i < f.predicted.size(); ++i) {
      if (t_of(i) > p.duration)
        break;
      if (p.x(t_of(i)) - px >= 1 || i + 1 == f.predicted.size()) {
        shown.push_back(i);
        px = p.x(t_of(i));
      }
    }
    if (shown.empty())
      continue;
    if (f.lower.size() == f.predicted.size() &&
        f.upper.size() == f.predicted.size()) {
      out << "<polygon class=\"band\" points=\"";
      for (auto i : shown)
        out << fixed(p.x(t_of(i)), 1) << "," << fixed(p.y(f.upper[i]), 1)
            << " ";
      for (auto i = shown.rbegin(); i != shown.rend(); ++i)
        out << fixed(p.x(t_of(*i)), 1) << "," << fixed(p.y(f.lower[*i]), 1)
            << " ";
      out << "\"/>\n";
    }
    out << "<polyline class=\"forecast\" points=\"" << fixed(p.x(f.at), 1)
        << "," << fixed(p.y(f.predicted[shown.front()]), 1) << " ";
    for (auto i : shown)
      out << fixed(p.x(t_of(i)), 1) << "," << fixed(p.y(f.predicted[i]), 1)
          << " ";
    out << "\"><title>forecast made at " << time_text(f.at)
        << "</title></polyline>\n";
  }
  out << "</g>\n";

  // The actual utilization: per pixel column the band from its lowest to
  // its highest sample and the line of its mean.
  auto cols = downsample(s.samples, p);
  std::vector<std::size_t> used;
  for (std::size_t c = 0; c < cols.size(); ++c)
    if (cols[c].n > 0)
      used.push_back(c);
  out << "<polygon class=\"range\" points=\"";
  for (auto c : used)
    out << fixed(p.column_x(c), 1) << "," << fixed(p.y(cols[c].hi), 1) << " ";
  for (auto c = used.rbegin(); c != used.rend(); ++c)
    out << fixed(p.column_x(*c), 1) << "," << fixed(p.y(cols[*c].lo), 1) << " ";
  out << "\"/>\n<polyline class=\"actual\" points=\"";
  for (auto c : used)
    out << fixed(p.column_x(c), 1) << ","
        << fixed(p.y(cols[c].sum / static_cast<double>(cols[c].n)), 1) << " ";
  out << "\"/>\n";

  // Markers: module events (deaths, restarts, bursts) and this type's
  // escalations, one per pixel column (merged), labelled above the plot
  // where a label fits in one of the label rows.
  struct Marker {
    double x;
    std::vector<const SimEvent*> events;
  };
  std::vector<Marker> markers;
  for (const auto* ev : events) {
    bool escalation = ev->type == static_cast<int>(type) && !ev->alert &&
                      ev->text.find("escalated") != std::string::npos;
    if (!is_module_event(*ev) && !escalation)
      continue;
    double x = std::round(p.x(ev->at));
    if (!markers.empty() && markers.back().x == x)
      markers.back().events.push_back(ev);
    else
      markers.push_back(Marker{x, {ev}});
  }
  std::size_t unlabelled = 0;
  std::array<double, marker_label_rows> row_end;
  row_end.fill(-1e9);
  std::size_t drawn = 0;
  for (const auto& m : markers) {
    if (drawn == max_markers) {
      unlabelled += markers.size() - drawn;
      break;
    }
    ++drawn;
    auto x = fixed(m.x, 1);
    out << "<g class=\"marker\"><line x1=\"" << x << "\" x2=\"" << x
        << "\" y1=\"" << p.top << "\" y2=\"" << plot_bottom << "\"/><title>";
    for (std::size_t i = 0; i < m.events.size(); ++i)
      out << (i ? "\n" : "") << time_text(m.events[i]->at) << ": "
          << escape(m.events[i]->text);
    out << "</title>";
    const auto* first = m.events.front();
    std::string label = first->marker.empty() ? "escalated" : first->marker;
    if (m.events.size() > 1)
      label += " +" + std::to_string(m.events.size() - 1);
    double w = static_cast<double>(label.size()) * label_char_px;
    // Left-aligned at the marker, or right-aligned when it would leave the
    // chart.
    double start = m.x + w + 2 > p.width ? m.x - w - 2 : m.x + 2;
    int row = -1;
    for (int i = 0; i < marker_label_rows; ++i)
      if (start > row_end[static_cast<std::size_t>(i)] + 6) {
        row = i;
        break;
      }
    if (row < 0) {
      ++unlabelled;
    } else {
      row_end[static_cast<std::size_t>(row)] = start + w;
      out << "<text class=\"label mark\" x=\"" << fixed(start, 1) << "\" y=\""
          << 12 + 11 * row << "\">" << escape(label) << "</text>";
    }
    out << "</g>\n";
  }

  // Thresholds: dashed lines labelled to the right of the plot, the labels
  // pushed apart when the values are close.
  struct Threshold {
    double value;
    const char* cls;
    std::string label;
  };
  std::vector<Threshold> thresholds{
      {s.alert_threshold, "alert", "alert " + percent(s.alert_threshold)},
      {r.degrade_enter, "enter", "degrade " + percent(r.degrade_enter)},
      {r.degrade_exit, "exit", "recover " + percent(r.degrade_exit)}};
  std::sort(
      thresholds.begin(), thresholds.end(),
      [](const Threshold& a, const Threshold& b) { return a.value > b.value; });
  double last_label_y = -1e9;
  for (const auto& th : thresholds) {
    auto y = p.y(th.value);
    out << "<line class=\"" << th.cls << "\" x1=\"" << p.left << "\" x2=\""
        << plot_right << "\" y1=\"" << fixed(y, 1) << "\" y2=\"" << fixed(y, 1)
        << "\"/>";
    double label_y = std::max(y + 4, last_label_y + 12);
    last_label_y = label_y;
    out << "<text class=\"label th-" << th.cls << "\" x=\"" << plot_right + 5
        << "\" y=\"" << fixed(label_y, 1) << "\">" << th.label << "</text>\n";
  }

  out << "</svg></div>\n";
  if (unlabelled > 0)
    out << "<p class=\"note\">" << unlabelled
        << " more markers without a label (their times are in the event "
           "log; hover a marker for its events).</p>\n";
}

/// A run of alerts of one type, folded into counts.
struct AlertRun {
  int type = -1;
  double first = 0, last = 0;
  std::map<std::string, std::uint64_t> raised; // by severity
  std::uint64_t cleared = 0;
  std::vector<const SimEvent*> events; // the first few, shown when short

  std::uint64_t count() const {
    std::uint64_t n = cleared;
    for (const auto& [severity, k] : raised)
      n += k;
    return n;
  }

  std::string text() const {
    std::ostringstream out;
    out << type_name(type) << ": alert ";
    bool first_severity = true;
    for (const auto& [severity, k] : raised) {
      out << (first_severity ? "" : ", ") << lower(severity) << " raised " << k
          << (k == 1 ? " time" : " times");
      first_severity = false;
    }
    if (raised.empty())
      out << "cleared " << cleared << (cleared == 1 ? " time" : " times");
    else
      out << "; cleared " << cleared << (cleared == 1 ? " time" : " times");
    out << " between " << time_text(first) << " and " << time_text(last);
    return out.str();
  }
};

/// One row of the event log: an event, or a folded run of alerts.
struct LogRow {
  double at = 0;
  const SimEvent* event = nullptr;
  std::size_t run = 0; // index into the runs when event is null
};

void table_start(std::ostream& out, const char* header_cells) {
  out << "<div class=\"scroll\"><table>\n<tr>" << header_cells << "</tr>\n";
}

void table_end(std::ostream& out) {
  out << "</table></div>\n";
}

void what_happened(std::ostream& out, const SimResult& r,
                   const std::vector<const SimEvent*>& events) {
  // Counts first: the shape of the run in one paragraph.
  std::uint64_t degradations = 0, escalations = 0, alerts = 0, bursts = 0;
  for (const auto& s : r.types) {
    degradations += s.degraded.size();
    escalations += s.escalations;
    alerts += s.alerts;
  }
  for (const auto* ev : events)
    bursts += ev->marker.find(" burst") != std::string::npos;
  auto many = [](std::uint64_t n, const char* one, const char* more) {
    return std::to_string(n) + " " + (n == 1 ? one : more);
  };
  out << "<h2 id=\"happened\">What happened</h2>\n<p class=\"counts\">"
      << "Degraded mode entered " << many(degradations, "time", "times") << ", "
      << many(escalations, "escalation", "escalations") << ", "
      << many(r.deaths, "module death", "module deaths") << " (" << r.restarts
      << " restarted), " << many(bursts, "burst", "bursts") << ", "
      << many(alerts, "alert", "alerts")
      << " raised (counted per type below).</p>\n";

  // Notable events: everything but alerts, in time order; a type that
  // entered and left degraded mode more than twice gets one row with the
  // count (the event log has each).
  auto is_state = [](const SimEvent* ev) {
    return ev->type >= 0 && !ev->alert &&
           (ev->text.find(": degraded") != std::string::npos ||
            ev->text.find(": recovered") != std::string::npos);
  };
  std::map<int, std::vector<const SimEvent*>> states;
  for (const auto* ev : events)
    if (is_state(ev))
      states[ev->type].push_back(ev);
  struct Row {
    double at;
    std::string text;
    const char* cls;
  };
  std::vector<Row> notable;
  for (const auto* ev : events) {
    if (ev->alert)
      continue;
    if (is_state(ev) && states[ev->type].size() > 4) {
      const auto& all = states[ev->type];
      if (ev != all.front())
        continue;
      const auto& series = r.types[static_cast<std::size_t>(ev->type)];
      double total = 0;
      for (const auto& [from, to] : series.degraded)
        total += (to < 0 ? r.duration : to) - from;
      notable.push_back({ev->at,
                         std::string{type_name(ev->type)} + ": degraded " +
                             many(series.degraded.size(), "time", "times") +
                             ", " + time_text(total) + " in all, between " +
                             time_text(ev->at) + " and " +
                             time_text(all.back()->at),
                         "ev-bad"});
      continue;
    }
    const char* cls = is_module_event(*ev) ? ""
                      : ev->text.find("recovered") != std::string::npos
                          ? "ev-good"
                          : "ev-bad";
    notable.push_back({ev->at, ev->text, cls});
  }
  if (notable.empty()) {
    out << "<p>No degradation, escalation, death or burst.</p>\n";
  } else {
    table_start(out, "<th>time</th><th class=\"text\">notable event</th>");
    for (std::size_t i = 0; i < notable.size() && i < notable_shown; ++i)
      out << "<tr class=\"" << notable[i].cls << "\"><td>"
          << time_text(notable[i].at) << "</td><td class=\"text\">"
          << escape(notable[i].text) << "</td></tr>\n";
    table_end(out);
    if (notable.size() > notable_shown)
      out << "<p class=\"note\">The first " << notable_shown << " of "
          << notable.size()
          << " notable events; the event log below has the rest.</p>\n";
  }

  // Alerts per type: how many of each severity were raised and how many
  // cleared, and between when, instead of every flap.
  std::map<int, AlertRun> per_type;
  for (const auto* ev : events) {
    if (!ev->alert)
      continue;
    auto [it, fresh] = per_type.try_emplace(ev->type);
    auto& run = it->second;
    if (fresh) {
      run.type = ev->type;
      run.first = ev->at;
    }
    run.last = ev->at;
    if (ev->severity.empty())
      ++run.cleared;
    else
      ++run.raised[ev->severity];
  }
  if (!per_type.empty()) {
    out << "<h3>Alerts</h3>\n";
    table_start(out, "<th>type</th><th class=\"text\">raised</th>"
                     "<th>cleared</th><th>first</th><th>last</th>");
    for (const auto& [type, run] : per_type) {
      std::string raised;
      for (const auto& [severity, k] : run.raised)
        raised += (raised.empty() ? "" : ", ") + std::to_string(k) + " " +
                  lower(severity);
      out << "<tr><td>" << type_name(type) << "</td><td class=\"text\">"
          << (raised.empty() ? "-" : raised) << "</td><td>" << run.cleared
          << "</td><td>" << time_text(run.first) << "</td><td>"
          << time_text(run.last) << "</td></tr>\n";
    }
    table_end(out);
  }
}

void event_log(std::ostream& out, const std::vector<const SimEvent*>& events) {
  // Consecutive alerts of one type (no change of its state in between) fold
  // into one row; a run of one or two alerts stays as it was.
  std::vector<AlertRun> runs;
  std::vector<LogRow> rows;
  std::map<int, std::size_t> open; // type -> index into runs
  for (const auto* ev : events) {
    if (ev->alert) {
      auto found = open.find(ev->type);
      if (found == open.end()) {
        found = open.emplace(ev->type, runs.size()).first;
        AlertRun run;
        run.type = ev->type;
        run.first = ev->at;
        runs.push_back(run);
        rows.push_back(LogRow{ev->at, nullptr, found->second});
      }
      auto& run = runs[found->second];
      run.last = ev->at;
      if (ev->severity.empty())
        ++run.cleared;
      else
        ++run.raised[ev->severity];
      if (run.events.size() < 2)
        run.events.push_back(ev);
      continue;
    }
    open.erase(ev->type); // a change of state ends that type's run
    rows.push_back(LogRow{ev->at, ev, 0});
  }
  std::size_t lines = 0;
  for (const auto& row : rows)
    lines += row.event || runs[row.run].count() > 2
                 ? 1
                 : runs[row.run].events.size();
  out << "<details id=\"log\"><summary>Event log: " << events.size()
      << " events in " << lines << " rows (repeated alerts folded)";
  if (lines > log_rows)
    out << ", the first " << log_rows << " shown";
  out << "</summary>\n";
  table_start(out, "<th>time</th><th class=\"text\">event</th>");
  std::size_t written = 0;
  auto line = [&](double at, const std::string& text, const char* cls) {
    if (written++ >= log_rows)
      return;
    out << "<tr" << (cls ? std::string{" class=\""} + cls + "\"" : "")
        << "><td>" << time_text(at) << "</td><td class=\"text\">"
        << escape(text) << "</td></tr>\n";
  };
  for (const auto& row : rows) {
    if (written >= log_rows)
      break;
    if (row.event) {
      line(row.at, row.event->text, nullptr);
      continue;
    }
    const auto& run = runs[row.run];
    if (run.count() > 2)
      line(run.first, run.text(), "folded");
    else
      for (const auto* ev : run.events)
        line(ev->at, ev->text, nullptr);
  }
  table_end(out);
  out << "</details>\n";
}

const char* style = R"css(
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 1.5em auto; padding: 0 .8em; max-width: 1000px; color: #222; overflow-wrap: anywhere; }
h1 { font-size: 1.45em; } h2 { font-size: 1.2em; margin-top: 1.6em; } h3 { font-size: 1.05em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .5em 0; font-size: .9em; }
th, td { padding: .2em .6em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; overflow-wrap: normal; }
th:first-child, td:first-child { text-align: left; }
td.text, th.text { text-align: left; white-space: normal; min-width: 14em; }
tr.ev-bad td { background: #fdf0ee; } tr.ev-good td { background: #eef8f1; }
tr.folded td { color: #775500; }
.note, .counts { font-size: .9em; color: #555; }
.chart { overflow-x: auto; }
.chart svg { display: block; width: 100%; min-width: 560px; height: auto; }
.area { fill: #fafafa; stroke: #bbb; }
.grid { stroke: #e8e8e8; } .tick { stroke: #999; }
.label { font-size: 11px; fill: #555; }
.mark { fill: #444; }
.degraded { fill: #f4c7c3; opacity: .7; } .degraded-label { fill: #a33; }
.range { fill: #9cc3e6; opacity: .55; }
.actual { fill: none; stroke: #1f6fb2; stroke-width: 1.1; stroke-linejoin: round; }
.forecast { fill: none; stroke: #7b3fa0; stroke-width: 1; stroke-dasharray: 3 3; opacity: .55; }
.band { fill: #7b3fa0; opacity: .07; }
.alert { stroke: #e69500; stroke-dasharray: 6 4; } .th-alert { fill: #b57500; }
.enter { stroke: #c0392b; stroke-dasharray: 2 3; } .th-enter { fill: #c0392b; }
.exit { stroke: #2e8b57; stroke-dasharray: 2 3; } .th-exit { fill: #2e8b57; }
.marker line { stroke: #777; stroke-dasharray: 1 3; }
body.noforecast .fc { display: none; }
.legend { font-size: .85em; }
.legend span, .legend label { display: inline-block; margin-right: 1.2em; }
.sw { display: inline-block; width: 1.6em; height: .6em; margin-right: .3em; vertical-align: middle; }
details summary { cursor: pointer; margin: .6em 0; }
@media (max-width: 600px) { body { margin: .6em auto; } table { font-size: .8em; } th, td { padding: .2em .35em; } td.text, th.text { min-width: 9em; } }
)css";

// Recorded into the page so that a headless browser's DOM shows whether the
// scripts ran without errors (tests/test_report_browser.cpp).
const char* head_script = R"js(
window.rrosErrors = [];
function rrosRecord(text) {
  window.rrosErrors.push(String(text));
  document.documentElement.setAttribute('data-errors', window.rrosErrors.join(' | '));
}
window.addEventListener('error', function (e) { rrosRecord(e.message || 'error'); });
window.addEventListener('unhandledrejection', function (e) { rrosRecord(e.reason); });
(function () {
  var original = console.error;
  console.error = function () {
    rrosRecord(Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();
)js";

const char* forecast_switch_script = R"js(
(function () {
  var box = document.getElementById('show-forecasts');
  function apply() { document.body.classList.toggle('noforecast', !box.checked); }
  box.addEventListener('change', apply);
  apply();
})();
)js";

// Last on the page: whether it fits the window, and that the scripts ran.
const char* fit_script = R"js(
(function () {
  function fit() {
    var page = document.documentElement.scrollWidth;
    document.body.setAttribute('data-fits', page <= window.innerWidth ? 'yes' : 'no');
    document.body.setAttribute('data-widths', window.innerWidth + '/' + page);
  }
  fit();
  window.addEventListener('resize', fit);
  document.body.setAttribute('data-rendered', 'ok');
})();
)js";

} // namespace

std::string html_escape(const std::string& text) {
  return escape(text);
}

const char* report_css() {
  return style;
}

const char* report_error_recorder() {
  return head_script;
}

const char* report_fit_script() {
  return fit_script;
}

void render_html_report(std::ostream& out, const SimResult& r) {
  const auto& w = r.workload;
  auto events = in_time_order(r);
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
         "charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-"
         "width, initial-scale=1\">\n"
      << "<title>rros simulate: " << escape(w.name) << ", seed " << r.seed
      << "</title>\n<script>" << head_script << "</script>\n<style>" << style
      << "</style>\n</head>\n<body>\n";
  out << "<h1>rros simulate: workload &ldquo;" << escape(w.name)
      << "&rdquo;</h1>\n<p>" << escape(w.description) << "</p>\n<p>Seed "
      << r.seed << ", " << time_text(r.duration) << " of virtual time, "
      << w.modules.size() << " modules, workload from " << escape(w.origin)
      << ".</p>\n";

  what_happened(out, r, events);

  out << "<h2>Utilization per type</h2>\n";
  table_start(out, "<th>type</th><th>capacity</th><th>mean</th><th>peak</th>"
                   "<th>alerts</th><th>time degraded</th><th>escalations</th>");
  for (auto type : all_resource_types) {
    const auto& s = r.types[static_cast<std::size_t>(type)];
    double degraded = 0;
    for (const auto& [from, to] : s.degraded)
      degraded += (to < 0 ? r.duration : to) - from;
    out << "<tr><td>" << to_string(type) << "</td><td>"
        << (type == ResourceType::MEMORY
                ? binary_bytes(w.config.capacity_of(type))
                : number_text(w.config.capacity_of(type)))
        << "</td><td>" << percent(s.mean) << "</td><td>" << percent(s.peak)
        << "</td><td>" << s.alerts << "</td><td>" << time_text(degraded)
        << "</td><td>" << s.escalations << "</td></tr>\n";
  }
  table_end(out);

  out << "<h2>Utilization over time</h2>\n<div class=\"legend\"><span><i "
         "class=\"sw\" style=\"background:#1f6fb2\"></i>utilization (mean per "
         "pixel; the band spans its lowest to highest sample)</span><span><i "
         "class=\"sw\" "
         "style=\"background:#e69500\"></i>alert threshold</span><span><i "
         "class=\"sw\" style=\"background:#c0392b\"></i>degrade above</span>"
         "<span><i class=\"sw\" style=\"background:#2e8b57\"></i>recover "
         "below</span><span><i class=\"sw\" style=\"background:#f4c7c3\">"
         "</i>degraded</span><span><i class=\"sw\" style=\"background:#777\">"
         "</i>death, restart, burst, escalation</span><label><input "
         "type=\"checkbox\" id=\"show-forecasts\" checked> <i class=\"sw\" "
         "style=\"background:#d9c8e4\"></i>forecasts and their intervals"
         "</label></div>\n";
  for (auto type : all_resource_types) {
    out << "<h3>" << to_string(type) << "</h3>\n";
    chart(out, r, type, events);
  }

  out << "<h2>Requests by priority</h2>\n";
  table_start(out, "<th>priority</th><th>issued</th><th>granted</th>"
                   "<th>partial</th><th>waited</th><th>mean wait</th>"
                   "<th>refused</th><th>deadline misses</th><th>shed</th>"
                   "<th>lost to deaths</th>");
  for (std::size_t i = 0; i < r.by_priority.size(); ++i) {
    const auto& c = r.by_priority[i];
    out << "<tr><td>" << to_string(static_cast<Priority>(i)) << "</td><td>"
        << c.issued << "</td><td>" << c.granted << "</td><td>" << c.partial
        << "</td><td>" << c.waited << "</td><td>"
        << (c.waited ? fixed(c.wait_total / c.waited * 1000, 1) + " ms" : "-")
        << "</td><td>" << c.refused << "</td><td>" << c.deadline_missed
        << "</td><td>" << c.shed << "</td><td>" << c.lost << "</td></tr>\n";
  }
  table_end(out);
  out << "<p>Grants taken back: " << r.preempted << " preempted, "
      << r.shed_revoked << " shed while degraded, " << r.expired
      << " expired. Tasks completed: " << r.completed
      << ". Module deaths: " << r.deaths << " (" << r.restarts << " restarted, "
      << r.held_at_death
      << " grants returned by the pools). Bundles: " << r.bundles_granted
      << " granted, " << r.bundles_refused << " refused, " << r.bundle_attempts
      << " attempts.</p>\n";

  out << "<h2>Forecast error</h2>\n<p>One step ahead (one monitor sample), in "
         "percentage points of utilization; the reference is the seed's "
         "method scored on the same samples.</p>\n";
  table_start(out, "<th>type</th><th>scored</th><th>mean abs error</th>"
                   "<th>reference</th><th>recent RMSE</th><th>confidence</th>"
                   "<th class=\"text\">model</th>");
  for (const auto& s : r.forecast_errors)
    out << "<tr><td>" << to_string(s.type) << "</td><td>" << s.scored
        << "</td><td>" << fixed(s.mean_abs_error * 100, 2) << "</td><td>"
        << fixed(s.reference_mae * 100, 2) << "</td><td>"
        << fixed(s.recent_rmse * 100, 2) << "</td><td>"
        << fixed(s.confidence, 2) << "</td><td class=\"text\">"
        << escape(s.model) << "</td></tr>\n";
  table_end(out);

  out << "<h2>Workload</h2>\n";
  table_start(out, "<th>module</th><th>priority</th><th>rate /s</th>"
                   "<th>demand</th><th>hold s</th><th>deadline s</th>"
                   "<th>ttl s</th><th>preemptable</th><th class=\"text\">what"
                   "</th>");
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
  table_end(out);

  out << "<h2>Events</h2>\n";
  event_log(out, events);
  out << "<script>" << forecast_switch_script << fit_script
      << "</script>\n</body>\n</html>\n";
}

bool write_report_file(const std::string& path,
                       const std::function<void(std::ostream&)>& render,
                       std::string& error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    error =
        "cannot write the report to '" + path + "': " + std::strerror(errno);
    return false;
  }
  render(out);
  out.close();
  if (!out) {
    error = "writing the report to '" + path + "' failed";
    return false;
  }
  return true;
}

bool write_html_report(const std::string& path, const SimResult& result,
                       std::string& error) {
  return write_report_file(
      path, [&](std::ostream& out) { render_html_report(out, result); }, error);
}

} // namespace rros::app
