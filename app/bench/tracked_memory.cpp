// The tracked-memory client actor and the malloc/free baseline of
// `rros bench` (see tracked_memory.hpp).
#include "app/bench/tracked_memory.hpp"

#include <cstdlib>
#include <future>
#include <memory>
#include <utility>

#include "messages/error.hpp"

namespace rros::app::benchmark {

namespace {

/// State of the memory client actor: warm-up, then `measured` timed cycles
/// of allocate + free, one request in flight.
struct MemoryClient {
  memory_manager_actor memory;
  MemoryRequest request;
  int warmup = 0;
  int measured = 0;
  int done = 0;
  steady::time_point op_start;
  steady::time_point started;
  Sample sample;
  std::promise<Sample> result;
};

using memory_client_ptr = std::shared_ptr<MemoryClient>;

void memory_finish(caf::event_based_actor* self, const memory_client_ptr& c) {
  c->result.set_value(std::move(c->sample));
  self->quit();
}

void memory_fail(caf::event_based_actor* self, const memory_client_ptr& c,
                 std::string what) {
  c->sample.error = std::move(what);
  memory_finish(self, c);
}

/// Checks one tracked block; returns an error text or "".
std::string check_block(const MemoryBlock& b, const MemoryRequest& r) {
  if (b.address != 0 && b.requested == r.size && b.size >= r.size &&
      b.owner == r.owner && b.grant_id != 0)
    return {};
  return "tracked allocation of " + std::to_string(r.size) + " bytes for '" +
         r.owner + "' came back as " + std::to_string(b.size) + " bytes at " +
         std::to_string(b.address) + " (grant " + std::to_string(b.grant_id) +
         ")";
}

void memory_next_cycle(caf::event_based_actor* self, memory_client_ptr c) {
  if (c->done == c->warmup) {
    c->started = steady::now();
  } else if (c->done == c->warmup + c->measured) {
    c->sample.ops = 2 * static_cast<std::size_t>(c->measured);
    c->sample.seconds = ns_between(c->started, steady::now()) / 1e9;
    memory_finish(self, c);
    return;
  }
  bool timed = c->done >= c->warmup;
  c->op_start = steady::now();
  self->request(c->memory, caf::infinite, allocate_atom::value, c->request)
      .then(
          [=](MemoryBlock& block) {
            if (timed)
              c->sample.latency_ns.push_back(
                  ns_between(c->op_start, steady::now()));
            if (auto err = check_block(block, c->request); !err.empty()) {
              memory_fail(self, c, err);
              return;
            }
            auto address = block.address;
            c->op_start = steady::now();
            self->request(c->memory, caf::infinite, release_atom::value,
                          address)
                .then(
                    [=](MemoryBlock& freed) {
                      if (timed)
                        c->sample.latency_ns.push_back(
                            ns_between(c->op_start, steady::now()));
                      if (freed.address != address) {
                        memory_fail(self, c,
                                    "freeing " + std::to_string(address) +
                                        " freed " +
                                        std::to_string(freed.address));
                        return;
                      }
                      ++c->done;
                      memory_next_cycle(self, c);
                    },
                    [=](caf::error& err) {
                      memory_fail(self, c, "free failed: " + describe(err));
                    });
          },
          [=](caf::error& err) {
            memory_fail(self, c, "tracked allocate failed: " + describe(err));
          });
}

caf::behavior memory_client(caf::event_based_actor* self, memory_client_ptr c) {
  memory_next_cycle(self, std::move(c));
  // Keeps the actor (the blocks' owner) alive between replies.
  return {[](caf::atom_value) {}};
}

} // namespace

/// Spawns the memory client and waits for its sample.
Sample drive_memory(caf::actor_system& sys, const memory_manager_actor& memory,
                    const std::string& owner, int operations) {
  auto c = std::make_shared<MemoryClient>();
  c->memory = memory;
  c->request = MemoryRequest{owner, memory_block_size, false};
  c->warmup = warmup_cycles;
  c->measured = operations;
  c->sample.latency_ns.reserve(2 * static_cast<std::size_t>(operations));
  auto future = c->result.get_future();
  sys.spawn(memory_client, c);
  c.reset();
  if (future.wait_for(part_deadline) != std::future_status::ready) {
    Sample timeout;
    timeout.error = "the memory client did not finish within " +
                    std::to_string(part_deadline.count()) + " s";
    return timeout;
  }
  return future.get();
}

/// The baseline: malloc + free of the same size, one block at a time,
/// untimed per call (only the whole loop is).
Sample malloc_free(int operations) {
  Sample result;
  auto once = [&]() -> bool {
    void* p = std::malloc(memory_block_size);
    if (p == nullptr)
      return false;
    // A store the compiler must keep, so the pair is not optimized away.
    static_cast<volatile unsigned char*>(p)[0] = 1;
    std::free(p);
    return true;
  };
  for (int i = 0; i < warmup_cycles; ++i)
    if (!once()) {
      result.error = "malloc failed";
      return result;
    }
  auto started = steady::now();
  for (int i = 0; i < operations; ++i)
    if (!once()) {
      result.error = "malloc failed";
      return result;
    }
  result.ops = 2 * static_cast<std::size_t>(operations);
  result.seconds = ns_between(started, steady::now()) / 1e9;
  return result;
}

} // namespace rros::app::benchmark
