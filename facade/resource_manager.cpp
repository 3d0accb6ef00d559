// The blocking facade: every seed method and its try_ variant as one request
// to the manager, a pool or a subsystem through the call bridge. Longer than
// ~600 lines because it is a flat list of small methods (two per seed call),
// not because any one of them is long.
#include "facade/resource_manager.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

#include <caf/all.hpp>

#include "actors/manager.hpp"
#include "facade/call_bridge.hpp"
#include "facade/direct_calls.hpp"
#include "messages/validate.hpp"

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
    throw Error(code_of(x.error()), describe(x.error()));
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

/// The value of `x`, or `fallback` when it holds an error: the seed's methods
/// never throw.
template <class T>
T value_or(caf::expected<T>&& x, T fallback) {
  return x ? std::move(*x) : std::move(fallback);
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
  // Ends the companion (its grants return) before an owned system waits
  // for every actor.
  direct_.reset();
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
  direct_ = std::make_unique<DirectCalls>(*sys_);
  if (auto err = refresh_directory())
    throw Error(ec::not_connected, describe(err));
  if (auto err = refresh_subsystems())
    throw Error(ec::not_connected, describe(err));
}

template <class Result, class Handle, class... Ts>
caf::expected<Result> ResourceManager::blocking_call(const Handle& dest,
                                                     caf::timespan timeout,
                                                     Ts... xs) {
  if (dest && dest.node() == sys_->node())
    return direct_->request<Result>(dest, timeout, std::move(xs)...);
  return blocking_request<Result>(bridge_, dest, timeout, std::move(xs)...);
}

template <class Result, class Handle, class... Ts>
caf::expected<Result> ResourceManager::call(const Handle& dest, Ts... xs) {
  return blocking_call<Result>(dest, call_timeout, std::move(xs)...);
}

/// How often a call asks the manager for a replaced pool or subsystem
/// before it gives up with the error it got (each ask is one round trip;
/// the manager replaces a dead child as soon as it handles its end).
constexpr int max_directory_refreshes = 100;

template <class Result, class... Ts>
caf::expected<Result> ResourceManager::call_pool(ResourceType type, Ts... xs) {
  return call_pool_within<Result>(call_timeout, type, std::move(xs)...);
}

template <class Result, class... Ts>
caf::expected<Result> ResourceManager::call_pool_within(caf::timespan timeout,
                                                        ResourceType type,
                                                        Ts... xs) {
  if (auto err = check_type(type))
    return err;
  auto dead = (*directory())[type];
  auto result = blocking_call<Result>(dead, timeout, xs...);
  // A pool that died is replaced by the manager once it has handled the
  // pool's down message, which may still be queued behind our question:
  // ask again (a bounded number of times) until the handle is a new one.
  for (int attempt = 0; attempt < max_directory_refreshes && !result &&
                        result.error() == caf::sec::request_receiver_down;
       ++attempt) {
    if (auto err = refresh_directory())
      return err;
    auto fresh = (*directory())[type];
    if (fresh == dead)
      continue;
    dead = fresh;
    result = blocking_call<Result>(fresh, timeout, xs...);
  }
  return result;
}

template <class Result, class Handle, class... Ts>
caf::expected<Result> ResourceManager::call_subsystem(Handle Subsystems::*which,
                                                      caf::timespan timeout,
                                                      Ts... xs) {
  auto dest = (*subsystems()).*which;
  if (!dest)
    return make_error(ec::subsystem_unavailable,
                      "that subsystem is not running");
  auto result = blocking_call<Result>(dest, timeout, xs...);
  // As for pools (call_pool_within): ask until the manager has replaced it.
  for (int attempt = 0; attempt < max_directory_refreshes && !result &&
                        result.error() == caf::sec::request_receiver_down;
       ++attempt) {
    if (auto err = refresh_subsystems())
      return err;
    auto fresh = (*subsystems()).*which;
    if (fresh == dest)
      continue;
    dest = fresh;
    if (!dest)
      return make_error(ec::subsystem_unavailable,
                        "that subsystem is not running");
    result = blocking_call<Result>(dest, timeout, xs...);
  }
  return result;
}

std::shared_ptr<const Subsystems> ResourceManager::subsystems() {
  return std::atomic_load(&subsystems_);
}

