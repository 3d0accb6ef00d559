// rros::ResourceManager: the seed's synchronous API, kept for its users, as a
// blocking client of the actors. Every call is a message round trip to a pool
// or the manager; nothing reads actor state behind a mailbox's back. Safe to
// call from many threads at once. Never call it from inside an actor (the
// calling thread blocks until the reply).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "messages/error.hpp"
#include "messages/memory_messages.hpp"
#include "messages/monitor_messages.hpp"
#include "messages/predictor_messages.hpp"
#include "messages/scheduler_messages.hpp"
#include "messages/subsystems.hpp"

namespace rros {

class DirectCalls;

class ResourceManager {
public:
  /// Owns a fresh actor system and a manager configured with the seed's keys.
  /// Throws rros::Error (unknown_config_key, invalid_config_value) when the
  /// configuration is bad; nothing is started then. The constructors are the
  /// only seed calls that throw: the seed's signature has no other way to
  /// refuse a configuration.
  explicit ResourceManager(const ConfigMap& config = {});

  /// Spawns a manager inside the host's actor system (call register_types()
  /// on the host's config first if the manager is to be reached remotely).
  /// Throws rros::Error on a bad configuration.
  ResourceManager(caf::actor_system& sys, const ConfigMap& config);

  /// Attaches to an existing manager, local or remote; does not own it.
  /// Throws rros::Error (not_connected) when the manager does not answer.
  ResourceManager(caf::actor_system& sys, manager_actor manager);

  ~ResourceManager();

  ResourceManager(const ResourceManager&) = delete;
  ResourceManager& operator=(const ResourceManager&) = delete;

  // -- the seed's methods
  // ------------------------------------------------------
  //
  // None of them throws (docs/semantics.md, "The seed's signatures"): bad
  // input, and a manager or subsystem that cannot be reached, are refused
  // with nothing changed. A method that returns void then does nothing; a
  // getter returns its empty value (0, false, an empty map or vector, a
  // ResourceStats or ResourcePrediction with zero figures). The try_ variant
  // of each method returns the error instead. Only the constructors throw.

  /// Full grant when it fits; a CRITICAL request that does not fit gets what
  /// is left (fully_satisfied = false); otherwise an allocation of 0. A
  /// request with a deadline blocks until it is granted or the deadline
  /// passes. Use try_allocate_resource() to learn why a request was refused.
  ResourceAllocation allocate_resource(const ResourceRequest& request);

  /// Gives back at most what the requester holds (the seed's rule). Bad input
  /// changes nothing; try_release_resource() reports it.
  void release_resource(const std::string& requester_id, ResourceType type,
                        float amount);

  /// Capacity minus what is held or reserved; 0 on error (get_pool_status()
  /// reports it).
  float get_available_resources(ResourceType type);

  /// The pool's statistics. On error (a type outside the five, the pool
  /// unreachable) a ResourceStats with zero figures whose `type` is the
  /// asked type when it is valid, else left default
  /// (try_get_resource_stats() reports the error).
  ResourceStats get_resource_stats(ResourceType type);

  /// (held + reserved) / capacity per type; empty on error.
  std::unordered_map<ResourceType, float> get_utilization();

  /// Applies the seed's configuration keys as a whole; capacity changes adjust
  /// what is available. A bad key, a bad value or a capacity below what is
  /// held and reserved changes nothing (try_update_config() says which).
  void update_config(const std::unordered_map<std::string, float>& config);

  /// Back to the initial state: nothing held or reserved, statistics cleared.
  void reset();

  /// avg_utilization, <type>_utilization, allocation_count, rejection_count,
  /// total_memory_allocated (bytes asked for), memory_fragmentation,
  /// pending_tasks, running_tasks, active_alerts, is_degraded (0 or 1);
  /// empty when any part cannot be read (try_get_metrics() says why).
  std::unordered_map<std::string, float> get_metrics();

