#include "core/write_ahead_log.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace rros {

namespace {

constexpr char log_magic[8] = {'R', 'R', 'O', 'S', 'W', 'A', 'L', '\0'};

std::uint32_t record_crc(std::uint64_t seq, std::string_view payload) {
  std::string seq_bytes;
  put_u64(seq_bytes, seq);
  return crc32_of(payload, crc32_of(seq_bytes));
}

/// A record that parses at `pos` of `bytes`, or why not.
struct Parsed {
  std::optional<LogRecord> record;
  std::size_t size = 0; // bytes taken, header included
  std::string problem;
};

Parsed parse_record(const std::string& bytes, std::size_t pos) {
  Parsed result;
  auto left = bytes.size() - pos;
  if (left < log_record_header_bytes) {
    result.problem = "incomplete record header";
    return result;
  }
  const char* at = bytes.data() + pos;
  auto length = get_u32(at);
  auto crc = get_u32(at + 4);
  auto seq = get_u64(at + 8);
  if (length > max_log_record_bytes) {
    result.problem = "record length " + std::to_string(length) +
                     " is over the limit of " +
                     std::to_string(max_log_record_bytes);
    return result;
  }
  if (left - log_record_header_bytes < length) {
    result.problem = "record runs past the end of the file";
    return result;
  }
  std::string_view payload{at + log_record_header_bytes, length};
  if (record_crc(seq, payload) != crc) {
    result.problem = "checksum mismatch";
    return result;
  }
  result.record = LogRecord{seq, std::string{payload}, pos};
  result.size = log_record_header_bytes + length;
  return result;
}

/// True when a whole, checksummed record with a seq of at least `min_seq`
/// starts anywhere in [from, end): then the damage before it cannot be a
/// torn tail. Cheap tests first, since most offsets fail the length check.
bool good_record_after(const std::string& bytes, std::size_t from,
                       std::uint64_t min_seq) {
  for (auto pos = from; pos + log_record_header_bytes <= bytes.size(); ++pos) {
    const char* at = bytes.data() + pos;
    auto length = get_u32(at);
    if (length > max_log_record_bytes ||
        bytes.size() - pos - log_record_header_bytes < length)
      continue;
    if (get_u64(at + 8) < min_seq)
      continue;
    if (parse_record(bytes, pos).record)
      return true;
  }
  return false;
}

} // namespace

std::string log_header() {
  std::string out(log_magic, sizeof log_magic);
  put_u32(out, log_format_version);
  put_u32(out, 0);
  return out;
}

std::string log_record(std::uint64_t seq, std::string_view payload) {
  std::string out;
  out.reserve(log_record_header_bytes + payload.size());
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, record_crc(seq, payload));
  put_u64(out, seq);
  out.append(payload);
  return out;
}

std::variant<LogContents, StorageError> read_log(const std::string& path) {
  FileRead file;
  if (auto failed = read_whole_file(path, file))
    return *failed;
  LogContents contents;
  const auto& bytes = file.bytes;
  if (bytes.empty())
    return contents;
  if (bytes.size() < log_header_bytes)
    return StorageError{path, 0, "incomplete log header"};
  if (bytes.compare(0, sizeof log_magic,
                    std::string(log_magic, sizeof log_magic)) != 0)
    return StorageError{path, 0, "not an rros write-ahead log"};
  auto version = get_u32(bytes.data() + 8);
  if (version > log_format_version)
    return StorageError{path, 8,
                        "written by a newer version of rros (log format " +
                            std::to_string(version) +
                            "; this build reads format " +
                            std::to_string(log_format_version) + ")"};
  if (version == 0)
    return StorageError{path, 8, "log format 0 does not exist"};
  std::size_t pos = log_header_bytes;
  while (pos < bytes.size()) {
    auto parsed = parse_record(bytes, pos);
    std::uint64_t expected =
        contents.records.empty() ? 0 : contents.records.back().seq + 1;
    if (parsed.record) {
      if (!contents.records.empty() && parsed.record->seq != expected)
        return StorageError{path, pos,
                            "sequence number " +
                                std::to_string(parsed.record->seq) + " where " +
                                std::to_string(expected) + " was expected"};
      contents.records.push_back(std::move(*parsed.record));
      pos += parsed.size;
      continue;
    }
    if (good_record_after(bytes, pos + 1, expected))
      return StorageError{path, pos,
                          parsed.problem + " before further good records "
                                           "(the log is damaged, not torn)"};
    contents.torn_at = pos;
    break;
  }
  contents.valid_bytes = pos;
  return contents;
}

