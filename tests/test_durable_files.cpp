// The durability files without actors (issue 14): the write-ahead log's
// records, torn tails and damage, a full disk, a newer format; snapshots
// written atomically, read back, and what a crash at each step of the write
// leaves behind.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/snapshot_file.hpp"
#include "core/write_ahead_log.hpp"
#include "process.hpp"

using namespace rros;

namespace {

std::string slurp(const std::string& path) {
  FileRead file;
  EXPECT_FALSE(read_whole_file(path, file));
  return file.bytes;
}

void overwrite(const std::string& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << bytes;
}

std::uint64_t file_size(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0
             ? static_cast<std::uint64_t>(info.st_size)
             : 0;
}

WriteAheadLog open_log(const std::string& path,
                       SyncMode mode = SyncMode::per_record,
                       std::uint64_t next_seq = 1) {
  auto opened = WriteAheadLog::open(path, mode, next_seq);
  if (auto failed = std::get_if<StorageError>(&opened))
    ADD_FAILURE() << failed->text();
  return std::move(std::get<WriteAheadLog>(opened));
}

std::uint64_t append(WriteAheadLog& log, const std::string& payload) {
  auto seq = log.append(payload);
  if (auto failed = std::get_if<StorageError>(&seq))
    ADD_FAILURE() << failed->text();
  return std::get<std::uint64_t>(seq);
}

LogContents read_ok(const std::string& path) {
  auto read = read_log(path);
  if (auto failed = std::get_if<StorageError>(&read))
    ADD_FAILURE() << failed->text();
  return std::get<LogContents>(read);
}

StorageError read_error(const std::string& path) {
  auto read = read_log(path);
  EXPECT_TRUE(std::holds_alternative<StorageError>(read))
      << "the log was read without an error";
  if (auto failed = std::get_if<StorageError>(&read))
    return *failed;
  return {};
}

std::vector<std::string> payloads_of(const LogContents& log) {
  std::vector<std::string> result;
  for (const auto& record : log.records)
    result.push_back(record.payload);
  return result;
}

/// A log of `payloads` written through WriteAheadLog; returns each record's
/// offset.
std::vector<std::uint64_t>
write_records(const std::string& path,
              const std::vector<std::string>& payloads) {
  auto log = open_log(path);
  for (const auto& payload : payloads)
    append(log, payload);
  std::vector<std::uint64_t> offsets;
  for (const auto& record : read_ok(path).records)
    offsets.push_back(record.offset);
  return offsets;
}

struct LogTest : ::testing::Test {
  std::string dir = test::make_temp_dir("rros-wal");
  std::string path = dir + "/books.wal";

  ~LogTest() override {
    std::filesystem::remove_all(dir);
  }
};

} // namespace

TEST_F(LogTest, RecordsComeBackInOrderAndAppendsContinueAfterReopen) {
  {
    auto log = open_log(path);
    EXPECT_EQ(append(log, "grant 1"), 1u);
    EXPECT_EQ(append(log, ""), 2u); // an empty payload is a record too
    EXPECT_EQ(append(log, std::string(70000, 'x')), 3u);
  }
  auto contents = read_ok(path);
  EXPECT_EQ(payloads_of(contents),
            (std::vector<std::string>{"grant 1", "", std::string(70000, 'x')}));
  EXPECT_EQ(contents.records.back().seq, 3u);
  EXPECT_FALSE(contents.torn_at);
  EXPECT_EQ(contents.valid_bytes, file_size(path));
  auto log = open_log(path);
  EXPECT_EQ(log.next_seq(), 4u);
  EXPECT_EQ(append(log, "release 1"), 4u);
  EXPECT_EQ(read_ok(path).records.size(), 4u);
}

TEST_F(LogTest, AMissingOrEmptyFileIsAnEmptyLog) {
  EXPECT_TRUE(read_ok(path).records.empty());
  overwrite(path, "");
  EXPECT_TRUE(read_ok(path).records.empty());
  auto log = open_log(path, SyncMode::per_record, 41);
  EXPECT_EQ(file_size(path), log_header_bytes); // the header, written whole
  EXPECT_EQ(append(log, "first"), 41u);
}

