#include "actors/pool.hpp"

#include <cmath>
#include <sstream>

#include "messages/error.hpp"

namespace rros {

namespace {

using self_ptr = pool_actor::stateful_pointer<pool_state>;

std::string format_amount(double amount) {
  std::ostringstream out;
  out << amount;
  return out.str();
}

/// Converts and checks an amount: finite, positive, at least one unit and at
/// most max_amount. On success returns the units and leaves `err` empty.
units checked_units(double amount, caf::error& err) {
  if (std::isnan(amount) || std::isinf(amount) || amount <= 0) {
    err = make_error(ec::invalid_amount,
                     "amount must be a finite number above 0, got " +
                         format_amount(amount));
    return 0;
  }
  if (amount > max_amount) {
    err = make_error(ec::amount_too_large,
                     "amount " + format_amount(amount) + " is above 1e12");
    return 0;
  }
  auto result = to_units(amount);
  if (result <= 0)
    err = make_error(ec::invalid_amount,
                     "amount " + format_amount(amount) +
                         " is below the ledger's resolution of 0.000001");
  return result;
}

caf::error check_requester(const std::string& requester) {
  if (requester.empty())
    return make_error(ec::empty_requester, "requester id must not be empty");
  return caf::none;
}

/// Adds the usage since the last change to the time-weighted integral.
void advance_clock(pool_state& st, caf::actor_clock::time_point now) {
  auto usage = st.ledger.held() + st.ledger.reserved();
  auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
      now - st.last_change);
  st.usage_integral +=
      static_cast<double>(usage) * static_cast<double>(elapsed.count());
  st.last_change = now;
}

void note_usage(pool_state& st) {
  st.peak_usage =
      std::max(st.peak_usage, st.ledger.held() + st.ledger.reserved());
}

void restart_statistics(pool_state& st, caf::actor_clock::time_point now) {
  st.peak_usage = st.ledger.held() + st.ledger.reserved();
  st.usage_integral = 0;
  st.since = now;
  st.last_change = now;
  st.allocation_count = 0;
  st.rejection_count = 0;
  st.allocation_time_total = std::chrono::nanoseconds{0};
}

ResourceStats make_stats(const pool_state& st,
                         caf::actor_clock::time_point now) {
  ResourceStats result;
  result.type = st.type;
  result.total_capacity = static_cast<float>(to_amount(st.ledger.capacity()));
  auto usage = st.ledger.held() + st.ledger.reserved();
  result.current_usage = static_cast<float>(to_amount(usage));
  result.peak_usage = static_cast<float>(to_amount(st.peak_usage));
  auto elapsed =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - st.since)
          .count();
  if (elapsed > 0) {
    auto pending = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       now - st.last_change)
                       .count();
    auto integral = st.usage_integral +
                    static_cast<double>(usage) * static_cast<double>(pending);
    result.average_usage =
        static_cast<float>(integral / elapsed / units_per_amount);
  } else {
    result.average_usage = result.current_usage;
  }
  result.allocation_count = st.allocation_count;
  result.rejection_count = st.rejection_count;
  auto attempts = st.allocation_count + st.rejection_count;
  if (attempts > 0)
    result.avg_allocation_time =
        st.allocation_time_total / static_cast<std::int64_t>(attempts);
  return result;
}

/// The seed's allocation rule on a validated request.
caf::result<ResourceAllocation>
decide(self_ptr self, const ResourceRequest& req, units amount) {
  auto& st = self->state;
  auto refuse = [&](ec code,
                    std::string why) -> caf::result<ResourceAllocation> {
    ++st.rejection_count;
    return make_error(code, std::move(why));
  };
  if (amount > st.ledger.capacity())
    return refuse(ec::exceeds_capacity,
                  "requested " + format_amount(req.amount) + " of " +
                      to_string(st.type) + " but its capacity is " +
                      format_amount(to_amount(st.ledger.capacity())));
  auto grantable = st.ledger.grantable_to(req.requester_id);
  auto granted = amount;
  if (amount > grantable) {
    if (req.priority != Priority::CRITICAL || grantable == 0)
      return refuse(ec::insufficient_resources,
                    "requested " + format_amount(req.amount) + " of " +
                        to_string(st.type) + ", " +
                        format_amount(to_amount(grantable)) + " available");
    granted = grantable; // CRITICAL takes what is left
  }
  advance_clock(st, self->clock().now());
  st.ledger.grant(req.requester_id, granted);
  note_usage(st);
  ++st.allocation_count;
  ResourceAllocation result;
  result.requester_id = req.requester_id;
  result.resource_type = st.type;
  result.allocated_amount =
      granted == amount ? req.amount : static_cast<float>(to_amount(granted));
  result.fully_satisfied = granted == amount;
  result.allocation_time = wall_clock::now();
  return result;
}

} // namespace

