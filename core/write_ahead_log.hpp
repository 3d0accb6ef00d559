// rros::WriteAheadLog: the append-only record of every change to a node's
// books (issue 14). A change is durable before its reply is sent: with
// SyncMode::per_record append() syncs each record; with SyncMode::group the
// owner calls sync() every few milliseconds and answers the callers whose
// records that sync covered.
//
// File layout (little-endian):
//   header  "RROSWAL\0", u32 format version, u32 zero          (16 bytes)
//   record  u32 payload length, u32 CRC-32 of (seq, payload), u64 seq,
//           payload                                  (16 bytes + payload)
// Sequence numbers grow by one from record to record.
//
// Reading tells a torn tail from corruption: a crash while appending can
// leave the last records incomplete or garbled, and those were never
// acknowledged, so they are dropped. A bad record followed by a good one
// cannot come from a crash; reading stops there with an error naming the
// file and offset, and nothing is guessed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/durable_file.hpp"

namespace rros {

/// The newest log format this build writes and reads.
inline constexpr std::uint32_t log_format_version = 1;

/// Records above this size are refused on append and taken as damage when
/// read.
inline constexpr std::uint32_t max_log_record_bytes = 16u << 20;

inline constexpr std::size_t log_header_bytes = 16;
inline constexpr std::size_t log_record_header_bytes = 16;

struct LogRecord {
  std::uint64_t seq = 0;
  std::string payload;
  std::uint64_t offset = 0; // where the record starts in its file
};

/// What read_log found.
struct LogContents {
  std::vector<LogRecord> records;
  /// Bytes up to the end of the last good record: where appends go on.
  std::uint64_t valid_bytes = 0;
  /// A torn tail (an incomplete or garbled last record) was dropped there.
  std::optional<std::uint64_t> torn_at;
};

/// Reads the log at `path`. A missing or empty file is an empty log.
std::variant<LogContents, StorageError> read_log(const std::string& path);

/// The records of `log` that come after a snapshot taken at `snapshot_seq`
/// (records it already holds are skipped; a crash between writing a snapshot
/// and restarting the log leaves such records). A gap between the snapshot
/// and the first record left is an error.
std::variant<std::vector<LogRecord>, StorageError>
records_after(const std::string& path, const LogContents& log,
              std::uint64_t snapshot_seq);

enum class SyncMode {
  per_record, // fsync after every append
  group,      // fsync when the owner calls sync()
};

class WriteAheadLog {
public:
  /// Opens (or creates) the log at `path`: reads it, cuts a torn tail off
  /// and positions after the last good record. The next record gets
  /// `next_seq` if the log is empty, else the last record's seq + 1.
  static std::variant<WriteAheadLog, StorageError>
  open(const std::string& path, SyncMode mode, std::uint64_t next_seq = 1);

  WriteAheadLog(WriteAheadLog&& other) noexcept;
  WriteAheadLog& operator=(WriteAheadLog&& other) noexcept;
  WriteAheadLog(const WriteAheadLog&) = delete;
  WriteAheadLog& operator=(const WriteAheadLog&) = delete;
  ~WriteAheadLog();

  /// Appends one record and returns its seq. With SyncMode::per_record it
  /// is written and on disk when this returns. With SyncMode::group it is
  /// kept in memory until sync(), which writes the group with one write
  /// and one fdatasync (a write per record cost most of group commit's time
  /// here); its room in the file is reserved now (fallocate, in steps of
  /// reserve_step bytes, and the process's file size limit), so that a full
  /// disk still refuses this record, not a later sync. On an error (a full
  /// disk, say) nothing of the record is written, and the log stays usable.
  std::variant<std::uint64_t, StorageError> append(std::string_view payload);

  /// Writes and puts on disk every record appended so far (group commit).
  std::optional<StorageError> sync();

  /// How much file room group commit reserves at a time.
  static constexpr std::uint64_t reserve_step = 1u << 20;

  /// True when records were appended since the last sync.
  bool has_unsynced() const {
    return unsynced_;
  }

  /// The seq the next record gets.
  std::uint64_t next_seq() const {
    return next_seq_;
  }

  const std::string& path() const {
    return path_;
  }

  SyncMode mode() const {
    return mode_;
  }

  /// Starts the log anew after a snapshot that holds every record so far:
  /// the file is replaced atomically by an empty log.
  std::optional<StorageError> restart();

private:
  WriteAheadLog(std::string path, SyncMode mode, int fd, std::uint64_t end,
                std::uint64_t next_seq);

  void close_file();
  /// Makes sure the file has room up to `target` bytes (group commit).
  std::optional<StorageError> reserve(std::uint64_t target);
  /// Writes `bytes` at `end_` (a record, or a group of them); on failure
  /// cuts the file back to `end_`.
  std::optional<StorageError> write_at_end(const std::string& bytes);

  std::string path_;
  SyncMode mode_ = SyncMode::per_record;
  int fd_ = -1;
  std::uint64_t end_ = 0; // bytes of good records, header included
  // Group commit: records appended but not written yet, and how far the
  // file's room is reserved (fallocate without changing its size).
  std::string pending_;
  std::uint64_t reserved_ = 0;
  bool can_fallocate_ = true;
  std::uint64_t next_seq_ = 1;
  bool unsynced_ = false;
  // Set when a write or sync failed in a way that leaves the file's state
  // unknown (a failed fsync): appends are refused from then on.
  std::optional<StorageError> broken_;
};

/// The bytes of an empty log (its header).
std::string log_header();

/// The bytes of one record.
std::string log_record(std::uint64_t seq, std::string_view payload);

} // namespace rros