std::variant<std::vector<LogRecord>, StorageError>
records_after(const std::string& path, const LogContents& log,
              std::uint64_t snapshot_seq) {
  std::vector<LogRecord> result;
  for (const auto& record : log.records)
    if (record.seq > snapshot_seq)
      result.push_back(record);
  if (!result.empty() && result.front().seq != snapshot_seq + 1)
    return StorageError{
        path, result.front().offset,
        "the log resumes at sequence number " +
            std::to_string(result.front().seq) + " but the snapshot ends at " +
            std::to_string(snapshot_seq) + ": records are missing"};
  return result;
}

WriteAheadLog::WriteAheadLog(std::string path, SyncMode mode, int fd,
                             std::uint64_t end, std::uint64_t next_seq)
  : path_(std::move(path))
  , mode_(mode)
  , fd_(fd)
  , end_(end)
  , next_seq_(next_seq) {
  // nop
}

WriteAheadLog::WriteAheadLog(WriteAheadLog&& other) noexcept
  : path_(std::move(other.path_))
  , mode_(other.mode_)
  , fd_(std::exchange(other.fd_, -1))
  , end_(other.end_)
  , pending_(std::move(other.pending_))
  , reserved_(other.reserved_)
  , can_fallocate_(other.can_fallocate_)
  , next_seq_(other.next_seq_)
  , unsynced_(other.unsynced_)
  , broken_(std::move(other.broken_)) {
  // nop
}

WriteAheadLog& WriteAheadLog::operator=(WriteAheadLog&& other) noexcept {
  if (this != &other) {
    close_file();
    path_ = std::move(other.path_);
    mode_ = other.mode_;
    fd_ = std::exchange(other.fd_, -1);
    end_ = other.end_;
    pending_ = std::move(other.pending_);
    reserved_ = other.reserved_;
    can_fallocate_ = other.can_fallocate_;
    next_seq_ = other.next_seq_;
    unsynced_ = other.unsynced_;
    broken_ = std::move(other.broken_);
  }
  return *this;
}

WriteAheadLog::~WriteAheadLog() {
  close_file();
}

void WriteAheadLog::close_file() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

