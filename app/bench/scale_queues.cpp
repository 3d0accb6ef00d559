// The three queues of `rros bench --scale` (see scale_queues.hpp): pool
// waiters, waiting bundles and pending tasks, each driven through its public
// messages only. Every reply is checked: a waiting request granted in part,
// an extra request granted instead of cancelled, or a task that fails ends
// the bench with an error.
#include "app/bench/scale_queues.hpp"

#include <utility>
#include <vector>

#include "messages/error.hpp"

namespace rros::app::benchmark {

Priority scale_priority(std::uint64_t i) {
  return static_cast<Priority>(i % 5);
}

std::string scale_requester(std::uint64_t i) {
  auto r = i % scale_requesters;
  return std::string{"scale-r"} + (r < 10 ? "0" : "") + std::to_string(r);
}

namespace {

using self_ptr = caf::event_based_actor*;

/// The requester of the grant that blocks the capacity.
const char* const blocker_name = "scale-blocker";

/// An event made of two replies: `then` runs after the second.
struct TwoReplies {
  int missing = 2;
  ScaleNext then;

  void one() {
    if (--missing == 0)
      then();
  }
};

std::shared_ptr<TwoReplies> two_replies(ScaleNext then) {
  auto result = std::make_shared<TwoReplies>();
  result->then = std::move(then);
  return result;
}

std::string text(std::uint64_t i) {
  return std::to_string(i);
}

/// Takes all `n` units of `pool` for the driver (it must fit now); the grant
/// id goes to `out`.
void take_all(self_ptr self, const pool_actor& pool, std::size_t n,
              GrantId& out, ScaleNext then, ScaleFail fail) {
  auto amount = static_cast<float>(n);
  ResourceRequest req{blocker_name, ResourceType::COMPUTATIONAL,
                      Priority::NORMAL, amount};
  self->request(pool, caf::infinite, allocate_atom::value, req)
      .then(
          [&out, amount, then, fail](ResourceAllocation& x) {
            if (!x.fully_satisfied || x.allocated_amount != amount ||
                x.grant_id == 0) {
              fail("the blocking grant was not granted in full");
              return;
            }
            out = x.grant_id;
            then();
          },
          [fail](caf::error& err) {
            fail("the blocking grant failed: " + describe(err));
          });
}

// -- relays -------------------------------------------------------------------

/// Asks a relay to answer once everything sent to it before is forwarded.
using relay_flush_atom = caf::atom_constant<caf::atom("rlflush")>;

/// How many waiting requests one relay sends: few enough that its own
/// outstanding-request lookup stays small (see scale_reply_atom).
constexpr std::size_t per_relay = 64;

/// Checks one reply to a waiting request: empty when granted in full.
template <class Reply>
using ReplyCheck = std::string (*)(const Reply&);

/// A relay forwards waiting requests (i, request) to `target` as its own
/// requests and tells `driver` what became of each (scale_reply_atom).
template <class Handle, class Request, class Reply>
caf::behavior relay(caf::event_based_actor* self, Handle target,
                    caf::actor driver, ReplyCheck<Reply> check) {
  return {
      [=](std::uint64_t i, Request& req) {
        self->request(target, caf::infinite, allocate_atom::value, req)
            .then(
                [=](Reply& x) {
                  self->send(driver, scale_reply_atom::value, i, check(x));
                },
                [=](caf::error& err) {
                  self->send(driver, scale_reply_atom::value, i,
                             "failed: " + describe(err));
                });
      },
      [](relay_flush_atom x) { return x; },
  };
}

/// The driver's side of the relays: a new relay for every `per_relay`
/// waiting requests. A relay is not linked to the driver: it ends on its own
/// once its requests are answered and nobody holds it (exit reason
/// unreachable), which must not end the driver.
template <class Handle, class Request, class Reply>
class Relays {
public:
  Relays(Handle target, ReplyCheck<Reply> check)
    : target_(std::move(target))
    , check_(check) {}

  void send(self_ptr self, std::uint64_t i, Request req) {
    if (!current_ || sent_to_current_ == per_relay) {
      current_ = self->spawn(relay<Handle, Request, Reply>, target_,
                             caf::actor_cast<caf::actor>(self), check_);
      sent_to_current_ = 0;
    }
    if (unflushed_.empty() || unflushed_.back() != current_)
      unflushed_.push_back(current_);
    self->send(current_, i, std::move(req));
    ++sent_to_current_;
  }