caf::error ResourceManager::refresh_subsystems() {
  auto sub = call<Subsystems>(manager_, subsystems_atom::value);
  if (!sub)
    return std::move(sub.error());
  std::atomic_store(&subsystems_,
                    std::make_shared<const Subsystems>(std::move(*sub)));
  auto coordinator = call<bundle_actor>(manager_, bundles_atom::value);
  if (!coordinator)
    return std::move(coordinator.error());
  std::atomic_store(
      &bundles_, std::make_shared<const bundle_actor>(std::move(*coordinator)));
  return caf::none;
}

caf::expected<bundle_actor> ResourceManager::bundles() {
  return *std::atomic_load(&bundles_);
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
  ResourceStats empty;
  if (is_valid(type))
    empty.type = type;
  return value_or(try_get_resource_stats(type), std::move(empty));
}

caf::expected<ResourceStats>
ResourceManager::try_get_resource_stats(ResourceType type) {
  return call_pool<ResourceStats>(type, stats_atom::value);
}

std::unordered_map<ResourceType, float> ResourceManager::get_utilization() {
  return value_or(try_get_utilization(), {});
}

caf::expected<std::unordered_map<ResourceType, float>>
ResourceManager::try_get_utilization() {
  auto status = get_status();
  if (!status)
    return std::move(status.error());
  std::unordered_map<ResourceType, float> result;
  for (const auto& pool : *status)
    result[pool.type] = static_cast<float>(pool.utilization());
  return result;
}

void ResourceManager::update_config(
    const std::unordered_map<std::string, float>& config) {
  // Refused as a whole, with nothing applied; try_update_config() says why.
  static_cast<void>(try_update_config(config));
}

void ResourceManager::reset() {
  static_cast<void>(try_reset());
}

caf::expected<std::vector<PoolStatus>> ResourceManager::try_reset() {
  return call<std::vector<PoolStatus>>(manager_, reset_atom::value);
}

std::unordered_map<std::string, float> ResourceManager::get_metrics() {
  return value_or(try_get_metrics(), {});
}

caf::expected<std::unordered_map<std::string, float>>
ResourceManager::try_get_metrics() {
  auto status = get_status();
  if (!status)
    return std::move(status.error());
  auto stats = call<std::vector<ResourceStats>>(manager_, stats_atom::value);
  if (!stats)
    return std::move(stats.error());
  auto memory = get_memory_stats();
  if (!memory)
    return std::move(memory.error());
  auto alerts = try_get_active_alerts();
  if (!alerts)
    return std::move(alerts.error());
  auto degraded = try_is_degraded();
  if (!degraded)
    return std::move(degraded.error());
  auto tasks = get_scheduler_stats();
  if (!tasks)
    return std::move(tasks.error());
  std::unordered_map<std::string, float> result;
  double sum = 0;
  for (const auto& pool : *status) {
    sum += pool.utilization();
    result[std::string{to_string(pool.type)} + "_utilization"] =
        static_cast<float>(pool.utilization());
  }
  result["avg_utilization"] =
      status->empty() ? 0.0f : static_cast<float>(sum / status->size());
  std::uint64_t allocations = 0;
  std::uint64_t rejections = 0;
  for (const auto& s : *stats) {
    allocations += s.allocation_count;
    rejections += s.rejection_count;
  }
  result["allocation_count"] = static_cast<float>(allocations);
  result["rejection_count"] = static_cast<float>(rejections);
  result["total_memory_allocated"] =
      static_cast<float>(memory->allocated_bytes);
  result["memory_fragmentation"] = static_cast<float>(memory->fragmentation);
  result["active_alerts"] = static_cast<float>(alerts->size());
  result["is_degraded"] = *degraded ? 1.0f : 0.0f;
  result["pending_tasks"] = static_cast<float>(tasks->pending_tasks);
  result["running_tasks"] = static_cast<float>(tasks->running);
  result["completed_tasks"] = static_cast<float>(tasks->completed);
  result["failed_tasks"] = static_cast<float>(tasks->failed);
  result["missed_deadlines"] = static_cast<float>(tasks->missed);
  return result;
}

// -- tracked memory
// ------------------------------------------------------------

void* ResourceManager::allocate_memory(std::size_t size,
                                       const std::string& requester_id) {
  auto block = try_allocate_memory(MemoryRequest{requester_id, size, false});
  return block ? reinterpret_cast<void*>(block->address) : nullptr;
}

void ResourceManager::free_memory(void* ptr) {
  static_cast<void>(try_free_memory(ptr));
}

