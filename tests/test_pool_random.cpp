// Randomized test of one pool actor on the deterministic fixture: thousands of
// mixed operations (holder actors that ask for grants and may wait, the test's
// own allocations and releases, release by id, reservations, cancellation,
// killing holders, virtual time, bad input), driven by fixed seeds. After every
// step the exact ledger, every requester's holding, the statistics and the
// lease rules (no grant outlives its holder or its time-to-live, no waiting
// request outlives its deadline, every reply is one the protocol allows) are
// checked against what the test saw.
#include <algorithm>
#include <cmath>
#include <deque>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fixture.hpp"

#include "actors/pool.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;
constexpr double pool_capacity = 100.0;
constexpr units capacity_units = 100 * units_per_amount;
constexpr std::chrono::nanoseconds aging_interval = 1s;
constexpr std::chrono::nanoseconds preemption_grace = 200ms;
constexpr int steps_per_seed = 3000;

/// Every amount the test uses is a multiple of 0.25, so floats carry them
/// exactly and the ledger can be compared in units without tolerance.
units to_u(double amount) {
  return static_cast<units>(std::llround(amount * units_per_amount));
}

/// What one holder actor saw, with the virtual time of each event.
struct RandomHolderLog {
  ResourceRequest req;
  bool release_on_notice = false;
  pool_time sent;
  std::optional<ResourceAllocation> grant;
  std::optional<caf::error> error;
  pool_time answered_at;
  std::vector<std::pair<GrantNotice, pool_time>> notices;
  std::vector<ReleaseReceipt> released; // its own releases on notice
  std::vector<caf::error> release_errors;
};

/// Sends `xs` to `pool` as `self` and delivers the reply to the current
/// sender.
template <class Result, class... Ts>
caf::result<Result> relayed(caf::event_based_actor* self,
                            const pool_actor& pool, Ts... xs) {
  auto promise = self->make_response_promise<Result>();
  self->request(pool, caf::infinite, xs...)
      .then([=](Result& r) mutable { promise.deliver(std::move(r)); },
            [=](caf::error& e) mutable { promise.deliver(std::move(e)); });
  return promise;
}

/// Asks `pool` once for log->req and records the reply and every revoke
/// notice; with release_on_notice it returns a preempted grant at once.
caf::behavior random_holder(caf::event_based_actor* self, pool_actor pool,
                            std::shared_ptr<RandomHolderLog> log) {
  log->sent = self->clock().now();
  self->request(pool, caf::infinite, allocate_atom::value, log->req)
      .then(
          [=](ResourceAllocation& a) {
            log->grant = a;
            log->answered_at = self->clock().now();
          },
          [=](caf::error& e) {
            log->error = e;
            log->answered_at = self->clock().now();
          });
  // Relays the test's operations on this holder's grants and request: only
  // the actor that took a grant may release, renew or cancel it.
  return {
      [=](release_atom, const std::string& who, float amount,
          ReleaseMode mode) -> caf::result<ReleaseReceipt> {
        return relayed<ReleaseReceipt>(self, pool, release_atom::value, who,
                                       amount, mode);
      },
      [=](release_atom, GrantId id) -> caf::result<ReleaseReceipt> {
        return relayed<ReleaseReceipt>(self, pool, release_atom::value, id);
      },
      [=](renew_atom, GrantId id,
          std::chrono::nanoseconds ttl) -> caf::result<ResourceAllocation> {
        return relayed<ResourceAllocation>(self, pool, renew_atom::value, id,
                                           ttl);
      },
      [=](cancel_atom, const std::string& who,
          std::uint64_t id) -> caf::result<bool> {
        return relayed<bool>(self, pool, cancel_atom::value, who, id);
      },
      [=](revoke_atom, const GrantNotice& notice) {
        log->notices.emplace_back(notice, self->clock().now());
        if (log->release_on_notice && notice.reason == RevokeReason::preempted)
          self->request(pool, caf::infinite, release_atom::value,
                        notice.grant_id)
              .then([=](ReleaseReceipt& r) { log->released.push_back(r); },
                    [=](caf::error& e) { log->release_errors.push_back(e); });
      },
  };
}

/// The test's view of one holder actor (requester id "h<index>", never
/// reused).
struct Holder {
  std::string id;
  caf::actor actor;
  std::shared_ptr<RandomHolderLog> log;
  int spawn_step = 0;
  bool alive = true;
  bool answer_seen = false;
  std::size_t notices_seen = 0;
  std::size_t released_seen = 0;
  std::size_t release_errors_seen = 0;
  bool cancel_expected = false; // the test cancelled its waiting request
  bool has_expiry = false;      // its grant has a time-to-live
  pool_time expiry;
  bool expired_notice = false;

  bool waiting() const {
    return alive && !answer_seen && log->req.deadline.count() > 0;
  }
};

/// A grant the test's own scoped actor holds (or held).
struct OwnGrant {
  std::string requester;
  ResourceRequest req;
  units amount = 0;
  bool has_expiry = false;
  pool_time expiry;
  bool gone = false; // known to be returned
  bool expired_notice = false;
};

std::string describe_request(const ResourceRequest& r) {
  std::ostringstream out;
  out << r.requester_id << " amount=" << r.amount
      << " prio=" << to_string(r.priority) << " preemptable=" << r.preemptable
      << " ttl="
      << std::chrono::duration_cast<std::chrono::milliseconds>(r.ttl).count()
      << "ms deadline=" << r.deadline.count() << "ms id=" << r.request_id;
  return out.str();
}

std::string describe_status(const PoolStatus& s) {
  std::ostringstream out;
  out << "{capacity=" << s.capacity << " held=" << s.held
      << " reserved=" << s.reserved << " available=" << s.available
      << " holders=" << s.holders << "}";
  return out.str();
}

bool same(const PoolStatus& x, const PoolStatus& y) {
  return x.type == y.type && x.capacity == y.capacity && x.held == y.held &&
         x.reserved == y.reserved && x.available == y.available &&
         x.holders == y.holders;
}

} // namespace

// Fails the current seed with a message (streamed) and leaves the calling
// function: one failure per seed, reported with the last operations.
#define RANDOM_CHECK(cond, msg)                                                \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::ostringstream random_check_out_;                                    \
      random_check_out_ << msg;                                                \
      fail(#cond, random_check_out_.str());                                    \
      return;                                                                  \
    }                                                                          \
  } while (false)

