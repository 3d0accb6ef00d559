// A node's incarnation number (docs/cluster.md): a counter in a small text
// file, one more at every start, locked for the life of the run so that two
// processes never share one (the second is refused, not given a number).
#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>

namespace rros {

class IncarnationFile {
public:
  IncarnationFile(const IncarnationFile&) = delete;
  IncarnationFile& operator=(const IncarnationFile&) = delete;
  IncarnationFile(IncarnationFile&& other) noexcept;
  IncarnationFile& operator=(IncarnationFile&& other) noexcept;
  ~IncarnationFile(); // releases the lock

  /// Opens (or creates) `path`, locks it, reads the last incarnation (0 when
  /// new), writes and syncs the next one and returns it. Errors:
  /// duplicate_id when another process holds the lock, invalid_argument
  /// naming the file when it cannot be read, written or parsed.
  static caf::expected<IncarnationFile> next(const std::string& path);

  std::uint64_t value() const {
    return value_;
  }

private:
  IncarnationFile(int fd, std::uint64_t value)
    : fd_(fd)
    , value_(value) {}

  int fd_ = -1;
  std::uint64_t value_ = 0;
};

} // namespace rros