std::size_t ResourceManager::run_garbage_collection() {
  return static_cast<std::size_t>(
      value_or(try_run_garbage_collection(), std::uint64_t{0}));
}

caf::expected<std::uint64_t> ResourceManager::try_run_garbage_collection() {
  return call_subsystem<std::uint64_t>(&Subsystems::memory, call_timeout,
                                       gc_atom::value);
}

float ResourceManager::get_memory_fragmentation() {
  auto stats = get_memory_stats();
  return stats ? static_cast<float>(stats->fragmentation) : 0.0f;
}

caf::expected<MemoryBlock>
ResourceManager::try_allocate_memory(const MemoryRequest& request) {
  return call_subsystem<MemoryBlock>(&Subsystems::memory, call_timeout,
                                     allocate_atom::value, request);
}

caf::expected<MemoryBlock> ResourceManager::try_free_memory(void* ptr) {
  return call_subsystem<MemoryBlock>(
      &Subsystems::memory, call_timeout, release_atom::value,
      static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(ptr)));
}

caf::expected<MemoryBlock> ResourceManager::try_touch_memory(void* ptr) {
  return call_subsystem<MemoryBlock>(
      &Subsystems::memory, call_timeout, touch_atom::value,
      static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(ptr)));
}

caf::expected<MemoryStats> ResourceManager::get_memory_stats() {
  return call_subsystem<MemoryStats>(&Subsystems::memory, call_timeout,
                                     stats_atom::value);
}

// -- monitoring and degradation
// --------------------------------------------------

std::vector<ResourceAlert> ResourceManager::get_active_alerts() {
  return value_or(try_get_active_alerts(), {});
}

caf::expected<std::vector<ResourceAlert>>
ResourceManager::try_get_active_alerts() {
  return call_subsystem<std::vector<ResourceAlert>>(
      &Subsystems::monitor, call_timeout, alerts_atom::value);
}

void ResourceManager::set_alert_threshold(ResourceType type, float threshold,
                                          ResourceAlert::Severity severity) {
  static_cast<void>(
      try_set_alert_threshold(AlertRule{type, threshold, severity}));
}

caf::expected<AlertRule>
ResourceManager::try_set_alert_threshold(const AlertRule& rule) {
  return call_subsystem<AlertRule>(&Subsystems::monitor, call_timeout,
                                   threshold_atom::value, rule);
}

void ResourceManager::enter_degraded_mode(ResourceType type) {
  static_cast<void>(try_set_degraded(type, true));
}

void ResourceManager::exit_degraded_mode(ResourceType type) {
  static_cast<void>(try_set_degraded(type, false));
}

caf::expected<TypeMonitorView>
ResourceManager::try_set_degraded(ResourceType type, bool on) {
  if (auto err = check_type(type))
    return err;
  return call_subsystem<TypeMonitorView>(&Subsystems::monitor, call_timeout,
                                         degrade_atom::value, type, on);
}

bool ResourceManager::is_degraded() {
  return value_or(try_is_degraded(), false);
}

caf::expected<bool> ResourceManager::try_is_degraded() {
  return call_subsystem<bool>(&Subsystems::monitor, call_timeout,
                              is_degraded_atom::value);
}

void ResourceManager::adapt_to_load(
    const std::unordered_map<ResourceType, float>& loads) {
  static_cast<void>(try_adapt_to_load(loads));
}

caf::expected<std::vector<TypeMonitorView>> ResourceManager::try_adapt_to_load(
    const std::unordered_map<ResourceType, float>& loads) {
  // The monitor checks every entry as well (for other clients); checked
  // here, a bad report costs no round trip.
  for (const auto& [type, load] : loads)
    if (auto err = check_type(type))
      return err;
  return call_subsystem<std::vector<TypeMonitorView>>(
      &Subsystems::monitor, call_timeout, adapt_atom::value, LoadReport{loads});
}

caf::expected<std::vector<TypeMonitorView>>
ResourceManager::get_monitor_view() {
  return call_subsystem<std::vector<TypeMonitorView>>(
      &Subsystems::monitor, call_timeout, status_atom::value);
}

caf::expected<std::vector<ResourceAlert>> ResourceManager::get_alert_history() {
  return call_subsystem<std::vector<ResourceAlert>>(
      &Subsystems::monitor, call_timeout, history_atom::value);
}

// -- prediction ---------------------------------------------------------------

