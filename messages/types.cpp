#include "messages/types.hpp"

#include <atomic>
#include <cstdlib>

namespace rros {

namespace {

std::atomic<std::uint64_t> last_incarnation{0};

} // namespace

void skip_incarnations_past(std::uint64_t incarnation) {
  auto seen = last_incarnation.load();
  while (seen < incarnation &&
         !last_incarnation.compare_exchange_weak(seen, incarnation)) {
    // retry with the value another thread stored
  }
}

std::uint64_t next_incarnation() {
  auto result = ++last_incarnation;
  // Past 2^20 incarnations the ranges would overlap: wrapping to a used range
  // could make an old id valid again, so stop loudly instead.
  if (result > max_incarnation)
    std::abort();
  return result;
}

const char* to_string(ResourceType x) {
  switch (x) {
    case ResourceType::COMPUTATIONAL:
      return "computational";
    case ResourceType::MEMORY:
      return "memory";
    case ResourceType::ATTENTION:
      return "attention";
    case ResourceType::IO:
      return "io";
    case ResourceType::NETWORK:
      return "network";
  }
  return "unknown";
}

const char* to_string(Priority x) {
  switch (x) {
    case Priority::CRITICAL:
      return "CRITICAL";
    case Priority::HIGH:
      return "HIGH";
    case Priority::NORMAL:
      return "NORMAL";
    case Priority::LOW:
      return "LOW";
    case Priority::IDLE:
      return "IDLE";
  }
  return "unknown";
}

const char* to_string(LoadBalancingStrategy x) {
  switch (x) {
    case LoadBalancingStrategy::ROUND_ROBIN:
      return "ROUND_ROBIN";
    case LoadBalancingStrategy::LEAST_LOADED:
      return "LEAST_LOADED";
    case LoadBalancingStrategy::PRIORITY_BASED:
      return "PRIORITY_BASED";
    case LoadBalancingStrategy::PREDICTIVE:
      return "PREDICTIVE";
  }
  return "unknown";
}

const char* to_string(ReleaseMode x) {
  switch (x) {
    case ReleaseMode::exact:
      return "exact";
    case ReleaseMode::up_to_held:
      return "up_to_held";
  }
  return "unknown";
}

const char* to_string(ResourceAlert::Severity x) {
  switch (x) {
    case ResourceAlert::Severity::INFO:
      return "INFO";
    case ResourceAlert::Severity::WARNING:
      return "WARNING";
    case ResourceAlert::Severity::CRITICAL:
      return "CRITICAL";
  }
  return "unknown";
}

const char* to_string(RevokeReason x) {
  switch (x) {
    case RevokeReason::expired:
      return "expired";
    case RevokeReason::preempted:
      return "preempted";
    case RevokeReason::shed:
      return "shed";
  }
  return "unknown";
}

} // namespace rros
