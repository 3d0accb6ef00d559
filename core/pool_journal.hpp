// rros::PoolJournal: one pool's books kept on disk (issue 14). The pool tells
// the journal what its books look like after each change (a lease or a
// reservation put or erased, the capacity, a quota, the policy, what is
// shed); the journal appends one write-ahead-log record per change, keeps a
// mirror of the books (DurableBooks) and writes the mirror as a snapshot
// every few records, after which the log starts anew. Recovery reads the
// snapshot and replays the log into the same DurableBooks.
//
// Records describe resulting state, not operations: replaying one twice or
// on top of a snapshot that already holds it gives the same books, and a
// record never needs the pool's rules to be understood.
//
// Times are wall-clock (system_clock) nanoseconds since the epoch: the
// pool's actor clock starts anew with the process.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "core/write_ahead_log.hpp"
#include "messages/types.hpp"

namespace rros {

/// A committed grant as kept on disk.
struct DurableLease {
  std::string requester;
  units amount = 0;
  std::uint8_t priority = 2; // Priority
  bool preemptable = false;
  bool has_ttl = false;
  std::int64_t expires_at_ns = 0; // wall clock, when has_ttl
  std::uint64_t token = 0;        // what a holder shows to reattach

  template <class Archive>
  void serialize(Archive& ar, std::uint32_t /*version*/) {
    ar(requester, amount, priority, preemptable, has_ttl, expires_at_ns, token);
  }

  friend bool operator==(const DurableLease& x, const DurableLease& y) {
    return x.requester == y.requester && x.amount == y.amount &&
           x.priority == y.priority && x.preemptable == y.preemptable &&
           x.has_ttl == y.has_ttl && x.expires_at_ns == y.expires_at_ns &&
           x.token == y.token;
  }
};

/// An ordinary reservation as kept on disk.
struct DurableReservation {
  std::string requester;
  units remaining = 0;
  bool anonymous = false; // made without a holder: outlives any connection
  bool expires = false;
  std::int64_t expires_at_ns = 0;

  template <class Archive>
  void serialize(Archive& ar, std::uint32_t /*version*/) {
    ar(requester, remaining, anonymous, expires, expires_at_ns);
  }

  friend bool operator==(const DurableReservation& x,
                         const DurableReservation& y) {
    return x.requester == y.requester && x.remaining == y.remaining &&
           x.anonymous == y.anonymous && x.expires == y.expires &&
           x.expires_at_ns == y.expires_at_ns;
  }
};

/// One pool's books as kept on disk: what a restarted pool starts from.
struct DurableBooks {
  bool has_capacity = false; // false: the configured capacity applies
  units capacity = 0;
  std::uint64_t highest_id = 0; // new ids must come after it
  std::map<std::uint64_t, DurableLease> leases;
  std::map<std::uint64_t, DurableReservation> reservations;
  std::map<std::string, Quota> quotas; // by group name
  bool has_policy = false;
  PoolPolicy policy;
  ShedPolicy shed;

  template <class Archive>
  void serialize(Archive& ar, std::uint32_t version);

  units held() const;
  units reserved() const;
};

/// One change, as a log record.
struct BookRecord {
  enum class Kind : std::uint8_t {
    put_lease = 1,
    erase_lease = 2,
    put_reservation = 3,
    erase_reservation = 4,
    capacity = 5,
    quota = 6,
    policy = 7,
    shed = 8,
  };
  Kind kind = Kind::capacity;
  std::uint64_t id = 0;
  DurableLease lease;
  DurableReservation reservation;
  units capacity = 0;
  Quota quota;
  PoolPolicy policy;
  ShedPolicy shed;
};

/// The record's bytes (a log payload) and back. decode() returns nothing for
/// bytes that do not read as a record.
std::string encode(const BookRecord& record);
std::optional<BookRecord> decode(const std::string& payload);

/// Applies one record to `books`.
void apply(DurableBooks& books, const BookRecord& record);

/// What a data directory holds for one pool: the snapshot and the log.
struct PoolFiles {
  std::string snapshot;
  std::string log;
};

PoolFiles pool_files(const std::string& dir, ResourceType type);

/// What recovery found.
struct RecoveredBooks {
  DurableBooks books;
  std::uint64_t next_seq = 1; // for the log that goes on
  std::size_t replayed = 0;   // log records applied on top of the snapshot
  bool snapshot_found = false;
  std::optional<std::uint64_t> torn_at; // a torn tail was dropped there
};

/// Reads the snapshot and replays the log. Damage, a gap or a newer format
/// is an error naming the file and offset.
std::variant<RecoveredBooks, StorageError>
recover_books(const PoolFiles& files);

/// How a journal writes.
struct JournalSettings {
  SyncMode sync = SyncMode::group;
  std::size_t snapshot_every = 10000; // records between snapshots
};

/// A node's durability settings (rros node --data-dir and friends); pools
/// get them from the manager.
struct StorageSettings {
  std::string dir; // one snapshot and one log per resource type
  JournalSettings journal;
  // Group commit: how long a change may wait for the sync that makes it
  // durable (its reply waits as long). 0: the sync runs as soon as the
  // requests already queued are handled (one fsync per mailbox's worth).
  std::chrono::nanoseconds group_interval{0};
  // How long restored grants wait for their holders (reattach_atom).
  std::chrono::nanoseconds reattach_grace = std::chrono::seconds(30);
};

class PoolJournal {
public:
  /// Opens the log after recovery (`recovered` from recover_books); the
  /// mirror starts from the recovered books.
  static std::variant<PoolJournal, StorageError>
  open(const PoolFiles& files, const JournalSettings& settings,
       RecoveredBooks recovered);

  const DurableBooks& books() const {
    return books_;
  }

  /// Appends `record` (and applies it to the mirror). A record that changes
  /// nothing (a put equal to what is kept, an erase of what is not kept) is
  /// skipped. With SyncMode::per_record it is on disk when this returns. On
  /// an error nothing is applied and nothing half is written.
  std::optional<StorageError> record(BookRecord record);

  /// A fresh token for a lease about to be put (kept with it).
  std::uint64_t new_token();

  /// The token kept for lease `id`, 0 when none.
  std::uint64_t token_of(std::uint64_t id) const;

  /// Group commit: puts what was appended on disk.
  std::optional<StorageError> sync();

  bool has_unsynced() const {
    return log_.has_unsynced();
  }

  SyncMode mode() const {
    return log_.mode();
  }

  /// Writes a snapshot and restarts the log when `snapshot_every` records
  /// were appended since the last one (synced first, so the snapshot holds
  /// only what is durable anyway).
  std::optional<StorageError> maybe_snapshot();

  /// Replaces the mirror (after a restart, by the books the pool actually
  /// rebuilt) and writes it as a snapshot.
  std::optional<StorageError> rewrite(DurableBooks books);

  /// Writes a snapshot now and restarts the log.
  std::optional<StorageError> snapshot();

  std::uint64_t records_since_snapshot() const {
    return since_snapshot_;
  }

private:
  PoolJournal(PoolFiles files, JournalSettings settings, WriteAheadLog log,
              DurableBooks books);

  PoolFiles files_;
  JournalSettings settings_;
  WriteAheadLog log_;
  DurableBooks books_;
  std::uint64_t since_snapshot_ = 0;
  std::mt19937_64 tokens_;
};

} // namespace rros
