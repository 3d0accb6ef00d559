// The scheduler part of `rros bench`: how many tasks per second the task
// scheduler dispatches with automatic dispatch, for bodies in normal actors
// and in detached ones, with and without a one-unit computational bundle.
#pragma once

#include <cstddef>
#include <ostream>

namespace rros::app::benchmark {

/// Measures how many tasks per second the scheduler dispatches with
/// automatic dispatch on a real actor system (CAF's work-stealing
/// scheduler): `tasks` tasks with empty bodies are submitted at once and
/// timed until the last one has completed. Prints the median of several runs
/// for bodies in normal actors and in detached ones (their own thread each),
/// with a one-unit computational bundle and without requirements. Problems
/// are printed as `error: ...` lines.
void bench_scheduler_dispatch(std::ostream& out, std::size_t tasks);

} // namespace rros::app::benchmark