ResourcePrediction
ResourceManager::predict_usage(ResourceType type,
                               std::chrono::milliseconds horizon) {
  auto forecast = try_predict_usage(type, horizon);
  if (forecast)
    return std::move(forecast->prediction);
  ResourcePrediction empty;
  if (is_valid(type))
    empty.resource_type = type;
  empty.confidence = 0.0f;
  return empty;
}

caf::expected<ResourceForecast>
ResourceManager::try_predict_usage(ResourceType type, caf::timespan horizon) {
  if (auto err = check_type(type))
    return err;
  return call_subsystem<ResourceForecast>(&Subsystems::predictor, call_timeout,
                                          predict_atom::value, type,
                                          std::chrono::nanoseconds{horizon});
}

void ResourceManager::preallocate_predicted(
    const std::vector<ResourcePrediction>& predictions) {
  static_cast<void>(try_preallocate_predicted(predictions, "rros.predicted"));
}

caf::expected<std::vector<Preallocation>>
ResourceManager::try_preallocate_predicted(
    const std::vector<ResourcePrediction>& predictions,
    const std::string& requester_id) {
  for (const auto& p : predictions) {
    if (!std::isfinite(p.confidence))
      return make_error(ec::invalid_amount, "confidence must be finite");
    for (auto x : p.predicted_usage)
      if (auto err = check_finite(x))
        return err;
  }
  return call_subsystem<std::vector<Preallocation>>(
      &Subsystems::predictor, call_timeout, prealloc_atom::value, predictions,
      requester_id);
}

void ResourceManager::update_prediction_model(ResourceType type,
                                              float actual_usage) {
  static_cast<void>(try_update_prediction_model(type, actual_usage));
}

caf::expected<std::uint64_t>
ResourceManager::try_update_prediction_model(ResourceType type,
                                             float actual_usage) {
  if (auto err = check_type(type))
    return err;
  if (auto err = check_finite(actual_usage))
    return err;
  return call_subsystem<std::uint64_t>(&Subsystems::predictor, call_timeout,
                                       observe_atom::value, type, actual_usage);
}

caf::expected<std::vector<ForecastErrorStats>>
ResourceManager::get_forecast_errors() {
  return call_subsystem<std::vector<ForecastErrorStats>>(
      &Subsystems::predictor, call_timeout, fcstats_atom::value);
}

// -- load balancing
// -------------------------------------------------------------

void ResourceManager::set_load_balancing_strategy(
    LoadBalancingStrategy strategy) {
  static_cast<void>(try_set_load_balancing_strategy(strategy));
}

caf::expected<LoadBalancingStrategy>
ResourceManager::try_set_load_balancing_strategy(
    LoadBalancingStrategy strategy) {
  return call_subsystem<LoadBalancingStrategy>(
      &Subsystems::balancer, call_timeout, strategy_atom::value, strategy);
}

caf::expected<LoadBalancingStrategy>
ResourceManager::get_load_balancing_strategy() {
  return call_subsystem<LoadBalancingStrategy>(
      &Subsystems::balancer, call_timeout, strategy_atom::value);
}

std::unordered_map<std::string, std::vector<std::string>>
ResourceManager::balance_load(
    const std::unordered_map<std::string, float>& module_loads) {
  auto result = try_balance_load(module_loads);
  if (!result)
    return {};
  return {result->assignments.begin(), result->assignments.end()};
}

caf::expected<BalanceResult> ResourceManager::try_balance_load(
    const std::unordered_map<std::string, float>& module_loads) {
  BalanceRequest request;
  request.module_loads.insert(module_loads.begin(), module_loads.end());
  // Bad loads are refused before the scheduler is asked.
  for (const auto& [name, load] : request.module_loads)
    if (auto err = check_finite(load))
      return err;
  auto tasks = pending_tasks();
  if (!tasks)
    return std::move(tasks.error());
  request.tasks = std::move(*tasks);
  return try_balance_load(request);
}

caf::expected<BalanceResult>
ResourceManager::try_balance_load(const BalanceRequest& request) {
  for (const auto& [name, load] : request.module_loads)
    if (auto err = check_finite(load))
      return err;
  return call_subsystem<BalanceResult>(&Subsystems::balancer, call_timeout,
                                       balance_atom::value, request);
}

// -- tasks
// ---------------------------------------------------------------------

bool ResourceManager::schedule_task(const ScheduledTask& task) {
  return static_cast<bool>(try_schedule_task(task));
}

