// rros::PoolPipeline: an actor's pipelining client of one pool (issue 15).
// Not an actor itself: an event-based actor keeps one and calls allocate()
// and release() for single items; the pipeline sends them as batched calls
// (messages/batch.hpp) with at most `window` batches in flight, gathering
// whatever arrives while the window is full into the next batch. So the
// actor never has more than `window` requests outstanding at the pool,
// which keeps CAF 0.17's lookup of pending response handlers (a flat vector
// per actor, linear in the number outstanding) short however many items
// the actor keeps in flight. Every item's handler runs exactly once: with
// its grant or receipt, with its own error, or with the error of the whole
// batch (the pool died, or was replaced: errors, never hangs).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>

#include <caf/event_based_actor.hpp>

#include "messages/actors.hpp"
#include "messages/limits.hpp"

namespace rros {

struct PipelineOptions {
  /// Batches in flight at most (>= 1).
  std::size_t window = 4;
  /// Items per batch at most (1 .. max_batch_items).
  std::size_t batch = max_batch_items;
};

class PoolPipeline {
public:
  using AllocationHandler =
      std::function<void(caf::expected<ResourceAllocation>)>;
  using ReleaseHandler = std::function<void(caf::expected<ReleaseReceipt>)>;

  /// A pipeline of `self` to `pool`. Options out of range are clamped.
  PoolPipeline(caf::event_based_actor* self, pool_actor pool,
               PipelineOptions options = {});

  /// Asks for one grant (an item of a batched allocation: it never waits).
  void allocate(ResourceRequest request, AllocationHandler done);

  /// Returns one grant by id.
  void release(GrantId id, ReleaseHandler done);

  /// Sends what is queued from now on to `pool` (the replacement of a
  /// crashed pool); batches in flight to the old one end with its errors.
  void replace_pool(pool_actor pool);

  /// Batches sent and not yet answered (never above the window).
  std::size_t in_flight() const;

  /// Items waiting for room in the window.
  std::size_t queued() const;

  /// The most batches that were ever in flight at once.
  std::size_t peak_in_flight() const;

  /// Batches sent so far.
  std::size_t batches_sent() const;

  const PipelineOptions& options() const;

private:
  struct State;
  std::shared_ptr<State> state_;
};

} // namespace rros