TEST_F(LogTest, ATornLastRecordIsDroppedWhereverTheCrashCutIt) {
  auto offsets = write_records(path, {"a", "bb", "a longer third record"});
  auto whole = slurp(path);
  for (auto cut = offsets[2] + 1; cut < whole.size(); ++cut) {
    overwrite(path, whole.substr(0, cut));
    auto contents = read_ok(path);
    EXPECT_EQ(payloads_of(contents), (std::vector<std::string>{"a", "bb"}))
        << "cut at " << cut;
    ASSERT_TRUE(contents.torn_at);
    EXPECT_EQ(*contents.torn_at, offsets[2]);
    EXPECT_EQ(contents.valid_bytes, offsets[2]);
  }
  // Opening cuts the torn bytes off; the next record takes the torn one's
  // sequence number, since that one was never acknowledged.
  auto log = open_log(path);
  EXPECT_EQ(file_size(path), offsets[2]);
  EXPECT_EQ(append(log, "after the crash"), 3u);
  EXPECT_EQ(payloads_of(read_ok(path)),
            (std::vector<std::string>{"a", "bb", "after the crash"}));
}

TEST_F(LogTest, AGarbledLastRecordIsTornButAGarbledMiddleOneStopsRecovery) {
  auto offsets = write_records(path, {"one", "two", "three"});
  auto whole = slurp(path);

  auto last = whole;
  last[last.size() - 1] ^= 0x5a; // the last payload byte
  overwrite(path, last);
  auto contents = read_ok(path);
  EXPECT_EQ(payloads_of(contents), (std::vector<std::string>{"one", "two"}));
  EXPECT_TRUE(contents.torn_at);

  auto middle = whole;
  middle[offsets[1] + log_record_header_bytes] ^= 0x5a; // "two"'s payload
  overwrite(path, middle);
  auto failed = read_error(path);
  EXPECT_EQ(failed.file, path);
  EXPECT_EQ(failed.offset, offsets[1]);
  EXPECT_NE(failed.message.find("checksum mismatch"), std::string::npos)
      << failed.message;
  EXPECT_NE(
      failed.text().find(path + " at offset " + std::to_string(offsets[1])),
      std::string::npos)
      << failed.text();
  // Nothing is opened on a damaged log.
  EXPECT_TRUE(std::holds_alternative<StorageError>(
      WriteAheadLog::open(path, SyncMode::per_record)));
  EXPECT_EQ(slurp(path), middle);
}

TEST_F(LogTest, ALogFromANewerFormatOrNotALogIsRefused) {
  write_records(path, {"one"});
  auto bytes = slurp(path);
  bytes[8] = static_cast<char>(log_format_version + 1);
  overwrite(path, bytes);
  auto failed = read_error(path);
  EXPECT_NE(failed.message.find("newer version"), std::string::npos)
      << failed.message;

  overwrite(path, "{\"not\": \"a log at all\"}");
  EXPECT_NE(read_error(path).message.find("not an rros write-ahead log"),
            std::string::npos);
  overwrite(path, "RROSW");
  EXPECT_NE(read_error(path).message.find("incomplete log header"),
            std::string::npos);
}

TEST_F(LogTest, SequenceNumbersMustFollowEachOther) {
  auto bytes = log_header() + log_record(1, "a") + log_record(3, "c");
  overwrite(path, bytes);
  auto failed = read_error(path);
  EXPECT_EQ(failed.offset, log_header_bytes + log_record(1, "a").size());
  EXPECT_NE(failed.message.find("sequence number 3 where 2 was expected"),
            std::string::npos)
      << failed.message;
}

TEST_F(LogTest, AFullDiskRefusesTheRecordAndLeavesNoHalfOfIt) {
  auto log = open_log(path);
  append(log, "before");
  auto size_before = file_size(path);
  // The file size limit makes the kernel refuse writes past it (EFBIG), as
  // a full disk would with ENOSPC.
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = size_before + 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto refused = log.append(std::string(100, 'z'));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  auto failed = std::get_if<StorageError>(&refused);
  ASSERT_NE(failed, nullptr) << "the append was not refused";
  EXPECT_NE(failed->message.find("the disk is full"), std::string::npos)
      << failed->message;
  EXPECT_EQ(file_size(path), size_before);
  // The log goes on once there is room, with the refused seq unused.
  EXPECT_EQ(append(log, "after"), 2u);
  EXPECT_EQ(payloads_of(read_ok(path)),
            (std::vector<std::string>{"before", "after"}));
}

TEST_F(LogTest, AnOverLongRecordIsRefused) {
  auto log = open_log(path);
  auto refused = log.append(std::string(max_log_record_bytes + 1, 'x'));
  EXPECT_TRUE(std::holds_alternative<StorageError>(refused));
  EXPECT_EQ(file_size(path), log_header_bytes);
  EXPECT_EQ(append(log, "fits"), 1u);
}

TEST_F(LogTest, GroupCommitSyncsOnRequest) {
  auto log = open_log(path, SyncMode::group);
  EXPECT_FALSE(log.has_unsynced());
  append(log, "a");
  append(log, "b");
  EXPECT_TRUE(log.has_unsynced());
  EXPECT_FALSE(log.sync());
  EXPECT_FALSE(log.has_unsynced());
  EXPECT_EQ(read_ok(path).records.size(), 2u);
}

