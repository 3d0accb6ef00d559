#include <cmath>
// Every message type through CAF 0.17's binary serializer: each value alone,
// each inside a caf::message (which carries its types by name, so it needs
// register_types()), the type-ID block's names, and the "rros" error category.
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "actors/manager.hpp"
#include "actors/pool.hpp"
#include "fixture.hpp"
#include "messages/type_ids.hpp"

using namespace rros;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

// -- field-by-field equality
// -----------------------------------------------------

void expect_same(const ResourceRequest& x, const ResourceRequest& y) {
  EXPECT_EQ(x.requester_id, y.requester_id);
  EXPECT_EQ(x.resource_type, y.resource_type);
  EXPECT_EQ(x.priority, y.priority);
  EXPECT_EQ(x.amount, y.amount);
  EXPECT_EQ(x.deadline, y.deadline);
  EXPECT_EQ(x.timestamp, y.timestamp);
}

void expect_same(const ResourceAllocation& x, const ResourceAllocation& y) {
  EXPECT_EQ(x.requester_id, y.requester_id);
  EXPECT_EQ(x.resource_type, y.resource_type);
  EXPECT_EQ(x.allocated_amount, y.allocated_amount);
  EXPECT_EQ(x.fully_satisfied, y.fully_satisfied);
  EXPECT_EQ(x.allocation_time, y.allocation_time);
}

void expect_same(const ResourceStats& x, const ResourceStats& y) {
  EXPECT_EQ(x.type, y.type);
  EXPECT_EQ(x.total_capacity, y.total_capacity);
  EXPECT_EQ(x.current_usage, y.current_usage);
  EXPECT_EQ(x.peak_usage, y.peak_usage);
  EXPECT_EQ(x.average_usage, y.average_usage);
  EXPECT_EQ(x.allocation_count, y.allocation_count);
  EXPECT_EQ(x.rejection_count, y.rejection_count);
  EXPECT_EQ(x.avg_allocation_time, y.avg_allocation_time);
  EXPECT_EQ(x.refusals_by_reason, y.refusals_by_reason);
  EXPECT_EQ(x.preemptions, y.preemptions);
  EXPECT_EQ(x.expiries, y.expiries);
  EXPECT_EQ(x.wait_counts, y.wait_counts);
  EXPECT_EQ(x.wait_seconds_sum, y.wait_seconds_sum);
}

void expect_same(const ResourceAlert& x, const ResourceAlert& y) {
  EXPECT_EQ(x.severity, y.severity);
  EXPECT_EQ(x.resource_type, y.resource_type);
  EXPECT_EQ(x.message, y.message);
  EXPECT_EQ(x.threshold_violated, y.threshold_violated);
  EXPECT_EQ(x.timestamp, y.timestamp);
}

void expect_same(const ResourcePrediction& x, const ResourcePrediction& y) {
  EXPECT_EQ(x.resource_type, y.resource_type);
  EXPECT_EQ(x.predicted_usage, y.predicted_usage);
  EXPECT_EQ(x.confidence, y.confidence);
  EXPECT_EQ(x.horizon, y.horizon);
}

void expect_same(const PoolStatus& x, const PoolStatus& y) {
  EXPECT_EQ(x.type, y.type);
  EXPECT_EQ(x.capacity, y.capacity);
  EXPECT_EQ(x.held, y.held);
  EXPECT_EQ(x.reserved, y.reserved);
  EXPECT_EQ(x.available, y.available);
  EXPECT_EQ(x.holders, y.holders);
}

void expect_same(const ReleaseReceipt& x, const ReleaseReceipt& y) {
  EXPECT_EQ(x.requester_id, y.requester_id);
  EXPECT_EQ(x.resource_type, y.resource_type);
  EXPECT_EQ(x.released_amount, y.released_amount);
  EXPECT_EQ(x.still_held, y.still_held);
}

