// The journal of one pool's books without actors (issue 14): records read
// back as written, replay gives the books the journal kept, snapshots
// restart the log without losing anything, damage is named with its file
// and offset, and a data directory is locked by one process.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/durable_file.hpp"
#include "core/pool_journal.hpp"
#include "core/snapshot_file.hpp"
#include "process.hpp"

using namespace rros;
using namespace rros::test;

namespace {

BookRecord put_lease(std::uint64_t id, const std::string& requester,
                     units amount, std::uint64_t token = 7) {
  BookRecord rec;
  rec.kind = BookRecord::Kind::put_lease;
  rec.id = id;
  rec.lease.requester = requester;
  rec.lease.amount = amount;
  rec.lease.token = token;
  return rec;
}

BookRecord erase_lease(std::uint64_t id) {
  BookRecord rec;
  rec.kind = BookRecord::Kind::erase_lease;
  rec.id = id;
  return rec;
}

class JournalTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = make_temp_dir("rros-journal");
    files = pool_files(dir, ResourceType::MEMORY);
  }

  void TearDown() override {
    std::filesystem::remove_all(dir);
  }

  RecoveredBooks recover_ok() {
    auto read = recover_books(files);
    if (auto failed = std::get_if<StorageError>(&read)) {
      ADD_FAILURE() << failed->text();
      return {};
    }
    return std::get<RecoveredBooks>(read);
  }

  PoolJournal open_journal(JournalSettings settings = {}) {
    auto opened = PoolJournal::open(files, settings, recover_ok());
    if (auto failed = std::get_if<StorageError>(&opened))
      ADD_FAILURE() << failed->text();
    return std::move(std::get<PoolJournal>(opened));
  }

  std::string dir;
  PoolFiles files;
};

} // namespace

TEST(BookRecords, EveryKindReadsBackAsWritten) {
  BookRecord reservation;
  reservation.kind = BookRecord::Kind::put_reservation;
  reservation.id = 12;
  reservation.reservation = DurableReservation{"audio", 40, true, true, 99};
  BookRecord quota;
  quota.kind = BookRecord::Kind::quota;
  quota.quota = Quota{"perception", {"vision", "audio"}, 10.0f, 50.0f, 2.0f};
  BookRecord policy;
  policy.kind = BookRecord::Kind::policy;
  policy.policy.aging_interval = std::chrono::milliseconds(300);
  policy.policy.max_preemptions_per_round = 9;
  BookRecord shed;
  shed.kind = BookRecord::Kind::shed;
  shed.shed = ShedPolicy{true, Priority::LOW, true};
  BookRecord capacity;
  capacity.kind = BookRecord::Kind::capacity;
  capacity.capacity = 123456789;
  for (const auto& rec :
       {put_lease(5, "vision", 3000000, 0xfeedULL), erase_lease(5), reservation,
        quota, policy, shed, capacity}) {
    auto back = decode(encode(rec));
    ASSERT_TRUE(back) << "kind " << static_cast<int>(rec.kind);
    DurableBooks a;
    DurableBooks b;
    apply(a, rec);
    apply(b, *back);
    EXPECT_EQ(a.leases, b.leases);
    EXPECT_EQ(a.reservations, b.reservations);
    EXPECT_EQ(a.capacity, b.capacity);
    EXPECT_EQ(a.quotas.size(), b.quotas.size());
    EXPECT_EQ(a.policy.aging_interval, b.policy.aging_interval);
    EXPECT_EQ(a.policy.max_preemptions_per_round,
              b.policy.max_preemptions_per_round);
    EXPECT_EQ(a.shed.refuse_from, b.shed.refuse_from);
  }
}

TEST(BookRecords, GarbageAndTrailingBytesAreNotRecords) {
  EXPECT_FALSE(decode(""));
  EXPECT_FALSE(decode(std::string(1, '\x63'))); // an unknown kind
  auto bytes = encode(put_lease(1, "vision", 5));
  EXPECT_FALSE(decode(bytes + "x"));
  EXPECT_FALSE(decode(bytes.substr(0, bytes.size() - 1)));
  BookRecord bad_shed;
  bad_shed.kind = BookRecord::Kind::shed;
  auto shed_bytes = encode(bad_shed);
  shed_bytes[3] = 9; // refuse_from beyond IDLE (after the archive flag,
                     // the kind and `degraded`)
  EXPECT_FALSE(decode(shed_bytes));
}

