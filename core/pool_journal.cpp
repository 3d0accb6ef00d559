#include "core/pool_journal.hpp"

#include "core/snapshot_file.hpp"

#include <sstream>
#include <utility>

#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

namespace rros {

// Cereal for the message types kept in the books (their CAF inspect()
// functions are for the wire, these for the disk).

template <class Archive>
void serialize(Archive& ar, Quota& x) {
  ar(x.name, x.members, x.min, x.max, x.weight);
}

template <class Archive>
void save(Archive& ar, const PoolPolicy& x) {
  ar(static_cast<std::int64_t>(x.aging_interval.count()),
     static_cast<std::int64_t>(x.preemption_grace.count()),
     x.max_preemptions_per_round);
}

template <class Archive>
void load(Archive& ar, PoolPolicy& x) {
  std::int64_t aging = 0;
  std::int64_t grace = 0;
  ar(aging, grace, x.max_preemptions_per_round);
  x.aging_interval = std::chrono::nanoseconds{aging};
  x.preemption_grace = std::chrono::nanoseconds{grace};
}

template <class Archive>
void save(Archive& ar, const ShedPolicy& x) {
  ar(x.degraded, static_cast<std::uint8_t>(x.refuse_from),
     x.revoke_preemptable);
}

template <class Archive>
void load(Archive& ar, ShedPolicy& x) {
  std::uint8_t from = 0;
  ar(x.degraded, from, x.revoke_preemptable);
  if (from > static_cast<std::uint8_t>(Priority::IDLE))
    throw std::runtime_error("a shed priority out of range");
  x.refuse_from = static_cast<Priority>(from);
}

template <class Archive>
void DurableBooks::serialize(Archive& ar, std::uint32_t /*version*/) {
  ar(has_capacity, capacity, highest_id, leases, reservations, quotas,
     has_policy, policy, shed);
}

template void DurableBooks::serialize(cereal::PortableBinaryOutputArchive&,
                                      std::uint32_t);
template void DurableBooks::serialize(cereal::PortableBinaryInputArchive&,
                                      std::uint32_t);

units DurableBooks::held() const {
  units result = 0;
  for (const auto& [id, lease] : leases)
    result += lease.amount;
  return result;
}

units DurableBooks::reserved() const {
  units result = 0;
  for (const auto& [id, reservation] : reservations)
    result += reservation.remaining;
  return result;
}

namespace {

template <class Archive, class Record>
void record_fields(Archive& ar, Record& x) {
  using kind = BookRecord::Kind;
  switch (x.kind) {
    case kind::put_lease:
      ar(x.id, x.lease);
      break;
    case kind::erase_lease:
    case kind::erase_reservation:
      ar(x.id);
      break;
    case kind::put_reservation:
      ar(x.id, x.reservation);
      break;
    case kind::capacity:
      ar(x.capacity);
      break;
    case kind::quota:
      ar(x.quota);
      break;
    case kind::policy:
      ar(x.policy);
      break;
    case kind::shed:
      ar(x.shed);
      break;
    default:
      throw std::runtime_error("an unknown record kind");
  }
}

} // namespace

std::string encode(const BookRecord& record) {
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive ar{out};
    ar(static_cast<std::uint8_t>(record.kind));
    record_fields(ar, const_cast<BookRecord&>(record));
  }
  return out.str();
}