void expect_same(const Config& x, const Config& y) {
  EXPECT_EQ(x.capacity, y.capacity);
  EXPECT_EQ(x.alert_threshold, y.alert_threshold);
  EXPECT_EQ(x.gc_threshold, y.gc_threshold);
  EXPECT_EQ(x.gc_age_threshold, y.gc_age_threshold);
}

void expect_same(const ConfigMap& x, const ConfigMap& y) {
  EXPECT_EQ(x, y);
}

void expect_same(const PoolDirectory& x, const PoolDirectory& y) {
  ASSERT_EQ(x.pools.size(), y.pools.size());
  for (std::size_t i = 0; i < x.pools.size(); ++i)
    EXPECT_TRUE(x.pools[i] == y.pools[i]) << "pool " << i;
}

// -- sample values, every field away from its default
// ------------------------------

wall_time some_time(int offset) {
  // A fixed instant with sub-second digits, so truncation would show.
  return wall_time{std::chrono::duration_cast<wall_clock::duration>(
      std::chrono::nanoseconds{1'700'000'000'123'456'789LL + offset})};
}

ResourceRequest sample_request() {
  ResourceRequest x{"vision-7", ResourceType::ATTENTION, Priority::HIGH,
                    12.375f, 1500ms};
  x.timestamp = some_time(1);
  return x;
}

ResourceAllocation sample_allocation() {
  ResourceAllocation x;
  x.requester_id = "audio";
  x.resource_type = ResourceType::NETWORK;
  x.allocated_amount = 0.1f;
  x.fully_satisfied = true;
  x.allocation_time = some_time(2);
  return x;
}

ResourceStats sample_stats() {
  ResourceStats x;
  x.type = ResourceType::MEMORY;
  x.total_capacity = 1048576.0f;
  x.current_usage = 524288.5f;
  x.peak_usage = 1000000.25f;
  x.average_usage = 123.456f;
  x.allocation_count = std::numeric_limits<std::uint64_t>::max();
  x.rejection_count = 42;
  x.avg_allocation_time = std::chrono::nanoseconds{987654321};
  x.refusals_by_reason = {0, 0, 0, 0, 0, 0, 3, 40, 0};
  x.preemptions = 5;
  x.expiries = 7;
  x.wait_counts = {1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  x.wait_seconds_sum = 12.625;
  return x;
}

ResourceAlert sample_alert(ResourceAlert::Severity severity) {
  ResourceAlert x;
  x.severity = severity;
  x.resource_type = ResourceType::IO;
  x.message = "io utilization 0.91 above 0.85";
  x.threshold_violated = 0.85f;
  x.timestamp = some_time(3);
  return x;
}

ResourcePrediction sample_prediction() {
  ResourcePrediction x;
  x.resource_type = ResourceType::COMPUTATIONAL;
  x.predicted_usage = {0.0f, 1.5f, -2.25f, 1e-30f, 3.4e38f};
  x.confidence = 0.75f;
  x.horizon = 60000ms;
  return x;
}

PoolStatus sample_status() {
  PoolStatus x;
  x.type = ResourceType::NETWORK;
  x.capacity = 1'000'000'000'000'000'000;
  x.held = 123'456'789;
  x.reserved = 987'654'321;
  x.available = x.capacity - x.held - x.reserved;
  x.holders = std::numeric_limits<std::uint32_t>::max();
  return x;
}

ReleaseReceipt sample_receipt() {
  ReleaseReceipt x;
  x.requester_id = "planner";
  x.resource_type = ResourceType::MEMORY;
  x.released_amount = 2048.0f;
  x.still_held = 0.5f;
  return x;
}

Config sample_config() {
  Config x;
  x.capacity = {1e12, 1048576.0, 0.000001, 0.85, 123.456};
  x.alert_threshold = 0.85;
  x.gc_threshold = 0.9;
  x.gc_age_threshold = 0.0;
  return x;
}

ConfigMap sample_config_map() {
  return {{"memory_capacity", 2048.0f},
          {"alert_threshold", 0.85f},
          {"gc_age_threshold", 0.0f},
          {"unknown_but_carried", -1.5f}};
}

class SerializationTest : public test::DeterministicFixture {
public:
  ~SerializationTest() override {
    for (auto& pool : pools_)
      caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    run();
  }

  /// Serializes `x` with CAF's binary serializer and reads it back.
  template <class T>
  T roundtrip(const T& x) {
    auto copy = x; // the 0.17 inspectors take non-const references
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    if (auto err = sink(copy))
      ADD_FAILURE() << "serializing failed: " << sys.render(err);
    EXPECT_FALSE(buf.empty());
    T result{};
    caf::binary_deserializer source{sys, buf};
    if (auto err = source(result))
      ADD_FAILURE() << "deserializing failed: " << sys.render(err);
    EXPECT_EQ(source.remaining(), 0u) << "bytes left over";
    return result;
  }

  /// The bytes of a whole caf::message.
  std::vector<char> save(caf::message msg) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    if (auto err = sink(msg))
      ADD_FAILURE() << "serializing the message failed: " << sys.render(err);
    return buf;
  }

  caf::message load(const std::vector<char>& buf) {
    caf::message result;
    caf::binary_deserializer source{sys, buf};
    if (auto err = source(result))
      ADD_FAILURE() << "deserializing the message failed: " << sys.render(err);
    EXPECT_EQ(source.remaining(), 0u) << "bytes left over";
    return result;
  }

  /// make_message(x) survives serialization: same type, same fields, and the
  /// bytes carry the type's registered name.
  template <class T>
  void expect_message_roundtrip(const T& x) {
    auto buf = save(caf::make_message(x));
    std::string name = caf::type_name<T>::value;
    EXPECT_NE(std::string(buf.begin(), buf.end()).find(name), std::string::npos)
        << "the bytes do not name " << name;
    caf::message msg = load(buf);
    ASSERT_EQ(msg.size(), 1u);
    ASSERT_TRUE(msg.match_elements<T>()) << caf::to_string(msg);
    expect_same(msg.get_as<T>(0), x);
  }

  PoolDirectory spawn_pools() {
    PoolDirectory dir;
    for (auto type : all_resource_types)
      dir.pools.push_back(sys.spawn(rros::pool, type, 10.0, PoolPolicy{}));
    run();
    pools_ = dir.pools;
    return dir;
  }

  std::vector<pool_actor> pools_;
};

} // namespace