  /// Runs `then` once every request sent so far has reached the target: a
  /// relay forwards in order and sends its request before it answers.
  void flush(self_ptr self, ScaleNext then, ScaleFail fail) {
    auto relays = std::move(unflushed_);
    unflushed_.clear();
    if (relays.empty()) {
      then();
      return;
    }
    auto missing = std::make_shared<std::size_t>(relays.size());
    for (auto& r : relays)
      self->request(r, caf::infinite, relay_flush_atom::value)
          .then(
              [missing, then](relay_flush_atom) {
                if (--*missing == 0)
                  then();
              },
              [fail](caf::error& err) {
                fail("a relay failed: " + describe(err));
              });
  }

private:
  Handle target_;
  ReplyCheck<Reply> check_;
  caf::actor current_;
  std::size_t sent_to_current_ = 0;
  std::vector<caf::actor> unflushed_;
};

/// The driver's callbacks for the waiting requests' outcomes (the same for
/// every request of a case).
struct Outcomes {
  ScaleNext granted;
  ScaleFail fail;

  void keep(ScaleNext g, ScaleFail f) {
    if (!granted) {
      granted = std::move(g);
      fail = std::move(f);
    }
  }

  void on_reply(const char* what, std::uint64_t i, const std::string& problem) {
    if (problem.empty()) {
      if (granted)
        granted();
    } else if (fail) {
      fail(std::string{what} + " " + text(i) + " " + problem);
    }
  }
};

std::string check_allocation(const ResourceAllocation& x) {
  if (!x.fully_satisfied || x.allocated_amount != 1.0f || x.grant_id == 0)
    return "was not granted in full";
  return {};
}

std::string check_bundle(const BundleGrant& g) {
  bool full = g.bundle_id != 0 && g.legs.size() == 2;
  for (const auto& leg : g.legs)
    full = full && leg.fully_satisfied && leg.grant_id != 0 &&
           leg.allocated_amount == 1.0f;
  return full ? std::string{} : std::string{"was not granted in full"};
}

/// Returns the blocking grant.
void give_back(self_ptr self, const pool_actor& pool, GrantId id,
               ScaleFail fail) {
  self->request(pool, caf::infinite, release_atom::value, id)
      .then([](ReleaseReceipt&) {},
            [fail](caf::error& err) {
              fail("releasing the blocking grant failed: " + describe(err));
            });
}

// -- pool waiters and waiting bundles -----------------------------------------

/// A queue whose waiting requests go to `target` through relays while one
/// grant of the driver takes all of `blocked` (a pool); an event asks
/// `target` for one more and cancels it by (requester, request_id).
template <class Handle, class Request, class Reply>
class RelayedQueue : public ScaleQueue {
public:
  RelayedQueue(Handle target, pool_actor blocked, std::size_t n,
               const char* noun, ReplyCheck<Reply> check)
    : target_(std::move(target))
    , blocked_(std::move(blocked))
    , n_(n)
    , noun_(noun)
    , relays_(target_, check) {}

  void block(self_ptr self, ScaleNext then, ScaleFail fail) override {
    take_all(self, blocked_, n_, blocker_, std::move(then), std::move(fail));
  }

  void enqueue(self_ptr self, std::size_t i, ScaleNext granted,
               ScaleFail fail) override {
    outcomes_.keep(std::move(granted), std::move(fail));
    relays_.send(self, i, request(i));
  }

  void on_reply(std::uint64_t i, const std::string& problem) override {
    outcomes_.on_reply(noun_, i, problem);
  }

  void sync(self_ptr self, std::function<void(std::uint64_t)> then,
            ScaleFail fail) override {
    relays_.flush(
        self, [this, self, then, fail] { count_waiting(self, then, fail); },
        fail);
  }

  void event(self_ptr self, std::uint64_t k, ScaleNext then,
             ScaleFail fail) override {
    auto req = request(n_ + k);
    auto both = two_replies(std::move(then));
    std::string extra = std::string{"an extra "} + noun_;
    self->request(target_, caf::infinite, allocate_atom::value, req)
        .then([fail, extra](Reply&) { fail(extra + " was granted"); },
              [both, fail, extra](caf::error& err) {
                if (is(err, ec::cancelled))
                  both->one();
                else
                  fail(extra + " failed: " + describe(err));
              });
    self->request(target_, caf::infinite, cancel_atom::value, req.requester_id,
                  req.request_id)
        .then([both](bool) { both->one(); },
              [fail](caf::error& err) {
                fail("cancel_atom failed: " + describe(err));
              });
  }