  // Tasks (docs/scheduler.md). schedule_task queues the task when it can be
  // admitted (deadline not past, requirements within capacity; CRITICAL
  // always); try_schedule_task says why not.
  bool schedule_task(const ScheduledTask& task);
  /// Runs the best queued task (priority, then earliest deadline) with its
  /// whole bundle held, blocks until the body returned, then releases. True
  /// when a task ran and succeeded.
  bool execute_next_task();
  /// Queued tasks per priority; empty on error (get_scheduler_stats()).
  std::unordered_map<Priority, std::size_t> get_pending_task_counts();

  // Tracked memory (docs/memory.md): a real block from the manager's region,
  // charged to the MEMORY pool under `requester_id`. nullptr when refused
  // (try_allocate_memory() says why). The address is only usable in this
  // process (not through a remote manager).
  void* allocate_memory(std::size_t size, const std::string& requester_id);
  /// Frees a tracked block; unknown or already freed pointers change nothing
  /// (try_free_memory() reports them).
  void free_memory(void* ptr);
  /// Collects blocks of terminated owners and idle evictable blocks; returns
  /// the bytes reclaimed (0 on error: try_run_garbage_collection()).
  std::size_t run_garbage_collection();
  /// 1 - largest free extent / free bytes of the region (0 when empty, and
  /// on error: get_memory_stats()).
  float get_memory_fragmentation();

  // Monitoring and degradation (docs/monitoring.md).
  /// Empty on error (try_get_active_alerts()).
  std::vector<ResourceAlert> get_active_alerts();
  /// A bad threshold, severity or type changes nothing
  /// (try_set_alert_threshold() reports it).
  void set_alert_threshold(
      ResourceType type, float threshold,
      ResourceAlert::Severity severity = ResourceAlert::Severity::WARNING);
  /// A type outside the five changes nothing (try_set_degraded(type, true /
  /// false) reports it).
  void enter_degraded_mode(ResourceType type);
  void exit_degraded_mode(ResourceType type);
  /// False on error (try_is_degraded()).
  bool is_degraded();
  /// `loads` are in each type's own units, as in the seed: the units of its
  /// capacity and of ResourceRequest amounts (bytes for MEMORY). The monitor
  /// divides by the type's current capacity: utilization = load / capacity,
  /// above 1 for a load above capacity (not an error). Utilization >
  /// degrade_enter (0.95) enters degraded mode at once, below degrade_exit
  /// (0.7) leaves it; each utilization also feeds the predictor. A bad entry
  /// (a type outside the five, a negative, NaN or infinite load, a load above
  /// 1e12) refuses the whole report and changes nothing (try_adapt_to_load()
  /// reports it).
  void adapt_to_load(const std::unordered_map<ResourceType, float>& loads);

  // Prediction (docs/prediction.md).
  /// An empty prediction (no values, confidence 0; resource_type the asked
  /// type when valid) on bad input or error (try_predict_usage()).
  ResourcePrediction predict_usage(ResourceType type,
                                   std::chrono::milliseconds horizon);
  /// Turns confident predictions (>= 0.5) into expiring reservations held for
  /// "rros.predicted" (see try_preallocate_predicted for another requester).
  /// A bad prediction (NaN confidence or value, a bad type) reserves nothing.
  void
  preallocate_predicted(const std::vector<ResourcePrediction>& predictions);
  /// A bad type or a negative, NaN or infinite value changes nothing
  /// (try_update_prediction_model() reports it).
  void update_prediction_model(ResourceType type, float actual_usage);

  // Load balancing (docs/balancing.md).
  /// A strategy outside the four changes nothing
  /// (try_set_load_balancing_strategy() reports it).
  void set_load_balancing_strategy(LoadBalancingStrategy strategy);
  /// Assigns the scheduler's pending task ids to the modules; empty on bad
  /// input (no module, a bad load) or error (try_balance_load()).
  std::unordered_map<std::string, std::vector<std::string>>
  balance_load(const std::unordered_map<std::string, float>& module_loads);

  // -- the same with errors reported
  // ---------------------------------------------

  caf::expected<ResourceAllocation>
  try_allocate_resource(const ResourceRequest& request);

  caf::expected<ReleaseReceipt>
  try_release_resource(const std::string& requester_id, ResourceType type,
                       float amount, ReleaseMode mode = ReleaseMode::exact);