// -- values alone
// --------------------------------------------------------------------

TEST_F(SerializationTest, EnumsRoundTrip) {
  for (auto x : all_resource_types)
    EXPECT_EQ(roundtrip(x), x);
  for (auto x : {Priority::CRITICAL, Priority::HIGH, Priority::NORMAL,
                 Priority::LOW, Priority::IDLE})
    EXPECT_EQ(roundtrip(x), x);
  for (auto x :
       {LoadBalancingStrategy::ROUND_ROBIN, LoadBalancingStrategy::LEAST_LOADED,
        LoadBalancingStrategy::PRIORITY_BASED,
        LoadBalancingStrategy::PREDICTIVE})
    EXPECT_EQ(roundtrip(x), x);
  for (auto x : {ReleaseMode::exact, ReleaseMode::up_to_held})
    EXPECT_EQ(roundtrip(x), x);
  for (auto x :
       {ResourceAlert::Severity::INFO, ResourceAlert::Severity::WARNING,
        ResourceAlert::Severity::CRITICAL})
    EXPECT_EQ(roundtrip(x), x);
  // Out-of-range values arrive as sent, for the receiver's is_valid() to judge.
  auto bogus = static_cast<ResourceType>(200);
  EXPECT_EQ(roundtrip(bogus), bogus);
  EXPECT_FALSE(is_valid(roundtrip(bogus)));
}

TEST_F(SerializationTest, ResourceRequestRoundTrips) {
  expect_same(roundtrip(sample_request()), sample_request());
  // The defaults, and a long id with bytes outside ASCII.
  expect_same(roundtrip(ResourceRequest{}), ResourceRequest{});
  auto odd = sample_request();
  odd.requester_id = std::string(1000, 'x') + "\xc3\xa9\0end"s;
  odd.priority = Priority::IDLE;
  odd.amount = -0.5f;
  expect_same(roundtrip(odd), odd);
}

