// The project's one error enum, registered as the CAF error category "rros".
// Handlers return caf::result<T> / caf::expected<T> carrying these codes; the
// context of each error is a human-readable sentence naming the bad value.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace rros {

enum class ec : std::uint8_t {
  // 0 means "no error" to CAF, so codes start at 1.
  invalid_amount = 1,      // NaN, infinite, negative or zero amount
  amount_too_large,        // beyond the representable range (max_amount)
  unknown_resource_type,   // enum value outside the five types
  invalid_priority,        // enum value outside CRITICAL..IDLE
  empty_requester,         // requester id is the empty string
  exceeds_capacity,        // can never fit: more than the pool's capacity
  insufficient_resources,  // does not fit now (refused, rejection counted)
  release_exceeds_holding, // exact release of more than the requester holds
  nothing_held,            // release by a requester that holds nothing
  capacity_below_usage,    // new capacity smaller than held + reserved
  invalid_config_value,    // a configuration value out of range
  unknown_config_key,      // a configuration key nobody reads
  malformed_config,        // unreadable configuration text
  pool_unavailable,        // the pool actor is down and no replacement exists
  not_connected,           // a remote manager could not be reached
  unknown_grant,           // no such grant (never made, or already returned)
  invalid_duration,        // negative deadline or time-to-live
  deadline_expired,        // a waiting request was not granted in time
  cancelled,               // a waiting request was cancelled
  unknown_request,         // no waiting request with that id
  exceeds_quota,           // above the requester group's maximum
  invalid_quota,           // min > max, negative values, guarantees > capacity
  invalid_bundle,          // empty bundle, a type twice, a bad item
  unknown_bundle,          // no such bundle (never granted, or returned)
  shed,                    // the type is degraded and sheds this priority
  // Added later: new codes go at the end so that existing ones never move
  // (codes travel between nodes).
  invalid_argument,      // malformed argument with no more specific code
                         // (a null handle, a task without a body)
  duplicate_id,          // an id already in use (a task id queued twice)
  unknown_block,         // no tracked memory block (of that owner) there
  subsystem_unavailable, // a subsystem other than a pool is down or absent
  framework_error,       // a CAF (non-rros) error carried under an rros code;
                         // its context is CAF's own text
  not_permitted,         // the sender may not send this message (an internal
                         // message from outside, another holder's grant)
  limit_exceeded,        // a per-holder or per-requester limit is reached
                         // (waiting requests, subscriptions)
  storage_failed,        // the data directory cannot take the change (a full
                         // disk, a damaged file): new grants are refused
};

/// The last code: tests walk 1..last_ec.
constexpr ec last_ec = ec::storage_failed;

const char* to_string(ec x);

/// Renders any caf::error: "rros.exceeds_capacity: <context>" for ours,
/// CAF's own text for the others.
std::string describe(const caf::error& err);

/// The human-readable context of an rros error (its message without the
/// "rros.<code>: " prefix); describe(err) for any other error.
std::string context_of(const caf::error& err);

/// True when `err` carries the given code of the rros category.
bool is(const caf::error& err, ec code);

/// True when a request that failed with `err` will fail again if repeated
/// unchanged: bad input (invalid_amount, invalid_bundle, ...), a request that
/// can never fit (exceeds_capacity, exceeds_quota), an id that names nothing
/// (unknown_grant, unknown_bundle, ...) or one already in use (duplicate_id).
/// False for transient errors, which waiting or retrying may cure
/// (insufficient_resources, shed, deadline_expired, cancelled,
/// pool_unavailable, subsystem_unavailable, not_connected,
/// capacity_below_usage, framework_error), and for every error that is not of
/// the rros category (a receiver down, a timeout).
bool is_permanent(const caf::error& err);

/// The rros code of `err`: its own for ours, framework_error for CAF's.
ec code_of(const caf::error& err);

/// An rros error for an error `err` received from another actor: `err` itself
/// when it is ours; `down` (pool_unavailable or subsystem_unavailable) when
/// the receiver is gone; framework_error otherwise. The context of the last
/// two is `what` followed by CAF's text.
caf::error carried(const caf::error& err, ec down, const std::string& what);

/// Thrown by the facade's constructors and seed-compatible void methods where
/// the seed's signature leaves no other way to report bad input.
class Error : public std::runtime_error {
public:
  Error(ec code, const std::string& what)
    : std::runtime_error(what)
    , code_(code) {}
  ec code() const noexcept {
    return code_;
  }

private:
  ec code_;
};

} // namespace rros

CAF_ERROR_CODE_ENUM(rros::ec, "rros")

namespace rros {

/// Builds an error of the rros category whose context is `message`.
inline caf::error make_error(ec code, std::string message) {
  return caf::error{static_cast<std::uint8_t>(code), caf::atom("rros"),
                    caf::make_message(std::move(message))};
}

} // namespace rros
