// Snapshots (issue 14): a node's whole state at one log sequence number,
// serialized with cereal's portable binary archive and written atomically
// (write_file_atomically), so that after a crash the previous snapshot or
// the new one is there, never a part of one. Once a snapshot is on disk the
// log restarts empty (WriteAheadLog::restart).
//
// File layout (little-endian):
//   "RROSSNAP", u32 format version, u32 zero, u64 last seq,
//   u64 payload length, u32 CRC-32 of the payload, u32 zero   (40 bytes)
//   payload: cereal PortableBinary of the state
// The state's own types carry cereal class versions for their fields; the
// format version covers the file layout. A file from a newer format is
// refused rather than guessed at.
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>

#include <cereal/archives/portable_binary.hpp>

#include "core/durable_file.hpp"

namespace rros {

inline constexpr std::uint32_t snapshot_format_version = 1;
inline constexpr std::size_t snapshot_header_bytes = 40;

/// The header and payload of a snapshot file, checked.
struct SnapshotBytes {
  std::uint64_t last_seq = 0;
  std::string payload;
};

/// The file's bytes for a snapshot at `last_seq` holding `payload`.
std::string snapshot_file_bytes(std::uint64_t last_seq,
                                std::string_view payload);

/// Checks a snapshot file's bytes: magic, format version, length, CRC.
std::variant<SnapshotBytes, StorageError>
parse_snapshot_bytes(const std::string& path, const std::string& bytes);

/// A loaded snapshot: `found` is false when there is none yet.
template <class State>
struct Snapshot {
  bool found = false;
  std::uint64_t last_seq = 0;
  State state{};
};

/// Writes `state` at `last_seq` to `path`, atomically.
template <class State>
std::optional<StorageError>
save_snapshot(const std::string& path, std::uint64_t last_seq,
              const State& state, const CrashPoint& crash = {}) {
  std::ostringstream payload;
  {
    cereal::PortableBinaryOutputArchive archive{payload};
    archive(state);
  }
  return write_file_atomically(
      path, snapshot_file_bytes(last_seq, payload.str()), crash);
}

/// Reads the snapshot at `path`; a missing file is "no snapshot yet". A
/// leftover PATH.tmp from a crash during a save is ignored (the rename never
/// happened, so the file at `path` is the last complete one).
template <class State>
std::variant<Snapshot<State>, StorageError>
load_snapshot(const std::string& path) {
  FileRead file;
  if (auto failed = read_whole_file(path, file))
    return *failed;
  Snapshot<State> result;
  if (!file.exists)
    return result;
  auto parsed = parse_snapshot_bytes(path, file.bytes);
  if (auto failed = std::get_if<StorageError>(&parsed))
    return *failed;
  auto& checked = std::get<SnapshotBytes>(parsed);
  try {
    std::istringstream payload{checked.payload};
    cereal::PortableBinaryInputArchive archive{payload};
    archive(result.state);
  } catch (const std::exception& ex) {
    // The CRC matched, so the bytes are what was written: the state's types
    // do not read them (a newer class version, say).
    return StorageError{path, snapshot_header_bytes,
                        std::string{"cannot read the state: "} + ex.what()};
  }
  result.found = true;
  result.last_seq = checked.last_seq;
  return result;
}

} // namespace rros
