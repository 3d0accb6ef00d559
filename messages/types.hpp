// Domain types of the resource manager, with the seed's names and fields.
// Every type that crosses an actor boundary has an inspect() beside it so it
// can travel to another node; its type ID lives in messages/type_ids.hpp.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>
#include <caf/timestamp.hpp>

namespace rros {

// -- enumerations ------------------------------------------------------------

enum class ResourceType : std::uint8_t {
  COMPUTATIONAL,
  MEMORY,
  ATTENTION,
  IO,
  NETWORK,
};

/// Number of resource types; pools are indexed by the enum's value.
constexpr std::size_t resource_type_count = 5;

/// All resource types in declaration order (the order pools are listed in).
constexpr std::array<ResourceType, resource_type_count> all_resource_types{
    ResourceType::COMPUTATIONAL, ResourceType::MEMORY, ResourceType::ATTENTION,
    ResourceType::IO, ResourceType::NETWORK};

enum class Priority : std::uint8_t {
  CRITICAL = 0,
  HIGH = 1,
  NORMAL = 2,
  LOW = 3,
  IDLE = 4,
};

enum class LoadBalancingStrategy : std::uint8_t {
  ROUND_ROBIN,
  LEAST_LOADED,
  PRIORITY_BASED,
  PREDICTIVE,
};

/// How a release treats an amount above what the requester holds.
enum class ReleaseMode : std::uint8_t {
  exact,      // refuse the release with ec::release_exceeds_holding
  up_to_held, // the seed's behaviour: give back at most what is held
};

/// Lower-case name ("computational", ...), as used in configuration keys.
const char* to_string(ResourceType x);
const char* to_string(Priority x);
const char* to_string(LoadBalancingStrategy x);
const char* to_string(ReleaseMode x);

/// True when `x` names one of the five resource types. Enum values arriving
/// from the network or a cast are checked with this before they index anything.
inline bool is_valid(ResourceType x) {
  return static_cast<std::size_t>(x) < resource_type_count;
}
inline bool is_valid(Priority x) {
  return static_cast<std::uint8_t>(x) <=
         static_cast<std::uint8_t>(Priority::IDLE);
}

// -- time ---------------------------------------------------------------------

/// Wall-clock stamps carried in messages (serializable, comparable across
/// nodes).
using wall_clock = std::chrono::system_clock;
using wall_time = wall_clock::time_point;

// -- wire format of amounts

/// CAF 0.17's float serialization (pack754) turns NaN into 1.0 and never
/// returns on infinities. A requested amount therefore travels as its raw
/// IEEE-754 bits, so that a bad amount reaches the pool intact and is refused
/// there instead of being granted as 1.0.
template <class To, class From>
To same_bits(From x) {
  static_assert(sizeof(To) == sizeof(From));
  To result{};
  std::memcpy(&result, &x, sizeof result);
  return result;
}

inline std::uint32_t float_bits(float x) {
  return same_bits<std::uint32_t>(x);
}

inline float float_from_bits(std::uint32_t bits) {
  return same_bits<float>(bits);
}

/// The same for doubles (the monitor's settings).
inline std::uint64_t double_bits(double x) {
  return same_bits<std::uint64_t>(x);
}

inline double double_from_bits(std::uint64_t bits) {
  return same_bits<double>(bits);
}

// -- value types
// ----------------------------------------------------------------

/// Names one grant of one pool. Ids never repeat within a process: each
/// pool (and bundle coordinator) incarnation numbers its ids in its own range
/// (see first_id_of), so an id taken before a crashed pool was replaced is
/// unknown to the replacement instead of naming somebody else's grant.
using GrantId = std::uint64_t;

/// An id is (incarnation << id_sequence_bits) + sequence: 2^20 incarnations
/// per process, 2^44 (17.6 trillion) ids per incarnation.
constexpr unsigned id_sequence_bits = 44;
constexpr std::uint64_t max_incarnation = (std::uint64_t{1} << 20) - 1;

/// A fresh incarnation number for an actor that hands out ids: 1, 2, ...
/// across the whole process (thread-safe), never 0.
std::uint64_t next_incarnation();

/// Makes next_incarnation() return more than `incarnation` from now on: ids
/// kept from before a restart stay below the ids handed out after it.
void skip_incarnations_past(std::uint64_t incarnation);

/// The first id an incarnation hands out (its sequence starts at 1).
constexpr std::uint64_t first_id_of(std::uint64_t incarnation) {
  return (incarnation << id_sequence_bits) + 1;
}

/// The incarnation that made an id.
constexpr std::uint64_t incarnation_of(std::uint64_t id) {
  return id >> id_sequence_bits;
}

struct ResourceRequest {
  std::string requester_id;
  ResourceType resource_type = ResourceType::COMPUTATIONAL;
  Priority priority = Priority::NORMAL;
  float amount = 0.0f;
  std::chrono::milliseconds deadline{0}; // 0 = none
  wall_time timestamp;
  // Beyond the seed:
  std::chrono::nanoseconds ttl{0}; // lease time-to-live, 0 = none; renewable
  bool preemptable = false;        // may be revoked, with notice, for a
                                   // higher priority
  std::uint64_t request_id = 0;    // the caller's id, to cancel while waiting

