// The pipelined client actors of `rros bench` (see pipelined_clients.hpp).
#include "app/bench/pipelined_clients.hpp"

#include <algorithm>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/pool_pipeline.hpp"
#include "app/bench/checks.hpp"
#include "messages/error.hpp"

namespace rros::app::benchmark {

namespace {

/// One client's run: warm-up ops, then timed ops, then the outstanding
/// grants come back before it reports.
struct PipelinedRun {
  pool_actor pool;
  ResourceRequest request;
  long warmup = 0;
  long measured = 0;
  long done = 0;    // ops answered
  long started = 0; // allocations sent
  long live = 0;    // items outstanding
  std::optional<steady::time_point> from;
  std::optional<steady::time_point> to;
  std::string error;
  std::promise<void> finished;
};

using pipelined_run_ptr = std::shared_ptr<PipelinedRun>;

struct PipelinedState {
  std::optional<PoolPipeline> pipeline;
  static inline const char* name = "rros.bench.pipelined_client";
};

using client_ptr = caf::stateful_actor<PipelinedState>*;

void allocate_one(client_ptr self, const pipelined_run_ptr& run);

/// Counts one answered op; notes the timed window's ends; ends the actor
/// when nothing is outstanding any more.
void answered(client_ptr self, const pipelined_run_ptr& run) {
  ++run->done;
  --run->live;
  if (run->done == run->warmup)
    run->from = steady::now();
  if (run->done == run->warmup + run->measured)
    run->to = steady::now();
  if (run->live == 0 && (run->to || !run->error.empty())) {
    run->finished.set_value();
    self->quit();
  }
}

void release_one(client_ptr self, const pipelined_run_ptr& run, GrantId id) {
  ++run->live;
  self->state.pipeline->release(id, [=](caf::expected<ReleaseReceipt> receipt) {
    if (!receipt)
      run->error = "release failed: " + describe(receipt.error());
    else if (receipt->released_amount != cycle_amount ||
             receipt->requester_id != run->request.requester_id)
      run->error = "a release by id was not exact";
    answered(self, run);
    // Every receipt starts the next allocation until the run is done.
    if (run->error.empty() && !run->to)
      allocate_one(self, run);
  });
}

void allocate_one(client_ptr self, const pipelined_run_ptr& run) {
  ++run->live;
  ++run->started;
  self->state.pipeline->allocate(
      run->request, [=](caf::expected<ResourceAllocation> grant) {
        if (!grant) {
          run->error = "allocate failed: " + describe(grant.error());
        } else if (auto err =
                       check_allocation(*grant, run->request.requester_id);
                   !err.empty()) {
          run->error = err;
        } else {
          // Released by id at once, also after the timed window.
          release_one(self, run, grant->grant_id);
        }
        answered(self, run);
      });
}

caf::behavior client(client_ptr self, pipelined_run_ptr run) {
  PipelineOptions options;
  options.window = pipelined_window;
  self->state.pipeline.emplace(self, run->pool, options);
  for (std::size_t i = 0; i < pipelined_in_flight / 2; ++i)
    allocate_one(self, run);
  return {[](caf::atom_value) {}};
}

} // namespace

Sample drive_pipelined(caf::actor_system& sys, const pool_actor& pool, int run,
                       int operations) {
  Sample result;
  std::vector<pipelined_run_ptr> runs;
  std::vector<std::future<void>> futures;
  for (int i = 0; i < pipelined_clients; ++i) {
    auto r = std::make_shared<PipelinedRun>();
    r->pool = pool;
    auto requester =
        "pipelined-" + std::to_string(run) + "-" + std::to_string(i);
    r->request = ResourceRequest{requester, ResourceType::COMPUTATIONAL,
                                 Priority::NORMAL, cycle_amount};
    r->warmup = 2L * warmup_cycles;
    r->measured = operations;
    futures.push_back(r->finished.get_future());
    runs.push_back(r);
  }
  for (auto& r : runs)
    sys.spawn(client, r);
  for (auto& f : futures)
    if (f.wait_for(part_deadline) != std::future_status::ready) {
      result.error = "a pipelined client did not finish within " +
                     std::to_string(part_deadline.count()) + " s";
      return result;
    }
  steady::time_point first = steady::time_point::max();
  steady::time_point last = steady::time_point::min();
  for (auto& r : runs) {
    if (!r->error.empty()) {
      result.error = r->error;
      return result;
    }
    first = std::min(first, *r->from);
    last = std::max(last, *r->to);
    result.ops += static_cast<std::size_t>(r->measured);
  }
  result.seconds = ns_between(first, last) / 1e9;
  return result;
}

} // namespace rros::app::benchmark