std::optional<BookRecord> decode(const std::string& payload) {
  try {
    std::istringstream in{payload};
    cereal::PortableBinaryInputArchive ar{in};
    BookRecord result;
    std::uint8_t kind = 0;
    ar(kind);
    result.kind = static_cast<BookRecord::Kind>(kind);
    record_fields(ar, result);
    if (static_cast<std::size_t>(in.tellg()) != payload.size())
      return std::nullopt;
    return result;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void apply(DurableBooks& books, const BookRecord& record) {
  using kind = BookRecord::Kind;
  switch (record.kind) {
    case kind::put_lease:
      books.leases[record.id] = record.lease;
      books.highest_id = std::max(books.highest_id, record.id);
      break;
    case kind::erase_lease:
      books.leases.erase(record.id);
      break;
    case kind::put_reservation:
      books.reservations[record.id] = record.reservation;
      books.highest_id = std::max(books.highest_id, record.id);
      break;
    case kind::erase_reservation:
      books.reservations.erase(record.id);
      break;
    case kind::capacity:
      books.has_capacity = true;
      books.capacity = record.capacity;
      break;
    case kind::quota:
      // A quota that limits nothing removes the group's (as the pool does).
      if (record.quota.min == 0 && record.quota.max == 0 &&
          record.quota.weight == 1.0f && record.quota.members.empty())
        books.quotas.erase(record.quota.name);
      else
        books.quotas[record.quota.name] = record.quota;
      break;
    case kind::policy:
      books.has_policy = true;
      books.policy = record.policy;
      break;
    case kind::shed:
      books.shed = record.shed;
      break;
  }
}

PoolFiles pool_files(const std::string& dir, ResourceType type) {
  auto base = dir + "/" + to_string(type);
  return PoolFiles{base + ".snap", base + ".wal"};
}

std::variant<RecoveredBooks, StorageError>
recover_books(const PoolFiles& files) {
  RecoveredBooks result;
  auto snap = load_snapshot<DurableBooks>(files.snapshot);
  if (auto failed = std::get_if<StorageError>(&snap))
    return *failed;
  auto& loaded = std::get<Snapshot<DurableBooks>>(snap);
  result.snapshot_found = loaded.found;
  result.books = std::move(loaded.state);
  auto log = read_log(files.log);
  if (auto failed = std::get_if<StorageError>(&log))
    return *failed;
  auto& contents = std::get<LogContents>(log);
  result.torn_at = contents.torn_at;
  auto after = records_after(files.log, contents, loaded.last_seq);
  if (auto failed = std::get_if<StorageError>(&after))
    return *failed;
  result.next_seq = loaded.last_seq + 1;
  for (const auto& rec : std::get<std::vector<LogRecord>>(after)) {
    auto decoded = decode(rec.payload);
    if (!decoded)
      // The CRC matched, so these are the bytes written: a record this build
      // cannot read is a newer version's or a bug, never to be guessed at.
      return StorageError{files.log, rec.offset,
                          "a record this version cannot read (seq " +
                              std::to_string(rec.seq) + ")"};
    apply(result.books, *decoded);
    result.next_seq = rec.seq + 1;
    ++result.replayed;
  }
  return result;
}

PoolJournal::PoolJournal(PoolFiles files, JournalSettings settings,
                         WriteAheadLog log, DurableBooks books)
  : files_(std::move(files))
  , settings_(settings)
  , log_(std::move(log))
  , books_(std::move(books))
  , tokens_(std::random_device{}()) {
  // nop
}

std::variant<PoolJournal, StorageError>
PoolJournal::open(const PoolFiles& files, const JournalSettings& settings,
                  RecoveredBooks recovered) {
  auto log = WriteAheadLog::open(files.log, settings.sync, recovered.next_seq);
  if (auto failed = std::get_if<StorageError>(&log))
    return *failed;
  return PoolJournal{files, settings, std::move(std::get<WriteAheadLog>(log)),
                     std::move(recovered.books)};
}

std::optional<StorageError> PoolJournal::record(BookRecord record) {
  using kind = BookRecord::Kind;
  // Skip what would change nothing: the pool reports every touched id.
  switch (record.kind) {
    case kind::put_lease: {
      auto i = books_.leases.find(record.id);
      if (i != books_.leases.end() && i->second == record.lease)
        return std::nullopt;
      break;
    }
    case kind::erase_lease:
      if (books_.leases.count(record.id) == 0)
        return std::nullopt;
      break;
    case kind::put_reservation: {
      auto i = books_.reservations.find(record.id);
      if (i != books_.reservations.end() && i->second == record.reservation)
        return std::nullopt;
      break;
    }
    case kind::erase_reservation:
      if (books_.reservations.count(record.id) == 0)
        return std::nullopt;
      break;
    default:
      break;
  }
  auto appended = log_.append(encode(record));
  if (auto failed = std::get_if<StorageError>(&appended))
    return *failed;
  apply(books_, record);
  ++since_snapshot_;
  return std::nullopt;
}

std::uint64_t PoolJournal::new_token() {
  std::uint64_t result = 0;
  while (result == 0)
    result = tokens_();
  return result;
}

std::uint64_t PoolJournal::token_of(std::uint64_t id) const {
  auto i = books_.leases.find(id);
  return i == books_.leases.end() ? 0 : i->second.token;
}

std::optional<StorageError> PoolJournal::sync() {
  return log_.sync();
}

std::optional<StorageError> PoolJournal::maybe_snapshot() {
  if (since_snapshot_ < settings_.snapshot_every)
    return std::nullopt;
  return snapshot();
}

std::optional<StorageError> PoolJournal::rewrite(DurableBooks books) {
  books_ = std::move(books);
  return snapshot();
}

std::optional<StorageError> PoolJournal::snapshot() {
  if (auto failed = log_.sync())
    return failed;
  auto last_seq = log_.next_seq() - 1;
  if (auto failed = save_snapshot(files_.snapshot, last_seq, books_))
    return failed;
  // A crash here leaves records the snapshot holds: recovery skips them.
  if (auto failed = log_.restart())
    return failed;
  since_snapshot_ = 0;
  return std::nullopt;
}

} // namespace rros
