// The ways a plain thread calls an actor: through the bridge actor
// (call_bridge.hpp) or directly (direct_calls.hpp).
#include "facade/call_bridge.hpp"
#include "facade/direct_calls.hpp"

#include <algorithm>
#include <thread>
#include <utility>

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

// -- the direct path (facade/direct_calls.hpp) --------------------------------

namespace {

std::uint64_t key_of(caf::message_id id) {
  return id.integer_value() & caf::message_id::request_id_mask;
}

caf::actor_companion* companion_of(const caf::strong_actor_ptr& ptr) {
  return static_cast<caf::actor_companion*>(
      caf::actor_cast<caf::abstract_actor*>(ptr));
}

} // namespace

DirectCalls::DirectCalls(caf::actor_system& sys)
  : companion_(caf::actor_cast<caf::strong_actor_ptr>(
        sys.spawn<caf::actor_companion>())) {
  // Runs in the sender's thread, under the companion's lock: the destructor
  // removes it under the same lock, so none runs after the destructor.
  companion_of(companion_)->on_enqueue([this](caf::mailbox_element_ptr ptr) {
    on_message(std::move(ptr));
  });
}

DirectCalls::~DirectCalls() {
  // The callback goes first (on_enqueue waits for one that runs), then the
  // companion ends: the pools that monitor it return what it held.
  // (actor_companion::disconnect is declared but not built in CAF 0.17.6.)
  auto* companion = companion_of(companion_);
  companion->on_enqueue(nullptr);
  companion->cleanup(caf::make_error(caf::exit_reason::user_shutdown), nullptr);
}

caf::actor DirectCalls::handle() const {
  return caf::actor_cast<caf::actor>(companion_);
}

caf::message_id DirectCalls::enlist(call_job_ptr job) {
  std::lock_guard<std::mutex> guard{mutex_};
  // Request ids are 60 bits wide: they never wrap in practice.
  auto value = next_++ & caf::message_id::request_id_mask;
  pending_.emplace(value, std::move(job));
  return caf::make_message_id(value);
}

void DirectCalls::forget(caf::message_id id) {
  std::lock_guard<std::mutex> guard{mutex_};
  pending_.erase(key_of(id));
}

void DirectCalls::on_message(caf::mailbox_element_ptr ptr) {
  if (!ptr || !ptr->mid.is_response())
    return; // e.g. a revoke notice: the ledger shows the change
  call_job_ptr job;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto i = pending_.find(key_of(ptr->mid));
    if (i == pending_.end())
      return; // its caller gave up waiting
    job = std::move(i->second);
    pending_.erase(i);
  }
  auto reply = ptr->move_content_to_message();
  job->deliver(reply);
}

} // namespace rros
