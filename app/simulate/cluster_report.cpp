// The summary and HTML report of a cluster run (see cluster_report.hpp).
#include "app/simulate/cluster_report.hpp"

#include <iomanip>
#include <sstream>

#include "app/simulate/html_report.hpp"
#include "app/simulate/summary.hpp"
#include "app/simulate/text.hpp"

namespace rros::app {

namespace {

using sim::fixed;
using sim::number_text;

std::string percent(double fraction) {
  return fixed(fraction * 100, 1) + "%";
}

std::string state_of(const NodeSeries& node) {
  if (node.lost_at >= 0)
    return "lost at " + fixed(node.lost_at, 1) + " s";
  return "alive";
}

std::string books_of(const NodeSeries& node) {
  if (node.lost_at >= 0)
    return "-";
  return (node.books_exact ? "exact (" : "MISMATCH (") +
         std::to_string(node.grants_at_end) + " grants, tasks hold " +
         std::to_string(node.task_grants_at_end) + ")";
}

std::string lost_text(const ClusterSimResult& r) {
  if (r.options.lose.empty())
    return "no node lost";
  return "node " + r.options.lose + " lost at " +
         number_text(r.options.lose_at) + " s";
}

// Line colours of the five types in the charts.
const char* type_colour[] = {"#1f6fb2", "#2e8b57", "#b57500", "#7b3fa0",
                             "#c0392b"};

/// One node's utilization per type over the run, with the loss marked.
void node_chart(std::ostream& out, const ClusterSimResult& r,
                const NodeSeries& node) {
  constexpr double width = 900, height = 220, left = 44, right = 10, top = 10,
                   bottom = 24;
  double plot_w = width - left - right, plot_h = height - top - bottom;
  auto x_of = [&](double t) {
    return left + plot_w * (r.duration > 0 ? t / r.duration : 0);
  };
  auto y_of = [&](double u) {
    return top + plot_h * (1 - std::min(1.0, std::max(0.0, u)));
  };
  out << "<div class=\"chart\"><svg viewBox=\"0 0 " << width << " " << height
      << "\" role=\"img\" aria-label=\"utilization of node "
      << html_escape(node.name) << "\">\n<rect class=\"area\" x=\"" << left
      << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\"/>\n";
  for (int pct = 0; pct <= 100; pct += 25) {
    auto y = y_of(pct / 100.0);
    out << "<line class=\"grid\" x1=\"" << left << "\" x2=\"" << left + plot_w
        << "\" y1=\"" << y << "\" y2=\"" << y
        << "\"/><text class=\"label\" x=\"" << left - 4 << "\" y=\"" << y + 4
        << "\" text-anchor=\"end\">" << pct << "%</text>\n";
  }
  for (int k = 0; k <= 4; ++k) {
    double t = r.duration * k / 4;
    out << "<text class=\"label\" x=\"" << x_of(t) << "\" y=\"" << height - 6
        << "\" text-anchor=\"middle\">" << fixed(t, 0) << " s</text>\n";
  }
  for (std::size_t type = 0; type < resource_type_count; ++type) {
    const auto& samples = node.samples[type];
    if (samples.empty())
      continue;
    out << "<polyline class=\"node-line\" fill=\"none\" stroke=\""
        << type_colour[type] << "\" stroke-width=\"1.2\" points=\"";
    for (const auto& [t, u] : samples)
      out << fixed(x_of(t), 1) << "," << fixed(y_of(u), 1) << " ";
    out << "\"/>\n";
  }
  if (node.lost_at >= 0) {
    auto x = x_of(node.lost_at);
    out << "<line class=\"enter\" x1=\"" << x << "\" x2=\"" << x << "\" y1=\""
        << top << "\" y2=\"" << top + plot_h << "\"/><text class=\"label "
        << "th-enter\" x=\"" << x + 4 << "\" y=\"" << top + 12
        << "\">lost</text>\n";
  }
  out << "</svg></div>\n";
}

} // namespace

void print_cluster_summary(std::ostream& out, const ClusterSimResult& r) {
  const auto& w = r.workload;
  out << "rros simulate: workload \"" << w.name << "\" (" << w.modules.size()
      << " modules) on " << r.nodes.size() << " nodes, seed " << r.seed << ", "
      << fixed(r.duration, 0) << " s of virtual time, " << lost_text(r)
      << "\n  each node's capacities:";
  for (auto type : all_resource_types)
    out << " " << to_string(type) << " " << std::setprecision(15)
        << w.config.capacity_of(type);
  out << "\n  placement: each module's own cluster client, least utilized "
         "after placement first, ties by name; it never waits\n";

  out << "\nNodes\n"
      << std::left << std::setw(6) << "node" << std::setw(17) << "state"
      << std::right << std::setw(8) << "grants" << std::setw(9) << "bundles"
      << std::setw(14) << "lost with it"
      << "  books at the end\n";
  for (const auto& node : r.nodes)
    out << std::left << std::setw(6) << node.name << std::setw(17)
        << state_of(node) << std::right << std::setw(8) << node.grants
        << std::setw(9) << node.bundles << std::setw(14) << node.lost_tasks
        << "  " << books_of(node) << "\n";

  out << "\nUtilization per node and type (mean / peak, one sample a second "
         "while alive)\n"
      << std::left << std::setw(6) << "node";
  for (auto type : all_resource_types)
    out << std::right << std::setw(17) << to_string(type);
  out << "\n";
  for (const auto& node : r.nodes) {
    out << std::left << std::setw(6) << node.name;
    for (std::size_t t = 0; t < resource_type_count; ++t)
      out << std::right << std::setw(17)
          << (percent(node.mean[t]) + " / " + percent(node.peak[t]));
    out << "\n";
  }

  out << "\n";
  print_priority_table(out, r.by_priority);
  out << "  the cluster never waits: a deadline is not used, and a request "
         "no node fits is refused\n";
  out << "\nGrants taken back: " << r.preempted << " preempted, "
      << r.shed_revoked << " shed, " << r.expired << " expired (ttl), "
      << r.node_lost << " lost with their node\n"
      << "Tasks: " << r.completed << " completed, " << r.running_at_end
      << " running at the end\n"
      << "Module deaths: " << r.deaths << " (" << r.restarts << " restarted, "
      << r.held_at_death << " grants returned by the nodes)\n";

  out << "\nTimeline\n";
  if (r.events.empty())
    out << "  nothing happened\n";
  for (const auto& ev : r.events)
    out << std::right << std::setw(8) << fixed(ev.at, 1) << " s  " << ev.text
        << "\n";
}

void render_cluster_report(std::ostream& out, const ClusterSimResult& r) {
  const auto& w = r.workload;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
         "charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-"
         "width, initial-scale=1\">\n"
      << "<title>rros simulate: " << html_escape(w.name) << " on "
      << r.nodes.size() << " nodes, seed " << r.seed << "</title>\n<script>"
      << report_error_recorder() << "</script>\n<style>" << report_css()
      << "</style>\n</head>\n<body>\n";
  out << "<h1>rros simulate: workload &ldquo;" << html_escape(w.name)
      << "&rdquo; on " << r.nodes.size() << " nodes</h1>\n<p>"
      << html_escape(w.description) << "</p>\n<p>Seed " << r.seed << ", "
      << fixed(r.duration, 0) << " s of virtual time, " << w.modules.size()
      << " modules, each placing through a cluster client of its own, "
      << html_escape(lost_text(r)) << ". Workload from "
      << html_escape(w.origin) << ".</p>\n";

  out << "<h2>Nodes</h2>\n<div class=\"scroll\"><table><thead><tr>"
         "<th>node</th><th>state</th><th>grants</th><th>bundles</th>"
         "<th>lost with it</th><th class=\"text\">books at the end</th>"
         "</tr></thead><tbody>\n";
  for (const auto& node : r.nodes)
    out << "<tr" << (node.lost_at >= 0 ? " class=\"ev-bad\"" : "") << "><td>"
        << html_escape(node.name) << "</td><td>" << state_of(node)
        << "</td><td>" << node.grants << "</td><td>" << node.bundles
        << "</td><td>" << node.lost_tasks << "</td><td class=\"text\">"
        << books_of(node) << "</td></tr>\n";
  out << "</tbody></table></div>\n<p class=\"note\">Books: the grants each "
         "surviving node's pools list at the end, by holder and id, against "
         "the grants the simulated tasks hold there.</p>\n";

  out << "<h2>Utilization per node</h2>\n<p class=\"legend\">";
  for (auto type : all_resource_types)
    out << "<span><span class=\"sw\" style=\"background:"
        << type_colour[static_cast<std::size_t>(type)] << "\"></span>"
        << to_string(type) << "</span>";
  out << "</p>\n";
  for (const auto& node : r.nodes) {
    out << "<h3>Node " << html_escape(node.name) << " (" << state_of(node)
        << ")</h3>\n";
    node_chart(out, r, node);
  }

  out << "<h2>Requests by priority</h2>\n<div class=\"scroll\"><table><thead>"
         "<tr><th>priority</th><th>issued</th><th>granted</th><th>partial</th>"
         "<th>refused</th><th>lost to deaths</th></tr></thead><tbody>\n";
  for (std::size_t i = 0; i < r.by_priority.size(); ++i) {
    const auto& c = r.by_priority[i];
    out << "<tr><td>" << to_string(static_cast<Priority>(i)) << "</td><td>"
        << c.issued << "</td><td>" << c.granted << "</td><td>" << c.partial
        << "</td><td>" << c.refused << "</td><td>" << c.lost << "</td></tr>\n";
  }
  out << "</tbody></table></div>\n<p>Grants taken back: " << r.preempted
      << " preempted, " << r.shed_revoked << " shed, " << r.expired
      << " expired, " << r.node_lost << " lost with their node. Tasks "
      << "completed: " << r.completed << ". Module deaths: " << r.deaths << " ("
      << r.restarts << " restarted).</p>\n";

  out << "<h2>Events</h2>\n<div class=\"scroll\"><table><thead><tr>"
         "<th>time</th><th class=\"text\">event</th></tr></thead><tbody>\n";
  for (const auto& ev : r.events)
    out << "<tr><td>" << fixed(ev.at, 1) << " s</td><td class=\"text\">"
        << html_escape(ev.text) << "</td></tr>\n";
  out << "</tbody></table></div>\n<script>" << report_fit_script()
      << "</script>\n</body>\n</html>\n";
}

bool write_cluster_report(const std::string& path,
                          const ClusterSimResult& result, std::string& error) {
  return write_report_file(
      path, [&](std::ostream& out) { render_cluster_report(out, result); },
      error);
}

} // namespace rros::app