TEST_F(LogTest, GroupCommitWritesTheGroupAtItsSync) {
  auto log = open_log(path, SyncMode::group);
  append(log, "a");
  append(log, "b");
  // Nothing is acknowledged before the sync, so nothing needs to be in the
  // file yet: the group is written with one write at the sync.
  EXPECT_EQ(file_size(path), log_header_bytes);
  EXPECT_FALSE(log.sync());
  EXPECT_EQ(payloads_of(read_ok(path)), (std::vector<std::string>{"a", "b"}));
}

TEST_F(LogTest, GroupCommitRefusesARecordPastAFullDiskAtOnce) {
  auto log = open_log(path, SyncMode::group);
  append(log, "before");
  ASSERT_FALSE(log.sync());
  auto size_before = file_size(path);
  append(log, "pending");
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = size_before + log_record_header_bytes + 7 + 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  // The record is refused when it is appended, not at the group's sync:
  // its caller is told now, and the records before it are not harmed.
  auto refused = log.append(std::string(100, 'z'));
  auto synced = log.sync();
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  auto failed = std::get_if<StorageError>(&refused);
  ASSERT_NE(failed, nullptr) << "the append was not refused";
  EXPECT_NE(failed->message.find("the disk is full"), std::string::npos)
      << failed->message;
  EXPECT_FALSE(synced) << synced->message;
  EXPECT_EQ(append(log, "after"), 3u);
  ASSERT_FALSE(log.sync());
  EXPECT_EQ(payloads_of(read_ok(path)),
            (std::vector<std::string>{"before", "pending", "after"}));
}

TEST_F(LogTest, RestartEmptiesTheLogAndKeepsNumbering) {
  auto log = open_log(path);
  append(log, "a");
  append(log, "b");
  ASSERT_FALSE(log.restart());
  EXPECT_EQ(file_size(path), log_header_bytes);
  EXPECT_EQ(append(log, "c"), 3u);
  auto contents = read_ok(path);
  ASSERT_EQ(contents.records.size(), 1u);
  EXPECT_EQ(contents.records[0].seq, 3u);
}

TEST_F(LogTest, RecordsAfterASnapshotSkipWhatItHoldsAndRefuseGaps) {
  write_records(path, {"1", "2", "3", "4", "5"});
  auto contents = read_ok(path);
  auto after = records_after(path, contents, 2);
  ASSERT_TRUE(std::holds_alternative<std::vector<LogRecord>>(after));
  auto& records = std::get<std::vector<LogRecord>>(after);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records.front().seq, 3u);
  // Everything already in the snapshot: nothing to replay.
  auto none = records_after(path, contents, 5);
  EXPECT_TRUE(std::get<std::vector<LogRecord>>(none).empty());

  overwrite(path, log_header() + log_record(4, "4") + log_record(5, "5"));
  auto gap = records_after(path, read_ok(path), 2);
  ASSERT_TRUE(std::holds_alternative<StorageError>(gap));
  EXPECT_NE(std::get<StorageError>(gap).message.find("records are missing"),
            std::string::npos);
}

// Any prefix of a log is a log with a torn tail at most; a damaged byte in
// any record but the last stops recovery at that record.
RC_GTEST_PROP(LogProperties, CutsAreTornTailsAndDamageIsNamed,
              (const std::vector<std::string>& payloads)) {
  RC_PRE(payloads.size() >= 2);
  auto dir = test::make_temp_dir("rros-walprop");
  auto path = dir + "/books.wal";
  auto offsets = write_records(path, payloads);
  auto whole = slurp(path);

  auto cut = *rc::gen::inRange<std::size_t>(log_header_bytes, whole.size());
  overwrite(path, whole.substr(0, cut));
  auto read = read_log(path);
  RC_ASSERT(std::holds_alternative<LogContents>(read));
  std::size_t complete = 0;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    auto end = i + 1 < payloads.size() ? offsets[i + 1] : whole.size();
    if (end <= cut)
      complete = i + 1;
  }
  auto& contents = std::get<LogContents>(read);
  RC_ASSERT(contents.records.size() == complete);
  for (std::size_t i = 0; i < complete; ++i)
    RC_ASSERT(contents.records[i].payload == payloads[i]);

  auto victim = *rc::gen::inRange<std::size_t>(0, payloads.size() - 1);
  auto end = offsets[victim + 1];
  auto at = *rc::gen::inRange<std::size_t>(offsets[victim], end);
  auto damaged = whole;
  damaged[at] = static_cast<char>(damaged[at] ^ 0x01);
  overwrite(path, damaged);
  auto bad = read_log(path);
  RC_ASSERT(std::holds_alternative<StorageError>(bad));
  RC_ASSERT(std::get<StorageError>(bad).offset == offsets[victim]);
  std::filesystem::remove_all(dir);
}

