// The single client actors of the mixed part of `rros bench` (see
// mixed_clients.hpp): NORMAL requests of `mixed_amount` with a deadline
// against a pool too small for all of them, so some wait; every grant must be
// full and every release exact.
#include "app/bench/mixed_clients.hpp"

#include <sstream>
#include <utility>

#include "app/bench/mixed_workload.hpp"
#include "app/bench/statistics.hpp"
#include "messages/error.hpp"

namespace rros::app::benchmark {

namespace {

/// Checks one mixed allocate; returns an error text or "".
std::string check_mixed_allocation(const ResourceAllocation& x,
                                   const std::string& requester) {
  if (!x.fully_satisfied || x.allocated_amount != mixed_amount ||
      x.grant_id == 0 || x.requester_id != requester ||
      x.resource_type != ResourceType::COMPUTATIONAL) {
    std::ostringstream out;
    out << "allocate of " << mixed_amount << " for '" << requester
        << "' was not fully satisfied (got " << x.allocated_amount
        << ", fully_satisfied=" << x.fully_satisfied
        << ", grant_id=" << x.grant_id << ")";
    return out.str();
  }
  return {};
}

/// Checks one mixed release (by id or exact); returns an error text or "".
std::string check_mixed_receipt(const ReleaseReceipt& x,
                                const std::string& requester) {
  if (x.released_amount != mixed_amount || x.still_held != 0 ||
      x.requester_id != requester ||
      x.resource_type != ResourceType::COMPUTATIONAL) {
    std::ostringstream out;
    out << "release of " << mixed_amount << " by '" << requester
        << "' was not exact (released " << x.released_amount << ", still held "
        << x.still_held << ")";
    return out.str();
  }
  return {};
}

/// One mixed cycle: allocate (may wait), then release the grant by id, or
/// every `mixed_release_by_amount_every`th cycle by requester and amount.
void mixed_next_cycle(caf::event_based_actor* self, mixed_client_ptr c) {
  if (!c->begin_cycle(self))
    return;
  bool timed = c->done >= c->warmup;
  bool by_amount = (c->done + 1) % mixed_release_by_amount_every == 0;
  c->request.request_id = static_cast<std::uint64_t>(c->done) + 1;
  c->cycle_start = steady::now();
  self->request(c->pool, caf::infinite, allocate_atom::value, c->request)
      .then(
          [=](ResourceAllocation& allocation) {
            auto allocated = steady::now();
            if (auto err = check_mixed_allocation(allocation, c->requester);
                !err.empty()) {
              c->fail(self, err);
              return;
            }
            auto on_receipt = [=](ReleaseReceipt& receipt) {
              auto now = steady::now();
              if (auto err = check_mixed_receipt(receipt, c->requester);
                  !err.empty()) {
                c->fail(self, err);
                return;
              }
              if (timed) {
                c->allocate_ns.push_back(ns_between(c->cycle_start, allocated));
                c->cycle_ns.push_back(ns_between(c->cycle_start, now));
              }
              ++c->done;
              mixed_next_cycle(self, c);
            };
            auto on_error = [=](caf::error& err) {
              c->fail(self, "release failed: " + describe(err));
            };
            if (by_amount)
              self->request(c->pool, caf::infinite, release_atom::value,
                            c->requester, mixed_amount, ReleaseMode::exact)
                  .then(on_receipt, on_error);
            else
              self->request(c->pool, caf::infinite, release_atom::value,
                            allocation.grant_id)
                  .then(on_receipt, on_error);
          },
          [=](caf::error& err) {
            c->fail(self, "allocate failed: " + describe(err));
          });
}

} // namespace

caf::behavior mixed_client(caf::event_based_actor* self, mixed_client_ptr c) {
  mixed_next_cycle(self, c);
  // No lease here has a time-to-live or is preemptable: a revoke is a bug.
  return {
      [=](revoke_atom, const GrantNotice& notice) {
        c->fail(self,
                "grant " + std::to_string(notice.grant_id) + " was revoked");
      },
  };
}

} // namespace rros::app::benchmark
