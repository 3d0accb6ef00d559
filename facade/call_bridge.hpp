// The bridge between plain threads and actors. A blocking caller hands a job
// to the bridge actor, which sends the job's request as an ordinary actor
// (so replies travel actor to actor) and completes the job from the reply
// handler. The caller spins briefly on an atomic flag before parking: on
// these machines waking a parked thread costs ~170 us, while most replies
// arrive within a few microseconds.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <tuple>
#include <utility>

#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

#include "messages/actors.hpp"

namespace rros {

/// One blocking call in flight. Completed exactly once by the bridge actor.
class CallJob : public std::enable_shared_from_this<CallJob> {
public:
  virtual ~CallJob() = default;

  /// Runs inside the bridge actor: sends the request and installs the reply
  /// handler, which must call complete().
  virtual void start(bridge_actor::pointer self) = 0;

  /// Runs in the replying actor's thread on the direct path
  /// (facade/direct_calls.hpp): takes the result from the raw reply (the
  /// expected type or an error) and calls complete().
  virtual void deliver(caf::message& reply) = 0;

  /// Blocks the calling thread until complete() ran (spin, then park) or
  /// `timeout` passed; false on timeout.
  bool wait(caf::timespan timeout);

protected:
  void complete();

private:
  std::atomic<bool> done_{false};
  // Only parks a caller that outlived its spin budget; no shared state is
  // guarded here.
  std::mutex park_mutex_;
  std::condition_variable park_cv_;
};

/// A typed request `dest <- xs...` whose reply is a `Result`.
template <class Result, class Handle, class... Ts>
class RequestJob final : public CallJob {
public:
  RequestJob(Handle dest, Ts... xs)
    : dest_(std::move(dest))
    , args_(std::move(xs)...) {}

  void start(bridge_actor::pointer self) override {
    auto keep_alive = shared_from_this();
    std::apply(
        [&](auto&... xs) {
          self->request(dest_, caf::infinite, xs...)
              .then(
                  [this, keep_alive](Result& reply) {
                    result_ = std::move(reply);
                    complete();
                  },
                  [this, keep_alive](caf::error& err) {
                    result_ = std::move(err);
                    complete();
                  });
        },
        args_);
  }

  void deliver(caf::message& reply) override {
    if (reply.match_elements<Result>())
      result_ = std::move(reply.get_mutable_as<Result>(0));
    else if (reply.match_elements<caf::error>())
      result_ = std::move(reply.get_mutable_as<caf::error>(0));
    else
      result_ = caf::make_error(caf::sec::unexpected_response);
    complete();
  }

  /// The request as one message (the direct path sends it itself).
  caf::message message() const {
    return std::apply(
        [](const auto&... xs) { return caf::make_message(xs...); }, args_);
  }

  caf::expected<Result>& result() {
    return result_;
  }

private:
  Handle dest_;
  std::tuple<Ts...> args_;
  caf::expected<Result> result_{caf::sec::unexpected_response};
};

/// The bridge's behavior (one bridge per facade).
bridge_actor::behavior_type call_bridge(bridge_actor::pointer self);

/// Sends `dest <- xs...` through `bridge` and blocks until the reply (or an
/// error) arrives, at most `timeout`. Never call it from inside an actor.
///
/// The request itself has no CAF timeout: CAF 0.17 schedules every request
/// timeout through its clock thread, which costs more than the round trip
/// itself. The caller keeps the deadline instead; a reply after it lands in
/// the abandoned job, which the reply handler keeps alive.
template <class Result, class Handle, class... Ts>
caf::expected<Result> blocking_request(const bridge_actor& bridge,
                                       const Handle& dest,
                                       caf::timespan timeout, Ts... xs) {
  auto job = std::make_shared<RequestJob<Result, Handle, Ts...>>(
      dest, std::move(xs)...);
  caf::anon_send(bridge, call_atom::value, call_job_ptr{job});
  if (!job->wait(timeout))
    return caf::make_error(caf::sec::request_timeout);
  return std::move(job->result());
}

} // namespace rros