bool ResourceManager::execute_next_task() {
  auto result = try_execute_next_task();
  return result && result->succeeded;
}

std::unordered_map<Priority, std::size_t>
ResourceManager::get_pending_task_counts() {
  return value_or(try_get_pending_task_counts(), {});
}

caf::expected<std::unordered_map<Priority, std::size_t>>
ResourceManager::try_get_pending_task_counts() {
  auto stats = get_scheduler_stats();
  if (!stats)
    return std::move(stats.error());
  std::unordered_map<Priority, std::size_t> result;
  for (std::size_t i = 0; i < stats->pending_by_priority.size(); ++i)
    result[static_cast<Priority>(i)] =
        static_cast<std::size_t>(stats->pending_by_priority[i]);
  return result;
}

caf::expected<TaskReceipt>
ResourceManager::try_schedule_task(const ScheduledTask& task) {
  for (const auto& [type, amount] : task.resource_requirements)
    if (auto err = check_finite(amount))
      return err;
  return call_subsystem<TaskReceipt>(&Subsystems::scheduler, call_timeout,
                                     schedule_atom::value, to_submission(task));
}

caf::expected<TaskResult> ResourceManager::try_execute_next_task() {
  // The reply comes when the body has finished: no short bound fits every
  // task, so the wait is long (a body that never returns blocks the caller,
  // as in the seed).
  return call_subsystem<TaskResult>(
      &Subsystems::scheduler, std::chrono::hours(24), execute_atom::value);
}

caf::expected<SchedulerStats> ResourceManager::get_scheduler_stats() {
  return call_subsystem<SchedulerStats>(&Subsystems::scheduler, call_timeout,
                                        stats_atom::value);
}

caf::expected<SchedulerSettings>
ResourceManager::try_set_scheduler_settings(const SchedulerSettings& settings) {
  return call_subsystem<SchedulerSettings>(&Subsystems::scheduler, call_timeout,
                                           settings_atom::value, settings);
}

caf::expected<std::vector<PendingTask>> ResourceManager::pending_tasks() {
  return call_subsystem<std::vector<PendingTask>>(
      &Subsystems::scheduler, call_timeout, pending_atom::value);
}

// -- bundles
// -------------------------------------------------------------------

caf::expected<BundleGrant>
ResourceManager::try_allocate_bundle(const BundleRequest& request) {
  for (const auto& item : request.items)
    if (auto err = check_finite(item.amount))
      return err;
  // Checked here too: the wait below adds the deadline to a clock.
  if (auto err = check_duration(request.deadline, "a bundle's deadline"))
    return err;
  auto coordinator = bundles();
  if (!coordinator)
    return coordinator.error();
  auto timeout = call_timeout + request.deadline;
  return blocking_call<BundleGrant>(*coordinator, timeout, allocate_atom::value,
                                    request);
}

caf::expected<std::vector<ReleaseReceipt>>
ResourceManager::try_release_bundle(BundleId id) {
  auto coordinator = bundles();
  if (!coordinator)
    return coordinator.error();
  return call<std::vector<ReleaseReceipt>>(*coordinator, release_atom::value,
                                           id);
}

caf::expected<ReleaseReceipt>
ResourceManager::try_release_bundle_part(BundleId id, ResourceType type) {
  auto coordinator = bundles();
  if (!coordinator)
    return coordinator.error();
  return call<ReleaseReceipt>(*coordinator, release_atom::value, id, type);
}

// -- the same with errors reported
// -----------------------------------------------

caf::expected<ResourceAllocation>
ResourceManager::try_allocate_resource(const ResourceRequest& request) {
  // A request with a deadline may wait in the pool up to that deadline
  // (checked here too: the wait adds it to a clock).
  if (auto err = check_duration(request.deadline, "deadline"))
    return err;
  auto timeout = call_timeout + caf::timespan{request.deadline};
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

caf::expected<std::vector<AllocationOutcome>>
ResourceManager::try_allocate_batch(ResourceType type,
                                    const AllocationBatch& requests) {
  return call_pool<std::vector<AllocationOutcome>>(type, allocate_atom::value,
                                                   requests);
}

caf::expected<std::vector<ReleaseOutcome>>
ResourceManager::try_release_batch(ResourceType type,
                                   const ReleaseBatch& grants) {
  return call_pool<std::vector<ReleaseOutcome>>(type, release_atom::value,
                                                grants);
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
