// A pool with a data directory (issue 14) on the deterministic coordinator:
// a pool is killed (its memory is gone, as in a crash) and a new one starts
// from the same directory. Restored grants wait for their holders, who take
// them back with (id, token); what nobody takes back returns when the grace
// period ends; with group commit a reply waits for its sync; a full disk
// refuses new grants and changes nothing.
#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "actors/manager.hpp"
#include "actors/pool.hpp"
#include "fixture.hpp"
#include "messages/validate.hpp"
#include "process.hpp"

using namespace rros;
using namespace rros::test;
using namespace std::chrono_literals;

namespace {

constexpr auto compute = ResourceType::COMPUTATIONAL;

class PoolDurable : public DeterministicFixture {
protected:
  PoolDurable() {
    dir = make_temp_dir("rros-pool-durable");
    settings.dir = dir;
    settings.journal.sync = SyncMode::per_record;
    settings.journal.snapshot_every = 5;
    settings.group_interval = 3ms;
    settings.reattach_grace = 2s;
  }

  ~PoolDurable() override {
    // A pool with a pending timer (the grace period) would keep the actor
    // system from shutting down.
    for (auto& pool : started)
      caf::anon_send_exit(pool, caf::exit_reason::kill);
    run();
    std::filesystem::remove_all(dir);
  }

  /// A pool of 100 on the data directory (as the manager spawns one).
  pool_actor start() {
    auto storage = std::make_shared<const StorageSettings>(settings);
    auto pool = sys.spawn(supervised_pool, compute, 100.0, PoolPolicy{},
                          caf::actor_addr{}, storage);
    run();
    started.push_back(pool);
    return pool;
  }

  /// Kills the pool: nothing of its memory survives.
  void crash(const pool_actor& pool) {
    caf::anon_send_exit(pool, caf::exit_reason::kill);
    run();
  }

  ResourceAllocation take(const pool_actor& pool, float amount,
                          const std::string& requester = "vision") {
    return ask_ok<ResourceAllocation>(pool, allocate_atom::value,
                                      request(requester, compute, amount));
  }

  PoolStatus status(const pool_actor& pool) {
    return ask_ok<PoolStatus>(pool, status_atom::value);
  }

  std::string dir;
  StorageSettings settings;
  std::vector<pool_actor> started;
};

} // namespace

TEST_F(PoolDurable, AHolderTakesItsGrantBackAfterARestartWithItsToken) {
  auto pool = start();
  auto a = take(pool, 30);
  auto b = take(pool, 20, "audio");
  EXPECT_NE(a.reattach_token, 0u);
  EXPECT_NE(a.reattach_token, b.reattach_token);
  crash(pool);

  pool = start();
  auto restored = status(pool);
  EXPECT_EQ(restored.held, to_units(50));
  EXPECT_EQ(restored.capacity,
            restored.held + restored.reserved + restored.available);
  // A wrong token gets the answer an unknown id gets.
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pool, reattach_atom::value, a.grant_id,
                                         a.reattach_token + 1),
                 ec::unknown_grant));
  auto back = ask_ok<ResourceAllocation>(pool, reattach_atom::value, a.grant_id,
                                         a.reattach_token);
  EXPECT_EQ(back.grant_id, a.grant_id);
  EXPECT_EQ(back.requester_id, "vision");
  EXPECT_FLOAT_EQ(back.allocated_amount, 30.0f);
  // Exactly once.
  EXPECT_TRUE(fails_with(ask<ResourceAllocation>(pool, reattach_atom::value,
                                                 a.grant_id, a.reattach_token),
                         ec::unknown_grant));
  // New ids come after the kept ones.
  auto c = take(pool, 5);
  EXPECT_GT(c.grant_id, b.grant_id);
  // The grace period ends: b was not taken back and returns; a stays.
  advance(settings.reattach_grace);
  EXPECT_EQ(status(pool).held, to_units(35));
  EXPECT_TRUE(fails_with(ask<ResourceAllocation>(pool, reattach_atom::value,
                                                 b.grant_id, b.reattach_token),
                         ec::unknown_grant));
  // The reattached holder releases what it holds, once.
  auto receipt = ask_ok<ReleaseReceipt>(pool, release_atom::value, a.grant_id);
  EXPECT_FLOAT_EQ(receipt.released_amount, 30.0f);
  EXPECT_TRUE(
      fails_with(ask<ReleaseReceipt>(pool, release_atom::value, a.grant_id),
                 ec::unknown_grant));
  EXPECT_EQ(status(pool).held, to_units(5));
}

