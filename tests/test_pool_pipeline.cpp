// The pipelining client (actors/pool_pipeline.hpp) on the deterministic
// coordinator: never more than its window of batches in flight, every
// item's handler exactly once (grant, receipt or error), in order, also when
// the pool is killed mid-window and replaced.
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "fixture.hpp"

#include "actors/pool.hpp"
#include "actors/pool_pipeline.hpp"

using namespace rros;
using namespace rros::test;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;

/// What the client saw: per item (numbered in submission order) how often
/// its handler ran and what it got.
struct PipelineLog {
  std::map<int, int> calls;
  std::map<int, GrantId> grants;
  std::map<int, caf::error> errors;
  std::vector<int> order; // items in the order their handlers ran
  std::size_t peak = 0;
  std::size_t batches = 0;
  std::size_t in_flight = 0;
};

using log_ptr = std::shared_ptr<PipelineLog>;

struct ClientState {
  std::optional<PoolPipeline> pipeline;
  int next = 0;
};

using client_self = caf::stateful_actor<ClientState>*;

void note(client_self self, const log_ptr& log, int item) {
  ++log->calls[item];
  log->order.push_back(item);
  log->peak = self->state.pipeline->peak_in_flight();
  log->batches = self->state.pipeline->batches_sent();
}

/// (allocate_atom, n): n allocations of 1; (release_atom): returns every
/// grant it holds; (pools_atom, pool): replaces the pool.
caf::behavior pipeline_client(client_self self, pool_actor pool,
                              PipelineOptions options, log_ptr log) {
  self->state.pipeline.emplace(self, pool, options);
  auto record = [=] {
    log->peak = self->state.pipeline->peak_in_flight();
    log->batches = self->state.pipeline->batches_sent();
    log->in_flight = self->state.pipeline->in_flight();
  };
  return {
      [=](allocate_atom, int n) {
        for (int i = 0; i < n; ++i) {
          auto item = self->state.next++;
          self->state.pipeline->allocate(
              request("client", compute, 1),
              [=](caf::expected<ResourceAllocation> grant) {
                note(self, log, item);
                if (grant)
                  log->grants[item] = grant->grant_id;
                else
                  log->errors[item] = grant.error();
              });
          // The window holds whatever the handlers do.
          EXPECT_LE(self->state.pipeline->in_flight(),
                    self->state.pipeline->options().window);
        }
        record();
      },
      [=](release_atom) {
        auto grants = log->grants;
        log->grants.clear();
        for (auto& [item, id] : grants) {
          auto n = self->state.next++;
          self->state.pipeline->release(
              id, [=](caf::expected<ReleaseReceipt> receipt) {
                note(self, log, n);
                if (!receipt)
                  log->errors[n] = receipt.error();
              });
        }
        record();
      },
      [=](pools_atom, pool_actor replacement) {
        self->state.pipeline->replace_pool(std::move(replacement));
      },
  };
}

class PoolPipelineTest : public DeterministicFixture {
public:
  PoolPipelineTest() {
    pool_ = sys.spawn(rros::pool, compute, 1000.0, PoolPolicy{});
    run();
  }

  ~PoolPipelineTest() override {
    for (auto* h : {&pool_, &replacement_})
      if (*h)
        caf::anon_send_exit(*h, caf::exit_reason::user_shutdown);
    if (client_)
      caf::anon_send_exit(client_, caf::exit_reason::user_shutdown);
    run();
  }

  void spawn_client(std::size_t window, std::size_t batch) {
    PipelineOptions options;
    options.window = window;
    options.batch = batch;
    client_ = sys.spawn(pipeline_client, pool_, options, log_);
    run();
  }

  PoolStatus status(const pool_actor& p) {
    return ask_ok<PoolStatus>(p, status_atom::value);
  }

  pool_actor pool_;
  pool_actor replacement_;
  caf::actor client_;
  log_ptr log_ = std::make_shared<PipelineLog>();
};

} // namespace

TEST_F(PoolPipelineTest, KeepsItsWindowAndAnswersEveryItemOnceInOrder) {
  spawn_client(2, 4);
  self->send(client_, allocate_atom::value, 50);
  // Only the client runs: two batches (of one item each: the window was
  // empty) went out, the other 48 items wait.
  sched.run_once();
  EXPECT_EQ(log_->in_flight, 2u);
  EXPECT_EQ(log_->batches, 2u);
  run();
  ASSERT_EQ(log_->calls.size(), 50u);
  for (auto& [item, n] : log_->calls)
    EXPECT_EQ(n, 1) << "item " << item;
  EXPECT_TRUE(log_->errors.empty());
  EXPECT_EQ(log_->grants.size(), 50u);
  EXPECT_LE(log_->peak, 2u);
  // 2 single items, then 48 in batches of at most 4.
  EXPECT_GE(log_->batches, 2u + 12u);
  for (std::size_t i = 0; i < log_->order.size(); ++i)
    EXPECT_EQ(log_->order[i], static_cast<int>(i));
  EXPECT_EQ(status(pool_).held, to_units(50));
  self->send(client_, release_atom::value);
  run();
  EXPECT_EQ(log_->calls.size(), 100u);
  EXPECT_TRUE(log_->errors.empty());
  EXPECT_LE(log_->peak, 2u);
  EXPECT_EQ(status(pool_).held, 0);
}

TEST_F(PoolPipelineTest, APoolKilledMidWindowEndsEveryItemWithAnErrorOrAGrant) {
  spawn_client(2, 8);
  self->send(client_, allocate_atom::value, 40);
  sched.run_once(); // the client sends its first two batches
  sched.run_once(); // the pool answers one of them
  caf::anon_send_exit(pool_, caf::exit_reason::kill);
  run();
  // Every item answered exactly once: granted before the kill or failed.
  ASSERT_EQ(log_->calls.size(), 40u);
  for (auto& [item, n] : log_->calls)
    EXPECT_EQ(n, 1) << "item " << item;
  EXPECT_EQ(log_->grants.size() + log_->errors.size(), 40u);
  EXPECT_FALSE(log_->errors.empty());
  EXPECT_LE(log_->peak, 2u);
  // The replacement serves what comes next.
  replacement_ = sys.spawn(rros::pool, compute, 1000.0, PoolPolicy{});
  run();
  self->send(client_, pools_atom::value, replacement_);
  run();
  log_->grants.clear();
  log_->errors.clear();
  self->send(client_, allocate_atom::value, 10);
  run();
  EXPECT_EQ(log_->calls.size(), 50u);
  EXPECT_EQ(log_->grants.size(), 10u);
  EXPECT_TRUE(log_->errors.empty());
  EXPECT_EQ(status(replacement_).held, to_units(10));
  self->send(client_, release_atom::value);
  run();
  EXPECT_EQ(status(replacement_).held, 0);
  EXPECT_TRUE(log_->errors.empty());
}

TEST_F(PoolPipelineTest, ItemsQueuedBehindAKilledPoolFailInsteadOfHanging) {
  spawn_client(1, 2);
  caf::anon_send_exit(pool_, caf::exit_reason::kill);
  run();
  self->send(client_, allocate_atom::value, 7);
  run();
  ASSERT_EQ(log_->calls.size(), 7u);
  EXPECT_EQ(log_->errors.size(), 7u);
  EXPECT_LE(log_->peak, 1u);
}
