// The simulated module actors and the monitor observer of `rros simulate`
// (see module_actors.hpp). They run on CAF's test coordinator, on the
// driver's thread, so they share the TaskRecords without locks.
#include "app/simulate/module_actors.hpp"

#include <iomanip>
#include <sstream>

#include "messages/error.hpp"

namespace rros::app::sim {

namespace {

void forget_legs(module_actor* self, std::uint64_t id) {
  auto& legs = self->state.legs;
  for (auto i = legs.begin(); i != legs.end();)
    i = i->second == id ? legs.erase(i) : std::next(i);
}

/// Returns a held task's grant(s); replies are of no interest (a grant that
/// is gone already answers unknown_grant).
void give_back(module_actor* self, Shared* shared, std::uint64_t id) {
  auto& task = shared->tasks[id];
  if (task.bundle != 0)
    self->request(shared->bundles, caf::infinite, release_atom::value,
                  task.bundle)
        .then([](std::vector<ReleaseReceipt>&) {}, [](caf::error&) {});
  else
    self->request(shared->pools[task.items[0].type], caf::infinite,
                  release_atom::value, task.grant)
        .then([](ReleaseReceipt&) {}, [](caf::error&) {});
  forget_legs(self, id);
}

void on_granted(module_actor* self, Shared* shared, std::uint64_t id) {
  auto& task = shared->tasks[id];
  task.outcome = Outcome::held;
  task.granted = shared->since_start(self->clock().now());
  self->delayed_send(self, task.hold, sim_done_atom::value, id);
}

void on_refused(Shared* shared, std::uint64_t id, const caf::error& err) {
  auto& task = shared->tasks[id];
  if (is(err, ec::deadline_expired))
    task.outcome = Outcome::deadline_missed;
  else if (is(err, ec::shed))
    task.outcome = Outcome::shed_refused;
  else if (is(err, ec::insufficient_resources) || is(err, ec::exceeds_quota))
    task.outcome = Outcome::refused;
  else
    task.outcome = Outcome::failed;
}

} // namespace

caf::behavior sim_module(module_actor* self, Shared* shared,
                         std::size_t index) {
  return {
      [=](sim_task_atom, std::uint64_t id) {
        auto& task = shared->tasks[id];
        task.issued = shared->since_start(self->clock().now());
        const auto& name = shared->module_names[index];
        if (task.items.size() == 1) {
          ResourceRequest req{
              name, task.items[0].type, task.priority, task.items[0].amount,
              std::chrono::duration_cast<std::chrono::milliseconds>(
                  task.deadline)};
          req.ttl = task.ttl;
          req.preemptable = task.preemptable;
          req.request_id = id + 1;
          self->request(shared->pools[req.resource_type], caf::infinite,
                        allocate_atom::value, req)
              .then(
                  [=](ResourceAllocation& grant) {
                    auto& t = shared->tasks[id];
                    if (grant.allocated_amount <= 0 || grant.grant_id == 0) {
                      t.outcome = Outcome::refused;
                      return;
                    }
                    t.grant = grant.grant_id;
                    t.partial = !grant.fully_satisfied;
                    self->state.legs[{grant.resource_type, grant.grant_id}] =
                        id;
                    on_granted(self, shared, id);
                  },
                  [=](caf::error& err) { on_refused(shared, id, err); });
          return;
        }
        BundleRequest req;
        req.requester_id = name;
        req.priority = task.priority;
        req.items = task.items;
        req.deadline = task.deadline;
        req.ttl = task.ttl;
        req.preemptable = task.preemptable;
        req.request_id = id + 1;
        self->request(shared->bundles, caf::infinite, allocate_atom::value, req)
            .then(
                [=](BundleGrant& grant) {
                  shared->tasks[id].bundle = grant.bundle_id;
                  for (const auto& leg : grant.legs)
                    self->state.legs[{leg.resource_type, leg.grant_id}] = id;
                  on_granted(self, shared, id);
                },
                [=](caf::error& err) { on_refused(shared, id, err); });
      },
      [=](sim_done_atom, std::uint64_t id) {
        auto& task = shared->tasks[id];
        if (task.outcome != Outcome::held)
          return;
        task.outcome = Outcome::completed;
        give_back(self, shared, id);
      },
      [=](revoke_atom, const GrantNotice& notice) {
        auto i = self->state.legs.find({notice.resource_type, notice.grant_id});
        if (i == self->state.legs.end())
          return;
        auto id = i->second;
        auto& task = shared->tasks[id];
        if (task.outcome != Outcome::held)
          return;
        switch (notice.reason) {
          case RevokeReason::expired:
            task.outcome = Outcome::expired;
            break;
          case RevokeReason::preempted:
            task.outcome = Outcome::preempted;
            break;
          case RevokeReason::shed:
            task.outcome = Outcome::shed_revoked;
            break;
        }
        // Preempted and shed grants are welcome back before the grace period
        // ends; a bundle gives back its other legs with the revoked one.
        give_back(self, shared, id);
      },
  };
}

/// Hears the monitor: utilization samples, alerts and degradation.
caf::behavior sim_observer(caf::event_based_actor* self, Shared* shared) {
  return {
      [=](sample_atom, const UtilizationSample& sample) {
        if (!is_valid(sample.type))
          return;
        auto at = seconds_of(shared->since_start(self->clock().now()));
        shared->result->types[static_cast<std::size_t>(sample.type)]
            .samples.emplace_back(at, sample.utilization);
      },
      [=](monitor_event_atom, const MonitorEvent& event) {
        if (!is_valid(event.type))
          return;
        auto at = seconds_of(shared->since_start(self->clock().now()));
        auto& series =
            shared->result->types[static_cast<std::size_t>(event.type)];
        std::ostringstream text;
        bool alert = false;
        text << to_string(event.type) << ": ";
        switch (event.kind) {
          case MonitorEventKind::alert_raised:
            ++series.alerts;
            alert = true;
            text << "alert " << to_string(event.alert.severity) << ": "
                 << event.alert.message;
            break;
          case MonitorEventKind::alert_cleared:
            alert = true;
            text << "alert cleared";
            break;
          case MonitorEventKind::degraded_entered:
            series.degraded.emplace_back(at, -1);
            text << "degraded, shedding " << to_string(event.shed.refuse_from)
                 << " and below";
            break;
          case MonitorEventKind::degraded_left:
            if (!series.degraded.empty() && series.degraded.back().second < 0)
              series.degraded.back().second = at;
            text << "recovered";
            break;
          case MonitorEventKind::escalated:
            ++series.escalations;
            text << "escalated (step " << event.escalation << "), shedding "
                 << to_string(event.shed.refuse_from) << " and below";
            break;
        }
        if (event.kind != MonitorEventKind::alert_raised)
          text << " (utilization " << std::fixed << std::setprecision(1)
               << event.utilization * 100 << "%)";
        std::string severity;
        if (event.kind == MonitorEventKind::alert_raised)
          severity = to_string(event.alert.severity);
        shared->result->events.push_back({at, text.str(), alert,
                                          static_cast<int>(event.type),
                                          severity, std::string{}});
      },
  };
}

} // namespace rros::app::sim
