#include "core/snapshot_file.hpp"

namespace rros {

namespace {

constexpr char snapshot_magic[8] = {'R', 'R', 'O', 'S', 'S', 'N', 'A', 'P'};

} // namespace

std::string snapshot_file_bytes(std::uint64_t last_seq,
                                std::string_view payload) {
  std::string out(snapshot_magic, sizeof snapshot_magic);
  put_u32(out, snapshot_format_version);
  put_u32(out, 0);
  put_u64(out, last_seq);
  put_u64(out, payload.size());
  put_u32(out, crc32_of(payload));
  put_u32(out, 0);
  out.append(payload);
  return out;
}

std::variant<SnapshotBytes, StorageError>
parse_snapshot_bytes(const std::string& path, const std::string& bytes) {
  if (bytes.size() < snapshot_header_bytes)
    return StorageError{path, 0,
                        "incomplete snapshot header (" +
                            std::to_string(bytes.size()) + " bytes)"};
  if (bytes.compare(0, sizeof snapshot_magic,
                    std::string(snapshot_magic, sizeof snapshot_magic)) != 0)
    return StorageError{path, 0, "not an rros snapshot"};
  auto version = get_u32(bytes.data() + 8);
  if (version > snapshot_format_version)
    return StorageError{path, 8,
                        "written by a newer version of rros (snapshot "
                        "format " +
                            std::to_string(version) +
                            "; this build reads format " +
                            std::to_string(snapshot_format_version) + ")"};
  if (version == 0)
    return StorageError{path, 8, "snapshot format 0 does not exist"};
  SnapshotBytes result;
  result.last_seq = get_u64(bytes.data() + 16);
  auto length = get_u64(bytes.data() + 24);
  auto crc = get_u32(bytes.data() + 32);
  if (length != bytes.size() - snapshot_header_bytes)
    return StorageError{
        path, 24,
        "the header says " + std::to_string(length) +
            " payload bytes but the file holds " +
            std::to_string(bytes.size() - snapshot_header_bytes)};
  std::string_view payload{bytes.data() + snapshot_header_bytes,
                           static_cast<std::size_t>(length)};
  if (crc32_of(payload) != crc)
    return StorageError{path, snapshot_header_bytes, "checksum mismatch"};
  result.payload = std::string{payload};
  return result;
}

} // namespace rros