TEST_F(PoolDurable, ReleasesRenewalsAndSettingsSurviveARestart) {
  auto pool = start();
  auto a = take(pool, 10);
  auto b = take(pool, 15);
  auto c = take(pool, 25);
  ask_ok<ReleaseReceipt>(pool, release_atom::value, b.grant_id);
  ask_ok<ResourceAllocation>(pool, renew_atom::value, c.grant_id,
                             std::chrono::nanoseconds{10s});
  ask_ok<PoolStatus>(pool, capacity_atom::value, 80.0);
  ask_ok<Quota>(pool, quota_atom::value,
                Quota{"perception", {"vision"}, 0.0f, 60.0f, 1.0f});
  crash(pool);

  pool = start();
  auto restored = status(pool);
  EXPECT_EQ(restored.capacity, to_units(80));
  EXPECT_EQ(restored.held, to_units(35));
  auto holders = ask_ok<PoolHolders>(pool, holders_atom::value);
  ASSERT_EQ(holders.quotas.size(), 1u);
  EXPECT_EQ(holders.quotas[0].quota.name, "perception");
  // The quota counts the restored grants: 35 held, 60 allowed.
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pool, allocate_atom::value,
                                         request("vision", compute, 30)),
                 ec::exceeds_quota));
  ask_ok<ResourceAllocation>(pool, reattach_atom::value, a.grant_id,
                             a.reattach_token);
  ask_ok<ResourceAllocation>(pool, reattach_atom::value, c.grant_id,
                             c.reattach_token);
  // c's renewed time-to-live ran on across the restart.
  advance(10s);
  EXPECT_EQ(status(pool).held, to_units(10));
}

TEST_F(PoolDurable, AReservationOfAHolderReturnsAfterTheGraceUnlessUsed) {
  auto pool = start();
  ask_ok<PoolStatus>(pool, reserve_atom::value, std::string{"vision"}, 40.0f);
  crash(pool);
  pool = start();
  EXPECT_EQ(status(pool).reserved, to_units(40));
  advance(settings.reattach_grace);
  auto after = status(pool);
  EXPECT_EQ(after.reserved, 0);
  EXPECT_EQ(after.available, after.capacity);
}

TEST_F(PoolDurable, WithGroupCommitAReplyWaitsForItsSync) {
  settings.journal.sync = SyncMode::group;
  auto pool = start();
  auto pending =
      send_request(pool, allocate_atom::value, request("vision", compute, 10));
  EXPECT_FALSE(has_reply()) << "replied before the change was on disk";
  advance(settings.group_interval);
  auto granted = reply_of<ResourceAllocation>(pending);
  ASSERT_TRUE(granted) << describe(granted.error());
  crash(pool);
  pool = start();
  EXPECT_EQ(status(pool).held, to_units(10));
}

TEST_F(PoolDurable, WithoutAnIntervalTheSyncFollowsTheQueuedRequests) {
  settings.journal.sync = SyncMode::group;
  settings.group_interval = std::chrono::nanoseconds{0};
  auto pool = start();
  // No time passes: the sync is a message behind the request.
  auto granted = take(pool, 10);
  EXPECT_NE(granted.reattach_token, 0u);
  crash(pool);
  pool = start();
  EXPECT_EQ(status(pool).held, to_units(10));
}

TEST_F(PoolDurable, AFullDiskRefusesNewGrantsAndChangesNothing) {
  auto pool = start();
  take(pool, 10);
  auto log = pool_files(dir, compute).log;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = std::filesystem::file_size(log) + 8;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto refused = ask<ResourceAllocation>(pool, allocate_atom::value,
                                         request("vision", compute, 20));
  auto during = status(pool);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(fails_with(refused, ec::storage_failed));
  EXPECT_EQ(during.held, to_units(10)) << "the refused grant was kept";
  // Room again: grants go on, and a restart sees exactly what was granted.
  take(pool, 5);
  crash(pool);
  pool = start();
  EXPECT_EQ(status(pool).held, to_units(15));
}

TEST_F(PoolDurable, ATornLastRecordIsDroppedAtStart) {
  auto pool = start();
  take(pool, 10);
  take(pool, 20);
  crash(pool);
  auto log = pool_files(dir, compute).log;
  std::filesystem::resize_file(log, std::filesystem::file_size(log) - 2);
  pool = start();
  // The second grant's record was cut: it was never acknowledged.
  EXPECT_EQ(status(pool).held, to_units(10));
  EXPECT_EQ(take(pool, 50).grant_id != 0, true);
}