TEST_F(SerializationTest, NonFiniteRequestedAmountsArriveIntact) {
  // CAF 0.17's float encoding would turn NaN into 1.0 and never finish on an
  // infinity; requested amounts travel as raw bits so the pool can refuse them.
  for (float bad : {std::nanf(""), HUGE_VALF, -HUGE_VALF, 1e-40f}) {
    auto req = sample_request();
    req.amount = bad;
    auto back = roundtrip(req);
    EXPECT_EQ(float_bits(back.amount), float_bits(bad)) << bad;
  }
}

TEST_F(SerializationTest, ResourceAllocationRoundTrips) {
  expect_same(roundtrip(sample_allocation()), sample_allocation());
  auto partial = sample_allocation();
  partial.fully_satisfied = false;
  expect_same(roundtrip(partial), partial);
}

TEST_F(SerializationTest, ResourceStatsRoundTrips) {
  expect_same(roundtrip(sample_stats()), sample_stats());
}

TEST_F(SerializationTest, ResourceAlertRoundTripsWithEachSeverity) {
  for (auto severity :
       {ResourceAlert::Severity::INFO, ResourceAlert::Severity::WARNING,
        ResourceAlert::Severity::CRITICAL}) {
    SCOPED_TRACE(to_string(severity));
    expect_same(roundtrip(sample_alert(severity)), sample_alert(severity));
  }
}

TEST_F(SerializationTest, ResourcePredictionRoundTrips) {
  expect_same(roundtrip(sample_prediction()), sample_prediction());
  expect_same(roundtrip(ResourcePrediction{}), ResourcePrediction{});
}

TEST_F(SerializationTest, PoolStatusRoundTrips) {
  expect_same(roundtrip(sample_status()), sample_status());
  auto negative = sample_status();
  negative.available = std::numeric_limits<units>::min();
  expect_same(roundtrip(negative), negative);
}

TEST_F(SerializationTest, ReleaseReceiptRoundTrips) {
  expect_same(roundtrip(sample_receipt()), sample_receipt());
}

TEST_F(SerializationTest, ConfigRoundTripsExactly) {
  expect_same(roundtrip(sample_config()), sample_config());
  EXPECT_TRUE(roundtrip(sample_config()) == sample_config());
  EXPECT_TRUE(roundtrip(Config{}) == Config{});
}

TEST_F(SerializationTest, ConfigMapRoundTrips) {
  expect_same(roundtrip(sample_config_map()), sample_config_map());
  expect_same(roundtrip(ConfigMap{}), ConfigMap{});
  expect_same(roundtrip(Config{}.to_map()), Config{}.to_map());
}

TEST_F(SerializationTest, EmptyPoolDirectoryRoundTrips) {
  EXPECT_TRUE(roundtrip(PoolDirectory{}).pools.empty());
}

TEST_F(SerializationTest,
       PoolDirectoryOfSpawnedPoolsRoundTripsToWorkingHandles) {
  auto dir = spawn_pools();
  auto copy = roundtrip(dir);
  expect_same(copy, dir);
  ASSERT_EQ(copy.pools.size(), resource_type_count);
  // The handles that came back reach the same pools.
  for (auto type : all_resource_types) {
    auto status = ask<PoolStatus>(copy[type], status_atom::value);
    ASSERT_TRUE(status) << describe(status.error());
    EXPECT_EQ(status->type, type);
    EXPECT_EQ(status->capacity, 10 * units_per_amount);
  }
}

