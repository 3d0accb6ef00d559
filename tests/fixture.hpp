// Deterministic test fixture: an actor system on CAF's test coordinator, so a
// test decides when each message is handled and how far the virtual clock
// moves. CAF's own test DSL needs CAF's runner, so this small fixture stands
// in for it under GoogleTest. Tests read as a message script:
//   auto grant = ask<ResourceAllocation>(pool, allocate_atom::value, req);
// sends one request, runs every pending message, and returns the reply.
#pragma once

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include "messages/error.hpp"
#include "messages/subsystems.hpp"

namespace rros::test {

inline caf::actor_system_config&
deterministic_config(caf::actor_system_config& cfg) {
  register_types(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  return cfg;
}

class DeterministicFixture : public ::testing::Test {
public:
  DeterministicFixture()
    : sys(deterministic_config(cfg))
    , self(sys, true)
    , sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {}

  /// Handles every pending message (and nothing more).
  void run() {
    sched.run();
  }

  /// Moves the virtual clock forward, fires what became due and runs.
  void advance(caf::timespan duration) {
    sched.advance_time(duration);
    run();
  }

  /// Sends a request from the test, runs the system and returns the reply or
  /// the error it produced.
  template <class Result, class Handle, class... Ts>
  caf::expected<Result> ask(const Handle& dest, Ts&&... xs) {
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    caf::expected<Result> result{caf::sec::unexpected_response};
    handle.receive([&](Result& reply) { result = std::move(reply); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Like ask(), for a reply the test expects to succeed.
  template <class Result, class Handle, class... Ts>
  Result ask_ok(const Handle& dest, Ts&&... xs) {
    auto result = ask<Result>(dest, std::forward<Ts>(xs)...);
    if (!result) {
      ADD_FAILURE() << "request failed: " << describe(result.error());
      return Result{};
    }
    return std::move(*result);
  }

  /// Sends a request whose reply may come later (a waiting request): run()
  /// and then has_reply() / the handle's receive() read it.
  template <class Handle, class... Ts>
  auto send_request(const Handle& dest, Ts&&... xs) {
    auto handle = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    return handle;
  }

  /// True when a reply (or any message) waits in the test's mailbox.
  bool has_reply() {
    return !self->mailbox().empty();
  }

  /// The reply behind a handle from send_request(), which must have arrived.
  template <class Result, class ResponseHandle>
  caf::expected<Result> reply_of(ResponseHandle& handle) {
    // Never block on a reply that is not there: fail the test instead.
    if (!has_reply()) {
      ADD_FAILURE() << "no reply has arrived";
      return caf::make_error(caf::sec::request_timeout);
    }
    caf::expected<Result> result{caf::sec::unexpected_response};
    handle.receive([&](Result& reply) { result = std::move(reply); },
                   [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::scheduler::test_coordinator& sched;
};

/// Shorthand for a request of `amount` by `requester`.
inline ResourceRequest request(std::string requester, ResourceType type,
                               float amount,
                               Priority priority = Priority::NORMAL) {
  return ResourceRequest{std::move(requester), type, priority, amount};
}

/// The error code of an expected that should have failed.
template <class T>
::testing::AssertionResult fails_with(const caf::expected<T>& x, ec code) {
  if (x)
    return ::testing::AssertionFailure()
           << "succeeded, expected " << to_string(code);
  if (!is(x.error(), code))
    return ::testing::AssertionFailure()
           << "failed with " << describe(x.error()) << ", expected "
           << to_string(code);
  return ::testing::AssertionSuccess();
}

} // namespace rros::test
