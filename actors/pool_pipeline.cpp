#include "actors/pool_pipeline.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "messages/error.hpp"

namespace rros {

namespace {

struct Item {
  bool allocation = true;
  ResourceRequest request;
  GrantId id = 0;
  PoolPipeline::AllocationHandler on_grant;
  PoolPipeline::ReleaseHandler on_receipt;
};

void fail(Item& item, const caf::error& err) {
  if (item.allocation)
    item.on_grant(err);
  else
    item.on_receipt(err);
}

} // namespace

struct PoolPipeline::State : std::enable_shared_from_this<State> {
  caf::event_based_actor* self = nullptr;
  pool_actor pool;
  PipelineOptions options;
  std::deque<Item> queue;
  std::size_t in_flight = 0;
  std::size_t peak = 0;
  std::size_t sent = 0;
  // Replies being delivered: items queued by their handlers wait, so that
  // they leave as one batch once every handler of the reply has run.
  bool delivering = false;

  /// Sends queued items while the window has room: each batch is the
  /// longest run of one kind (allocations or releases) at the queue's head,
  /// so the pool sees the items in the order they were asked for.
  void pump() {
    while (!delivering && !queue.empty() && in_flight < options.window) {
      bool allocations = queue.front().allocation;
      std::vector<Item> items;
      while (!queue.empty() && queue.front().allocation == allocations &&
             items.size() < options.batch) {
        items.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      ++in_flight;
      ++sent;
      peak = std::max(peak, in_flight);
      if (allocations)
        send_allocations(std::move(items));
      else
        send_releases(std::move(items));
    }
  }

  /// Ends a batch: every item's handler, then the next batches.
  template <class F>
  void finish(F deliver) {
    delivering = true;
    deliver();
    delivering = false;
    --in_flight;
    pump();
  }

  void send_allocations(std::vector<Item> items) {
    AllocationBatch batch;
    batch.reserve(items.size());
    for (auto& item : items)
      batch.push_back(item.request);
    send_batch<AllocationOutcome>(allocate_atom::value, std::move(batch),
                                  std::move(items),
                                  [](Item& item, AllocationOutcome& out) {
                                    if (out.error)
                                      item.on_grant(std::move(out.error));
                                    else
                                      item.on_grant(std::move(out.allocation));
                                  });
  }

  void send_releases(std::vector<Item> items) {
    ReleaseBatch batch;
    batch.reserve(items.size());
    for (auto& item : items)
      batch.push_back(item.id);
    send_batch<ReleaseOutcome>(release_atom::value, std::move(batch),
                               std::move(items),
                               [](Item& item, ReleaseOutcome& out) {
                                 if (out.error)
                                   item.on_receipt(std::move(out.error));
                                 else
                                   item.on_receipt(std::move(out.receipt));
                               });
  }

  /// Sends one batch and hands each item its outcome (`deliver_one`), or
  /// every item the batch's error; a reply of the wrong length is an error
  /// for all.
  template <class Outcome, class Atom, class Batch, class DeliverOne>
  void send_batch(Atom atom, Batch batch, std::vector<Item> items,
                  DeliverOne deliver_one) {
    auto held = std::make_shared<std::vector<Item>>(std::move(items));
    auto me = shared_from_this();
    self->request(pool, caf::infinite, atom, std::move(batch))
        .then(
            [me, held, deliver_one](std::vector<Outcome>& out) {
              me->finish([&] {
                if (out.size() != held->size()) {
                  auto err = mismatch(out.size(), held->size());
                  for (auto& item : *held)
                    fail(item, err);
                  return;
                }
                for (std::size_t i = 0; i < out.size(); ++i)
                  deliver_one((*held)[i], out[i]);
              });
            },
            [me, held](caf::error& err) {
              me->finish([&] {
                for (auto& item : *held)
                  fail(item, err);
              });
            });
  }

  static caf::error mismatch(std::size_t got, std::size_t sent) {
    return make_error(ec::framework_error,
                      "a pool answered a batch of " + std::to_string(sent) +
                          " items with " + std::to_string(got) + " outcomes");
  }
};

PoolPipeline::PoolPipeline(caf::event_based_actor* self, pool_actor pool,
                           PipelineOptions options)
  : state_(std::make_shared<State>()) {
  options.window = std::max<std::size_t>(1, options.window);
  options.batch = std::clamp<std::size_t>(options.batch, 1, max_batch_items);
  state_->self = self;
  state_->pool = std::move(pool);
  state_->options = options;
}

void PoolPipeline::allocate(ResourceRequest request, AllocationHandler done) {
  Item item;
  item.allocation = true;
  item.request = std::move(request);
  item.on_grant = std::move(done);
  state_->queue.push_back(std::move(item));
  state_->pump();
}

void PoolPipeline::release(GrantId id, ReleaseHandler done) {
  Item item;
  item.allocation = false;
  item.id = id;
  item.on_receipt = std::move(done);
  state_->queue.push_back(std::move(item));
  state_->pump();
}

void PoolPipeline::replace_pool(pool_actor pool) {
  state_->pool = std::move(pool);
  state_->pump();
}

std::size_t PoolPipeline::in_flight() const {
  return state_->in_flight;
}

std::size_t PoolPipeline::queued() const {
  return state_->queue.size();
}

std::size_t PoolPipeline::peak_in_flight() const {
  return state_->peak;
}

std::size_t PoolPipeline::batches_sent() const {
  return state_->sent;
}

const PipelineOptions& PoolPipeline::options() const {
  return state_->options;
}

} // namespace rros
