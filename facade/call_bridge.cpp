#include "facade/call_bridge.hpp"

#include <algorithm>
#include <thread>

#include "messages/validate.hpp"

namespace rros {

namespace {

// Spin budget before parking. A reply normally arrives within a few
// microseconds; beyond ~200 us the caller parks so that waiting threads do
// not steal both cores from the actor workers.
constexpr int pause_spins = 2000;
constexpr auto spin_budget = std::chrono::microseconds(200);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

} // namespace

bool CallJob::wait(caf::timespan timeout) {
  for (int i = 0; i < pause_spins; ++i) {
    if (done_.load(std::memory_order_acquire))
      return true;
    cpu_relax();
  }
  auto now = std::chrono::steady_clock::now();
  auto deadline = saturating_add(now, timeout);
  auto spin_until = std::min(deadline, now + spin_budget);
  while (std::chrono::steady_clock::now() < spin_until) {
    if (done_.load(std::memory_order_acquire))
      return true;
    std::this_thread::yield();
  }
  // Parks this caller only; the lock guards no shared state.
  std::unique_lock<std::mutex> guard{park_mutex_};
  return park_cv_.wait_until(guard, deadline, [this] {
    return done_.load(std::memory_order_acquire);
  });
}

void CallJob::complete() {
  {
    // Held only so that a parked caller cannot miss the wake-up.
    std::lock_guard<std::mutex> guard{park_mutex_};
    done_.store(true, std::memory_order_release);
  }
  park_cv_.notify_one();
}

bridge_actor::behavior_type call_bridge(bridge_actor::pointer self) {
  return {
      [=](call_atom, call_job_ptr& job) { job->start(self); },
      [](revoke_atom, const GrantNotice&) {
        // Facade callers have no mailbox to tell; the ledger shows the change.
      },
  };
}

} // namespace rros