  ResourceRequest() = default;
  ResourceRequest(
      std::string id, ResourceType type, Priority prio, float amount,
      std::chrono::milliseconds deadline = std::chrono::milliseconds(0))
    : requester_id(std::move(id))
    , resource_type(type)
    , priority(prio)
    , amount(amount)
    , deadline(deadline)
    , timestamp(wall_clock::now()) {
    // nop
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ResourceRequest& x) {
  auto amount_bits = float_bits(x.amount);
  auto restore_amount = [&]() -> caf::error {
    x.amount = float_from_bits(amount_bits);
    return caf::none;
  };
  return f(caf::meta::type_name("ResourceRequest"), x.requester_id,
           x.resource_type, x.priority, amount_bits, x.deadline, x.timestamp,
           x.ttl, x.preemptable, x.request_id,
           caf::meta::load_callback(restore_amount));
}

struct ResourceAllocation {
  std::string requester_id;
  ResourceType resource_type = ResourceType::COMPUTATIONAL;
  float allocated_amount = 0.0f;
  bool fully_satisfied = false;
  wall_time allocation_time;
  GrantId grant_id = 0; // beyond the seed: names the grant (0 = none)
  // With a data directory: what the holder shows to take the grant back
  // after the node restarted (reattach_atom); 0 = kept in memory only.
  std::uint64_t reattach_token = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ResourceAllocation& x) {
  return f(caf::meta::type_name("ResourceAllocation"), x.requester_id,
           x.resource_type, x.allocated_amount, x.fully_satisfied,
           x.allocation_time, x.grant_id, x.reattach_token);
}

struct ResourceStats {
  ResourceType type = ResourceType::COMPUTATIONAL;
  float total_capacity = 0.0f;
  float current_usage = 0.0f; // held + reserved
  float peak_usage = 0.0f;
  float average_usage = 0.0f; // time-weighted since start or last reset
  std::uint64_t allocation_count = 0;
  std::uint64_t rejection_count = 0;
  // The reference used whole milliseconds, which rounded every real figure to
  // zero; nanoseconds keep the measurement (duration_cast still works).
  std::chrono::nanoseconds avg_allocation_time{0};
  // Beyond the seed, for /metrics (docs/monitoring.md), since spawn or reset:
  // rejection_count split by error code (index = the ec value; 0 unused).
  std::vector<std::uint64_t> refusals_by_reason;
  std::uint64_t preemptions = 0; // grants revoked for a waiter or by shedding
  std::uint64_t expiries = 0;    // grants whose time-to-live ran out
  // Time from a waiting request's arrival to its leaving the queue (granted,
  // refused, cancelled or its holder gone): counts per wait_bucket_bounds
  // bucket (not cumulative; the last one is above every bound) and the sum.
  std::vector<std::uint64_t> wait_counts;
  double wait_seconds_sum = 0;
};

/// Upper bounds (seconds) of the wait-time buckets of ResourceStats.
inline constexpr std::array<double, 12> wait_bucket_bounds{
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ResourceStats& x) {
  return f(caf::meta::type_name("ResourceStats"), x.type, x.total_capacity,
           x.current_usage, x.peak_usage, x.average_usage, x.allocation_count,
           x.rejection_count, x.avg_allocation_time, x.refusals_by_reason,
           x.preemptions, x.expiries, x.wait_counts, x.wait_seconds_sum);
}

struct ResourceAlert {
  enum class Severity : std::uint8_t { INFO, WARNING, CRITICAL };
  Severity severity = Severity::INFO;
  ResourceType resource_type = ResourceType::COMPUTATIONAL;
  std::string message;
  float threshold_violated = 0.0f;
  wall_time timestamp;
};

const char* to_string(ResourceAlert::Severity x);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ResourceAlert& x) {
  return f(caf::meta::type_name("ResourceAlert"), x.severity, x.resource_type,
           x.message, x.threshold_violated, x.timestamp);
}

struct ResourcePrediction {
  ResourceType resource_type = ResourceType::COMPUTATIONAL;
  std::vector<float> predicted_usage; // one value per step of the horizon
  float confidence = 0.0f;            // 0..1
  std::chrono::milliseconds horizon{0};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ResourcePrediction& x) {
  return f(caf::meta::type_name("ResourcePrediction"), x.resource_type,
           x.predicted_usage, x.confidence, x.horizon);
}

/// A task with a body. Local only: its std::function cannot cross nodes, so
/// it never appears in a message type that has a type ID.
struct ScheduledTask {
  std::string task_id;
  Priority priority = Priority::NORMAL;
  std::function<void()> task_function;
  std::chrono::high_resolution_clock::time_point deadline;
  std::unordered_map<ResourceType, float> resource_requirements;
  bool is_preemptable = false;
};

// -- ledger figures
// ----------------------------------------------------------------

/// Amounts are kept as integer units inside the pools: one unit is one
/// millionth of the API's float amount, so sums never drift.
using units = std::int64_t;
constexpr units units_per_amount = 1'000'000;

/// Largest amount (in API terms) a capacity or request may have: keeps every
/// sum of units far away from int64 overflow.
constexpr double max_amount = 1e12;

inline double to_amount(units x) {
  return static_cast<double>(x) / static_cast<double>(units_per_amount);
}

/// An exact snapshot of one pool's ledger, in units.
/// Invariant: capacity == held + reserved + available.
struct PoolStatus {
  ResourceType type = ResourceType::COMPUTATIONAL;
  units capacity = 0;
  units held = 0;
  units reserved = 0;
  units available = 0;
  std::uint32_t holders = 0;
  std::uint32_t waiting = 0; // requests in the pool's queue
  // How many times capacity came back or the queue shrank (releases,
  // expiries, cancels, ...): a refused bundle leg is worth retrying only
  // after this grows.
  std::uint64_t returns = 0;