class PoolRandomTest : public DeterministicFixture,
                       public ::testing::WithParamInterface<std::uint32_t> {
public:
  PoolRandomTest()
    : rng_(GetParam()) {
    PoolPolicy policy;
    policy.aging_interval = aging_interval;
    policy.preemption_grace = preemption_grace;
    policy.max_preemptions_per_round = 3;
    pool_ = sys.spawn(rros::pool, compute, pool_capacity, policy);
    run();
    for (int i = 0; i < 4; ++i) {
      own_requesters_.push_back("s" + std::to_string(i));
      hold_[own_requesters_.back()] = 0;
    }
  }

  ~PoolRandomTest() override {
    for (auto& h : holders_)
      if (h.alive)
        caf::anon_send_exit(h.actor, caf::exit_reason::kill);
    caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
    run();
  }

  // -- the driver -------------------------------------------------------------

  void run_seed() {
    for (step_ = 0; step_ < steps_per_seed && ok_; ++step_) {
      one_step();
      if (!ok_)
        break;
      after_step();
      if (ok_ && step_ % 100 == 99)
        check_dead_holders();
    }
    if (ok_)
      wind_down();
  }

  void one_step() {
    timed_ = false;
    killed_.clear();
    delta_.clear();
    cancelled_now_.clear();
    auto pick = uniform(0, 99);
    if (pick < 22)
      spawn_holder();
    else if (pick < 32)
      own_allocate();
    else if (pick < 42)
      release_by_requester();
    else if (pick < 52)
      release_by_id();
    else if (pick < 57)
      reserve();
    else if (pick < 61)
      unreserve();
    else if (pick < 66)
      cancel();
    else if (pick < 75)
      kill_holder();
    else if (pick < 90)
      advance_clock();
    else if (pick < 94)
      renew();
    else
      bad_input();
  }

  // -- operations -------------------------------------------------------------

  void spawn_holder() {
    if (live_count() >= (calm() ? 12u : 40u))
      return kill_holder();
    Holder h;
    h.id = "h" + std::to_string(holders_.size());
    h.spawn_step = step_;
    h.log = std::make_shared<RandomHolderLog>();
    auto& r = h.log->req;
    r = request(h.id, compute, holder_amount(), random_priority());
    r.preemptable = coin(60);
    r.ttl = coin(40) ? std::chrono::nanoseconds{0} : random_duration();
    r.deadline = coin(50) ? 0ms : random_ms();
    r.request_id = static_cast<std::uint64_t>(uniform(1, 1000000));
    h.log->release_on_notice = coin(50);
    note("spawn " + describe_request(r) +
         (h.log->release_on_notice ? " (releases on notice)" : ""));
    auto before = status();
    auto go = may_go(r);
    h.actor = sys.spawn(random_holder, pool_, h.log);
    holders_.push_back(std::move(h));
    hold_[holders_.back().id] = 0;
    run();
    // A request that cannot wait, under a new name (no reservation): granted
    // in full exactly when it fits into what is available and no better-ranked
    // waiting request blocks it; CRITICAL takes exactly what is available.
    auto& log = *holders_.back().log;
    auto amount = to_u(r.amount);
    if (r.deadline.count() > 0 || amount > capacity_units)
      return;
    if (go && amount <= before.available) {
      RANDOM_CHECK(log.grant && log.grant->fully_satisfied,
                   "a request that fits and may go was not granted in full");
    } else if (go && r.priority == Priority::CRITICAL && before.available > 0) {
      RANDOM_CHECK(log.grant && !log.grant->fully_satisfied &&
                       to_u(log.grant->allocated_amount) == before.available,
                   "CRITICAL did not get exactly the " << before.available
                                                       << " units available");
    } else {
      RANDOM_CHECK(log.error && is(*log.error, ec::insufficient_resources),
                   (go ? "more than available" : "blocked by a waiting request")
                       << " but not refused");
    }
  }

  void own_allocate() {
    auto r = request(pick_own(), compute, own_amount(), random_priority());
    r.preemptable = coin(50);
    r.ttl = coin(30) ? std::chrono::nanoseconds{0} : random_duration();
    note("own allocate " + describe_request(r));
    auto before = status();
    auto go = may_go(r);
    auto result = ask<ResourceAllocation>(pool_, allocate_atom::value, r);
    auto amount = to_u(r.amount);
    if (amount > capacity_units) {
      RANDOM_CHECK(fails_with(result, ec::exceeds_capacity),
                   "an amount above the capacity");
      ++rejections_;
      ++coverage_["own exceeds_capacity"];
      return;
    }
    if (!result) {
      RANDOM_CHECK(fails_with(result, ec::insufficient_resources),
                   "own allocate failed with " << describe(result.error()));
      RANDOM_CHECK(!go || amount > before.available,
                   "refused " << r.amount
                              << " though nothing blocks it, before "
                              << describe_status(before));
      ++rejections_;
      ++coverage_["own insufficient_resources"];
      return;
    }
    auto granted = to_u(result->allocated_amount);
    RANDOM_CHECK(go, "granted past a better-ranked waiting request whose "
                     "deadline its lease may outlast");
    RANDOM_CHECK(new_grant_id(result->grant_id),
                 "grant id " << result->grant_id << " was not new");
    RANDOM_CHECK(result->requester_id == r.requester_id,
                 "granted to " << result->requester_id);
    if (result->fully_satisfied) {
      RANDOM_CHECK(granted == amount, "full grant of " << granted << " units");
    } else {
      RANDOM_CHECK(r.priority == Priority::CRITICAL && granted > 0 &&
                       granted < amount,
                   "partial grant of " << granted << " units");
    }
    RANDOM_CHECK(granted <= before.available + before.reserved,
                 "granted " << granted << " units, before "
                            << describe_status(before));
    OwnGrant g;
    g.requester = r.requester_id;
    g.req = r;
    g.amount = granted;
    g.has_expiry = r.ttl.count() > 0;
    g.expiry = now() + r.ttl;
    own_.emplace(result->grant_id, std::move(g));
    ++coverage_[result->fully_satisfied ? "own grant" : "own partial grant"];
    delta_[r.requester_id] += granted;
    ++grants_;
  }

  void release_by_requester() {
    std::string who;
    auto kind = uniform(0, 99);
    if (kind < 50)
      who = pick_own();
    else if (kind < 85 && live_count() > 0)
      who = holders_[pick_live()].id;
    else if (kind < 95 && holders_.size() > live_count())
      who = holders_[pick_dead()].id;
    else
      who = "nobody" + std::to_string(uniform(0, 9));
    auto amount = quarter(1, 160);
    auto mode = coin(50) ? ReleaseMode::exact : ReleaseMode::up_to_held;
    note("release " + who + " " + std::to_string(amount) + " " +
         to_string(mode));
    auto held = model_hold(who);
    auto result = ask_as<ReleaseReceipt>(sender_for(who), release_atom::value,
                                         who, amount, mode);
    if (held == 0) {
      RANDOM_CHECK(fails_with(result, ec::nothing_held), "holds nothing");
      ++coverage_["release nothing_held"];
      return;
    }
    if (mode == ReleaseMode::exact && to_u(amount) > held) {
      RANDOM_CHECK(fails_with(result, ec::release_exceeds_holding),
                   "holds " << held << " units");
      ++coverage_["release exceeds holding"];
      return;
    }
    RANDOM_CHECK(result, "release failed with " << describe(result.error()));
    auto returned = std::min(to_u(amount), held);
    RANDOM_CHECK(to_u(result->released_amount) == returned &&
                     to_u(result->still_held) == held - returned,
                 "receipt " << result->released_amount << " / "
                            << result->still_held << " for a holding of "
                            << held << " units");
    delta_[who] -= returned;
    ++coverage_[who[0] == 'h' ? "release holder by requester"
                              : "release own by requester"];
  }

  void release_by_id() {
    GrantId id = 0;
    std::string owner;
    caf::actor via;
    bool must_be_unknown = true;
    auto kind = uniform(0, 3);
    auto candidates = known_grants(kind == 0);
    if (kind <= 1 && !candidates.empty()) {
      // A grant that may still be held (kind 0), or any grant ever made.
      id = candidates[static_cast<std::size_t>(
          uniform(0, static_cast<int>(candidates.size()) - 1))];
      auto ref = lookup_grant(id);
      owner = ref.owner;
      must_be_unknown = ref.must_be_unknown;
      via = sender_for(ref);
    } else if (kind == 2 && !released_ids_.empty()) {
      id = *std::next(released_ids_.begin(),
                      uniform(0, static_cast<int>(released_ids_.size()) - 1));
    } else {
      id = 1'000'000'000'000'000ull + static_cast<GrantId>(uniform(0, 1 << 30));
    }
    note("release grant " + std::to_string(id) +
         (owner.empty() ? "" : " of " + owner));
    auto result = ask_as<ReleaseReceipt>(via, release_atom::value, id);
    if (must_be_unknown || !result) {
      RANDOM_CHECK(fails_with(result, ec::unknown_grant),
                   "grant " << id << " should be unknown");
      ++coverage_[must_be_unknown ? "release id unknown (expected)"
                                  : "release id unknown (gone)"];
      return;
    }
    auto released = to_u(result->released_amount);
    RANDOM_CHECK(result->requester_id == owner,
                 "receipt names " << result->requester_id);
    RANDOM_CHECK(released > 0 &&
                     to_u(result->still_held) == model_hold(owner) - released,
                 "receipt " << result->released_amount << " / "
                            << result->still_held << " for a holding of "
                            << model_hold(owner) << " units");
    if (auto i = own_.find(id); i != own_.end()) {
      RANDOM_CHECK(released <= i->second.amount,
                   "released more than was granted");
      i->second.gone = true;
    } else {
      // A holder has exactly one grant: all of its holding is that grant.
      RANDOM_CHECK(released == model_hold(owner),
                   "released " << released << " of a holder's grant");
    }
    released_ids_.insert(id);
    delta_[owner] -= released;
    ++coverage_["release id ok"];
  }

  void reserve() {
    auto who =
        coin(80) || live_count() == 0 ? pick_own() : holders_[pick_live()].id;
    auto amount = quarter(1, 80);
    auto with_ttl = coin(70);
    auto ttl = with_ttl ? random_duration() : std::chrono::nanoseconds{0};
    note("reserve " + who + " " + std::to_string(amount) +
         (with_ttl ? " ttl " + std::to_string(ttl.count() / 1000000) + "ms"
                   : ""));
    reserved_for_.insert(who);
    auto before = status();
    auto result =
        with_ttl ? ask<PoolStatus>(pool_, reserve_atom::value, who, amount, ttl)
                 : ask<PoolStatus>(pool_, reserve_atom::value, who, amount);
    if (to_u(amount) > before.available) {
      RANDOM_CHECK(fails_with(result, ec::insufficient_resources),
                   "before " << describe_status(before));
      ++coverage_["reserve refused"];
      return;
    }
    RANDOM_CHECK(result, "reserve failed with " << describe(result.error()));
    RANDOM_CHECK(result->held == before.held &&
                     result->reserved == before.reserved + to_u(amount) &&
                     result->available == before.available - to_u(amount),
                 "before " << describe_status(before) << ", after "
                           << describe_status(*result));
    ++coverage_[with_ttl ? "reserve with ttl" : "reserve"];
  }

  void unreserve() {
    std::string who;
    if (!reserved_for_.empty() && coin(80))
      who = *std::next(reserved_for_.begin(),
                       uniform(0, static_cast<int>(reserved_for_.size()) - 1));
    else
      who = coin(50) ? pick_own() : "nobody" + std::to_string(uniform(0, 9));
    note("unreserve " + who);
    auto before = status();
    auto result = ask<float>(pool_, unreserve_atom::value, who);
    if (!result) {
      RANDOM_CHECK(fails_with(result, ec::nothing_held),
                   "unreserve failed with " << describe(result.error()));
      return;
    }
    RANDOM_CHECK(reserved_for_.count(who) > 0, "nobody reserved for " << who);
    RANDOM_CHECK(*result > 0 && to_u(*result) <= before.reserved,
                 "returned " << *result << ", before "
                             << describe_status(before));
    ++coverage_["unreserve"];
  }

  void cancel() {
    std::vector<std::size_t> waiting;
    for (std::size_t i = 0; i < holders_.size(); ++i)
      if (holders_[i].waiting())
        waiting.push_back(i);
    if (!waiting.empty() && coin(60)) {
      auto& h = holders_[waiting[static_cast<std::size_t>(
          uniform(0, static_cast<int>(waiting.size()) - 1))]];
      note("cancel " + h.id + " " + std::to_string(h.log->req.request_id));
      h.cancel_expected = true;
      cancelled_now_.push_back(h.id);
      auto result = ask_as<bool>(h.actor, cancel_atom::value, h.id,
                                 h.log->req.request_id);
      RANDOM_CHECK(result && *result == true,
                   "cancelling a waiting request: "
                       << (result ? "false" : describe(result.error())));
      return;
    }
    // Nothing waits under these names and ids.
    std::string who;
    std::uint64_t id = 0;
    if (!holders_.empty() && coin(70)) {
      auto& h = holders_[static_cast<std::size_t>(
          uniform(0, static_cast<int>(holders_.size()) - 1))];
      who = h.id;
      id = h.waiting() ? h.log->req.request_id + 1 : h.log->req.request_id;
    } else {
      who = pick_own();
      id = static_cast<std::uint64_t>(uniform(0, 1000000));
    }
    note("cancel (not waiting) " + who + " " + std::to_string(id));
    RANDOM_CHECK(fails_with(ask<bool>(pool_, cancel_atom::value, who, id),
                            ec::unknown_request),
                 "cancel of " << who << "/" << id);
  }

  void kill_holder() {
    if (live_count() == 0)
      return advance_clock();
    std::vector<std::size_t> waiting;
    for (std::size_t i = 0; i < holders_.size(); ++i)
      if (holders_[i].waiting())
        waiting.push_back(i);
    auto& h = !waiting.empty() && coin(25)
                  ? holders_[waiting[static_cast<std::size_t>(
                        uniform(0, static_cast<int>(waiting.size()) - 1))]]
                  : holders_[pick_live()];
    note("kill " + h.id);
    caf::anon_send_exit(h.actor, caf::exit_reason::kill);
    h.alive = false;
    killed_.push_back(h.id);
    run();
    auto left = holding(h.id);
    RANDOM_CHECK(left == 0, "a killed holder still holds " << left << " units");
    if (model_hold(h.id) > 0)
      ++coverage_["kill holding"];
    if (!h.answer_seen && h.log->req.deadline.count() > 0)
      ++coverage_["kill waiting"];
  }

  void advance_clock() {
    auto d = std::chrono::milliseconds{uniform(1, 1000)};
    note("advance " + std::to_string(d.count()) + "ms");
    timed_ = true;
    advance(d);
    // No own grant outlives its time-to-live.
    for (auto& [id, g] : own_) {
      if (g.gone || !g.has_expiry || now() < g.expiry)
        continue;
      RANDOM_CHECK(
          fails_with(ask<ReleaseReceipt>(pool_, release_atom::value, id),
                     ec::unknown_grant),
          "own grant " << id << " of " << g.requester
                       << " outlived its time-to-live");
      g.gone = true;
      ++coverage_["own ttl probe"];
    }
  }

  void renew() {
    // Mostly grants that may still be held, else any grant ever made.
    auto ids = known_grants(coin(75));
    if (ids.empty())
      return advance_clock();
    auto id = ids[static_cast<std::size_t>(
        uniform(0, static_cast<int>(ids.size()) - 1))];
    auto ref = lookup_grant(id);
    auto must_be_unknown = ref.must_be_unknown;
    auto own = ref.own;
    auto holder = ref.holder;
    auto ttl = random_duration();
    note("renew " + std::to_string(id) + " " +
         std::to_string(ttl.count() / 1000000) + "ms");
    auto result =
        ask_as<ResourceAllocation>(sender_for(ref), renew_atom::value, id, ttl);
    if (must_be_unknown || !result) {
      RANDOM_CHECK(fails_with(result, ec::unknown_grant),
                   "renewing grant " << id);
      return;
    }
    RANDOM_CHECK(result->grant_id == id, "renewal names " << result->grant_id);
    ++coverage_["renew"];
    if (own != nullptr) {
      own->has_expiry = true;
      own->expiry = now() + ttl;
    } else {
      holder->has_expiry = true;
      holder->expiry = now() + ttl;
    }
  }

  void bad_input() {
    auto before = status();
    auto kind = uniform(0, 15);
    note("bad input #" + std::to_string(kind));
    auto nan = std::numeric_limits<float>::quiet_NaN();
    auto inf = std::numeric_limits<float>::infinity();
    auto who = pick_own();
    auto alloc = [&](ResourceRequest r) {
      return ask<ResourceAllocation>(pool_, allocate_atom::value, r);
    };
    auto req = [&](float amount) { return request(who, compute, amount); };
    ::testing::AssertionResult verdict = ::testing::AssertionSuccess();
    switch (kind) {
      case 0:
        verdict = fails_with(alloc(req(nan)), ec::invalid_amount);
        break;
      case 1:
        verdict = fails_with(alloc(req(-5.0f)), ec::invalid_amount);
        break;
      case 2:
        verdict = fails_with(alloc(req(0.0f)), ec::invalid_amount);
        break;
      case 3:
        verdict = fails_with(alloc(req(inf)), ec::invalid_amount);
        break;
      case 4:
        verdict = fails_with(alloc(req(2e12f)), ec::amount_too_large);
        break;
      case 5: {
        auto r = req(5.0f);
        r.ttl = -std::chrono::nanoseconds{uniform(1, 1000000)};
        verdict = fails_with(alloc(r), ec::invalid_duration);
        break;
      }
      case 6: {
        auto r = req(5.0f);
        r.deadline = -std::chrono::milliseconds{uniform(1, 1000)};
        verdict = fails_with(alloc(r), ec::invalid_duration);
        break;
      }
      case 7:
        verdict =
            fails_with(alloc(request("", compute, 5.0f)), ec::empty_requester);
        break;
      case 8:
        verdict = fails_with(
            alloc(request(who, compute, 5.0f, static_cast<Priority>(9))),
            ec::invalid_priority);
        break;
      case 9:
        verdict = fails_with(alloc(request(who, ResourceType::MEMORY, 5.0f)),
                             ec::unknown_resource_type);
        break;
      case 10:
        verdict = fails_with(ask<ReleaseReceipt>(pool_, release_atom::value,
                                                 who, coin(50) ? nan : -1.0f,
                                                 ReleaseMode::up_to_held),
                             ec::invalid_amount);
        break;
      case 11:
        verdict = fails_with(ask<ReleaseReceipt>(pool_, release_atom::value,
                                                 who, 0.0f, ReleaseMode::exact),
                             ec::invalid_amount);
        break;
      case 12:
        verdict = fails_with(ask<PoolStatus>(pool_, reserve_atom::value, who,
                                             coin(50) ? nan : -3.0f),
                             ec::invalid_amount);
        break;
      case 13:
        verdict = fails_with(
            ask<PoolStatus>(pool_, reserve_atom::value, who, 1.0f,
                            -std::chrono::nanoseconds{uniform(1, 1000000)}),
            ec::invalid_duration);
        break;
      case 14: {
        auto id = own_.empty() ? GrantId{1} : own_.rbegin()->first;
        verdict = fails_with(
            ask<ResourceAllocation>(pool_, renew_atom::value, id,
                                    coin(50) ? std::chrono::nanoseconds{0}
                                             : std::chrono::nanoseconds{-5}),
            ec::invalid_duration);
        break;
      }
      default:
        verdict =
            fails_with(ask<float>(pool_, unreserve_atom::value, std::string{}),
                       ec::empty_requester);
        break;
    }
    RANDOM_CHECK(verdict, "bad input #" << kind << ": " << verdict.message());
    ++coverage_["bad input"];
    auto after = status();
    RANDOM_CHECK(same(before, after), "bad input changed the ledger from "
                                          << describe_status(before) << " to "
                                          << describe_status(after));
  }

  // -- checks after every step ------------------------------------------------

  void after_step() {
    drain_own_notices();
    if (!ok_)
      return;
    for (auto& h : holders_)
      if (h.alive || is_killed(h.id)) {
        collect(h);
        if (!ok_)
          return;
      }
    for (auto& who : cancelled_now_)
      RANDOM_CHECK(holder_by_id(who).log->error &&
                       is(*holder_by_id(who).log->error, ec::cancelled),
                   who << " was cancelled but got no `cancelled` reply");
    // 1. The exact ledger.
    auto st = status();
    RANDOM_CHECK(st.capacity == capacity_units &&
                     st.capacity == st.held + st.reserved + st.available &&
                     st.held >= 0 && st.reserved >= 0 && st.available >= 0,
                 "ledger " << describe_status(st));
    // Every grant and refusal the pool counted is one the test saw.
    auto stats = ask_ok<ResourceStats>(pool_, stats_atom::value);
    RANDOM_CHECK(stats.allocation_count == grants_ &&
                     stats.rejection_count == rejections_,
                 "stats count " << stats.allocation_count << " grants and "
                                << stats.rejection_count
                                << " rejections, the test saw " << grants_
                                << " and " << rejections_);
    // 2. Holdings: the model where no time passed, bounds where it did; the
    // live requesters account for all of `held`, so nobody else (no dead
    // holder) holds anything.
    units sum = 0;
    std::uint32_t count = 0;
    std::map<std::string, units> next;
    for (auto& [who, before] : hold_) {
      auto now_held = holding(who);
      auto expected = before + delta_[who];
      if (is_killed(who)) {
        RANDOM_CHECK(now_held == 0, who << " is dead but holds " << now_held);
        continue;
      }
      if (!timed_) {
        RANDOM_CHECK(now_held == expected, who << " holds " << now_held
                                               << " units, expected "
                                               << expected);
      } else {
        RANDOM_CHECK(now_held <= expected, who << " holds " << now_held
                                               << " units, at most " << expected
                                               << " expected");
        if (now_held < expected)
          ++coverage_["lost to time"];
        if (now_held < expected && who[0] == 'h')
          RANDOM_CHECK(!holder_by_id(who).log->notices.empty(),
                       who << " lost " << expected - now_held
                           << " units without a notice");
      }
      RANDOM_CHECK(now_held >= 0, who << " holds " << now_held);
      sum += now_held;
      count += now_held > 0 ? 1 : 0;
      next[who] = now_held;
    }
    RANDOM_CHECK(sum == st.held && count == st.holders,
                 "live requesters hold " << sum << " units in " << count
                                         << " holdings, the ledger says "
                                         << describe_status(st));
    hold_ = std::move(next);
    // Liveness: every change that frees capacity serves the queue, so the
    // best-ranked waiting request does not fit; thus some waiting request
    // needs more than is available to everybody. Off in the main test
    // because of the pool bug shown by PoolRandomRepro below.
    if (check_liveness_) {
      bool any_waits = false;
      bool one_lacks = false;
      for (auto& h : holders_)
        if (h.waiting()) {
          any_waits = true;
          one_lacks = one_lacks || to_u(h.log->req.amount) > st.available;
        }
      RANDOM_CHECK(!any_waits || one_lacks,
                   "every waiting request fits into the available "
                       << st.available << " units, yet they all wait");
    }
    // 3. Time: no waiting request outlives its deadline, no holder's grant
    // its time-to-live; a request that cannot wait is answered at once.
    for (auto& h : holders_) {
      if (!h.alive)
        continue;
      auto& r = h.log->req;
      if (!h.answer_seen) {
        RANDOM_CHECK(r.deadline.count() > 0,
                     h.id << " got no answer but could not wait");
        RANDOM_CHECK(now() < h.log->sent + r.deadline,
                     h.id << " still waits after its deadline");
      }
      if (h.has_expiry && now() >= h.expiry)
        RANDOM_CHECK(model_hold(h.id) == 0,
                     h.id << " holds " << model_hold(h.id)
                          << " units after its time-to-live");
    }
  }

  /// Checks what a holder saw since the last step.
  void collect(Holder& h) {
    auto& log = *h.log;
    auto& r = log.req;
    auto amount = to_u(r.amount);
    if (!h.answer_seen && (log.grant || log.error)) {
      h.answer_seen = true;
      if (log.grant) {
        auto& g = *log.grant;
        auto granted = to_u(g.allocated_amount);
        RANDOM_CHECK(new_grant_id(g.grant_id), h.id << " got grant id "
                                                    << g.grant_id
                                                    << " which is not new");
        RANDOM_CHECK(g.requester_id == h.id && g.resource_type == compute,
                     h.id << " got a grant for " << g.requester_id);
        RANDOM_CHECK(amount <= capacity_units,
                     h.id << " was granted more than the capacity");
        if (g.fully_satisfied) {
          RANDOM_CHECK(granted == amount,
                       h.id << " got " << granted << " units in full");
        } else {
          RANDOM_CHECK(r.priority == Priority::CRITICAL &&
                           r.deadline.count() == 0 && granted > 0 &&
                           granted < amount,
                       h.id << " got a partial grant of " << granted
                            << " units for " << describe_request(r));
        }
        RANDOM_CHECK(!h.cancel_expected, h.id << " was granted after cancel");
        holder_grants_.emplace(g.grant_id, index_of(h));
        ++coverage_[!g.fully_satisfied      ? "holder partial grant"
                    : h.spawn_step != step_ ? "holder grant after waiting"
                                            : "holder grant"];
        delta_[h.id] += granted;
        ++grants_;
        if (r.ttl.count() > 0) {
          h.has_expiry = true;
          h.expiry = log.answered_at + r.ttl;
        }
      } else {
        auto& e = *log.error;
        if (amount > capacity_units) {
          RANDOM_CHECK(is(e, ec::exceeds_capacity),
                       h.id << " asked above the capacity and got "
                            << describe(e));
          ++rejections_;
          ++coverage_["holder exceeds_capacity"];
        } else if (is(e, ec::insufficient_resources)) {
          RANDOM_CHECK(r.deadline.count() == 0,
                       h.id << " could wait but was refused at once");
          ++rejections_;
          ++coverage_["holder insufficient_resources"];
        } else if (is(e, ec::deadline_expired)) {
          RANDOM_CHECK(r.deadline.count() > 0 &&
                           log.answered_at >= log.sent + r.deadline,
                       h.id << " failed with deadline_expired early");
          ++rejections_;
          ++coverage_["holder deadline_expired"];
        } else {
          RANDOM_CHECK(is(e, ec::cancelled) && h.cancel_expected,
                       h.id << " failed with " << describe(e));
          ++coverage_["holder cancelled"];
        }
      }
    }
    RANDOM_CHECK(h.answer_seen || r.deadline.count() > 0,
                 h.id << " that could not wait got no answer");
    for (; h.notices_seen < log.notices.size(); ++h.notices_seen) {
      auto& [n, at] = log.notices[h.notices_seen];
      RANDOM_CHECK(log.grant && n.grant_id == log.grant->grant_id &&
                       n.requester_id == h.id && to_u(n.amount) > 0 &&
                       to_u(n.amount) <= to_u(log.grant->allocated_amount),
                   h.id << " got a notice for grant " << n.grant_id << " of "
                        << n.requester_id << " amount " << n.amount);
      RANDOM_CHECK(!h.expired_notice,
                   h.id << " got a notice after its grant expired");
      if (n.reason == RevokeReason::expired) {
        RANDOM_CHECK(h.has_expiry && at >= h.expiry &&
                         n.grace == std::chrono::nanoseconds{0},
                     h.id << " got an early expiry notice");
        h.expired_notice = true;
        ++coverage_["holder expired"];
      } else {
        RANDOM_CHECK(
            r.preemptable && n.grace == preemption_grace,
            h.id << " was preempted though "
                 << (r.preemptable ? "grace differs" : "not preemptable"));
        ++coverage_["holder preempted"];
      }
    }
    for (; h.released_seen < log.released.size(); ++h.released_seen) {
      auto& receipt = log.released[h.released_seen];
      auto released = to_u(receipt.released_amount);
      RANDOM_CHECK(receipt.requester_id == h.id && released > 0,
                   h.id << " released " << receipt.released_amount << " of "
                        << receipt.requester_id);
      delta_[h.id] -= released;
      released_ids_.insert(log.grant->grant_id);
      ++coverage_["holder released on notice"];
    }
    for (; h.release_errors_seen < log.release_errors.size();
         ++h.release_errors_seen)
      RANDOM_CHECK(
          is(log.release_errors[h.release_errors_seen], ec::unknown_grant),
          h.id << "'s release failed with "
               << describe(log.release_errors[h.release_errors_seen]));
  }

  /// Reads the revoke notices sent to the test's own actor (it holds grants
  /// too) and checks them against its grants.
  void drain_own_notices() {
    bool progress = true;
    while (progress && !self->mailbox().empty()) {
      progress = false;
      self->receive(
          [&](revoke_atom, const GrantNotice& n) {
            progress = true;
            own_notices_.push_back(n);
          },
          caf::after(std::chrono::seconds(0)) >> [] {});
    }
    RANDOM_CHECK(self->mailbox().empty(),
                 "unexpected message in the test's mailbox");
    for (; own_notices_seen_ < own_notices_.size(); ++own_notices_seen_) {
      auto& n = own_notices_[own_notices_seen_];
      auto i = own_.find(n.grant_id);
      RANDOM_CHECK(i != own_.end() && n.requester_id == i->second.requester,
                   "the test got a notice for grant " << n.grant_id << " of "
                                                      << n.requester_id);
      auto& g = i->second;
      RANDOM_CHECK(
          !g.expired_notice && to_u(n.amount) > 0 && to_u(n.amount) <= g.amount,
          "notice for own grant " << n.grant_id << " amount " << n.amount);
      if (n.reason == RevokeReason::expired) {
        RANDOM_CHECK(g.has_expiry && now() >= g.expiry,
                     "own grant " << n.grant_id << " expired early");
        g.expired_notice = true;
        g.gone = true;
        ++coverage_["own expired"];
      } else {
        RANDOM_CHECK(g.req.preemptable && n.grace == preemption_grace,
                     "own grant " << n.grant_id << " preempted though "
                                  << (g.req.preemptable ? "grace differs"
                                                        : "not preemptable"));
        ++coverage_["own preempted"];
      }
    }
  }

  /// No dead holder ever holds anything again.
  void check_dead_holders() {
    for (auto& h : holders_)
      if (!h.alive)
        RANDOM_CHECK(holding(h.id) == 0,
                     "dead holder " << h.id << " holds " << holding(h.id));
  }

  /// Kills every holder, returns everything, advances 10 s: the pool is empty.
  void wind_down() {
    note("wind down");
    for (auto& h : holders_)
      if (h.alive) {
        caf::anon_send_exit(h.actor, caf::exit_reason::kill);
        h.alive = false;
      }
    run();
    for (auto& who : own_requesters_) {
      auto r = ask<ReleaseReceipt>(pool_, release_atom::value, who, 1000.0f,
                                   ReleaseMode::up_to_held);
      RANDOM_CHECK(r || is(r.error(), ec::nothing_held),
                   "final release of " << who << ": " << describe(r.error()));
      RANDOM_CHECK(!r || to_u(r->still_held) == 0, who << " still holds");
    }
    std::set<std::string> everyone{own_requesters_.begin(),
                                   own_requesters_.end()};
    everyone.insert(reserved_for_.begin(), reserved_for_.end());
    for (auto& who : everyone) {
      auto r = ask<float>(pool_, unreserve_atom::value, who);
      RANDOM_CHECK(r || is(r.error(), ec::nothing_held),
                   "final unreserve of " << who << ": " << describe(r.error()));
    }
    auto empty = [&](const char* when) {
      auto st = status();
      RANDOM_CHECK(st.held == 0 && st.reserved == 0 &&
                       st.available == st.capacity &&
                       st.capacity == capacity_units && st.holders == 0,
                   when << ": " << describe_status(st));
    };
    empty("after returning everything");
    advance(10s);
    drain_own_notices();
    empty("10 s later");
    check_dead_holders();
    if (!ok_)
      return;
    // The run really went through the interesting paths.
    std::ostringstream summary;
    for (auto& [what, n] : coverage_)
      summary << what << " " << n << "; ";
    for (auto what :
         {"holder grant after waiting", "holder partial grant",
          "holder deadline_expired", "holder cancelled", "holder expired",
          "holder preempted", "holder released on notice", "own preempted",
          "own expired", "kill holding", "kill waiting", "release id ok",
          "release exceeds holding", "reserve with ttl", "unreserve", "renew",
          "lost to time", "bad input"})
      RANDOM_CHECK(coverage_[what] > 0,
                   "the run never saw: " << what << " (saw " << summary.str()
                                         << ")");
    std::cout << "[ seed " << GetParam() << " ] " << holders_.size()
              << " holders, " << grants_ << " grants, " << rejections_
              << " rejections, " << elapsed_ms() << " ms of virtual time\n";
  }

  // -- helpers ----------------------------------------------------------------

  void fail(const char* cond, const std::string& what) {
    if (!ok_)
      return;
    ok_ = false;
    std::ostringstream trace;
    for (auto& line : trace_)
      trace << "  " << line << "\n";
    ADD_FAILURE() << "seed " << GetParam() << ", step " << step_ << ": " << what
                  << "\n  (check: " << cond << ")\nlast operations:\n"
                  << trace.str();
  }

  void note(std::string what) {
    trace_.push_back("#" + std::to_string(step_) + " t=" +
                     std::to_string(elapsed_ms()) + "ms " + std::move(what));
    if (trace_.size() > 25)
      trace_.pop_front();
  }

  int uniform(int lo, int hi) {
    return std::uniform_int_distribution<int>{lo, hi}(rng_);
  }

  bool coin(int percent) {
    return uniform(0, 99) < percent;
  }

  float quarter(int lo, int hi) {
    return static_cast<float>(uniform(lo, hi)) * 0.25f;
  }

  /// The test's own grants are smaller: 1..30, sometimes above the capacity.
  float own_amount() {
    if (coin(4))
      return quarter(401, 600);
    return static_cast<float>(uniform(1, 30)) + (coin(25) ? 0.5f : 0.0f);
  }

  /// 1..60, sometimes with a half, and now and then above the capacity.
  float holder_amount() {
    if (coin(4))
      return quarter(401, 600);
    auto most = calm() ? 20 : 60;
    return static_cast<float>(uniform(1, most)) + (coin(25) ? 0.5f : 0.0f);
  }

  /// Calm phases (fewer and smaller holders) alternate with busy ones.
  bool calm() const {
    return (step_ / 250) % 2 == 0;
  }

  Priority random_priority() {
    return static_cast<Priority>(uniform(0, 4));
  }

  std::chrono::milliseconds random_ms() {
    return std::chrono::milliseconds{uniform(100, 3000)};
  }

  std::chrono::nanoseconds random_duration() {
    return random_ms();
  }

  std::string pick_own() {
    return own_requesters_[static_cast<std::size_t>(uniform(0, 3))];
  }

  std::size_t live_count() const {
    std::size_t n = 0;
    for (auto& h : holders_)
      n += h.alive ? 1 : 0;
    return n;
  }

  std::size_t pick_live() {
    std::vector<std::size_t> live;
    for (std::size_t i = 0; i < holders_.size(); ++i)
      if (holders_[i].alive)
        live.push_back(i);
    return live[static_cast<std::size_t>(
        uniform(0, static_cast<int>(live.size()) - 1))];
  }

  std::size_t pick_dead() {
    std::vector<std::size_t> dead;
    for (std::size_t i = 0; i < holders_.size(); ++i)
      if (!holders_[i].alive)
        dead.push_back(i);
    return dead[static_cast<std::size_t>(
        uniform(0, static_cast<int>(dead.size()) - 1))];
  }

  /// Whether a request without a deadline may take capacity now: no waiting
  /// request ranks better (its priority raised one level per aging interval
  /// waited), or its own lease ends no later than every such request's
  /// deadline (backfilling).
  bool may_go(const ResourceRequest& r) {
    for (auto& h : holders_) {
      if (!h.waiting())
        continue;
      auto& w = h.log->req;
      auto aged =
          std::min<std::int64_t>((now() - h.log->sent) / aging_interval, 4);
      auto level =
          std::max(static_cast<int>(w.priority) - static_cast<int>(aged), 0);
      auto ends_in_time =
          r.ttl.count() > 0 && now() + r.ttl <= h.log->sent + w.deadline;
      if (level < static_cast<int>(r.priority) && !ends_in_time)
        return false;
    }
    return true;
  }

  bool is_killed(const std::string& who) const {
    return std::find(killed_.begin(), killed_.end(), who) != killed_.end();
  }

  Holder& holder_by_id(const std::string& who) {
    return holders_[std::stoul(who.substr(1))];
  }

  std::size_t index_of(const Holder& h) const {
    return static_cast<std::size_t>(&h - holders_.data());
  }

  /// What `who` held at the end of the last step (dead holders: nothing).
  units model_hold(const std::string& who) {
    auto i = hold_.find(who);
    return i == hold_.end() ? 0 : i->second;
  }

  /// Every grant id the test has seen; with `maybe_held` only those that may
  /// still be held (not known to be returned, holder alive and holding).
  std::vector<GrantId> known_grants(bool maybe_held) {
    std::vector<GrantId> ids;
    for (auto& [id, g] : own_)
      if (!maybe_held || !g.gone)
        ids.push_back(id);
    for (auto& [id, index] : holder_grants_)
      if (!maybe_held ||
          (holders_[index].alive && model_hold(holders_[index].id) > 0))
        ids.push_back(id);
    return ids;
  }

  struct GrantRef {
    std::string owner;
    bool must_be_unknown = true; // known to be returned
    OwnGrant* own = nullptr;
    Holder* holder = nullptr;
  };

  /// Who must send an operation on `who`'s grants: a live holder actor for
  /// its own requester id, else the test itself (null).
  caf::actor sender_for(const std::string& who) {
    for (auto& h : holders_)
      if (h.id == who && h.alive)
        return h.actor;
    return {};
  }

  caf::actor sender_for(const GrantRef& ref) {
    return ref.holder != nullptr && ref.holder->alive ? ref.holder->actor
                                                      : caf::actor{};
  }

  /// Sends through `via` (which relays to the pool) or, when null, from the
  /// test straight to the pool.
  template <class Result, class... Ts>
  caf::expected<Result> ask_as(const caf::actor& via, Ts&&... xs) {
    if (via)
      return ask<Result>(via, std::forward<Ts>(xs)...);
    return ask<Result>(pool_, std::forward<Ts>(xs)...);
  }

  GrantRef lookup_grant(GrantId id) {
    GrantRef ref;
    if (auto i = own_.find(id); i != own_.end()) {
      ref.owner = i->second.requester;
      ref.must_be_unknown = i->second.gone;
      ref.own = &i->second;
    } else if (auto j = holder_grants_.find(id); j != holder_grants_.end()) {
      ref.holder = &holders_[j->second];
      ref.owner = ref.holder->id;
      // A holder has one grant: when it holds nothing, the grant is gone.
      ref.must_be_unknown =
          !ref.holder->alive || model_hold(ref.holder->id) == 0;
    }
    return ref;
  }

  bool new_grant_id(GrantId id) {
    return id != 0 && grant_ids_.insert(id).second;
  }

  units holding(const std::string& who) {
    return to_u(ask_ok<float>(pool_, holding_atom::value, who));
  }

  PoolStatus status() {
    return ask_ok<PoolStatus>(pool_, status_atom::value);
  }

  pool_time now() {
    return sched.clock().now();
  }

  long long elapsed_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now() - start_)
        .count();
  }

  std::mt19937 rng_;
  pool_actor pool_;
  pool_time start_ = sched.clock().now();
  int step_ = 0;
  bool ok_ = true;
  bool timed_ = false;
  bool check_liveness_ = false;
  std::deque<std::string> trace_;
  std::vector<std::string> own_requesters_;
  std::vector<Holder> holders_;
  std::map<std::string, units> hold_;  // live requesters, after the last step
  std::map<std::string, units> delta_; // granted - released in this step
  std::vector<std::string> killed_;    // in this step
  std::vector<std::string> cancelled_now_;
  std::set<std::string> reserved_for_;
  std::map<GrantId, OwnGrant> own_;
  std::map<GrantId, std::size_t> holder_grants_; // grant -> holder index
  std::set<GrantId> released_ids_; // whole grants returned: stay unknown
  std::set<GrantId> grant_ids_;
  std::vector<GrantNotice> own_notices_;
  std::size_t own_notices_seen_ = 0;
  std::uint64_t grants_ = 0;
  std::uint64_t rejections_ = 0;
  std::map<std::string, int> coverage_; // coverage: how often each path ran
};

