#include "actors/manager.hpp"

#include <algorithm>
#include <memory>

#include "actors/balancer.hpp"
#include "actors/bundle_coordinator.hpp"
#include "actors/memory_manager.hpp"
#include "actors/monitor.hpp"
#include "actors/pool.hpp"
#include "actors/predictor.hpp"
#include "actors/scheduler.hpp"
#include "actors/sender_checks.hpp"
#include "core/kept_state.hpp"
#include "messages/error.hpp"

namespace rros {

namespace {

using self_ptr = manager_actor::stateful_pointer<manager_state>;

/// How long the manager waits for a child before reporting an error.
constexpr auto child_timeout = std::chrono::seconds(10);

/// Spawns the pool of `type` and monitors it. Monitoring, not linking: CAF
/// makes a linked child's `kill` fatal to its parent, a down message never is.
void spawn_pool(self_ptr self, ResourceType type) {
  auto& st = self->state;
  auto child = self->spawn<caf::monitored>(
      supervised_pool, type, st.config.capacity_of(type),
      st.config.pool_policy(), self->address(), st.storage);
  (*st.pools)[static_cast<std::size_t>(type)] = std::move(child);
}

PoolDirectory directory_of(const manager_state& st) {
  return PoolDirectory{{st.pools->begin(), st.pools->end()}};
}

/// Names each pool's bundle coordinator and monitor: from then on a pool
/// accepts legs and shedding only from them (docs/security.md).
void name_peers(self_ptr self) {
  auto& st = self->state;
  auto coordinator = caf::actor_cast<caf::actor>(st.bundles);
  auto monitor = caf::actor_cast<caf::actor>(st.subsystems.monitor);
  for (auto& child : *st.pools)
    if (child)
      self->send(child, peers_atom::value, coordinator, monitor);
}

/// Tells the children that use pools about the current handles.
void announce_pools(self_ptr self) {
  auto& st = self->state;
  auto dir = directory_of(st);
  name_peers(self);
  // Sent as the manager: the coordinator takes new pools only from it.
  if (st.bundles)
    self->send(st.bundles, pools_atom::value, dir);
  // Sent as the manager: wiring is taken from local senders only.
  auto& sub = st.subsystems;
  if (sub.memory)
    self->request(sub.memory, child_timeout, pools_atom::value,
                  dir[ResourceType::MEMORY])
        .then([](MemoryStats&) {}, [](caf::error&) {});
  if (sub.monitor)
    self->send(sub.monitor, pools_atom::value, dir);
  if (sub.predictor)
    self->send(sub.predictor, pools_atom::value, dir);
  if (sub.scheduler)
    self->send(sub.scheduler, pools_atom::value, dir);
}

/// Records a child for the exit hook and returns its handle.
template <class Handle>
Handle adopt(self_ptr self, Handle child) {
  self->state.children->push_back(child.address());
  return child;
}

void spawn_memory(self_ptr self) {
  auto& st = self->state;
  st.subsystems.memory = adopt(
      self, self->spawn<caf::monitored>(
                memory_manager,
                (*st.pools)[static_cast<std::size_t>(ResourceType::MEMORY)],
                st.config));
}

/// The predictor hears the monitor's samples.
void subscribe_predictor(self_ptr self) {
  auto& sub = self->state.subsystems;
  // The monitor serves subscribers of every kind (the scheduler, `rros
  // node`), so its interface takes an untyped handle: the one cast between
  // our own actors.
  // Sent as the manager: the monitor takes subscriptions from anonymous
  // senders only to end them.
  if (sub.monitor && sub.predictor)
    self->request(sub.monitor, caf::infinite, subscribe_atom::value,
                  caf::actor_cast<caf::actor>(sub.predictor),
                  MonitorTopics{true, false, false})
        .then([](MonitorTopics&) {}, [](caf::error&) {});
}

void spawn_monitor_actor(self_ptr self) {
  auto& st = self->state;
  st.subsystems.monitor = adopt(
      self,
      self->spawn<caf::monitored>(
          resource_monitor, directory_of(st), st.config, MonitorSettings{},
          st.storage ? monitor_state_file(st.storage->dir) : std::string{}));
  subscribe_predictor(self);
}

void spawn_predictor_actor(self_ptr self) {
  auto& st = self->state;
  PredictorSettings settings;
  // One forecast step per monitor sample.
  settings.step = MonitorSettings{}.sample_interval;
  if (st.storage)
    settings.state_file = predictor_state_file(st.storage->dir);
  st.subsystems.predictor = adopt(
      self, self->spawn<caf::monitored>(predictor, directory_of(st), settings));
  subscribe_predictor(self);
  if (st.subsystems.balancer)
    self->send(st.subsystems.balancer, predictor_atom::value,
               st.subsystems.predictor);
}

/// The scheduler defers IDLE tasks while the monitor reports degradation.
void wire_scheduler(self_ptr self) {
  auto& sub = self->state.subsystems;
  if (!sub.scheduler)
    return;
  auto scheduler = sub.scheduler;
  self->send(scheduler, bundles_atom::value, self->state.bundles);
  if (sub.monitor)
    self->send(scheduler, set_monitor_atom::value, sub.monitor);
}

void spawn_scheduler_actor(self_ptr self) {
  auto& st = self->state;
  // The seed's default: tasks run when execute_next_task() asks (automatic
  // dispatch is a setting, settings_atom).
  st.subsystems.scheduler = adopt(
      self, self->spawn<caf::monitored>(task_scheduler, st.bundles,
                                        directory_of(st), SchedulerSettings{}));
  wire_scheduler(self);
}

void spawn_balancer_actor(self_ptr self) {
  auto& st = self->state;
  st.subsystems.balancer =
      adopt(self, self->spawn<caf::monitored>(balancer, st.subsystems.predictor,
                                              BalancerSettings{}));
}

void spawn_bundles(self_ptr self) {
  auto& st = self->state;
  st.bundles =
      self->spawn<caf::monitored>(bundle_coordinator, directory_of(st),
                                  st.config.pool_policy(), self->address());
  st.children->push_back(st.bundles.address());
}

/// Sends the same request to every pool and delivers the replies in pool
/// order, or the first error.
template <class Reply, class... Ts>
caf::result<std::vector<Reply>> ask_every_pool(self_ptr self, Ts... xs) {
  auto promise = self->make_response_promise<std::vector<Reply>>();
  auto replies = std::make_shared<std::vector<Reply>>(resource_type_count);
  auto missing = std::make_shared<std::size_t>(resource_type_count);
  for (std::size_t i = 0; i < resource_type_count; ++i) {
    self->request((*self->state.pools)[i], child_timeout, xs...)
        .then(
            [=](Reply& reply) mutable {
              (*replies)[i] = std::move(reply);
              if (--*missing == 0)
                promise.deliver(std::move(*replies));
            },
            [=](caf::error& err) mutable {
              if (*missing > 0) {
                *missing = 0; // deliver once
                promise.deliver(std::move(err));
              }
            });
  }
  return promise;
}

/// One capacity change of a configuration update.
struct CapacityChange {
  std::size_t index;
  double from;
  double to;
};

/// Applies `changes[step..]` one pool at a time. The manager awaits each reply
/// (other manager messages wait meanwhile), so updates never interleave. On a
/// refusal the changes already made are rolled back and the error delivered.
void apply_capacities(self_ptr self,
                      std::shared_ptr<std::vector<CapacityChange>> changes,
                      std::size_t step, Config target,
                      caf::typed_response_promise<Config> promise) {
  if (step == changes->size()) {
    self->state.config = target;
    for (auto& child : *self->state.pools)
      self->send(child, policy_atom::value, target.pool_policy());
    self->send(self->state.bundles, policy_atom::value, target.pool_policy());
    // Sent as the manager (not anonymously): the subsystems take their
    // configuration from senders that may administer only.
    auto& sub = self->state.subsystems;
    if (sub.memory)
      self->request(sub.memory, caf::infinite, config_atom::value, target)
          .then([](MemoryStats&) {}, [](caf::error&) {});
    if (sub.monitor)
      self->request(sub.monitor, caf::infinite, config_atom::value, target)
          .then([](std::vector<AlertRule>&) {}, [](caf::error&) {});
    promise.deliver(target);
    return;
  }
  auto& change = (*changes)[step];
  self->request((*self->state.pools)[change.index], child_timeout,
                capacity_atom::value, change.to)
      .await(
          [=](const PoolStatus&) mutable {
            apply_capacities(self, changes, step + 1, target, promise);
          },
          [=](caf::error& err) mutable {
            for (std::size_t i = 0; i < step; ++i) {
              auto& done = (*changes)[i];
              // Sent as the manager: capacity is administration, which a
              // pool takes from local senders only.
              self->request((*self->state.pools)[done.index], child_timeout,
                            capacity_atom::value, done.from)
                  .then([](PoolStatus&) {}, [](caf::error&) {});
            }
            promise.deliver(std::move(err));
          });
}

caf::error admin_only(const char* what) {
  return make_error(ec::not_permitted,
                    std::string{what} +
                        " is administration: local senders only");
}

} // namespace

manager_actor::behavior_type
manager(self_ptr self, Config config,
        std::shared_ptr<const StorageSettings> storage) {
  self->state.config = std::move(config);
  self->state.storage = std::move(storage);
  for (auto type : all_resource_types)
    spawn_pool(self, type);
  spawn_bundles(self);
  spawn_memory(self);
  spawn_predictor_actor(self);
  spawn_monitor_actor(self);
  spawn_balancer_actor(self);
  spawn_scheduler_actor(self);
  name_peers(self);
  // A child that dies while the manager lives is replaced.
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    auto& pools = *st.pools;
    for (auto type : all_resource_types) {
      if (pools[static_cast<std::size_t>(type)].address() == msg.source) {
        ++st.restarts;
        spawn_pool(self, type);
        announce_pools(self);
        return;
      }
    }
    auto& kids = *st.children;
    kids.erase(std::remove_if(
                   kids.begin(), kids.end(),
                   [&](const caf::actor_addr& x) { return x == msg.source; }),
               kids.end());
    auto& sub = st.subsystems;
    if (st.bundles.address() == msg.source) {
      ++st.restarts;
      spawn_bundles(self);
      name_peers(self);
      wire_scheduler(self);
    } else if (sub.scheduler.address() == msg.source) {
      ++st.restarts;
      spawn_scheduler_actor(self);
    } else if (sub.memory.address() == msg.source) {
      ++st.restarts;
      spawn_memory(self);
    } else if (sub.monitor.address() == msg.source) {
      ++st.restarts;
      spawn_monitor_actor(self);
      name_peers(self);
      // Its restored degraded types shed again once the pools take its
      // sheds (after name_peers): the directory makes it send them anew.
      self->send(sub.monitor, pools_atom::value, directory_of(st));
      wire_scheduler(self);
    } else if (sub.predictor.address() == msg.source) {
      ++st.restarts;
      spawn_predictor_actor(self);
    } else if (sub.balancer.address() == msg.source) {
      ++st.restarts;
      spawn_balancer_actor(self);
    }
  });
  // Whatever ends the manager ends its children.
  self->attach_functor(
      [pools = self->state.pools, children = self->state.children] {
        for (auto& child : *pools)
          caf::anon_send_exit(child, caf::exit_reason::user_shutdown);
        for (auto& child : *children)
          caf::anon_send_exit(child, caf::exit_reason::user_shutdown);
      });
  return {
      [=](pools_atom) -> PoolDirectory { return directory_of(self->state); },
      [=](bundles_atom) -> bundle_actor { return self->state.bundles; },
      [=](subsystems_atom) -> Subsystems { return self->state.subsystems; },
      [=](config_atom) -> Config { return self->state.config; },
      [=](configure_atom, const ConfigMap& update) -> caf::result<Config> {
        if (!may_administer(self))
          return admin_only("a configuration update");
        auto target = self->state.config.with(update);
        if (!target)
          return std::move(target.error());
        auto changes = std::make_shared<std::vector<CapacityChange>>();
        for (auto type : all_resource_types) {
          auto from = self->state.config.capacity_of(type);
          auto to = target->capacity_of(type);
          if (from != to)
            changes->push_back({static_cast<std::size_t>(type), from, to});
        }
        auto promise = self->make_response_promise<Config>();
        apply_capacities(self, changes, 0, *target, promise);
        return promise;
      },
      [=](status_atom) {
        return ask_every_pool<PoolStatus>(self, status_atom::value);
      },
      [=](stats_atom) {
        return ask_every_pool<ResourceStats>(self, stats_atom::value);
      },
      [=](reset_atom) -> caf::result<std::vector<PoolStatus>> {
        if (!may_administer(self))
          return admin_only("a reset");
        // Waiting bundles fail first; the pools' reset returns held legs.
        self->request(self->state.bundles, child_timeout, reset_atom::value)
            .then([](BundleStats&) {}, [](caf::error&) {});
        // As the manager: a reset is administration to the subsystems too.
        auto& sub = self->state.subsystems;
        auto ignore = [](caf::error&) {};
        if (sub.memory)
          self->request(sub.memory, caf::infinite, reset_atom::value)
              .then([](MemoryStats&) {}, ignore);
        if (sub.monitor)
          self->request(sub.monitor, caf::infinite, reset_atom::value)
              .then([](std::vector<TypeMonitorView>&) {}, ignore);
        if (sub.predictor)
          self->request(sub.predictor, caf::infinite, reset_atom::value)
              .then([](std::uint64_t) {}, ignore);
        if (sub.scheduler)
          self->request(sub.scheduler, caf::infinite, reset_atom::value)
              .then([](SchedulerStats&) {}, ignore);
        return ask_every_pool<PoolStatus>(self, reset_atom::value);
      },
      [=](restarts_atom) { return self->state.restarts; },
  };
}

manager_actor spawn_manager(caf::actor_system& sys, const Config& config,
                            std::shared_ptr<const StorageSettings> storage) {
  return sys.spawn(manager, config, std::move(storage));
}

} // namespace rros