std::variant<WriteAheadLog, StorageError>
WriteAheadLog::open(const std::string& path, SyncMode mode,
                    std::uint64_t next_seq) {
  auto read = read_log(path);
  if (auto failed = std::get_if<StorageError>(&read))
    return *failed;
  auto& contents = std::get<LogContents>(read);
  std::uint64_t end = contents.valid_bytes;
  if (end == 0) {
    // A new log: its header appears atomically, never half written.
    if (auto failed = write_file_atomically(path, log_header()))
      return *failed;
    end = log_header_bytes;
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return storage_error_from_errno(path, 0, "open", errno);
  if (contents.torn_at) {
    // Cut the torn tail so that appends continue from the last good record.
    if (::ftruncate(fd, static_cast<off_t>(end)) != 0 || ::fsync(fd) != 0) {
      auto failed =
          storage_error_from_errno(path, end, "cut the torn tail", errno);
      ::close(fd);
      return failed;
    }
  }
  if (!contents.records.empty())
    next_seq = contents.records.back().seq + 1;
  return WriteAheadLog{path, mode, fd, end, next_seq};
}

std::variant<std::uint64_t, StorageError>
WriteAheadLog::append(std::string_view payload) {
  if (broken_)
    return StorageError{path_, end_,
                        "the log failed earlier (" + broken_->message +
                            "); nothing more is written"};
  if (payload.size() > max_log_record_bytes)
    return StorageError{path_, end_,
                        "a record of " + std::to_string(payload.size()) +
                            " bytes is over the limit of " +
                            std::to_string(max_log_record_bytes)};
  auto bytes = log_record(next_seq_, payload);
  if (mode_ == SyncMode::group) {
    auto target = end_ + pending_.size() + bytes.size();
    if (auto failed = reserve(target))
      return *failed;
    pending_ += bytes;
    unsynced_ = true;
    return next_seq_++;
  }
  if (auto failed = write_at_end(bytes))
    return *failed;
  if (::fdatasync(fd_) != 0) {
    // After a failed fsync the kernel may have dropped the dirty pages:
    // what is on disk is unknown, so the log stops here.
    broken_ = storage_error_from_errno(path_, end_, "sync", errno);
    return *broken_;
  }
  end_ += bytes.size();
  return next_seq_++;
}

std::optional<StorageError> WriteAheadLog::reserve(std::uint64_t target) {
  // The kernel checks the file size limit when a write extends the file;
  // the write comes later here, so the limit is checked now.
  rlimit limit{};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY && target > limit.rlim_cur)
    return storage_error_from_errno(path_, end_ + pending_.size(), "append",
                                    EFBIG);
  if (target <= reserved_ || !can_fallocate_)
    return std::nullopt;
  auto from = end_ + pending_.size();
  auto upto = std::max(target, from + reserve_step);
  int rc = 0;
  do
    rc = ::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                     static_cast<off_t>(upto - from));
  while (rc != 0 && errno == EINTR);
  if (rc == 0) {
    reserved_ = upto;
    return std::nullopt;
  }
  if (errno == EOPNOTSUPP || errno == ENOSYS) {
    // A file system without fallocate: a full disk shows at sync (the
    // group's callers get storage_failed then).
    can_fallocate_ = false;
    return std::nullopt;
  }
  if (errno == ENOSPC && target < upto) {
    // No room for a whole step: try for just this record.
    if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                    static_cast<off_t>(target - from)) == 0) {
      reserved_ = target;
      return std::nullopt;
    }
  }
  return storage_error_from_errno(path_, from, "append", errno);
}

std::optional<StorageError>
WriteAheadLog::write_at_end(const std::string& bytes) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    auto n = ::pwrite(fd_, bytes.data() + written, bytes.size() - written,
                      static_cast<off_t>(end_ + written));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      auto failed =
          storage_error_from_errno(path_, end_, "append", n < 0 ? errno : EIO);
      // Take the half record back; if even that fails, stop writing.
      if (::ftruncate(fd_, static_cast<off_t>(end_)) != 0)
        broken_ = failed;
      return failed;
    }
    written += static_cast<std::size_t>(n);
  }
  return std::nullopt;
}

std::optional<StorageError> WriteAheadLog::sync() {
  if (broken_)
    return broken_;
  if (!unsynced_)
    return std::nullopt;
  if (!pending_.empty()) {
    if (auto failed = write_at_end(pending_)) {
      // The group's records were never acknowledged; their callers get
      // this error. What the pool changed for them is not on disk.
      broken_ = failed;
      return broken_;
    }
    end_ += pending_.size();
    pending_.clear();
  }
  if (::fdatasync(fd_) != 0) {
    broken_ = storage_error_from_errno(path_, end_, "sync", errno);
    return broken_;
  }
  unsynced_ = false;
  return std::nullopt;
}

std::optional<StorageError> WriteAheadLog::restart() {
  if (auto failed = sync())
    return failed;
  if (auto failed = write_file_atomically(path_, log_header()))
    return failed;
  int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    broken_ = storage_error_from_errno(path_, 0, "reopen", errno);
    return broken_;
  }
  close_file();
  fd_ = fd;
  end_ = log_header_bytes;
  reserved_ = 0; // a new file

  return std::nullopt;
}

} // namespace rros