TEST_F(SerializationTest, SubsystemsOfTypedHandlesRoundTripToWorkingHandles) {
  auto manager = spawn_manager(sys, Config{});
  run();
  auto sub = ask<Subsystems>(manager, subsystems_atom::value);
  ASSERT_TRUE(sub) << describe(sub.error());
  ASSERT_TRUE(sub->memory && sub->monitor && sub->predictor && sub->balancer &&
              sub->scheduler);
  auto copy = roundtrip(*sub);
  EXPECT_TRUE(copy.memory == sub->memory);
  EXPECT_TRUE(copy.monitor == sub->monitor);
  EXPECT_TRUE(copy.predictor == sub->predictor);
  EXPECT_TRUE(copy.balancer == sub->balancer);
  // The scheduler's handle travels although its tasks do not.
  EXPECT_TRUE(copy.scheduler == sub->scheduler);
  // A handle that came back reaches its actor with its own type.
  EXPECT_TRUE(ask<SchedulerStats>(copy.scheduler, stats_atom::value));
  // Inside a message too, under its registered name.
  auto msg = load(save(caf::make_message(*sub)));
  ASSERT_TRUE(msg.match_elements<Subsystems>()) << caf::to_string(msg);
  EXPECT_TRUE(msg.get_as<Subsystems>(0).monitor == sub->monitor);
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(SerializationTest, PoolDirectoryKeepsAnInvalidHandleInvalid) {
  auto dir = spawn_pools();
  dir.pools[2] = pool_actor{};
  auto copy = roundtrip(dir);
  ASSERT_EQ(copy.pools.size(), resource_type_count);
  EXPECT_FALSE(copy.pools[2]);
  EXPECT_TRUE(copy.pools[1] == dir.pools[1]);
}

// -- whole messages
// ----------------------------------------------------------------------

TEST_F(SerializationTest, MessagesOfEachTypeRoundTrip) {
  {
    SCOPED_TRACE("ResourceRequest");
    expect_message_roundtrip(sample_request());
  }
  {
    SCOPED_TRACE("ResourceAllocation");
    expect_message_roundtrip(sample_allocation());
  }
  {
    SCOPED_TRACE("ResourceStats");
    expect_message_roundtrip(sample_stats());
  }
  for (auto severity :
       {ResourceAlert::Severity::INFO, ResourceAlert::Severity::WARNING,
        ResourceAlert::Severity::CRITICAL}) {
    SCOPED_TRACE(to_string(severity));
    expect_message_roundtrip(sample_alert(severity));
  }
  {
    SCOPED_TRACE("ResourcePrediction");
    expect_message_roundtrip(sample_prediction());
  }
  {
    SCOPED_TRACE("PoolStatus");
    expect_message_roundtrip(sample_status());
  }
  {
    SCOPED_TRACE("ReleaseReceipt");
    expect_message_roundtrip(sample_receipt());
  }
  {
    SCOPED_TRACE("Config");
    expect_message_roundtrip(sample_config());
  }
  {
    SCOPED_TRACE("ConfigMap");
    expect_message_roundtrip(sample_config_map());
  }
  {
    SCOPED_TRACE("PoolDirectory (empty)");
    expect_message_roundtrip(PoolDirectory{});
  }
  {
    SCOPED_TRACE("PoolDirectory");
    expect_message_roundtrip(spawn_pools());
  }
}

TEST_F(SerializationTest, MessagesOfEachEnumRoundTrip) {
  auto check = [this](auto x) {
    using type = decltype(x);
    caf::message msg = load(save(caf::make_message(x)));
    ASSERT_TRUE(msg.match_elements<type>()) << caf::to_string(msg);
    EXPECT_EQ(msg.get_as<type>(0), x);
  };
  for (auto x : all_resource_types)
    check(x);
  check(Priority::LOW);
  check(LoadBalancingStrategy::PREDICTIVE);
  check(ReleaseMode::up_to_held);
}

TEST_F(SerializationTest, PoolRequestsRoundTripAsTheyTravel) {
  // The shapes a remote client sends to a pool: atom plus arguments.
  auto alloc =
      load(save(caf::make_message(allocate_atom::value, sample_request())));
  ASSERT_TRUE((alloc.match_elements<allocate_atom, ResourceRequest>()))
      << caf::to_string(alloc);
  expect_same(alloc.get_as<ResourceRequest>(1), sample_request());
  auto rel =
      load(save(caf::make_message(release_atom::value, std::string{"vision"},
                                  2.5f, ReleaseMode::up_to_held)));
  ASSERT_TRUE(
      (rel.match_elements<release_atom, std::string, float, ReleaseMode>()))
      << caf::to_string(rel);
  EXPECT_EQ(rel.get_as<std::string>(1), "vision");
  EXPECT_EQ(rel.get_as<float>(2), 2.5f);
  EXPECT_EQ(rel.get_as<ReleaseMode>(3), ReleaseMode::up_to_held);
}

TEST_F(SerializationTest, TheManagersVectorRepliesRoundTrip) {
  // status_atom and reset_atom reply with vector<PoolStatus>, stats_atom with
  // vector<ResourceStats>: a remote client must be able to read both.
  auto statuses = std::vector<PoolStatus>{sample_status(), PoolStatus{}};
  auto many = load(save(caf::make_message(statuses)));
  ASSERT_TRUE(many.match_elements<std::vector<PoolStatus>>())
      << caf::to_string(many);
  const auto& status_copy = many.get_as<std::vector<PoolStatus>>(0);
  ASSERT_EQ(status_copy.size(), 2u);
  expect_same(status_copy[0], sample_status());
  expect_same(status_copy[1], PoolStatus{});
  auto stats = std::vector<ResourceStats>{sample_stats(), ResourceStats{}};
  auto more = load(save(caf::make_message(stats)));
  ASSERT_TRUE(more.match_elements<std::vector<ResourceStats>>())
      << caf::to_string(more);
  const auto& stats_copy = more.get_as<std::vector<ResourceStats>>(0);
  ASSERT_EQ(stats_copy.size(), 2u);
  expect_same(stats_copy[0], sample_stats());
  expect_same(stats_copy[1], ResourceStats{});
}

TEST_F(SerializationTest, BatchesAndTheirPerItemOutcomesRoundTrip) {
  // What a remote client sends and gets back for batched calls
  // (messages/batch.hpp): the requests or grant ids, and one outcome per
  // item, a grant, a receipt or an rros error.
  auto second = sample_request();
  second.requester_id = "audio";
  auto sent = load(save(caf::make_message(
      allocate_atom::value, AllocationBatch{sample_request(), second})));
  ASSERT_TRUE((sent.match_elements<allocate_atom, AllocationBatch>()))
      << caf::to_string(sent);
  const auto& requests = sent.get_as<AllocationBatch>(1);
  ASSERT_EQ(requests.size(), 2u);
  expect_same(requests[0], sample_request());
  expect_same(requests[1], second);
  auto ids = load(save(
      caf::make_message(release_atom::value, ReleaseBatch{7, 1ull << 40})));
  ASSERT_TRUE((ids.match_elements<release_atom, ReleaseBatch>()))
      << caf::to_string(ids);
  EXPECT_EQ(ids.get_as<ReleaseBatch>(1), (ReleaseBatch{7, 1ull << 40}));

  std::vector<AllocationOutcome> grants(2);
  grants[0].allocation = sample_allocation();
  grants[1].error = make_error(ec::insufficient_resources, "2 available");
  auto got = load(save(caf::make_message(grants)));
  ASSERT_TRUE(got.match_elements<std::vector<AllocationOutcome>>())
      << caf::to_string(got);
  const auto& g = got.get_as<std::vector<AllocationOutcome>>(0);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_FALSE(g[0].error);
  expect_same(g[0].allocation, sample_allocation());
  EXPECT_TRUE(is(g[1].error, ec::insufficient_resources));
  EXPECT_EQ(describe(g[1].error), "rros.insufficient_resources: 2 available");

  std::vector<ReleaseOutcome> receipts(2);
  receipts[0].error = make_error(ec::unknown_grant, "no grant 7");
  receipts[1].receipt = sample_receipt();
  auto back = load(save(caf::make_message(receipts)));
  ASSERT_TRUE(back.match_elements<std::vector<ReleaseOutcome>>())
      << caf::to_string(back);
  const auto& r = back.get_as<std::vector<ReleaseOutcome>>(0);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(is(r[0].error, ec::unknown_grant));
  EXPECT_FALSE(r[1].error);
  expect_same(r[1].receipt, sample_receipt());
}

TEST_F(SerializationTest, ErrorsOfTheRrosCategoryRoundTrip) {
  auto err = roundtrip(make_error(ec::release_exceeds_holding, "holds 3"));
  EXPECT_TRUE(is(err, ec::release_exceeds_holding)) << describe(err);
  EXPECT_EQ(describe(err), "rros.release_exceeds_holding: holds 3");
}

namespace {

caf::actor_system_config& testing_config(caf::actor_system_config& cfg,
                                         bool announce) {
  if (announce)
    register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  return cfg;
}

/// A node whose system knows the rros types by name or not.
struct Node {
  explicit Node(bool announce)
    : sys(testing_config(cfg, announce)) {}
  caf::actor_system_config cfg;
  caf::actor_system sys;
};

std::vector<char> save_receipt(caf::actor_system& sys) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto msg = caf::make_message(sample_receipt());
  static_cast<void>(sink(msg)); // CAF 0.17 reports no error either way
  return buf;
}

/// True when `buf` reads back, completely, as a message holding the receipt.
bool yields_receipt(caf::actor_system& sys, const std::vector<char>& buf) {
  caf::message msg;
  caf::binary_deserializer source{sys, buf};
  if (source(msg) || source.remaining() != 0 ||
      !msg.match_elements<ReleaseReceipt>())
    return false;
  return msg.get_as<ReleaseReceipt>(0).requester_id ==
         sample_receipt().requester_id;
}

} // namespace