TEST_P(PoolRandomTest, MixedOperationsKeepTheLedgerExactAndNoGrantLeaks) {
  run_seed();
}

INSTANTIATE_TEST_SUITE_P(PoolRandom, PoolRandomTest,
                         ::testing::Values(1u, 7u, 42u, 99u, 2024u, 4711u,
                                           31337u, 65537u));

/// The same runs with one more check after every step: no waiting request is
/// left waiting while it fits into what is free. The seeds are ones that broke
/// it before serve_waiting() learnt to look again (PoolRandomRepro below).
class PoolRandomLiveness : public PoolRandomTest {};

TEST_P(PoolRandomLiveness, NoRequestWaitsWhileItFitsIntoWhatIsFree) {
  check_liveness_ = true;
  run_seed();
}

INSTANTIATE_TEST_SUITE_P(PoolRandom, PoolRandomLiveness,
                         ::testing::Values(1086u, 1089u, 1600u, 1755u));

// -- a minimal reproduction ---------------------------------------------------

class PoolRandomRepro : public DeterministicFixture {
public:
  PoolRandomRepro() {
    PoolPolicy policy;
    policy.aging_interval = 1s;
    policy.preemption_grace = preemption_grace;
    policy.max_preemptions_per_round = 3;
    pool_ = sys.spawn(rros::pool, compute, pool_capacity, policy);
    run();
  }

