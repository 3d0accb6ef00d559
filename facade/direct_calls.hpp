// The facade's direct path: a plain thread sends its request straight into
// the destination's mailbox, as a CAF actor_companion (an actor with no
// mailbox of its own whose enqueue runs a callback), and the reply fills the
// caller's job in the replying actor's own thread. One scheduling hop per
// call instead of the bridge's three (caller -> bridge -> pool -> bridge);
// the caller still spins, then parks (CallJob::wait). The companion is the
// sender, so it holds the facade's grants (the pools monitor it) and ends
// with the facade, which returns them. Local destinations only: the facade
// keeps the bridge for actors on other nodes.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <caf/actor_companion.hpp>
#include <caf/actor_system.hpp>

#include "facade/call_bridge.hpp"

namespace rros {

class DirectCalls {
public:
  explicit DirectCalls(caf::actor_system& sys);

  /// Ends the companion: grants it holds return to their pools.
  ~DirectCalls();

  DirectCalls(const DirectCalls&) = delete;
  DirectCalls& operator=(const DirectCalls&) = delete;

  /// Sends `job`'s request to `dest` and blocks until the reply (or an
  /// error) arrived, at most `timeout`.
  template <class Result, class Handle, class... Ts>
  caf::expected<Result> request(const Handle& dest, caf::timespan timeout,
                                Ts... xs) {
    auto job = std::make_shared<RequestJob<Result, Handle, Ts...>>(
        dest, std::move(xs)...);
    auto target = caf::actor_cast<caf::strong_actor_ptr>(dest);
    if (!target)
      return caf::make_error(caf::sec::invalid_argument);
    auto id = enlist(job);
    target->enqueue(companion_, id, job->message(), nullptr);
    if (!job->wait(timeout)) {
      forget(id);
      return caf::make_error(caf::sec::request_timeout);
    }
    return std::move(job->result());
  }

  /// The sender of every direct request (the facade's grants' holder).
  caf::actor handle() const;

private:
  /// A fresh request id with `job` waiting under it.
  caf::message_id enlist(call_job_ptr job);

  /// Drops the job of a call that gave up waiting.
  void forget(caf::message_id id);

  /// Every message to the companion: replies complete their job; anything
  /// else (revoke notices) is dropped.
  void on_message(caf::mailbox_element_ptr ptr);

  caf::strong_actor_ptr companion_;
  std::mutex mutex_; // guards pending_ and next_
  std::unordered_map<std::uint64_t, call_job_ptr> pending_;
  std::uint64_t next_ = 1;
};

} // namespace rros