  void unblock(self_ptr self, ScaleFail fail) override {
    give_back(self, blocked_, blocker_, std::move(fail));
  }

protected:
  /// Waiting request `i` (ids unique per requester).
  virtual Request request(std::uint64_t i) const = 0;

  /// Runs `then` with the number waiting at the target.
  virtual void count_waiting(self_ptr self,
                             std::function<void(std::uint64_t)> then,
                             ScaleFail fail) = 0;

  Handle target_;

private:
  pool_actor blocked_;
  std::size_t n_;
  const char* noun_;
  GrantId blocker_ = 0;
  Relays<Handle, Request, Reply> relays_;
  Outcomes outcomes_;
};

/// Pool waiters: the pool is both the target and the pool held in full.
class PoolWaiters final
  : public RelayedQueue<pool_actor, ResourceRequest, ResourceAllocation> {
public:
  PoolWaiters(const pool_actor& pool, std::size_t n)
    : RelayedQueue(pool, pool, n, "request", check_allocation) {}

private:
  /// 1 unit with a deadline.
  ResourceRequest request(std::uint64_t i) const override {
    ResourceRequest r{
        scale_requester(i), ResourceType::COMPUTATIONAL, scale_priority(i),
        1.0f,
        std::chrono::duration_cast<std::chrono::milliseconds>(scale_deadline)};
    r.request_id = i + 1;
    return r;
  }

  void count_waiting(self_ptr self, std::function<void(std::uint64_t)> then,
                     ScaleFail fail) override {
    self->request(target_, caf::infinite, status_atom::value)
        .then([then](PoolStatus& x) { then(x.waiting); },
              [fail](caf::error& err) {
                fail("status_atom failed: " + describe(err));
              });
  }
};

/// Waiting bundles: the coordinator is the target; COMPUTATIONAL is held.
class WaitingBundles final
  : public RelayedQueue<bundle_actor, BundleRequest, BundleGrant> {
public:
  WaitingBundles(bundle_actor bundles, pool_actor compute, std::size_t n)
    : RelayedQueue(std::move(bundles), std::move(compute), n, "bundle",
                   check_bundle) {}

  /// The coordinator tries each new bundle at the pools, one attempt at a
  /// time, after accepting it: queued means every attempt has been made.
  bool has_activity() const override {
    return true;
  }

  void activity(self_ptr self, std::function<void(std::uint64_t)> then,
                ScaleFail fail) override {
    stats(
        self, [then](const BundleStats& x) { then(x.attempts); },
        std::move(fail));
  }

private:
  /// COMPUTATIONAL 1 + IO 1 with a deadline.
  BundleRequest request(std::uint64_t i) const override {
    BundleRequest r;
    r.requester_id = scale_requester(i);
    r.priority = scale_priority(i);
    r.items = {{ResourceType::COMPUTATIONAL, 1.0f}, {ResourceType::IO, 1.0f}};
    r.deadline = scale_deadline;
    r.request_id = i + 1;
    return r;
  }

  void count_waiting(self_ptr self, std::function<void(std::uint64_t)> then,
                     ScaleFail fail) override {
    stats(
        self, [then](const BundleStats& x) { then(x.waiting); },
        std::move(fail));
  }

  template <class Then>
  void stats(self_ptr self, Then then, ScaleFail fail) {
    self->request(target_, caf::infinite, stats_atom::value)
        .then([then](BundleStats& x) { then(x); },
              [fail](caf::error& err) {
                fail("stats_atom failed: " + describe(err));
              });
  }
};

// -- pending tasks ------------------------------------------------------------

/// Ids of the n pending tasks start with this; extra tasks with "scale-x".
const char* const pending_prefix = "scale-t";

class PendingTasks final : public ScaleQueue {
public:
  PendingTasks(scheduler_actor scheduler, pool_actor compute, std::size_t n)
    : scheduler_(std::move(scheduler))
    , compute_(std::move(compute))
    , n_(n) {}