TEST(BookRecords, AQuotaThatLimitsNothingRemovesTheGroup) {
  DurableBooks books;
  BookRecord rec;
  rec.kind = BookRecord::Kind::quota;
  rec.quota = Quota{"g", {"a"}, 1.0f, 2.0f, 1.0f};
  apply(books, rec);
  ASSERT_EQ(books.quotas.count("g"), 1u);
  rec.quota = Quota{"g", {}, 0.0f, 0.0f, 1.0f};
  apply(books, rec);
  EXPECT_EQ(books.quotas.count("g"), 0u);
}

TEST_F(JournalTest, RecoveryReplaysWhatWasRecorded) {
  {
    auto journal = open_journal({SyncMode::per_record, 1000});
    EXPECT_FALSE(journal.record(put_lease(1, "vision", 10)));
    EXPECT_FALSE(journal.record(put_lease(2, "audio", 20)));
    EXPECT_FALSE(journal.record(erase_lease(1)));
  }
  auto found = recover_ok();
  EXPECT_FALSE(found.snapshot_found);
  EXPECT_EQ(found.replayed, 3u);
  ASSERT_EQ(found.books.leases.size(), 1u);
  EXPECT_EQ(found.books.leases.at(2).requester, "audio");
  EXPECT_EQ(found.books.held(), 20);
  EXPECT_EQ(found.books.highest_id, 2u);
  EXPECT_EQ(found.next_seq, 4u);
}

TEST_F(JournalTest, RecordsThatChangeNothingAreNotWritten) {
  auto journal = open_journal({SyncMode::per_record, 1000});
  EXPECT_FALSE(journal.record(put_lease(1, "vision", 10)));
  EXPECT_FALSE(journal.record(put_lease(1, "vision", 10)));
  EXPECT_FALSE(journal.record(erase_lease(9)));
  EXPECT_EQ(journal.records_since_snapshot(), 1u);
}

TEST_F(JournalTest, SnapshotsRestartTheLogAndLoseNothing) {
  {
    auto journal = open_journal({SyncMode::group, 4});
    for (std::uint64_t id = 1; id <= 10; ++id) {
      EXPECT_FALSE(journal.record(put_lease(id, "r", static_cast<units>(id))));
      EXPECT_FALSE(journal.maybe_snapshot());
    }
    EXPECT_FALSE(journal.record(erase_lease(3)));
    EXPECT_FALSE(journal.sync());
    // Two snapshots (after 4 and 8 records); the log holds the last three.
    EXPECT_EQ(journal.records_since_snapshot(), 3u);
  }
  auto found = recover_ok();
  EXPECT_TRUE(found.snapshot_found);
  EXPECT_EQ(found.replayed, 3u);
  EXPECT_EQ(found.books.leases.size(), 9u);
  EXPECT_EQ(found.books.held(), 55 - 3);
  EXPECT_EQ(found.next_seq, 12u);
  // And it goes on from there.
  auto journal = open_journal({SyncMode::per_record, 4});
  EXPECT_FALSE(journal.record(erase_lease(10)));
  EXPECT_EQ(recover_ok().books.held(), 55 - 3 - 10);
}

