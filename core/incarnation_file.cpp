#include "core/incarnation_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "messages/error.hpp"

namespace rros {

namespace {

caf::error file_error(const std::string& path, const std::string& what) {
  return make_error(ec::invalid_argument,
                    "incarnation file '" + path + "': " + what);
}

} // namespace

IncarnationFile::IncarnationFile(IncarnationFile&& other) noexcept
  : fd_(other.fd_)
  , value_(other.value_) {
  other.fd_ = -1;
}

IncarnationFile& IncarnationFile::operator=(IncarnationFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.fd_;
    value_ = other.value_;
    other.fd_ = -1;
  }
  return *this;
}

IncarnationFile::~IncarnationFile() {
  if (fd_ >= 0)
    ::close(fd_);
}

caf::expected<IncarnationFile> IncarnationFile::next(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return file_error(path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    auto err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return make_error(ec::duplicate_id,
                        "incarnation file '" + path +
                            "' is locked by another running node of that "
                            "name in this directory");
    return file_error(path, std::strerror(err));
  }
  char buf[32] = {};
  auto got = ::pread(fd, buf, sizeof buf - 1, 0);
  if (got < 0) {
    auto err = errno;
    ::close(fd);
    return file_error(path, std::strerror(err));
  }
  std::uint64_t last = 0;
  std::string text(buf, static_cast<std::size_t>(got));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  if (!text.empty()) {
    char* end = nullptr;
    errno = 0;
    last = std::strtoull(text.c_str(), &end, 10);
    if (errno != 0 || end != text.c_str() + text.size() || text[0] == '-') {
      ::close(fd);
      return file_error(path, "not a counter ('" + text + "')");
    }
  }
  auto value = last + 1;
  auto out = std::to_string(value) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, out.data(), out.size(), 0) !=
          static_cast<ssize_t>(out.size()) ||
      ::fsync(fd) != 0) {
    auto err = errno;
    ::close(fd);
    return file_error(path, std::strerror(err));
  }
  return IncarnationFile{fd, value};
}

} // namespace rros