pool_actor::behavior_type pool(self_ptr self, ResourceType type,
                               double capacity) {
  auto& st = self->state;
  st.type = type;
  st.ledger = Ledger{to_units(capacity)};
  restart_statistics(st, self->clock().now());
  return {
      [=](allocate_atom,
          const ResourceRequest& req) -> caf::result<ResourceAllocation> {
        auto started = std::chrono::steady_clock::now();
        auto& st = self->state;
        if (!is_valid(req.resource_type))
          return make_error(
              ec::unknown_resource_type,
              "resource type " +
                  std::to_string(static_cast<int>(req.resource_type)) +
                  " does not exist");
        if (req.resource_type != st.type)
          return make_error(ec::unknown_resource_type,
                            std::string{"the "} + to_string(st.type) +
                                " pool got a request for " +
                                to_string(req.resource_type));
        if (auto err = check_requester(req.requester_id))
          return err;
        if (!is_valid(req.priority))
          return make_error(ec::invalid_priority,
                            "priority " +
                                std::to_string(static_cast<int>(req.priority)) +
                                " does not exist");
        caf::error err;
        auto amount = checked_units(req.amount, err);
        if (err)
          return err;
        auto result = decide(self, req, amount);
        st.allocation_time_total +=
            std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now() - started);
        return result;
      },
      [=](release_atom, const std::string& requester, float amount,
          ReleaseMode mode) -> caf::result<ReleaseReceipt> {
        auto& st = self->state;
        if (auto err = check_requester(requester))
          return err;
        caf::error err;
        auto wanted = checked_units(amount, err);
        if (err)
          return err;
        auto held = st.ledger.held_by(requester);
        if (held == 0)
          return make_error(ec::nothing_held, "'" + requester + "' holds no " +
                                                  to_string(st.type));
        if (wanted > held && mode == ReleaseMode::exact)
          return make_error(ec::release_exceeds_holding,
                            "'" + requester + "' releases " +
                                format_amount(amount) + " of " +
                                to_string(st.type) + " but holds " +
                                format_amount(to_amount(held)));
        auto returned = std::min(wanted, held);
        advance_clock(st, self->clock().now());
        st.ledger.release(requester, returned);
        ReleaseReceipt receipt;
        receipt.requester_id = requester;
        receipt.resource_type = st.type;
        receipt.released_amount = static_cast<float>(to_amount(returned));
        receipt.still_held =
            static_cast<float>(to_amount(st.ledger.held_by(requester)));
        return receipt;
      },
      [=](reserve_atom, const std::string& requester,
          float amount) -> caf::result<PoolStatus> {
        auto& st = self->state;
        if (auto err = check_requester(requester))
          return err;
        caf::error err;
        auto wanted = checked_units(amount, err);
        if (err)
          return err;
        if (wanted > st.ledger.available())
          return make_error(
              ec::insufficient_resources,
              "cannot reserve " + format_amount(amount) + " of " +
                  to_string(st.type) + ", " +
                  format_amount(to_amount(st.ledger.available())) +
                  " available");
        advance_clock(st, self->clock().now());
        st.ledger.reserve(requester, wanted);
        note_usage(st);
        return st.ledger.status(st.type);
      },
      [=](unreserve_atom, const std::string& requester) -> caf::result<float> {
        auto& st = self->state;
        if (auto err = check_requester(requester))
          return err;
        if (st.ledger.reserved_for(requester) == 0)
          return make_error(ec::nothing_held, "'" + requester +
                                                  "' has no reservation of " +
                                                  to_string(st.type));
        advance_clock(st, self->clock().now());
        return static_cast<float>(
            to_amount(st.ledger.cancel_reservation(requester)));
      },
      [=](holding_atom, const std::string& requester) -> float {
        return static_cast<float>(
            to_amount(self->state.ledger.held_by(requester)));
      },
      [=](status_atom) -> PoolStatus {
        return self->state.ledger.status(self->state.type);
      },
      [=](stats_atom) -> ResourceStats {
        return make_stats(self->state, self->clock().now());
      },
      [=](capacity_atom, double capacity) -> caf::result<PoolStatus> {
        auto& st = self->state;
        if (!std::isfinite(capacity) || capacity <= 0 ||
            capacity > max_amount || to_units(capacity) <= 0)
          return make_error(ec::invalid_config_value,
                            "capacity of " + std::string{to_string(st.type)} +
                                " must be in [0.000001, 1e12], got " +
                                format_amount(capacity));
        auto usage = st.ledger.held() + st.ledger.reserved();
        if (!st.ledger.set_capacity(to_units(capacity)))
          return make_error(ec::capacity_below_usage,
                            "capacity of " + std::string{to_string(st.type)} +
                                " cannot drop to " + format_amount(capacity) +
                                " while " + format_amount(to_amount(usage)) +
                                " is held or reserved");
        return st.ledger.status(st.type);
      },
      [=](reset_atom) -> PoolStatus {
        auto& st = self->state;
        st.ledger.clear();
        restart_statistics(st, self->clock().now());
        return st.ledger.status(st.type);
      },
  };
}

} // namespace rros