  caf::expected<PoolStatus> try_reserve(const std::string& requester_id,
                                        ResourceType type, float amount);

  /// Returns one grant by its id (ResourceAllocation::grant_id);
  /// unknown_grant when it was returned already.
  caf::expected<ReleaseReceipt> try_release_grant(ResourceType type,
                                                  GrantId grant);

  /// Batched calls (docs/semantics.md, "Batches"): up to max_batch_items
  /// requests for one pool in one round trip, each answered as the single
  /// call would be, in order; an item that cannot be granted now is refused
  /// (batches never wait). Every request must be for `type`.
  caf::expected<std::vector<AllocationOutcome>>
  try_allocate_batch(ResourceType type, const AllocationBatch& requests);

  /// Returns grants by id in one round trip, each as try_release_grant().
  caf::expected<std::vector<ReleaseOutcome>>
  try_release_batch(ResourceType type, const ReleaseBatch& grants);

  /// Restarts a grant's time-to-live from now.
  caf::expected<ResourceAllocation>
  try_renew_grant(ResourceType type, GrantId grant,
                  std::chrono::nanoseconds ttl);

  /// Cancels a waiting request (ResourceRequest::request_id) that another
  /// thread is blocked on; that call returns rros.cancelled.
  caf::expected<bool> try_cancel_request(const std::string& requester_id,
                                         ResourceType type,
                                         std::uint64_t request_id);

  /// Sets a quota for a requester group on one type (see pool_actor's
  /// quota_atom in messages/actors.hpp).
  caf::expected<Quota> try_set_quota(ResourceType type, const Quota& quota);

  caf::expected<float> try_cancel_reservation(const std::string& requester_id,
                                              ResourceType type);

  caf::expected<Config> try_update_config(const ConfigMap& config);

  /// The seed's reset() with its error; replies with every pool's ledger.
  caf::expected<std::vector<PoolStatus>> try_reset();

  caf::expected<ResourceStats> try_get_resource_stats(ResourceType type);
  caf::expected<std::unordered_map<ResourceType, float>> try_get_utilization();
  caf::expected<std::unordered_map<std::string, float>> try_get_metrics();
  caf::expected<std::unordered_map<Priority, std::size_t>>
  try_get_pending_task_counts();

  /// Several types all or nothing (docs/semantics.md, "Bundles"); with a
  /// deadline the call blocks up to it.
  caf::expected<BundleGrant> try_allocate_bundle(const BundleRequest& request);
  caf::expected<std::vector<ReleaseReceipt>> try_release_bundle(BundleId id);
  caf::expected<ReleaseReceipt> try_release_bundle_part(BundleId id,
                                                        ResourceType type);

  caf::expected<TaskReceipt> try_schedule_task(const ScheduledTask& task);
  caf::expected<TaskResult> try_execute_next_task();
  caf::expected<SchedulerStats> get_scheduler_stats();
  /// E.g. automatic dispatch (max_concurrent > 0).
  caf::expected<SchedulerSettings>
  try_set_scheduler_settings(const SchedulerSettings& settings);

  caf::expected<MemoryBlock> try_allocate_memory(const MemoryRequest& request);
  caf::expected<MemoryBlock> try_free_memory(void* ptr);
  caf::expected<MemoryBlock> try_touch_memory(void* ptr);
  caf::expected<MemoryStats> get_memory_stats();
  /// Bytes reclaimed.
  caf::expected<std::uint64_t> try_run_garbage_collection();

  caf::expected<AlertRule> try_set_alert_threshold(const AlertRule& rule);
  /// enter_degraded_mode (on = true) / exit_degraded_mode (false).
  caf::expected<TypeMonitorView> try_set_degraded(ResourceType type, bool on);
  caf::expected<std::vector<ResourceAlert>> try_get_active_alerts();
  caf::expected<bool> try_is_degraded();
  /// adapt_to_load with its error (unknown_resource_type, invalid_amount for
  /// a negative, NaN or infinite load, amount_too_large above 1e12); replies
  /// with the monitor's view of every type (utilization = load / capacity).
  caf::expected<std::vector<TypeMonitorView>>
  try_adapt_to_load(const std::unordered_map<ResourceType, float>& loads);
  caf::expected<std::vector<TypeMonitorView>> get_monitor_view();
  caf::expected<std::vector<ResourceAlert>> get_alert_history();

