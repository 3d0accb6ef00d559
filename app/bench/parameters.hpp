// The settings every part of `rros bench` shares: the clock, the warm-up,
// the amount each cycle allocates and releases, the capacity of the bench
// pools, and how long a part may take. Changing one changes every figure
// that uses it, which is why they live in one place.
#pragma once

#include <chrono>

namespace rros::app::benchmark {

using steady = std::chrono::steady_clock;

/// Warm-up cycles before each measured part (per client and run).
constexpr int warmup_cycles = 1000;

/// Amount allocated and released by every cycle. A small integer, so that
/// float sums in the mutex baseline stay exact too.
constexpr float cycle_amount = 1.0f;

/// Capacity of the COMPUTATIONAL pool everywhere: nothing is ever refused.
constexpr float bench_capacity = 1e9f;

/// A diagnostic part runs the floor with this CAF request timeout: it shows
/// why the facade keeps its deadline on the caller's side instead (CAF 0.17
/// schedules every request timeout through its clock thread).
constexpr auto diag_request_timeout = std::chrono::seconds(30);

/// How long the main thread waits for one measured part before giving up.
constexpr auto part_deadline = std::chrono::seconds(120);

/// Pause before a part that uses a different actor_system than the previous
/// one: the idle system's workers first poll aggressively, then every 50 us,
/// and only then sleep; this keeps them from sharing the cores with the part
/// being measured.
constexpr auto settle_time = std::chrono::milliseconds(100);

} // namespace rros::app::benchmark
