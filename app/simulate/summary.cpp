// The summary of `rros simulate` (see summary.hpp): fixed-width tables on
// stdout, deterministic (no wall-clock figures), so that one seed gives one
// summary.
#include "app/simulate/summary.hpp"

#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "app/simulate/text.hpp"

namespace rros::app {

namespace {

using sim::fixed;

std::string percent(double fraction) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << fraction * 100 << "%";
  return out.str();
}

double degraded_seconds(const TypeSeries& series) {
  double total = 0;
  for (const auto& [from, to] : series.degraded)
    total += to - from;
  return total;
}

} // namespace

void print_priority_table(std::ostream& out,
                          const std::array<PriorityCounts, 5>& by_priority) {
  out << "Requests by priority (a bundle counts once)\n"
      << std::left << std::setw(10) << "priority" << std::right << std::setw(8)
      << "issued" << std::setw(9) << "granted" << std::setw(9) << "partial"
      << std::setw(8) << "waited" << std::setw(11) << "mean wait"
      << std::setw(9) << "refused" << std::setw(10) << "deadline"
      << std::setw(7) << "shed" << std::setw(7) << "lost"
      << "\n";
  PriorityCounts total;
  auto row = [&](const std::string& name, const PriorityCounts& c) {
    out << std::left << std::setw(10) << name << std::right << std::setw(8)
        << c.issued << std::setw(9) << c.granted << std::setw(9) << c.partial
        << std::setw(8) << c.waited << std::setw(11)
        << (c.waited ? fixed(c.wait_total / c.waited * 1000, 1) + " ms" : "-")
        << std::setw(9) << c.refused << std::setw(10) << c.deadline_missed
        << std::setw(7) << c.shed << std::setw(7) << c.lost << "\n";
  };
  for (std::size_t i = 0; i < by_priority.size(); ++i) {
    const auto& c = by_priority[i];
    row(to_string(static_cast<Priority>(i)), c);
    total.issued += c.issued;
    total.granted += c.granted;
    total.partial += c.partial;
    total.waited += c.waited;
    total.wait_total += c.wait_total;
    total.refused += c.refused;
    total.deadline_missed += c.deadline_missed;
    total.shed += c.shed;
    total.lost += c.lost;
  }
  row("total", total);
  out << "  deadline: deadline misses (waited, not granted in time); shed: "
         "refused while the type was degraded\n";
}

void print_summary(std::ostream& out, const SimResult& r) {
  const auto& w = r.workload;
  out << "rros simulate: workload \"" << w.name << "\" (" << w.modules.size()
      << " modules), seed " << r.seed << ", " << fixed(r.duration, 0)
      << " s of virtual time\n  capacities:";
  for (auto type : all_resource_types)
    out << " " << to_string(type) << " " << std::setprecision(15)
        << w.config.capacity_of(type);
  out << "\n\nUtilization per type\n"
      << std::left << std::setw(15) << "type" << std::right << std::setw(8)
      << "mean" << std::setw(8) << "peak" << std::setw(8) << "alerts"
      << std::setw(11) << "degraded" << std::setw(13) << "escalations"
      << "\n";
  for (auto type : all_resource_types) {
    const auto& s = r.types[static_cast<std::size_t>(type)];
    out << std::left << std::setw(15) << to_string(type) << std::right
        << std::setw(8) << percent(s.mean) << std::setw(8) << percent(s.peak)
        << std::setw(8) << s.alerts << std::setw(11)
        << (fixed(degraded_seconds(s), 1) + " s") << std::setw(13)
        << s.escalations << "\n";
  }

  out << "\n";
  print_priority_table(out, r.by_priority);

  out << "\nGrants taken back: " << r.preempted << " preempted, "
      << r.shed_revoked << " shed while degraded, " << r.expired
      << " expired (ttl)\n"
      << "Tasks: " << r.completed << " completed, " << r.running_at_end
      << " running and " << r.waiting_at_end << " waiting at the end\n"
      << "Module deaths: " << r.deaths << " (" << r.restarts << " restarted, "
      << r.held_at_death << " grants returned by the pools)\n"
      << "Bundles: " << r.bundles_granted << " granted, " << r.bundles_refused
      << " refused, " << r.bundle_attempts << " attempts\n";

  out << "\nForecast error (one step ahead, utilization in percentage "
         "points)\n"
      << std::left << std::setw(15) << "type" << std::right << std::setw(8)
      << "scored" << std::setw(9) << "MAE" << std::setw(11) << "reference"
      << std::setw(12) << "confidence"
      << "  model\n";
  for (const auto& s : r.forecast_errors)
    out << std::left << std::setw(15) << to_string(s.type) << std::right
        << std::setw(8) << s.scored << std::setw(9)
        << fixed(s.mean_abs_error * 100, 2) << std::setw(11)
        << fixed(s.reference_mae * 100, 2) << std::setw(12)
        << fixed(s.confidence, 2) << "  " << s.model << "\n";

  // Alerts are counted above; the timeline lists what changed the system.
  constexpr std::size_t shown = 20;
  std::vector<const SimEvent*> notable;
  for (const auto& ev : r.events)
    if (!ev.alert)
      notable.push_back(&ev);
  out << "\nTimeline (degradation, bursts, module deaths";
  if (notable.size() > shown)
    out << "; first " << shown << " of " << notable.size();
  out << "; every event is in the report)\n";
  if (notable.empty())
    out << "  nothing happened beyond alerts\n";
  for (std::size_t i = 0; i < notable.size() && i < shown; ++i)
    out << std::right << std::setw(8) << fixed(notable[i]->at, 1) << " s  "
        << notable[i]->text << "\n";
}

} // namespace rros::app
