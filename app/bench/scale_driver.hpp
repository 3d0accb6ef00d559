// The driver of `rros bench --scale`: one event-based actor that fills a
// queue under test with N waiting requests, measures what one more event
// costs while they wait, and then lets all N be granted (the drain). The
// queue itself (pool waiters, waiting bundles, pending tasks) is a ScaleQueue:
// it knows which messages to send, the driver knows the order, the clock and
// the time budget.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "messages/scheduler_messages.hpp"

namespace rros::app::benchmark {

/// Tells the driver what became of one waiting request that a helper actor
/// sent for it: (scale_reply_atom, i, problem), with an empty problem when it
/// was granted in full. The waiting requests are not the driver's own
/// requests because CAF 0.17 keeps an actor's outstanding requests in a flat
/// vector that every reply searches: 100,000 of them in one actor would make
/// each reply cost O(N) in the driver and hide the queue's own cost.
using scale_reply_atom = caf::atom_constant<caf::atom("screply")>;

/// Continues the driver once a step is done.
using ScaleNext = std::function<void()>;

/// Ends the case with an error (a reply that breaks the protocol): the
/// bench fails, it does not just skip.
using ScaleFail = std::function<void(std::string)>;

/// One queue under test, as the driver sees it. Every call is made from the
/// driver actor `self`, and every callback runs in it.
class ScaleQueue {
public:
  virtual ~ScaleQueue() = default;

  /// Takes all of the capacity the waiting requests need (one grant held by
  /// the driver), so that none of them fits until unblock().
  virtual void block(caf::event_based_actor* self, ScaleNext then,
                     ScaleFail fail) = 0;

  /// Sends waiting request `i` (0-based); `granted` runs when it is granted,
  /// which must not happen before unblock().
  virtual void enqueue(caf::event_based_actor* self, std::size_t i,
                       ScaleNext granted, ScaleFail fail) = 0;

  /// Runs `then` with the number waiting once everything sent before has
  /// been queued.
  virtual void sync(caf::event_based_actor* self,
                    std::function<void(std::uint64_t)> then,
                    ScaleFail fail) = 0;

  /// Whether the queue keeps working on what it was sent after sync() (the
  /// bundle coordinator tries each new bundle on the pools); the driver
  /// then waits until activity() stops changing before measuring.
  virtual bool has_activity() const {
    return false;
  }

  /// A count that grows while the queue works (see has_activity()).
  virtual void activity(caf::event_based_actor*,
                        std::function<void(std::uint64_t)> then, ScaleFail) {
    then(0);
  }

  /// One measured event with N waiting (`k` counts from 0); `then` runs when
  /// it is complete and the number waiting is N again.
  virtual void event(caf::event_based_actor* self, std::uint64_t k,
                     ScaleNext then, ScaleFail fail) = 0;

  /// Returns the blocking grant: every waiting request can now be granted.
  virtual void unblock(caf::event_based_actor* self, ScaleFail fail) = 0;

  /// What became of waiting request `i` (see scale_reply_atom): empty when
  /// it was granted in full, else what went wrong.
  virtual void on_reply(std::uint64_t, const std::string&) {
    // nop
  }

  /// A task event for the driver (the scheduler tells the driver what became
  /// of each task it submitted).
  virtual void on_task_event(const TaskEvent&) {
    // nop
  }
};

/// How one case is run.
struct ScaleSettings {
  std::size_t n = 100;     // waiting requests
  int rounds = 5;          // repetitions of the event measurement (median)
  std::size_t window = 64; // requests sent before each sync while queueing
  std::chrono::milliseconds round_time{50}; // a round lasts at least this
  std::size_t min_events = 10;              // and has at least these events
  std::chrono::seconds give_up{60};         // the whole case, at most
};

/// What one case measured.
struct ScaleCase {
  std::size_t n = 0;
  bool complete = false;        // queued, measured and drained
  std::string stopped;          // why not complete (the time budget ran out)
  std::string error;            // a check failed: the bench fails
  double queue_s = 0;           // N waiting requests sent and queued
  std::vector<double> round_us; // mean cost of one event, per round
  std::size_t events = 0;       // measured events, all rounds
  double drain_s = 0;           // unblock until the N-th grant
  double case_s = 0;            // the whole case, for the time budget

  /// The median over the rounds of the mean cost per event.
  double us_per_event() const;
};

/// Spawns the driver against `queue`, waits for what it measured, then runs
/// `teardown` (which ends the actors under test) and ends the driver, in
/// that order: the driver holds the grants and, after a case given up, the
/// waiting requests; ending it first would have the queue take back each of
/// them one by one (a long time at 100,000 with a slow queue).
ScaleCase run_scale_case(caf::actor_system& sys,
                         std::shared_ptr<ScaleQueue> queue,
                         const ScaleSettings& settings,
                         const std::function<void()>& teardown);

} // namespace rros::app::benchmark
