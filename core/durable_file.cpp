#include "core/durable_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace rros {

std::string StorageError::text() const {
  return file + " at offset " + std::to_string(offset) + ": " + message;
}

StorageError storage_error_from_errno(const std::string& file,
                                      std::uint64_t offset,
                                      const std::string& action, int err) {
  std::string reason = err == ENOSPC || err == EFBIG || err == EDQUOT
                           ? "the disk is full"
                           : std::strerror(err);
  return {file, offset, "cannot " + action + ": " + reason};
}

std::uint32_t crc32_of(std::string_view bytes, std::uint32_t seed) {
  // zlib takes at most uInt bytes per call.
  uLong crc = seed;
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  auto left = bytes.size();
  while (left > 0) {
    auto chunk = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    crc = ::crc32(crc, data, chunk);
    data += chunk;
    left -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const char* at) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i)
    value = (value << 8) | static_cast<unsigned char>(at[i]);
  return value;
}

std::uint64_t get_u64(const char* at) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | static_cast<unsigned char>(at[i]);
  return value;
}

namespace {

/// Writes all of `bytes` at the current position, retrying short writes.
bool write_all(int fd, std::string_view bytes, int& err) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      err = errno;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

std::optional<StorageError> sync_directory_of(const std::string& path) {
  auto dir = directory_of(path);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return storage_error_from_errno(dir, 0, "open the directory", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return storage_error_from_errno(dir, 0, "sync the directory", err);
  return std::nullopt;
}

std::optional<StorageError> write_file_atomically(const std::string& path,
                                                  std::string_view bytes,
                                                  const CrashPoint& crash) {
  auto stop_after = [&](AtomicWriteStep step) { return crash && crash(step); };
  auto temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return storage_error_from_errno(temp, 0, "create", errno);
  int err = 0;
  if (!write_all(fd, bytes, err)) {
    ::close(fd);
    ::unlink(temp.c_str());
    return storage_error_from_errno(temp, 0, "write", err);
  }
  if (stop_after(AtomicWriteStep::temp_written)) {
    ::close(fd);
    return std::nullopt;
  }
  if (::fsync(fd) != 0) {
    err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return storage_error_from_errno(temp, 0, "sync", err);
  }
  ::close(fd);
  if (stop_after(AtomicWriteStep::temp_synced))
    return std::nullopt;
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(temp.c_str());
    return storage_error_from_errno(path, 0, "rename " + temp + " to", err);
  }
  if (stop_after(AtomicWriteStep::renamed))
    return std::nullopt;
  if (auto failed = sync_directory_of(path))
    return failed;
  stop_after(AtomicWriteStep::done);
  return std::nullopt;
}

std::optional<StorageError> read_whole_file(const std::string& path,
                                            FileRead& out) {
  out = FileRead{};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::nullopt;
    return storage_error_from_errno(path, 0, "open", errno);
  }
  struct stat info;
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd);
    return StorageError{path, 0, "is a directory, not a file"};
  }
  out.exists = true;
  char buf[65536];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto failed =
          storage_error_from_errno(path, out.bytes.size(), "read", errno);
      ::close(fd);
      return failed;
    }
    if (n == 0)
      break;
    out.bytes.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return std::nullopt;
}

DirectoryLock::DirectoryLock(DirectoryLock&& other) noexcept
  : fd_(other.fd_) {
  other.fd_ = -1;
}

DirectoryLock& DirectoryLock::operator=(DirectoryLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0)
    ::close(fd_); // closing releases the flock
}

std::optional<StorageError> DirectoryLock::acquire(const std::string& dir,
                                                   DirectoryLock& out) {
  std::error_code made;
  std::filesystem::create_directories(dir, made);
  if (made)
    return StorageError{dir, 0,
                        "cannot make the data directory: " + made.message()};
  auto path = dir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return storage_error_from_errno(path, 0, "open", errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    auto err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return StorageError{dir, 0,
                          "the data directory is in use by another running "
                          "node (give each node its own --data-dir)"};
    return storage_error_from_errno(path, 0, "lock", err);
  }
  out = DirectoryLock{};
  out.fd_ = fd;
  return std::nullopt;
}

} // namespace rros
