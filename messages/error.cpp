#include "messages/error.hpp"

#include <caf/atom.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace rros {

const char* to_string(ec x) {
  switch (x) {
    case ec::invalid_amount:
      return "invalid_amount";
    case ec::amount_too_large:
      return "amount_too_large";
    case ec::unknown_resource_type:
      return "unknown_resource_type";
    case ec::invalid_priority:
      return "invalid_priority";
    case ec::empty_requester:
      return "empty_requester";
    case ec::exceeds_capacity:
      return "exceeds_capacity";
    case ec::insufficient_resources:
      return "insufficient_resources";
    case ec::release_exceeds_holding:
      return "release_exceeds_holding";
    case ec::nothing_held:
      return "nothing_held";
    case ec::capacity_below_usage:
      return "capacity_below_usage";
    case ec::invalid_config_value:
      return "invalid_config_value";
    case ec::unknown_config_key:
      return "unknown_config_key";
    case ec::malformed_config:
      return "malformed_config";
    case ec::pool_unavailable:
      return "pool_unavailable";
    case ec::not_connected:
      return "not_connected";
    case ec::unknown_grant:
      return "unknown_grant";
    case ec::invalid_duration:
      return "invalid_duration";
    case ec::deadline_expired:
      return "deadline_expired";
    case ec::cancelled:
      return "cancelled";
    case ec::unknown_request:
      return "unknown_request";
    case ec::exceeds_quota:
      return "exceeds_quota";
    case ec::invalid_quota:
      return "invalid_quota";
    case ec::invalid_bundle:
      return "invalid_bundle";
    case ec::unknown_bundle:
      return "unknown_bundle";
    case ec::shed:
      return "shed";
    case ec::invalid_argument:
      return "invalid_argument";
    case ec::duplicate_id:
      return "duplicate_id";
    case ec::unknown_block:
      return "unknown_block";
    case ec::subsystem_unavailable:
      return "subsystem_unavailable";
    case ec::framework_error:
      return "framework_error";
    case ec::not_permitted:
      return "not_permitted";
    case ec::limit_exceeded:
      return "limit_exceeded";
    case ec::storage_failed:
      return "storage_failed";
  }
  return "unknown_error_code";
}

bool is(const caf::error& err, ec code) {
  return err.category() == caf::atom("rros") &&
         err.code() == static_cast<std::uint8_t>(code);
}

bool is_permanent(const caf::error& err) {
  if (!err || err.category() != caf::atom("rros"))
    return false;
  switch (static_cast<ec>(err.code())) {
    case ec::invalid_amount:
    case ec::amount_too_large:
    case ec::unknown_resource_type:
    case ec::invalid_priority:
    case ec::empty_requester:
    case ec::exceeds_capacity:
    case ec::release_exceeds_holding:
    case ec::nothing_held:
    case ec::invalid_config_value:
    case ec::unknown_config_key:
    case ec::malformed_config:
    case ec::unknown_grant:
    case ec::invalid_duration:
    case ec::unknown_request:
    case ec::exceeds_quota:
    case ec::invalid_quota:
    case ec::invalid_bundle:
    case ec::unknown_bundle:
    case ec::invalid_argument:
    case ec::duplicate_id:
    case ec::unknown_block:
    case ec::not_permitted:
      return true;
    case ec::insufficient_resources:
    case ec::capacity_below_usage:
    case ec::pool_unavailable:
    case ec::not_connected:
    case ec::deadline_expired:
    case ec::cancelled:
    case ec::shed:
    case ec::subsystem_unavailable:
    case ec::framework_error:
    case ec::limit_exceeded:
    case ec::storage_failed:
      return false;
  }
  return false;
}

ec code_of(const caf::error& err) {
  if (err && err.category() == caf::atom("rros"))
    return static_cast<ec>(err.code());
  return ec::framework_error;
}

caf::error carried(const caf::error& err, ec down, const std::string& what) {
  if (err.category() == caf::atom("rros"))
    return err;
  auto code =
      err == caf::sec::request_receiver_down ? down : ec::framework_error;
  return make_error(code, what + describe(err));
}

std::string context_of(const caf::error& err) {
  if (!err || err.category() != caf::atom("rros"))
    return describe(err);
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return ctx.empty() ? std::string{} : caf::deep_to_string(ctx);
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() != caf::atom("rros"))
    return caf::to_string(err);
  std::string result = "rros.";
  result += to_string(static_cast<ec>(err.code()));
  auto context = context_of(err);
  if (!context.empty()) {
    result += ": ";
    result += context;
  }
  return result;
}

} // namespace rros
