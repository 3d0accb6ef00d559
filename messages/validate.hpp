// Checks shared by every actor and the facade for values that arrive in
// messages. Each check returns an rros error naming the bad value (or none).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ratio>
#include <string>
#include <type_traits>

#include <caf/error.hpp>
#include <caf/none.hpp>

#include "messages/error.hpp"
#include "messages/format.hpp"
#include "messages/types.hpp"

namespace rros {

// -- identities and enumerations
// -----------------------------------------------

/// The longest requester, owner, task or module id in bytes: ids are kept
/// per grant and per waiting request, so a client must not make each one
/// arbitrarily large (docs/security.md).
constexpr std::size_t max_id_length = 256;

inline caf::error too_long(const std::string& id, const char* what) {
  return make_error(ec::invalid_argument,
                    std::string{what} + " is " + std::to_string(id.size()) +
                        " bytes long, at most " +
                        std::to_string(max_id_length) + " are allowed");
}

/// A requester (or task, owner, module) id must not be empty nor longer than
/// max_id_length.
inline caf::error check_requester(const std::string& id,
                                  const char* what = "requester id") {
  if (id.empty())
    return make_error(ec::empty_requester,
                      std::string{what} + " must not be empty");
  if (id.size() > max_id_length)
    return too_long(id, what);
  return caf::none;
}

/// A name that is not a requester (a module) must not be empty either; an
/// empty one is a malformed argument. The same length limit applies.
inline caf::error check_name(const std::string& name, const char* what) {
  if (name.empty())
    return make_error(ec::invalid_argument,
                      std::string{what} + " must not be empty");
  if (name.size() > max_id_length)
    return too_long(name, what);
  return caf::none;
}

/// An actor handle given to be monitored or notified (a subscriber) must not
/// be null.
template <class Handle>
caf::error check_handle(const Handle& handle, const char* what) {
  if (!handle)
    return make_error(ec::invalid_argument,
                      std::string{what} + " must not be a null actor handle");
  return caf::none;
}

/// One of the five resource types (values from the network or a cast are
/// checked before they index anything).
inline caf::error check_type(ResourceType type) {
  if (!is_valid(type))
    return make_error(ec::unknown_resource_type,
                      "resource type " +
                          std::to_string(static_cast<int>(type)) +
                          " does not exist");
  return caf::none;
}

/// One of CRITICAL..IDLE.
inline caf::error check_priority(Priority priority) {
  if (!is_valid(priority))
    return make_error(ec::invalid_priority,
                      "priority " + std::to_string(static_cast<int>(priority)) +
                          " does not exist");
  return caf::none;
}

// -- amounts
// --------------------------------------------------------------------

/// Converts an API amount to ledger units, rounding to the nearest unit.
/// Returns -1 for NaN, infinities and amounts outside [0, max_amount].
inline units to_units(double amount) {
  if (!(amount >= 0) || amount > max_amount)
    return -1;
  return static_cast<units>(std::llround(amount * units_per_amount));
}

/// Checks an amount to grant, release or reserve: finite, above 0, at least
/// one unit and at most max_amount. Sets `err` (and returns 0) when it is not;
/// returns the amount in units otherwise.
inline units checked_units(double amount, caf::error& err,
                           const char* what = "amount") {
  if (std::isnan(amount) || std::isinf(amount) || amount <= 0) {
    err = make_error(ec::invalid_amount,
                     std::string{what} +
                         " must be a finite number above 0, got " +
                         format_number(amount));
    return 0;
  }
  if (amount > max_amount) {
    err = make_error(ec::amount_too_large, std::string{what} + " " +
                                               format_number(amount) +
                                               " is above 1e12");
    return 0;
  }
  auto result = to_units(amount);
  if (result <= 0)
    err = make_error(ec::invalid_amount,
                     std::string{what} + " " + format_number(amount) +
                         " is below the ledger's resolution of 0.000001");
  return result;
}

/// Checks a figure that may be 0 (a load, a cost, an observed usage, a task's
/// requirement): finite, not negative, at most max_amount.
inline caf::error check_quantity(double x, const std::string& what) {
  if (!std::isfinite(x) || x < 0)
    return make_error(ec::invalid_amount, what +
                                              " must be a finite number >= 0, "
                                              "got " +
                                              format_number(x));
  if (x > max_amount)
    return make_error(ec::amount_too_large,
                      what + " " + format_number(x) + " is above 1e12");
  return caf::none;
}

// -- durations ----------------------------------------------------------------

/// The longest deadline, time-to-live, renewal or wait any request may name:
/// ten years (3,653 days). Longer ones are refused with invalid_duration
/// before any clock arithmetic, so nothing wraps; "forever" is a zero
/// duration (no deadline, no time-to-live) where the message allows it.
constexpr std::chrono::hours max_duration{24 * 3653};

/// Text for max_duration in error messages.
inline const char* max_duration_text() {
  return "10 years";
}

/// "12 ms": a duration's count with its unit, for error messages.
template <class Rep, class Period>
std::string duration_text(std::chrono::duration<Rep, Period> d) {
  const char* unit = "ticks";
  if (std::is_same<Period, std::nano>::value)
    unit = "ns";
  else if (std::is_same<Period, std::micro>::value)
    unit = "us";
  else if (std::is_same<Period, std::milli>::value)
    unit = "ms";
  else if (std::is_same<Period, std::ratio<1>>::value)
    unit = "s";
  else if (std::is_same<Period, std::ratio<60>>::value)
    unit = "min";
  else if (std::is_same<Period, std::ratio<3600>>::value)
    unit = "h";
  return std::to_string(d.count()) + " " + unit;
}

/// Whether a zero duration is allowed (it means "none") or refused.
enum class zero_duration : bool { allowed, refused };

/// Checks `d` in its own unit (so that a huge count never overflows a
/// conversion): not negative, not above max_duration, and not zero unless
/// allowed. `what` names the field ("deadline", "time-to-live", ...).
template <class Rep, class Period>
caf::error check_duration(std::chrono::duration<Rep, Period> d,
                          const char* what,
                          zero_duration zero = zero_duration::allowed) {
  using duration = std::chrono::duration<Rep, Period>;
  static_assert(std::is_integral<Rep>::value, "integral durations only");
  auto count = d.count();
  if (count < 0)
    return make_error(ec::invalid_duration, std::string{what} +
                                                " must not be negative, got " +
                                                duration_text(d));
  if (count == 0 && zero == zero_duration::refused)
    return make_error(ec::invalid_duration,
                      std::string{what} + " must be above 0, got 0");
  // max_duration always fits the units used here (ns to hours).
  auto limit = std::chrono::duration_cast<duration>(max_duration).count();
  if (count > limit)
    return make_error(ec::invalid_duration,
                      std::string{what} + " of " + duration_text(d) +
                          " is above the maximum of " + max_duration_text());
  return caf::none;
}

/// `t + d`, saturated at the clock's largest (or smallest) time point
/// instead of wrapping. The clock's unit must be at least as fine as d's.
template <class TimePoint, class Rep, class Period>
TimePoint saturating_add(TimePoint t, std::chrono::duration<Rep, Period> d) {
  using clock_duration = typename TimePoint::duration;
  using input_duration = std::chrono::duration<Rep, Period>;
  static_assert(
      std::ratio_less_equal<typename clock_duration::period, Period>::value,
      "the clock's unit must be at least as fine as the duration's");
  // The clock's range in d's own unit: converting d beyond it would wrap.
  constexpr auto upper =
      std::chrono::duration_cast<input_duration>(clock_duration::max());
  constexpr auto lower =
      std::chrono::duration_cast<input_duration>(clock_duration::min());
  if (d > upper)
    return TimePoint::max();
  if (d < lower)
    return TimePoint::min();
  auto step = std::chrono::duration_cast<clock_duration>(d);
  if (step.count() > 0 && t > TimePoint::max() - step)
    return TimePoint::max();
  if (step.count() < 0 && t < TimePoint::min() - step)
    return TimePoint::min();
  return t + step;
}

} // namespace rros