  /// (held + reserved) / capacity, the seed's utilization.
  double utilization() const {
    return capacity > 0 ? static_cast<double>(held + reserved) /
                              static_cast<double>(capacity)
                        : 0.0;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, PoolStatus& x) {
  return f(caf::meta::type_name("PoolStatus"), x.type, x.capacity, x.held,
           x.reserved, x.available, x.holders, x.waiting, x.returns);
}

/// What a release gave back.
struct ReleaseReceipt {
  std::string requester_id;
  ResourceType resource_type = ResourceType::COMPUTATIONAL;
  float released_amount = 0.0f;
  float still_held = 0.0f;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ReleaseReceipt& x) {
  return f(caf::meta::type_name("ReleaseReceipt"), x.requester_id,
           x.resource_type, x.released_amount, x.still_held);
}

/// Why a holder loses a grant.
enum class RevokeReason : std::uint8_t {
  expired,   // its time-to-live ran out (reclaimed already)
  preempted, // a higher priority needs it: reclaimed after `grace`
  shed,      // its type is degraded and its priority is shed: reclaimed
             // after `grace`
};

const char* to_string(RevokeReason x);

/// Sent to a grant's holder (revoke_atom) when the grant is taken back.
struct GrantNotice {
  GrantId grant_id = 0;
  std::string requester_id;
  ResourceType resource_type = ResourceType::COMPUTATIONAL;
  float amount = 0.0f;
  RevokeReason reason = RevokeReason::expired;
  std::chrono::nanoseconds grace{0}; // time left to release it early
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, GrantNotice& x) {
  return f(caf::meta::type_name("GrantNotice"), x.grant_id, x.requester_id,
           x.resource_type, x.amount, x.reason, x.grace);
}

/// Per requester group and type: a guaranteed minimum, a maximum and a
/// fair-share weight. `members` lists the requester ids of the group; an
/// empty list means the group is the single requester named `name`.
struct Quota {
  std::string name;
  std::vector<std::string> members;
  float min = 0.0f;    // guaranteed: withheld from others while unused
  float max = 0.0f;    // 0 = no maximum
  float weight = 1.0f; // share of contended capacity relative to others
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Quota& x) {
  return f(caf::meta::type_name("Quota"), x.name, x.members, x.min, x.max,
           x.weight);
}

/// How a pool orders waiting requests and preempts.
struct PoolPolicy {
  std::chrono::nanoseconds aging_interval = std::chrono::seconds(1);
  std::chrono::nanoseconds preemption_grace = std::chrono::milliseconds(250);
  std::uint32_t max_preemptions_per_round = 4;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, PoolPolicy& x) {
  return f(caf::meta::type_name("PoolPolicy"), x.aging_interval,
           x.preemption_grace, x.max_preemptions_per_round);
}

/// What a degraded type's pool sheds (the monitor sends it with shed_atom).
/// Requests at `refuse_from` or a lower priority (a larger value) are
/// refused; preemptable grants at those priorities are revoked with notice
/// when `revoke_preemptable`. A default ShedPolicy sheds nothing.
struct ShedPolicy {
  bool degraded = false;
  Priority refuse_from = Priority::IDLE;
  bool revoke_preemptable = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ShedPolicy& x) {
  return f(caf::meta::type_name("ShedPolicy"), x.degraded, x.refuse_from,
           x.revoke_preemptable);
}

/// One observation of a type's utilization (the monitor sends it to sample
/// subscribers, the predictor among them, with sample_atom).
struct UtilizationSample {
  ResourceType type = ResourceType::COMPUTATIONAL;
  float utilization = 0.0f; // (held + reserved) / capacity, 0..1
  double used = 0.0;        // held + reserved, in amount
  double capacity = 0.0;    // in amount
  caf::timestamp at;        // the monitor's clock (virtual in tests)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, UtilizationSample& x) {
  return f(caf::meta::type_name("UtilizationSample"), x.type, x.utilization,
           x.used, x.capacity, x.at);
}

// -- bundles
// ---------------------------------------------------------------------

using BundleId = std::uint64_t;

/// One type and amount of a bundle.
struct BundleItem {
  ResourceType type = ResourceType::COMPUTATIONAL;
  float amount = 0.0f;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, BundleItem& x) {
  // Raw bits, like ResourceRequest::amount: CAF 0.17 mangles NaN and inf.
  auto bits = float_bits(x.amount);
  return f(caf::meta::type_name("BundleItem"), x.type, bits,
           caf::meta::load_callback([&]() -> caf::error {
             x.amount = float_from_bits(bits);
             return caf::none;
           }));
}

/// Several types granted all or nothing (for example computational 10,
/// memory 4096 and attention 0.2 for one task).
struct BundleRequest {
  std::string requester_id;
  Priority priority = Priority::NORMAL;
  std::vector<BundleItem> items;        // each type at most once
  std::chrono::nanoseconds deadline{0}; // 0 = do not wait
  std::chrono::nanoseconds ttl{0};      // 0 = no time-to-live
  bool preemptable = false;
  std::uint64_t request_id = 0; // for cancel_atom
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, BundleRequest& x) {
  return f(caf::meta::type_name("BundleRequest"), x.requester_id, x.priority,
           x.items, x.deadline, x.ttl, x.preemptable, x.request_id);
}

/// A granted bundle: one grant per type, returned as one (by bundle_id) or
/// per type (by each leg's grant_id at its pool, or the bundle and a type).
struct BundleGrant {
  BundleId bundle_id = 0;
  std::string requester_id;
  std::vector<ResourceAllocation> legs; // in the request's item order
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, BundleGrant& x) {
  return f(caf::meta::type_name("BundleGrant"), x.bundle_id, x.requester_id,
           x.legs);
}

/// The bundle coordinator's figures.
struct BundleStats {
  std::uint64_t waiting = 0;  // bundles waiting for capacity
  std::uint64_t held = 0;     // granted bundles not yet returned
  std::uint64_t granted = 0;  // since start or reset
  std::uint64_t refused = 0;  // refused, timed out or cancelled
  std::uint64_t attempts = 0; // all-or-nothing attempts made on the pools
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, BundleStats& x) {
  return f(caf::meta::type_name("BundleStats"), x.waiting, x.held, x.granted,
           x.refused, x.attempts);
}

} // namespace rros