  ~PoolRandomRepro() override {
    for (auto& a : actors_)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
    run();
  }

  std::shared_ptr<RandomHolderLog> spawn_holder(ResourceRequest r) {
    auto log = std::make_shared<RandomHolderLog>();
    log->req = std::move(r);
    actors_.push_back(sys.spawn(random_holder, pool_, log));
    run();
    return log;
  }

  pool_actor pool_;
  std::vector<caf::actor> actors_;
};

// Regression (found by PoolRandomLiveness, seed 1086): when serve_waiting()
// grants a request that passed a blocked better-ranked one (backfilling) and
// that request had preempted, ending its preemption returns the leftover of
// its reservation to the pool; the better-ranked requests already passed
// must be looked at again, or they wait with capacity free and may miss
// their deadline. serve_waiting() now restarts its pass after such a grant.
TEST_F(PoolRandomRepro, LeftoverOfAPreemptionServesTheBlockedHeadAtOnce) {
  auto victim_req = request("victim", compute, 50, Priority::LOW);
  victim_req.preemptable = true;
  auto victim = spawn_holder(victim_req);
  ASSERT_TRUE(victim->grant);
  ASSERT_TRUE(ask<ResourceAllocation>(pool_, allocate_atom::value,
                                      request("bulk", compute, 50)));
  // A (HIGH, 10) waits and preempts the victim; its lease would end at
  // 0.2 s + 4.8 s, no later than B's deadline, so it may pass B.
  auto a_req = request("a", compute, 10, Priority::HIGH);
  a_req.deadline = 5s;
  a_req.ttl = 4800ms;
  auto a = spawn_holder(a_req);
  ASSERT_EQ(victim->notices.size(), 1u);
  // B (CRITICAL, 30) waits ahead of A; nothing is left to preempt for it.
  auto b_req = request("b", compute, 30, Priority::CRITICAL);
  b_req.deadline = 5s;
  auto b = spawn_holder(b_req);
  ASSERT_FALSE(b->grant || b->error);
  // Reclaim: 50 are kept for A, A takes 10, the other 40 return to the pool
  // and B, which needs 30, must be granted at once.
  advance(200ms);
  ASSERT_TRUE(a->grant);
  auto st = ask_ok<PoolStatus>(pool_, status_atom::value);
  EXPECT_TRUE(b->grant) << "B still waits with " << to_amount(st.available)
                        << " free";
  EXPECT_EQ(st.held, to_u(90)); // bulk 50 + A 10 + B 30
  // (With the bug, nothing serves the queue again until A's lease ends, at
  // B's deadline, which comes first: B fails though 40 were free.)
  advance(4800ms);
  EXPECT_FALSE(b->error && is(*b->error, ec::deadline_expired))
      << "B missed its deadline with 40 free for 4.8 s";
}
