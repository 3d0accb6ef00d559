// The plain client actor of `rros bench` (see plain_client.hpp): one
// allocate/release cycle after the other, the same code against the pool and
// against the echo actor, so that the two figures differ only in the target.
#include "app/bench/plain_client.hpp"

#include <future>
#include <memory>
#include <utility>

#include "app/bench/checks.hpp"
#include "messages/error.hpp"

namespace rros::app::benchmark {

namespace {

/// State of one client actor: warm-up, then `measured` timed cycles.
template <class Handle>
struct ClientRun {
  Handle target;
  std::string requester;
  ResourceRequest request;
  caf::duration timeout{caf::infinite};
  int warmup = 0;
  int measured = 0;
  int done = 0;
  steady::time_point op_start;
  steady::time_point started;
  Sample sample;
  std::promise<Sample> result;
};

template <class Handle>
using client_run_ptr = std::shared_ptr<ClientRun<Handle>>;

template <class Handle>
void finish(caf::event_based_actor* self, const client_run_ptr<Handle>& run) {
  run->result.set_value(std::move(run->sample));
  self->quit();
}

template <class Handle>
void fail(caf::event_based_actor* self, const client_run_ptr<Handle>& run,
          std::string what) {
  run->sample.error = std::move(what);
  finish(self, run);
}

/// One allocate / release cycle, one request in flight; chains the next.
template <class Handle>
void next_cycle(caf::event_based_actor* self, client_run_ptr<Handle> run) {
  if (run->done == run->warmup) {
    run->started = steady::now();
  } else if (run->done == run->warmup + run->measured) {
    run->sample.ops = 2 * static_cast<std::size_t>(run->measured);
    run->sample.seconds = ns_between(run->started, steady::now()) / 1e9;
    finish(self, run);
    return;
  }
  run->op_start = steady::now();
  self->request(run->target, run->timeout, allocate_atom::value, run->request)
      .then(
          [=](ResourceAllocation& allocation) {
            auto now = steady::now();
            bool timed = run->done >= run->warmup;
            if (timed)
              run->sample.latency_ns.push_back(ns_between(run->op_start, now));
            if (auto err = check_allocation(allocation, run->requester);
                !err.empty()) {
              fail(self, run, err);
              return;
            }
            run->op_start = steady::now();
            self->request(run->target, run->timeout, release_atom::value,
                          run->requester, cycle_amount, ReleaseMode::exact)
                .then(
                    [=](ReleaseReceipt& receipt) {
                      auto now = steady::now();
                      if (timed)
                        run->sample.latency_ns.push_back(
                            ns_between(run->op_start, now));
                      if (auto err = check_receipt(receipt, run->requester);
                          !err.empty()) {
                        fail(self, run, err);
                        return;
                      }
                      ++run->done;
                      next_cycle(self, run);
                    },
                    [=](caf::error& err) {
                      fail(self, run, "release failed: " + describe(err));
                    });
          },
          [=](caf::error& err) {
            fail(self, run, "allocate failed: " + describe(err));
          });
}

template <class Handle>
caf::behavior client(caf::event_based_actor* self, client_run_ptr<Handle> run) {
  next_cycle(self, std::move(run));
  // Keeps the actor alive between replies; it quits when the run is done.
  return {[](caf::atom_value) {}};
}

/// Spawns one client against `target` and waits for its sample.
template <class Handle>
Sample drive_client(caf::actor_system& sys, const Handle& target,
                    const std::string& requester, int operations,
                    caf::duration timeout) {
  auto run = std::make_shared<ClientRun<Handle>>();
  run->target = target;
  run->requester = requester;
  run->request = ResourceRequest{requester, ResourceType::COMPUTATIONAL,
                                 Priority::NORMAL, cycle_amount};
  run->timeout = timeout;
  run->warmup = warmup_cycles;
  run->measured = operations;
  run->sample.latency_ns.reserve(2 * static_cast<std::size_t>(operations));
  auto future = run->result.get_future();
  sys.spawn(client<Handle>, run);
  run.reset(); // the actor owns the run now
  if (future.wait_for(part_deadline) != std::future_status::ready) {
    Sample timeout;
    timeout.error = "the client actor did not finish within " +
                    std::to_string(part_deadline.count()) + " s";
    return timeout;
  }
  return future.get();
}

} // namespace

Sample drive(caf::actor_system& sys, const pool_actor& target,
             const std::string& requester, int operations,
             caf::duration timeout) {
  return drive_client<pool_actor>(sys, target, requester, operations, timeout);
}

Sample drive(caf::actor_system& sys, const echo_actor& target,
             const std::string& requester, int operations,
             caf::duration timeout) {
  return drive_client<echo_actor>(sys, target, requester, operations, timeout);
}

} // namespace rros::app::benchmark
