// The three queues `rros bench --scale` measures, as ScaleQueues for the
// driver (scale_driver.hpp), and how their waiting requests look. They use
// only the public message interfaces (messages/actors.hpp,
// messages/scheduler_messages.hpp), so the figures compare any two
// implementations of the queues behind them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "app/bench/scale_driver.hpp"
#include "messages/actors.hpp"
#include "messages/scheduler_messages.hpp"

namespace rros::app::benchmark {

/// Waiting requests come from this many requesters (round robin), so that
/// fair share between requesters takes part in the ranking.
constexpr std::size_t scale_requesters = 16;

/// Every waiting request, bundle and task has this deadline: long enough
/// never to pass during a case, present so that deadlines take part in the
/// ranking.
constexpr auto scale_deadline = std::chrono::hours(1);

/// Request `i` cycles through the five priorities (CRITICAL .. IDLE), so
/// that priority and aging take part in the ranking.
Priority scale_priority(std::uint64_t i);

/// Request `i` comes from requester `i` mod scale_requesters.
std::string scale_requester(std::uint64_t i);

/// Pool waiters: `pool` (capacity n) is held in full by one grant; n
/// requests of 1 wait. An event queues one more request and cancels it
/// (cancel_atom); the drain releases the grant, so all n are granted.
std::shared_ptr<ScaleQueue> pool_waiters(pool_actor pool, std::size_t n);

/// Waiting bundles: `compute` (the COMPUTATIONAL pool, capacity n) is held
/// in full by one grant; n bundles of COMPUTATIONAL 1 + IO 1 (IO capacity n)
/// wait at the coordinator `bundles`. An event asks for one more bundle and
/// cancels it; the drain releases the grant.
std::shared_ptr<ScaleQueue> waiting_bundles(bundle_actor bundles,
                                            pool_actor compute, std::size_t n);

/// Pending tasks: `compute` is held in full by one grant; n tasks needing
/// COMPUTATIONAL 1 are queued at `scheduler` (automatic dispatch). An event
/// schedules one more task that needs IO 1, which fits: it is ranked among
/// the n, dispatched past them, run (an empty body) and its bundle returned,
/// so n are pending again. The drain releases the grant: all n run.
std::shared_ptr<ScaleQueue> pending_tasks(scheduler_actor scheduler,
                                          pool_actor compute, std::size_t n);

} // namespace rros::app::benchmark