TEST(SerializationUnregistered, BothNodesNeedRegisterTypes) {
  Node announced{true};
  Node other{true};
  Node bare{false};
  // Control: announced to announced.
  EXPECT_TRUE(yields_receipt(other.sys, save_receipt(announced.sys)));
  // A sender that never announced the type: nothing usable arrives (CAF
  // 0.17.6 logs "a type was not added to the types list" and writes nothing).
  EXPECT_FALSE(yields_receipt(announced.sys, save_receipt(bare.sys)));
  // A receiver that never announced it cannot read the message.
  EXPECT_FALSE(yields_receipt(bare.sys, save_receipt(announced.sys)));
}

// -- type IDs and names
// -------------------------------------------------------------------

namespace {

template <class T>
void expect_type(caf::actor_system& sys, caf::type_id_t index,
                 const std::string& name) {
  SCOPED_TRACE(name);
  EXPECT_EQ(caf::type_id<T>::value, caf::first_custom_type_id + index);
  EXPECT_EQ(std::string{caf::type_name<T>::value}, name);
  EXPECT_EQ(std::string{caf::type_name_by_id<caf::type_id<T>::value>::value},
            name);
  EXPECT_EQ(sys.types().portable_name(0, &typeid(T)), name);
}

/// Every ID of the block maps to a type that maps back to it, and the actor
/// system knows that type by the block's name.
template <caf::type_id_t... Is>
void expect_block_registered(caf::actor_system& sys,
                             std::integer_sequence<caf::type_id_t, Is...>) {
  auto check = [&sys](auto id) {
    constexpr caf::type_id_t i = decltype(id)::value;
    using type = typename caf::type_by_id<i>::type;
    const std::string name = caf::type_name_by_id<i>::value;
    SCOPED_TRACE(name);
    EXPECT_EQ(caf::type_id<type>::value, i);
    EXPECT_NE(name.find("rros::"), std::string::npos);
    EXPECT_EQ(sys.types().portable_name(0, &typeid(type)), name);
  };
  (check(std::integral_constant<caf::type_id_t,
                                caf::id_block::rros::begin + Is>{}),
   ...);
}

} // namespace