TEST_F(PoolDurable, DamagedBooksRefuseNewGrantsNamingTheFile) {
  auto pool = start();
  take(pool, 10);
  take(pool, 20);
  take(pool, 30);
  crash(pool);
  auto log = pool_files(dir, compute).log;
  auto read = read_log(log);
  ASSERT_TRUE(std::holds_alternative<LogContents>(read));
  auto middle = std::get<LogContents>(read).records.at(0).offset;
  {
    std::fstream f{log, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(static_cast<std::streamoff>(middle + log_record_header_bytes));
    f.put('\x7f');
  }
  pool = start();
  auto refused = ask<ResourceAllocation>(pool, allocate_atom::value,
                                         request("vision", compute, 1));
  ASSERT_TRUE(fails_with(refused, ec::storage_failed));
  EXPECT_NE(context_of(refused.error()).find(log), std::string::npos)
      << context_of(refused.error());
}

TEST_F(PoolDurable,
       AReattachWithAnUnknownIdOrNoTokenOrAForgedTimerDoesNothing) {
  auto pool = start();
  auto a = take(pool, 30);
  crash(pool);
  pool = start();
  EXPECT_TRUE(
      fails_with(ask<ResourceAllocation>(pool, reattach_atom::value,
                                         a.grant_id + 1000, a.reattach_token),
                 ec::unknown_grant));
  EXPECT_TRUE(fails_with(ask<ResourceAllocation>(pool, reattach_atom::value,
                                                 a.grant_id, std::uint64_t{0}),
                         ec::unknown_grant));
  // A forged end of the grace period from outside does nothing.
  self->send(pool, orphans_atom::value);
  run();
  EXPECT_EQ(status(pool).held, to_units(30));
}

TEST_F(PoolDurable, ABundleWithALegThatCannotBeWrittenIsRefusedWhole) {
  // A whole manager on the directory; the logs keep growing (no snapshot).
  settings.journal.snapshot_every = 100000;
  auto storage = std::make_shared<const StorageSettings>(settings);
  auto manager = spawn_manager(sys, Config{}, storage);
  run();
  auto pools = ask_ok<PoolDirectory>(manager, pools_atom::value);
  auto bundles = ask_ok<bundle_actor>(manager, bundles_atom::value);
  constexpr auto io = ResourceType::IO;
  // The I/O pool's log grows well past the computational pool's, so that a
  // file size limit between the two lets one leg be written and not the
  // other.
  for (int i = 0; i < 20; ++i) {
    auto filler = ask_ok<ResourceAllocation>(pools[io], allocate_atom::value,
                                             request("filler", io, 1));
    ask_ok<ReleaseReceipt>(pools[io], release_atom::value, filler.grant_id);
  }
  auto compute_log = std::filesystem::file_size(pool_files(dir, compute).log);
  auto io_log = std::filesystem::file_size(pool_files(dir, io).log);
  ASSERT_GT(io_log, compute_log + 1000);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit between = old_limit;
  between.rlim_cur = io_log; // I/O cannot grow; computational can
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &between), 0);
  BundleRequest both;
  both.requester_id = "job";
  both.items = {BundleItem{compute, 10}, BundleItem{io, 5}};
  auto refused = ask<BundleGrant>(bundles, allocate_atom::value, both);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(fails_with(refused, ec::storage_failed));
  EXPECT_GT(std::filesystem::file_size(pool_files(dir, compute).log),
            compute_log)
      << "the computational leg was never written: only one leg was tried";
  // The computational leg, written, was given back: nobody holds part of
  // the bundle, in memory or on disk.
  for (auto type : {compute, io}) {
    auto ledger = ask_ok<PoolStatus>(pools[type], status_atom::value);
    EXPECT_EQ(ledger.held, 0) << to_string(type);
    EXPECT_EQ(ledger.capacity, ledger.available) << to_string(type);
  }
  // With room again the bundle is granted, and a restart keeps exactly it.
  auto granted = ask<BundleGrant>(bundles, allocate_atom::value, both);
  ASSERT_TRUE(granted) << describe(granted.error());
  caf::anon_send_exit(manager, caf::exit_reason::kill);
  run();
  manager = spawn_manager(sys, Config{}, storage);
  run();
  pools = ask_ok<PoolDirectory>(manager, pools_atom::value);
  EXPECT_EQ(ask_ok<PoolStatus>(pools[compute], status_atom::value).held,
            to_units(10));
  EXPECT_EQ(ask_ok<PoolStatus>(pools[io], status_atom::value).held,
            to_units(5));
  caf::anon_send_exit(manager, caf::exit_reason::kill);
  run();
}
