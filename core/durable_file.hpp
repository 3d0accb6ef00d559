// File primitives for durability (issue 14): a storage error that names its
// file and offset, a CRC-32 over bytes, little-endian field coding, and a
// file replaced atomically (temp file, fsync, rename, fsync of the
// directory) so that a reader sees the old contents or the new, never a mix.
// Pure C++17 and POSIX, no actors.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace rros {

/// What went wrong with a durable file, and where. `offset` is the byte at
/// which the problem starts (0 when the whole file is concerned).
struct StorageError {
  std::string file;
  std::uint64_t offset = 0;
  std::string message;

  /// One line: "FILE at offset N: MESSAGE".
  std::string text() const;
};

/// An error from errno after a failed system call on `file`.
StorageError storage_error_from_errno(const std::string& file,
                                      std::uint64_t offset,
                                      const std::string& action, int err);

/// CRC-32 (zlib's polynomial) of `bytes`, continuing from `seed`.
std::uint32_t crc32_of(std::string_view bytes, std::uint32_t seed = 0);

/// Appends `value` to `out` in little-endian order (files stay readable on
/// any host).
void put_u32(std::string& out, std::uint32_t value);
void put_u64(std::string& out, std::uint64_t value);
std::uint32_t get_u32(const char* at);
std::uint64_t get_u64(const char* at);

/// The steps of write_file_atomically, in order; a test may stop the write
/// after any of them to see what a crash there leaves behind.
enum class AtomicWriteStep {
  temp_written, // the temp file holds the new bytes, not yet synced
  temp_synced,  // ... and they are on disk
  renamed,      // the temp file replaced the target, directory not synced
  done,         // the directory entry is on disk too
};

/// Returns true to stop ("crash") right after the step it is given.
using CrashPoint = std::function<bool(AtomicWriteStep)>;

/// Replaces `path` by `bytes`: writes PATH.tmp, fsyncs it, renames it over
/// `path` and fsyncs the directory. Nothing is returned on success. On an
/// error (a full disk, say) the temp file is removed and `path` is left as
/// it was.
std::optional<StorageError> write_file_atomically(const std::string& path,
                                                  std::string_view bytes,
                                                  const CrashPoint& crash = {});

/// fsync of the directory holding `path`, so that a rename or a new file in
/// it survives a crash.
std::optional<StorageError> sync_directory_of(const std::string& path);

/// The whole file, or nothing when it does not exist (other failures are
/// errors).
struct FileRead {
  bool exists = false;
  std::string bytes;
};
std::optional<StorageError> read_whole_file(const std::string& path,
                                            FileRead& out);

/// An exclusive lock on a data directory (flock on DIR/lock), held for the
/// object's life: two nodes writing one set of books would corrupt them.
class DirectoryLock {
public:
  DirectoryLock() = default;
  DirectoryLock(DirectoryLock&& other) noexcept;
  DirectoryLock& operator=(DirectoryLock&& other) noexcept;
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock();

  /// Makes `dir` (and its parents) when missing and locks it; an error when
  /// another process holds the lock or the directory cannot be made.
  static std::optional<StorageError> acquire(const std::string& dir,
                                             DirectoryLock& out);

  bool held() const {
    return fd_ >= 0;
  }

private:
  int fd_ = -1;
};

} // namespace rros