namespace {

// A stand-in for a node's state, with a cereal class version of its own.
struct Books {
  std::map<std::string, std::int64_t> held;
  std::vector<std::string> notes;

  template <class Archive>
  void serialize(Archive& archive, std::uint32_t /*version*/) {
    archive(held, notes);
  }

  bool operator==(const Books& other) const {
    return held == other.held && notes == other.notes;
  }
};

Books books(std::int64_t vision) {
  return Books{{{"vision", vision}, {"audio", 7}}, {"a note"}};
}

Snapshot<Books> load_ok(const std::string& path) {
  auto loaded = load_snapshot<Books>(path);
  if (auto failed = std::get_if<StorageError>(&loaded))
    ADD_FAILURE() << failed->text();
  return std::get<Snapshot<Books>>(loaded);
}

StorageError load_error(const std::string& path) {
  auto loaded = load_snapshot<Books>(path);
  EXPECT_TRUE(std::holds_alternative<StorageError>(loaded));
  if (auto failed = std::get_if<StorageError>(&loaded))
    return *failed;
  return {};
}

struct SnapshotTest : LogTest {
  std::string snap = dir + "/books.snapshot";
};

} // namespace

CEREAL_CLASS_VERSION(Books, 1)

TEST_F(SnapshotTest, AStateComesBackWithItsSequenceNumber) {
  EXPECT_FALSE(load_ok(snap).found);
  ASSERT_FALSE(save_snapshot(snap, 17, books(42)));
  auto loaded = load_ok(snap);
  EXPECT_TRUE(loaded.found);
  EXPECT_EQ(loaded.last_seq, 17u);
  EXPECT_EQ(loaded.state, books(42));
  EXPECT_FALSE(test::file_exists(snap + ".tmp"));
}

TEST_F(SnapshotTest, ACrashAtAnyStepLeavesTheOldOrTheNewSnapshotWhole) {
  const AtomicWriteStep steps[] = {
      AtomicWriteStep::temp_written, AtomicWriteStep::temp_synced,
      AtomicWriteStep::renamed, AtomicWriteStep::done};
  for (auto step : steps) {
    ASSERT_FALSE(save_snapshot(snap, 1, books(1)));
    ASSERT_FALSE(save_snapshot(
        snap, 2, books(2), [step](AtomicWriteStep at) { return at == step; }));
    auto loaded = load_ok(snap);
    bool renamed =
        step == AtomicWriteStep::renamed || step == AtomicWriteStep::done;
    EXPECT_EQ(loaded.last_seq, renamed ? 2u : 1u)
        << "crash after step " << static_cast<int>(step);
    EXPECT_EQ(loaded.state, books(renamed ? 2 : 1));
    // The next save replaces a leftover temp file.
    ASSERT_FALSE(save_snapshot(snap, 3, books(3)));
    EXPECT_EQ(load_ok(snap).last_seq, 3u);
  }
}

TEST_F(SnapshotTest, DamageAndNewerFormatsAreRefusedWithTheirOffset) {
  ASSERT_FALSE(save_snapshot(snap, 5, books(5)));
  auto whole = slurp(snap);

  auto flipped = whole;
  flipped.back() ^= 0x10;
  overwrite(snap, flipped);
  auto failed = load_error(snap);
  EXPECT_EQ(failed.offset, snapshot_header_bytes);
  EXPECT_NE(failed.message.find("checksum mismatch"), std::string::npos);

  overwrite(snap, whole.substr(0, whole.size() - 3));
  EXPECT_NE(load_error(snap).message.find("payload bytes"), std::string::npos);

  overwrite(snap, whole.substr(0, 20));
  EXPECT_NE(load_error(snap).message.find("incomplete snapshot header"),
            std::string::npos);

  auto newer = whole;
  newer[8] = static_cast<char>(snapshot_format_version + 1);
  overwrite(snap, newer);
  EXPECT_NE(load_error(snap).message.find("newer version"), std::string::npos);

  overwrite(snap, "");
  EXPECT_NE(load_error(snap).message.find("incomplete snapshot header"),
            std::string::npos);
}

TEST_F(SnapshotTest, AStateItsTypesCannotReadIsAnError) {
  // A well-formed file whose payload is not a Books: cereal runs out of
  // bytes, and the error says so instead of inventing a state.
  overwrite(snap, snapshot_file_bytes(3, "xy"));
  auto failed = load_error(snap);
  EXPECT_NE(failed.message.find("cannot read the state"), std::string::npos)
      << failed.message;
}