  void block(self_ptr self, ScaleNext then, ScaleFail fail) override {
    take_all(self, compute_, n_, blocker_, std::move(then), std::move(fail));
  }

  /// The receipt says the task is queued; `granted` runs when it completed.
  void enqueue(self_ptr self, std::size_t i, ScaleNext granted,
               ScaleFail fail) override {
    if (!granted_) {
      granted_ = std::move(granted);
      fail_ = fail;
    }
    ++sent_;
    auto id = std::string{pending_prefix} + text(i);
    auto t = task(id, i, ResourceType::COMPUTATIONAL, self);
    self->request(scheduler_, caf::infinite, schedule_atom::value, std::move(t))
        .then(
            [this](TaskReceipt&) {
              ++receipts_;
              after_receipt();
            },
            [id, fail](caf::error& err) {
              fail("task " + id + " was refused: " + describe(err));
            });
  }

  /// After every receipt: the scheduler's own count of pending tasks.
  void sync(self_ptr self, std::function<void(std::uint64_t)> then,
            ScaleFail fail) override {
    synced_ = [this, self, then, fail] {
      self->request(scheduler_, caf::infinite, stats_atom::value)
          .then([then](SchedulerStats& x) { then(x.pending_tasks); },
                [fail](caf::error& err) {
                  fail("stats_atom failed: " + describe(err));
                });
    };
    after_receipt();
  }

  void event(self_ptr self, std::uint64_t k, ScaleNext then,
             ScaleFail fail) override {
    extra_id_ = "scale-x" + text(k);
    extra_ = two_replies(std::move(then));
    auto t = task(extra_id_, n_ + k, ResourceType::IO, self);
    self->request(scheduler_, caf::infinite, schedule_atom::value, std::move(t))
        .then([extra = extra_](TaskReceipt&) { extra->one(); },
              [fail](caf::error& err) {
                fail("an extra task was refused: " + describe(err));
              });
  }

  void unblock(self_ptr self, ScaleFail fail) override {
    give_back(self, compute_, blocker_, std::move(fail));
  }

  void on_task_event(const TaskEvent& ev) override {
    auto pending = ev.task_id.rfind(pending_prefix, 0) == 0;
    if (ev.kind != TaskEventKind::completed) {
      if (fail_)
        fail_("task " + ev.task_id + " " + to_string(ev.kind) + ": " +
              ev.detail);
      return;
    }
    if (pending) {
      if (granted_)
        granted_();
    } else if (extra_ && ev.task_id == extra_id_) {
      auto extra = std::move(extra_);
      extra->one();
    }
  }

private:
  void after_receipt() {
    if (synced_ && receipts_ == sent_) {
      auto synced = std::move(synced_);
      synced_ = nullptr;
      synced();
    }
  }

  /// Task `i`: an empty body, `type` 1, a deadline; it tells the driver.
  static TaskSubmission task(const std::string& id, std::uint64_t i,
                             ResourceType type, self_ptr self) {
    TaskSubmission t;
    t.task_id = id;
    t.priority = scale_priority(i);
    t.body = [] {};
    t.has_deadline = true;
    t.deadline = scale_deadline;
    t.requirements[type] = 1.0f;
    t.notify = caf::actor_cast<caf::actor>(self);
    return t;
  }

  scheduler_actor scheduler_;
  pool_actor compute_;
  std::size_t n_;
  GrantId blocker_ = 0;
  std::size_t sent_ = 0;
  std::size_t receipts_ = 0;
  std::function<void()> synced_;
  ScaleNext granted_;
  ScaleFail fail_;
  std::string extra_id_;
  std::shared_ptr<TwoReplies> extra_;
};

} // namespace

std::shared_ptr<ScaleQueue> pool_waiters(pool_actor pool, std::size_t n) {
  return std::make_shared<PoolWaiters>(std::move(pool), n);
}

std::shared_ptr<ScaleQueue> waiting_bundles(bundle_actor bundles,
                                            pool_actor compute, std::size_t n) {
  return std::make_shared<WaitingBundles>(std::move(bundles),
                                          std::move(compute), n);
}

std::shared_ptr<ScaleQueue> pending_tasks(scheduler_actor scheduler,
                                          pool_actor compute, std::size_t n) {
  return std::make_shared<PendingTasks>(std::move(scheduler),
                                        std::move(compute), n);
}

} // namespace rros::app::benchmark