TEST_F(JournalTest, ACorruptRecordInTheMiddleStopsRecoveryWithFileAndOffset) {
  {
    auto journal = open_journal({SyncMode::per_record, 1000});
    for (std::uint64_t id = 1; id <= 3; ++id)
      EXPECT_FALSE(journal.record(put_lease(id, "r", 1)));
  }
  auto log = read_log(files.log);
  ASSERT_TRUE(std::holds_alternative<LogContents>(log));
  auto second = std::get<LogContents>(log).records.at(1).offset;
  {
    std::fstream f{files.log, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(static_cast<std::streamoff>(second + log_record_header_bytes + 2));
    f.put('\x55');
  }
  auto read = recover_books(files);
  auto failed = std::get_if<StorageError>(&read);
  ASSERT_NE(failed, nullptr) << "damage was not noticed";
  EXPECT_EQ(failed->file, files.log);
  EXPECT_EQ(failed->offset, second);
}

TEST_F(JournalTest, ATornLastRecordIsDroppedAndTheLogGoesOn) {
  {
    auto journal = open_journal({SyncMode::per_record, 1000});
    EXPECT_FALSE(journal.record(put_lease(1, "r", 1)));
    EXPECT_FALSE(journal.record(put_lease(2, "r", 2)));
  }
  // A crash in the middle of the second append.
  std::filesystem::resize_file(files.log,
                               std::filesystem::file_size(files.log) - 3);
  auto found = recover_ok();
  EXPECT_TRUE(found.torn_at.has_value());
  EXPECT_EQ(found.books.leases.size(), 1u);
  auto journal = open_journal({SyncMode::per_record, 1000});
  EXPECT_FALSE(journal.record(put_lease(3, "r", 3)));
  EXPECT_EQ(recover_ok().books.held(), 4);
}

TEST_F(JournalTest, AReadableLogWithARecordOfAnUnknownKindIsRefused) {
  {
    auto opened = WriteAheadLog::open(files.log, SyncMode::per_record);
    ASSERT_TRUE(std::holds_alternative<WriteAheadLog>(opened));
    auto& log = std::get<WriteAheadLog>(opened);
    ASSERT_TRUE(std::holds_alternative<std::uint64_t>(
        log.append(encode(put_lease(1, "r", 1)))));
    ASSERT_TRUE(std::holds_alternative<std::uint64_t>(log.append("\x63?")));
  }
  auto read = recover_books(files);
  auto failed = std::get_if<StorageError>(&read);
  ASSERT_NE(failed, nullptr);
  EXPECT_NE(failed->message.find("cannot read"), std::string::npos)
      << failed->message;
  EXPECT_GT(failed->offset, 0u);
}

TEST_F(JournalTest, ASnapshotFromANewerFormatIsRefused) {
  {
    auto journal = open_journal({SyncMode::per_record, 1});
    EXPECT_FALSE(journal.record(put_lease(1, "r", 1)));
    EXPECT_FALSE(journal.maybe_snapshot());
  }
  FileRead snap;
  ASSERT_FALSE(read_whole_file(files.snapshot, snap));
  ASSERT_TRUE(snap.exists);
  snap.bytes[8] = static_cast<char>(snapshot_format_version + 1);
  std::ofstream{files.snapshot, std::ios::binary | std::ios::trunc}
      << snap.bytes;
  auto read = recover_books(files);
  auto failed = std::get_if<StorageError>(&read);
  ASSERT_NE(failed, nullptr);
  EXPECT_NE(failed->message.find("newer"), std::string::npos)
      << failed->message;
}

// Property: whatever sequence of puts and erases is recorded, with
// snapshots in between, recovery gives the journal's own books.
RC_GTEST_PROP(JournalProperty, RecoveryGivesTheBooksTheJournalKept,
              (const std::vector<std::pair<bool, std::uint8_t>>& ops,
               std::uint8_t every)) {
  auto dir = make_temp_dir("rros-journal-prop");
  auto files = pool_files(dir, ResourceType::IO);
  DurableBooks kept;
  {
    auto read = recover_books(files);
    RC_ASSERT(std::holds_alternative<RecoveredBooks>(read));
    JournalSettings settings{SyncMode::group,
                             static_cast<std::size_t>(every % 7 + 1)};
    auto opened = PoolJournal::open(files, settings,
                                    std::get<RecoveredBooks>(std::move(read)));
    RC_ASSERT(std::holds_alternative<PoolJournal>(opened));
    auto& journal = std::get<PoolJournal>(opened);
    for (auto [put, id] : ops) {
      auto rec =
          put ? put_lease(id % 16 + 1, "r" + std::to_string(id % 3), id + 1)
              : erase_lease(id % 16 + 1);
      RC_ASSERT(!journal.record(rec));
      RC_ASSERT(!journal.maybe_snapshot());
    }
    RC_ASSERT(!journal.sync());
    kept = journal.books();
  }
  auto read = recover_books(files);
  RC_ASSERT(std::holds_alternative<RecoveredBooks>(read));
  RC_ASSERT(std::get<RecoveredBooks>(read).books.leases == kept.leases);
  std::filesystem::remove_all(dir);
}

TEST(DataDirectory, OneNodeAtATimeMayHoldIt) {
  auto dir = make_temp_dir("rros-lock") + "/data";
  DirectoryLock first;
  ASSERT_FALSE(DirectoryLock::acquire(dir, first)); // made when missing
  EXPECT_TRUE(first.held());
  // Another process is refused (flock is per open file description, so a
  // child process shows what a second node would see).
  auto pid = ::fork();
  if (pid == 0) {
    DirectoryLock second;
    auto failed = DirectoryLock::acquire(dir, second);
    ::_exit(failed && failed->message.find("in use by another running node") !=
                          std::string::npos
                ? 0
                : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "a second holder was not refused";
  first = DirectoryLock{};
  DirectoryLock again;
  EXPECT_FALSE(DirectoryLock::acquire(dir, again)) << "not released";
  std::filesystem::remove_all(dir);
}