TEST_F(SerializationTest, EveryTypeInTheIdBlockHasItsName) {
  EXPECT_EQ(caf::id_block::rros::begin, caf::first_custom_type_id);
  // The first sixteen IDs are the wire protocol: they never move.
  EXPECT_GE(caf::id_block::rros::end - caf::id_block::rros::begin, 16);
  expect_type<ResourceType>(sys, 0, "rros::ResourceType");
  expect_type<Priority>(sys, 1, "rros::Priority");
  expect_type<LoadBalancingStrategy>(sys, 2, "rros::LoadBalancingStrategy");
  expect_type<ReleaseMode>(sys, 3, "rros::ReleaseMode");
  expect_type<ResourceRequest>(sys, 4, "rros::ResourceRequest");
  expect_type<ResourceAllocation>(sys, 5, "rros::ResourceAllocation");
  expect_type<ResourceStats>(sys, 6, "rros::ResourceStats");
  expect_type<ResourceAlert>(sys, 7, "rros::ResourceAlert");
  expect_type<ResourcePrediction>(sys, 8, "rros::ResourcePrediction");
  expect_type<PoolStatus>(sys, 9, "rros::PoolStatus");
  expect_type<ReleaseReceipt>(sys, 10, "rros::ReleaseReceipt");
  expect_type<Config>(sys, 11, "rros::Config");
  expect_type<ConfigMap>(sys, 12, "rros::ConfigMap");
  expect_type<PoolDirectory>(sys, 13, "rros::PoolDirectory");
  expect_type<pool_actor>(sys, 14, "rros::pool_actor");
  expect_type<manager_actor>(sys, 15, "rros::manager_actor");
  // Moved to messages/subsystems.hpp with typed fields: the same ID.
  expect_type<Subsystems>(sys, 18, "rros::Subsystems");
  expect_block_registered(
      sys, std::make_integer_sequence<caf::type_id_t,
                                      caf::id_block::rros::end -
                                          caf::id_block::rros::begin>{});
}