  caf::expected<ResourceForecast> try_predict_usage(ResourceType type,
                                                    caf::timespan horizon);
  caf::expected<std::vector<Preallocation>>
  try_preallocate_predicted(const std::vector<ResourcePrediction>& predictions,
                            const std::string& requester_id);
  /// Replies with the series' observation count.
  caf::expected<std::uint64_t> try_update_prediction_model(ResourceType type,
                                                           float actual_usage);
  caf::expected<std::vector<ForecastErrorStats>> get_forecast_errors();
  caf::expected<LoadBalancingStrategy>
  try_set_load_balancing_strategy(LoadBalancingStrategy strategy);
  caf::expected<LoadBalancingStrategy> get_load_balancing_strategy();
  caf::expected<BalanceResult> try_balance_load(const BalanceRequest& request);
  /// balance_load with its error: the scheduler's pending tasks to the
  /// modules.
  caf::expected<BalanceResult>
  try_balance_load(const std::unordered_map<std::string, float>& module_loads);

  // -- beyond the seed
  // -------------------------------------------------------------

  /// One pool's exact ledger (integer units).
  caf::expected<PoolStatus> get_pool_status(ResourceType type);

  /// Every pool's exact ledger, in ResourceType order.
  caf::expected<std::vector<PoolStatus>> get_status();

  /// What the requester holds of `type` now. Throws rros::Error when the
  /// pool cannot be asked (not a seed method).
  float get_holding(const std::string& requester_id, ResourceType type);

  /// The configuration in force. Throws rros::Error when the manager cannot
  /// be reached (not a seed method).
  Config get_config();

  caf::actor_system& system() {
    return *sys_;
  }

  const manager_actor& manager() const {
    return manager_;
  }

private:
  void start(const Config& config);
  void attach();

  template <class Result, class Handle, class... Ts>
  caf::expected<Result> call(const Handle& dest, Ts... xs);

  /// One blocking request: straight into a local destination's mailbox
  /// (facade/direct_calls.hpp), through the bridge to another node's.
  template <class Result, class Handle, class... Ts>
  caf::expected<Result> blocking_call(const Handle& dest, caf::timespan timeout,
                                      Ts... xs);

  /// Calls the pool of `type`; refreshes the pool directory and retries once
  /// when the pool was replaced after a crash.
  template <class Result, class... Ts>
  caf::expected<Result> call_pool(ResourceType type, Ts... xs);

  template <class Result, class... Ts>
  caf::expected<Result> call_pool_within(caf::timespan timeout,
                                         ResourceType type, Ts... xs);

  std::shared_ptr<const PoolDirectory> directory();
  caf::error refresh_directory();

  /// Calls a subsystem (a member of Subsystems, whose type is the handle's);
  /// refreshes the handles and retries once when it was replaced after a
  /// crash.
  template <class Result, class Handle, class... Ts>
  caf::expected<Result> call_subsystem(Handle Subsystems::*which,
                                       caf::timespan timeout, Ts... xs);
  std::shared_ptr<const Subsystems> subsystems();
  caf::error refresh_subsystems();
  caf::expected<bundle_actor> bundles();
  /// The scheduler's queue, for balance_load().
  caf::expected<std::vector<PendingTask>> pending_tasks();

  std::unique_ptr<caf::actor_system_config> own_config_;
  std::unique_ptr<caf::actor_system> own_system_;
  caf::actor_system* sys_ = nullptr;
  manager_actor manager_;
  bool owns_manager_ = false;
  bridge_actor bridge_;
  std::unique_ptr<DirectCalls> direct_;
  // Replaced as a whole (std::atomic_load / atomic_store), never mutated.
  std::shared_ptr<const PoolDirectory> directory_;
  std::shared_ptr<const Subsystems> subsystems_; // like directory_
  std::shared_ptr<const bundle_actor> bundles_;  // like directory_
};

} // namespace rros
