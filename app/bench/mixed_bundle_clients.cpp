// The bundle client actors of the mixed part of `rros bench` (see
// mixed_clients.hpp): HIGH bundles of IO + NETWORK (every other one with
// COMPUTATIONAL too) from the bundle coordinator, released as one; two never
// fit at once, so one client waits for the other's release.
#include "app/bench/mixed_clients.hpp"

#include <algorithm>
#include <utility>

#include "app/bench/statistics.hpp"
#include "messages/error.hpp"

namespace rros::app::benchmark {

namespace {

/// Checks one bundle grant: every leg full, in item order; "" when fine.
std::string check_bundle_grant(const BundleGrant& g, const BundleRequest& r) {
  bool ok = g.bundle_id != 0 && g.requester_id == r.requester_id &&
            g.legs.size() == r.items.size();
  for (std::size_t i = 0; ok && i < g.legs.size(); ++i)
    ok = g.legs[i].fully_satisfied && g.legs[i].grant_id != 0 &&
         g.legs[i].resource_type == r.items[i].type &&
         g.legs[i].allocated_amount == r.items[i].amount;
  if (ok)
    return {};
  return "bundle of " + std::to_string(r.items.size()) + " items for '" +
         r.requester_id + "' was not granted in full (" +
         std::to_string(g.legs.size()) + " legs)";
}

/// Checks the receipts of a bundle released as one; "" when fine.
std::string check_bundle_receipts(const std::vector<ReleaseReceipt>& xs,
                                  const BundleRequest& r) {
  bool ok = xs.size() == r.items.size();
  for (const auto& x : xs) {
    auto item =
        std::find_if(r.items.begin(), r.items.end(), [&](const BundleItem& i) {
          return i.type == x.resource_type;
        });
    ok = ok && item != r.items.end() && x.released_amount == item->amount &&
         x.still_held == 0 && x.requester_id == r.requester_id;
  }
  if (ok)
    return {};
  return "bundle of '" + r.requester_id + "' was not released exactly (" +
         std::to_string(xs.size()) + " receipts for " +
         std::to_string(r.items.size()) + " items)";
}

/// One bundle cycle: allocate (may wait), then release the bundle as one.
void bundle_next_cycle(caf::event_based_actor* self, mixed_bundle_ptr c) {
  if (!c->begin_cycle(self))
    return;
  bool timed = c->done >= c->warmup;
  auto& request = c->requests[static_cast<std::size_t>(c->done % 2)];
  request.request_id = static_cast<std::uint64_t>(c->done) + 1;
  c->cycle_start = steady::now();
  self->request(c->bundles, caf::infinite, allocate_atom::value, request)
      .then(
          [=, &request](BundleGrant& grant) {
            auto allocated = steady::now();
            if (auto err = check_bundle_grant(grant, request); !err.empty()) {
              c->fail(self, err);
              return;
            }
            self->request(c->bundles, caf::infinite, release_atom::value,
                          grant.bundle_id)
                .then(
                    [=, &request](std::vector<ReleaseReceipt>& receipts) {
                      auto now = steady::now();
                      if (auto err = check_bundle_receipts(receipts, request);
                          !err.empty()) {
                        c->fail(self, err);
                        return;
                      }
                      if (timed) {
                        c->allocate_ns.push_back(
                            ns_between(c->cycle_start, allocated));
                        c->cycle_ns.push_back(ns_between(c->cycle_start, now));
                      }
                      ++c->done;
                      bundle_next_cycle(self, c);
                    },
                    [=](caf::error& err) {
                      c->fail(self, "bundle release failed: " + describe(err));
                    });
          },
          [=](caf::error& err) {
            c->fail(self, "bundle allocate failed: " + describe(err));
          });
}

} // namespace

caf::behavior mixed_bundle_client(caf::event_based_actor* self,
                                  mixed_bundle_ptr c) {
  bundle_next_cycle(self, c);
  // No leg has a time-to-live or is preemptable: a revoke is a bug.
  return {
      [=](revoke_atom, const GrantNotice& notice) {
        c->fail(self, "bundle leg " + std::to_string(notice.grant_id) +
                          " was revoked");
      },
  };
}

} // namespace rros::app::benchmark
