#include "actors/resource_manager.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

#include <caf/all.hpp>

#include "actors/call_bridge.hpp"
#include "actors/manager.hpp"

namespace rros {

namespace {

/// Upper bound on any facade call: a call never hangs forever.
constexpr caf::timespan call_timeout = std::chrono::seconds(30);

/// Poll attempts of an owned system's idle workers before they start to
/// sleep: keeps a worker awake between back-to-back calls, so a call does not
/// pay a sleeping worker's wake-up (~100 us here).
constexpr std::size_t owned_poll_attempts = 100000;

template <class T>
T value_or_throw(caf::expected<T>&& x) {
  if (!x)
    throw Error(x.error().category() == caf::atom("rros")
                    ? static_cast<ec>(x.error().code())
                    : ec::pool_unavailable,
                describe(x.error()));
  return std::move(*x);
}

/// Plain float message arguments cross nodes through CAF 0.17's pack754,
/// which turns NaN into 1.0 and loops forever on infinities: refuse them here,
/// before anything is sent (the pool refuses them too).
caf::error check_finite(float amount) {
  if (std::isfinite(amount))
    return caf::none;
  return make_error(ec::invalid_amount,
                    "amount must be a finite number above 0, got " +
                        std::to_string(amount));
}

caf::error invalid_type(ResourceType type) {
  return make_error(ec::unknown_resource_type,
                    "resource type " + std::to_string(static_cast<int>(type)) +
                        " does not exist");
}

} // namespace

ResourceManager::ResourceManager(const ConfigMap& config) {
  own_config_ = std::make_unique<caf::actor_system_config>();
  register_types(*own_config_);
  own_config_->set("work-stealing.aggressive-poll-attempts",
                   owned_poll_attempts);
  // CAF starts at least four workers; on fewer cores, polling workers only
  // take turns on the CPU with the threads that wait for replies.
  own_config_->set(
      "scheduler.max-threads",
      std::max<std::size_t>(1, std::thread::hardware_concurrency()));
  // Validate before anything starts: a bad configuration starts nothing.
  auto checked = value_or_throw(Config{}.with(config));
  own_system_ = std::make_unique<caf::actor_system>(*own_config_);
  sys_ = own_system_.get();
  start(checked);
}

ResourceManager::ResourceManager(caf::actor_system& sys,
                                 const ConfigMap& config)
  : sys_(&sys) {
  start(value_or_throw(Config{}.with(config)));
}

ResourceManager::ResourceManager(caf::actor_system& sys, manager_actor manager)
  : sys_(&sys)
  , manager_(std::move(manager)) {
  attach();
}

ResourceManager::~ResourceManager() {
  if (owns_manager_)
    caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(bridge_, caf::exit_reason::user_shutdown);
  std::atomic_store(&directory_, std::shared_ptr<const PoolDirectory>{});
  manager_ = nullptr;
  bridge_ = nullptr;
  own_system_.reset(); // waits for every actor of an owned system
}

void ResourceManager::start(const Config& config) {
  manager_ = spawn_manager(*sys_, config);
  owns_manager_ = true;
  attach();
}

void ResourceManager::attach() {
  bridge_ = sys_->spawn(call_bridge);
  if (auto err = refresh_directory())
    throw Error(ec::not_connected, describe(err));
}

template <class Result, class Handle, class... Ts>
caf::expected<Result> ResourceManager::call(const Handle& dest, Ts... xs) {
  return blocking_request<Result>(bridge_, dest, call_timeout,
                                  std::move(xs)...);
}

template <class Result, class... Ts>
caf::expected<Result> ResourceManager::call_pool(ResourceType type, Ts... xs) {
  return call_pool_within<Result>(call_timeout, type, std::move(xs)...);
}

template <class Result, class... Ts>
caf::expected<Result> ResourceManager::call_pool_within(caf::timespan timeout,
                                                        ResourceType type,
                                                        Ts... xs) {
  if (!is_valid(type))
    return invalid_type(type);
  auto dir = directory();
  auto result = blocking_request<Result>(bridge_, (*dir)[type], timeout, xs...);
  if (!result && result.error() == caf::sec::request_receiver_down) {
    if (auto err = refresh_directory())
      return err;
    result = blocking_request<Result>(bridge_, (*directory())[type], timeout,
                                      std::move(xs)...);
  }
  return result;
}

std::shared_ptr<const PoolDirectory> ResourceManager::directory() {
  return std::atomic_load(&directory_);
}

caf::error ResourceManager::refresh_directory() {
  auto dir = call<PoolDirectory>(manager_, pools_atom::value);
  if (!dir)
    return std::move(dir.error());
  if (dir->pools.size() != resource_type_count)
    return make_error(ec::pool_unavailable,
                      "the manager lists " + std::to_string(dir->pools.size()) +
                          " pools instead of 5");
  std::atomic_store(&directory_,
                    std::make_shared<const PoolDirectory>(std::move(*dir)));
  return caf::none;
}

// -- the seed's methods
// ---------------------------------------------------------

ResourceAllocation
ResourceManager::allocate_resource(const ResourceRequest& request) {
  auto result = try_allocate_resource(request);
  if (result)
    return std::move(*result);
  ResourceAllocation refused;
  refused.requester_id = request.requester_id;
  refused.resource_type = request.resource_type;
  refused.allocation_time = wall_clock::now();
  return refused;
}

void ResourceManager::release_resource(const std::string& requester_id,
                                       ResourceType type, float amount) {
  // The seed's release never fails: bad input is reported only by
  // try_release_resource(), and changes nothing either way.
  static_cast<void>(try_release_resource(requester_id, type, amount,
                                         ReleaseMode::up_to_held));
}

float ResourceManager::get_available_resources(ResourceType type) {
  auto status = get_pool_status(type);
  return status ? static_cast<float>(to_amount(status->available)) : 0.0f;
}

ResourceStats ResourceManager::get_resource_stats(ResourceType type) {
  return value_or_throw(call_pool<ResourceStats>(type, stats_atom::value));
}

std::unordered_map<ResourceType, float> ResourceManager::get_utilization() {
  std::unordered_map<ResourceType, float> result;
  for (const auto& pool : value_or_throw(get_status()))
    result[pool.type] = static_cast<float>(pool.utilization());
  return result;
}

void ResourceManager::update_config(
    const std::unordered_map<std::string, float>& config) {
  value_or_throw(try_update_config(config));
}

void ResourceManager::reset() {
  value_or_throw(call<std::vector<PoolStatus>>(manager_, reset_atom::value));
}

std::unordered_map<std::string, float> ResourceManager::get_metrics() {
  auto status = value_or_throw(get_status());
  auto stats = value_or_throw(
      call<std::vector<ResourceStats>>(manager_, stats_atom::value));
  std::unordered_map<std::string, float> result;
  double sum = 0;
  for (const auto& pool : status) {
    sum += pool.utilization();
    result[std::string{to_string(pool.type)} + "_utilization"] =
        static_cast<float>(pool.utilization());
  }
  result["avg_utilization"] = static_cast<float>(sum / status.size());
  std::uint64_t allocations = 0;
  std::uint64_t rejections = 0;
  for (const auto& s : stats) {
    allocations += s.allocation_count;
    rejections += s.rejection_count;
  }
  result["allocation_count"] = static_cast<float>(allocations);
  result["rejection_count"] = static_cast<float>(rejections);
  return result;
}

// -- the same with errors reported
// -----------------------------------------------

caf::expected<ResourceAllocation>
ResourceManager::try_allocate_resource(const ResourceRequest& request) {
  // A request with a deadline may wait in the pool up to that deadline.
  auto timeout =
      call_timeout + std::max(request.deadline, std::chrono::milliseconds{0});
  return call_pool_within<ResourceAllocation>(timeout, request.resource_type,
                                              allocate_atom::value, request);
}

caf::expected<ReleaseReceipt>
ResourceManager::try_release_resource(const std::string& requester_id,
                                      ResourceType type, float amount,
                                      ReleaseMode mode) {
  if (auto err = check_finite(amount))
    return err;
  return call_pool<ReleaseReceipt>(type, release_atom::value, requester_id,
                                   amount, mode);
}

caf::expected<ReleaseReceipt>
ResourceManager::try_release_grant(ResourceType type, GrantId grant) {
  return call_pool<ReleaseReceipt>(type, release_atom::value, grant);
}

caf::expected<ResourceAllocation>
ResourceManager::try_renew_grant(ResourceType type, GrantId grant,
                                 std::chrono::nanoseconds ttl) {
  return call_pool<ResourceAllocation>(type, renew_atom::value, grant, ttl);
}

caf::expected<bool>
ResourceManager::try_cancel_request(const std::string& requester_id,
                                    ResourceType type,
                                    std::uint64_t request_id) {
  return call_pool<bool>(type, cancel_atom::value, requester_id, request_id);
}

caf::expected<Quota> ResourceManager::try_set_quota(ResourceType type,
                                                    const Quota& quota) {
  return call_pool<Quota>(type, quota_atom::value, quota);
}

caf::expected<PoolStatus>
ResourceManager::try_reserve(const std::string& requester_id, ResourceType type,
                             float amount) {
  if (auto err = check_finite(amount))
    return err;
  return call_pool<PoolStatus>(type, reserve_atom::value, requester_id, amount);
}

caf::expected<float>
ResourceManager::try_cancel_reservation(const std::string& requester_id,
                                        ResourceType type) {
  return call_pool<float>(type, unreserve_atom::value, requester_id);
}

caf::expected<Config>
ResourceManager::try_update_config(const ConfigMap& config) {
  return call<Config>(manager_, configure_atom::value, config);
}

// -- beyond the seed
// ------------------------------------------------------------------

caf::expected<PoolStatus> ResourceManager::get_pool_status(ResourceType type) {
  return call_pool<PoolStatus>(type, status_atom::value);
}

caf::expected<std::vector<PoolStatus>> ResourceManager::get_status() {
  return call<std::vector<PoolStatus>>(manager_, status_atom::value);
}

float ResourceManager::get_holding(const std::string& requester_id,
                                   ResourceType type) {
  return value_or_throw(
      call_pool<float>(type, holding_atom::value, requester_id));
}

Config ResourceManager::get_config() {
  return value_or_throw(call<Config>(manager_, config_atom::value));
}

} // namespace rros