// -- the error category
// ---------------------------------------------------------------------

TEST_F(SerializationTest, TheSystemRendersRrosErrors) {
  auto text = sys.render(make_error(ec::exceeds_capacity, "x"));
  EXPECT_NE(text.find("exceeds_capacity"), std::string::npos) << text;
  EXPECT_NE(text.find("x"), std::string::npos) << text;
  text = sys.render(make_error(ec::malformed_config, "line 7, column 3"));
  EXPECT_NE(text.find("malformed_config"), std::string::npos) << text;
  EXPECT_NE(text.find("line 7, column 3"), std::string::npos) << text;
}

TEST(SerializationErrors, DescribeNamesEveryCode) {
  const char* names[] = {"invalid_amount",
                         "amount_too_large",
                         "unknown_resource_type",
                         "invalid_priority",
                         "empty_requester",
                         "exceeds_capacity",
                         "insufficient_resources",
                         "release_exceeds_holding",
                         "nothing_held",
                         "capacity_below_usage",
                         "invalid_config_value",
                         "unknown_config_key",
                         "malformed_config",
                         "pool_unavailable",
                         "not_connected",
                         "unknown_grant",
                         "invalid_duration",
                         "deadline_expired",
                         "cancelled",
                         "unknown_request",
                         "exceeds_quota",
                         "invalid_quota"};
  const auto last = static_cast<int>(ec::invalid_quota);
  ASSERT_EQ(last, static_cast<int>(std::size(names)));
  for (int i = 1; i <= last; ++i) {
    auto code = static_cast<ec>(i);
    const std::string name = names[i - 1];
    SCOPED_TRACE(name);
    EXPECT_EQ(std::string{to_string(code)}, name);
    auto text = describe(make_error(code, "context " + std::to_string(i)));
    EXPECT_EQ(text, "rros." + name + ": context " + std::to_string(i));
    EXPECT_TRUE(is(make_error(code, ""), code));
    EXPECT_FALSE(
        is(make_error(code, ""), static_cast<ec>(i == last ? 1 : i + 1)));
  }
  EXPECT_EQ(describe(caf::error{}), "no error");
  EXPECT_FALSE(
      is(caf::make_error(caf::sec::runtime_error), ec::invalid_amount));
}
