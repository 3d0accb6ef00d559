// rros::WaitQueue: the one queue of waiting requests for the resource pools,
// the bundle coordinator and the task scheduler. Pure C++17, no actors.
// Longer than ~600 lines on purpose: one data structure with its indexes,
// whose invariants are easier to check in one place.
//
// RANKING (best first), evaluated at a time `now`:
//   1. effective level, lower first:
//        max(0, priority - min(floor(waited / aging_interval), max_level))
//      with waited = max(0, now - enqueued); an aging interval of zero or less
//      means no aging (level = priority). Priorities run from 0 (best,
//      CRITICAL) to max_level (IDLE).
//   2. the requester's share (set_share, default 0.0), lower first;
//   3. the deadline (time_point::max() = none), earlier first;
//   4. seq (unique, arrival order), lower first.
// ranks_before() is this comparator written out; the queue keeps exactly its
// order without ever sorting or scanning.
//
// DESIGN
// * Levels. Aging only ever moves an entry to a better level, at known times
//   enqueued + j * aging_interval (j = 1 .. priority). Each entry above level
//   0 has one pending promotion; every operation that takes `now` first
//   applies the promotions due by then, each moving its entry straight to its
//   current level (one move even after several intervals). Pending promotions
//   with the same j fall due in enqueue order, so they wait in one FIFO per j
//   (O(1)); an entry enqueued earlier than the last one scheduled with its j
//   (a re-push after take, set_aging_interval) goes to an ordered set instead
//   (O(log n)). Entries removed while pending leave a stale FIFO slot that is
//   skipped when it falls due (the FIFOs are compacted when stale slots
//   outnumber twice the entries: amortized O(1)).
// * Requesters within a level. Each requester has, per level, an ordered map
//   (deadline, seq) -> entry. A level's bucket is an ordered set of the
//   requesters present there keyed by (share, deadline and seq of their head
//   there), the key stored by value (no pointer chasing while comparing). So
//     - the head of a level is the head of its bucket's first requester;
//     - a share change re-keys the requester once per level it is present at:
//       O(levels * log requesters), whatever its number of entries;
//     - inserting or removing an entry re-keys its requester in that level's
//       bucket only when the requester's head there changes.
// * Visit (full rank order) is, per level, a lazy k-way merge of the
//   requesters' maps: the bucket yields requesters in (share, head) order and
//   a small heap holds the requesters already started, so requesters with
//   equal shares interleave by (deadline, seq). Stopping after m entries costs
//   O(levels + m log k), k = requesters interleaving; never O(n).
// * Indexes: seq -> node (hash map; nodes never move, so Entry* stay valid
//   until the entry leaves); requester name -> record (hash map: a string is
//   hashed once per call that names a requester and never compared while
//   ranking); (requester, request_id) -> node (hash multimap); per level the
//   (deadline, seq) of each requester's head there (earliest_deadline) and the
//   number of entries (count_at). Nodes keep iterators into the ordered
//   structures, so a removal needs no searching.
//
// COMPLEXITY, n entries, R requesters, L = max_level + 1 levels. "+ P": the
// promotions due, O(log n) each; an entry gets at most `priority` of them in
// its life, so they are amortized O(log n) per push.
//   push                   O(log n) + P
//   take, erase            O(log n)
//   find(seq)              O(1) average
//   find(requester, id)    O(|requester| + d), d = entries sharing the id
//   set_share              O(L log R)
//   share_of, count_of     O(|requester|)
//   head                   O(L) + P
//   count_at, earliest_deadline  O(1) + P
//   visit, m entries       O(L + m log k) + P
//   level_of               O(1); ranks_before O(|requester|)
//   set_aging_interval     O(n log n)
//   clear O(n); copy O(n log n); move, swap O(1); size, empty O(1)
//
// TIME never goes backwards between calls. If it does, the queue uses the
// latest `now` it has seen instead (promotions are never undone); level_of and
// ranks_before clamp the same way, so they always agree with the queue's
// order. An entry enqueued "in the future" counts as not having waited yet.
// Times are expected to come from one clock (now - enqueued must not
// overflow).
//
// SHARES are remembered only while the requester has entries: set_share for a
// requester without entries does nothing, and a requester's share is forgotten
// when its last entry leaves (so the map never outgrows the queue). Set the
// share after pushing (set_share returns at once when the value is unchanged):
//     q.push(std::move(e), now);
//     q.set_share(requester, weighted_share(st, requester));
// and on every change of a waiting requester's holdings. NaN counts as 0.0.
//
// KEYS of an entry (seq, requester, request_id, priority, enqueued, deadline)
// must not be changed through find()/head(); the payload may be. To change a
// key: take() it, change it, push() it again (take + push keep the rank, since
// the rank is a function of the entry and the requester's share only).
//
// EXCEPTIONS: an allocation failure inside an operation may leave the queue
// inconsistent (no rollback); nothing else throws. Not thread-safe (one actor
// owns it).
//
// INTEGRATION
// * Pool: serve_waiting becomes serve_with_backfill below (heads while they
//   fit, then one ranked pass for backfill candidates behind the blocked
//   head); blocked_ahead becomes earliest_deadline_ahead below, O(levels);
//   cancel becomes find(requester, request_id) then take(seq).
// * Bundle coordinator: pump wants the best *untried* bundle: keep tried
//   bundles out of the queue (take them when attempted; push them back, same
//   seq and enqueued, when a report makes them worth trying), then head(now).
//   dominant_share -> set_share.
// * Scheduler: key_of = (priority, deadline, seq) is this ranking with an
//   aging interval of zero and no shares set.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rros {

template <class Payload, class TimePoint>
class WaitQueue {
public:
  using time_point = TimePoint;
  using duration = typename TimePoint::duration;
  static_assert(std::is_integral<typename duration::rep>::value,
                "WaitQueue needs a clock with an integral tick count");

  struct Entry {
    std::uint64_t seq = 0;        // unique key; arrival order
    std::string requester;        // whose share ranks it; cancel key
    std::uint64_t request_id = 0; // the caller's id for cancel (0 = none)
    int priority = 0;             // 0 .. max_level
    time_point enqueued{};
    time_point deadline = time_point::max();
    Payload payload{};
  };

  explicit WaitQueue(duration aging_interval = duration::zero(),
                     int max_level = 4)
    : interval_(positive_or_zero(aging_interval))
    , max_level_(std::max(0, max_level))
    , levels_(static_cast<std::size_t>(max_level_) + 1)
    , fifos_(levels_.size()) {
    for (std::size_t l = 0; l < levels_.size(); ++l)
      levels_[l].index = l;
  }

  WaitQueue(const WaitQueue& other)
    : WaitQueue(other.interval_, other.max_level_) {
    now_ = other.now_;
    nodes_.reserve(other.nodes_.size());
    for (const Node* n : by_enqueued(other.nodes_))
      insert_node(Entry{n->e});
    for (const auto& kv : other.requesters_)
      set_share(kv.first, kv.second.share);
  }

  WaitQueue(WaitQueue&& other)
    : WaitQueue(other.interval_, other.max_level_) {
    swap(other);
  }

  /// Copy and move assignment (copy-and-swap).
  WaitQueue& operator=(WaitQueue other) {
    swap(other);
    return *this;
  }

  /// Exchanges the contents; entries keep their addresses.
  void swap(WaitQueue& other) noexcept {
    using std::swap;
    swap(interval_, other.interval_);
    swap(max_level_, other.max_level_);
    swap(now_, other.now_);
    swap(nodes_, other.nodes_);
    swap(requesters_, other.requesters_);
    swap(by_request_, other.by_request_);
    swap(levels_, other.levels_);
    swap(fifos_, other.fifos_);
    swap(late_, other.late_);
    swap(stale_, other.stale_);
  }

  duration aging_interval() const {
    return interval_;
  }

  int max_level() const {
    return max_level_;
  }

  /// Changes the aging interval (zero or less: no aging) and re-levels every
  /// entry for `now`: O(n log n). Levels may rise again when it grows.
  void set_aging_interval(duration d, time_point now) {
    if (now > now_)
      now_ = now;
    interval_ = positive_or_zero(d);
    auto all = by_enqueued(nodes_); // so that the FIFOs fill in order
    clear_index();
    for (Node* n : all) {
      n->sched = Sched::none;
      link(*n, level_at(n->e, now_));
      schedule(*n);
    }
  }

  /// Adds `e`; false (and nothing changes) when its seq is queued already or
  /// its priority is outside 0 .. max_level. Several entries of one requester
  /// may share a request_id (see find).
  bool push(Entry e, time_point now) {
    if (e.priority < 0 || e.priority > max_level_ ||
        nodes_.find(e.seq) != nodes_.end())
      return false;
    advance(now);
    insert_node(std::move(e));
    return true;
  }

  /// Removes and returns the entry `seq`, if queued.
  std::optional<Entry> take(std::uint64_t seq) {
    auto i = nodes_.find(seq);
    if (i == nodes_.end())
      return std::nullopt;
    auto& n = i->second;
    auto& r = *n.r;
    unlink(n);
    unschedule(n);
    if (auto j = by_request_.find(RequestKey{&r, n.e.request_id});
        j != by_request_.end()) {
      j->second.erase(n.e.seq);
      if (j->second.empty())
        by_request_.erase(j);
    }
    std::optional<Entry> result{std::move(n.e)};
    nodes_.erase(i);
    if (--r.count == 0)
      requesters_.erase(result->requester); // forgets the share
    return result;
  }

  bool erase(std::uint64_t seq) {
    return take(seq).has_value();
  }

  /// The entry `seq` or nullptr. The payload may be modified, keys may not.
  Entry* find(std::uint64_t seq) {
    auto i = nodes_.find(seq);
    return i == nodes_.end() ? nullptr : &i->second.e;
  }

  const Entry* find(std::uint64_t seq) const {
    auto i = nodes_.find(seq);
    return i == nodes_.end() ? nullptr : &i->second.e;
  }

  /// The entry of `requester` with `request_id` (0 included: callers that
  /// never name their requests cancel the earliest), or nullptr. When several
  /// match, the earliest arrival (lowest seq). O(|requester| + log d).
  Entry* find(const std::string& requester, std::uint64_t request_id) {
    auto r = requesters_.find(requester);
    if (r == requesters_.end())
      return nullptr;
    auto j = by_request_.find(RequestKey{&r->second, request_id});
    if (j == by_request_.end())
      return nullptr;
    return &j->second.begin()->second->e;
  }

  /// The earliest entry of `requester` with `request_id` that `accept`
  /// takes, or nullptr: a cancel looks for the caller's own entry, which an
  /// earlier entry with the same names (another caller's) must not hide.
  /// O(|requester| + log d + entries with these names).
  template <class Accept>
  Entry* find(const std::string& requester, std::uint64_t request_id,
              Accept&& accept) {
    auto r = requesters_.find(requester);
    if (r == requesters_.end())
      return nullptr;
    auto j = by_request_.find(RequestKey{&r->second, request_id});
    if (j == by_request_.end())
      return nullptr;
    for (auto& [seq, node] : j->second)
      if (accept(node->e))
        return &node->e;
    return nullptr;
  }

  /// Sets the share of a requester that has entries (see SHARES above).
  void set_share(const std::string& requester, double share) {
    if (std::isnan(share))
      share = 0.0;
    auto i = requesters_.find(requester);
    if (i == requesters_.end() || i->second.share == share)
      return;
    auto& r = i->second;
    r.share = share;
    for (std::size_t l = 0; l < levels_.size(); ++l)
      if (!r.levels[l].empty()) {
        auto& bucket = levels_[l].bucket;
        bucket.erase(r.in_bucket[l]);
        r.in_bucket[l] = bucket.insert(head_key(r, l)).first;
      }
  }

  /// The requester's share; 0.0 when it has no entries.
  double share_of(const std::string& requester) const {
    auto i = requesters_.find(requester);
    return i == requesters_.end() ? 0.0 : i->second.share;
  }

  std::size_t count_of(const std::string& requester) const {
    auto i = requesters_.find(requester);
    return i == requesters_.end() ? 0 : i->second.count;
  }

  /// The best-ranked entry at `now`, or nullptr when empty.
  Entry* head(time_point now) {
    advance(now);
    for (auto& level : levels_)
      if (!level.bucket.empty())
        return &level.bucket.begin()->r->first(level.index)->e;
    return nullptr;
  }

  /// The number of entries at effective level `level` at `now`.
  std::size_t count_at(int level, time_point now) {
    advance(now);
    if (level < 0 || level > max_level_)
      return 0;
    return levels_[static_cast<std::size_t>(level)].count;
  }

  /// The earliest deadline among the entries at effective level `level` at
  /// `now`; time_point::max() when there are none (or none has a deadline).
  time_point earliest_deadline(int level, time_point now) {
    advance(now);
    if (level < 0 || level > max_level_)
      return time_point::max();
    const auto& heads = levels_[static_cast<std::size_t>(level)].heads;
    return heads.empty() ? time_point::max() : heads.begin()->deadline;
  }

  /// The effective level of `e` at `now` (see RANKING).
  int level_of(const Entry& e, time_point now) const {
    return static_cast<int>(level_at(e, std::max(now, now_)));
  }

  /// The reference comparator: true when `x` ranks before `y` at `now`, with
  /// the shares the queue holds.
  bool ranks_before(const Entry& x, const Entry& y, time_point now) const {
    auto lx = level_of(x, now);
    auto ly = level_of(y, now);
    if (lx != ly)
      return lx < ly;
    if (x.requester != y.requester) {
      auto sx = share_of(x.requester);
      auto sy = share_of(y.requester);
      if (sx != sy)
        return sx < sy;
    }
    if (x.deadline != y.deadline)
      return x.deadline < y.deadline;
    return x.seq < y.seq;
  }

  /// Calls f(const Entry&) for every entry in rank order at `now` until f
  /// returns false (f may also return void: all entries). f must not modify
  /// the queue nor call its non-const members (head, count_at,
  /// earliest_deadline and visit may apply promotions); collect seqs and act
  /// after the visit (see serve_with_backfill).
  template <class F>
  void visit(time_point now, F f) {
    advance(now);
    std::vector<Cursor> heap; // requesters started and not exhausted
    auto after = [](const Cursor& x, const Cursor& y) {
      return rank_less(y.share, y.at->first, x.share, x.at->first);
    };
    for (const auto& level : levels_) {
      auto next = level.bucket.begin();
      auto end = level.bucket.end();
      heap.clear();
      for (;;) {
        const Node* n = nullptr;
        if (next != end &&
            (heap.empty() ||
             rank_less(next->share, next->head, heap.front().share,
                       heap.front().at->first))) {
          const auto& map = next->r->levels[level.index];
          auto at = map.begin();
          n = at->second;
          if (++at != map.end()) {
            heap.push_back(Cursor{next->share, at, map.end()});
            std::push_heap(heap.begin(), heap.end(), after);
          }
          ++next;
        } else if (!heap.empty()) {
          std::pop_heap(heap.begin(), heap.end(), after);
          auto& c = heap.back();
          n = c.at->second;
          if (++c.at != c.end)
            std::push_heap(heap.begin(), heap.end(), after);
          else
            heap.pop_back();
        } else {
          break;
        }
        if constexpr (std::is_void_v<decltype(f(n->e))>) {
          f(n->e);
        } else {
          if (!f(n->e))
            return;
        }
      }
    }
  }

  std::size_t size() const {
    return nodes_.size();
  }

  bool empty() const {
    return nodes_.empty();
  }

  /// Removes every entry (and so every share). Keeps the aging interval and
  /// the latest time seen.
  void clear() {
    clear_index();
    by_request_.clear();
    nodes_.clear();
    requesters_.clear();
  }

private:
  struct Node;
  struct Requester;

  /// A position within a level: (deadline, seq).
  struct Key {
    time_point deadline;
    std::uint64_t seq;
    bool operator<(const Key& y) const {
      return deadline != y.deadline ? deadline < y.deadline : seq < y.seq;
    }
  };

  /// Rank within one level: share, then (deadline, seq).
  static bool rank_less(double xs, const Key& x, double ys, const Key& y) {
    return xs != ys ? xs < ys : x < y;
  }

  /// A requester's place in a level's bucket.
  struct BucketKey {
    double share;
    Key head;
    Requester* r;
    bool operator<(const BucketKey& y) const {
      return rank_less(share, head, y.share, y.head);
    }
  };

  using LevelMap = std::map<Key, Node*>; // one requester's entries at a level
  using Bucket = std::set<BucketKey>;
  using Heads = std::set<Key>;

  struct Level {
    std::size_t index = 0;
    std::size_t count = 0; // entries
    Bucket bucket;         // requesters present, in rank order
    Heads heads;           // their heads, by (deadline, seq)
  };

  /// A pending promotion.
  struct Pending {
    time_point due;
    std::uint64_t seq;
  };
  using Late = std::set<std::pair<time_point, std::uint64_t>>;
  enum class Sched : unsigned char { none, fifo, late };

  struct Node {
    Entry e;
    Requester* r = nullptr;
    std::size_t level = 0; // the level it is linked at
    typename LevelMap::iterator in_level;
    Sched sched = Sched::none;
    time_point due{}; // of the pending promotion
    typename Late::iterator in_late;
  };

  struct Requester {
    double share = 0.0;
    std::size_t count = 0;
    std::vector<LevelMap> levels;                     // per level
    std::vector<typename Bucket::iterator> in_bucket; // where levels[l] has any
    std::vector<typename Heads::iterator> in_heads;   // where levels[l] has any
    Node* first(std::size_t level) const {
      return levels[level].begin()->second;
    }
  };

  struct RequestKey {
    const Requester* r;
    std::uint64_t id;
    bool operator==(const RequestKey& y) const {
      return r == y.r && id == y.id;
    }
  };
  struct RequestHash {
    std::size_t operator()(const RequestKey& k) const {
      auto h = std::hash<const void*>{}(k.r);
      return h ^ (std::hash<std::uint64_t>{}(k.id) + 0x9e3779b97f4a7c15ULL +
                  (h << 6) + (h >> 2));
    }
  };

  struct Cursor {
    double share;
    typename LevelMap::const_iterator at;
    typename LevelMap::const_iterator end;
  };

  static duration positive_or_zero(duration d) {
    return d > duration::zero() ? d : duration::zero();
  }

  static BucketKey head_key(Requester& r, std::size_t level) {
    return BucketKey{r.share, r.levels[level].begin()->first, &r};
  }

  std::size_t level_at(const Entry& e, time_point now) const {
    if (interval_ == duration::zero())
      return static_cast<std::size_t>(e.priority);
    auto waited = now > e.enqueued ? now - e.enqueued : duration::zero();
    auto steps = waited / interval_;
    auto k = steps < max_level_ ? static_cast<int>(steps) : max_level_;
    return static_cast<std::size_t>(std::max(0, e.priority - k));
  }

  /// Every node, by (enqueued, seq).
  template <class Nodes>
  static auto by_enqueued(Nodes& nodes) {
    std::vector<decltype(&nodes.begin()->second)> result;
    result.reserve(nodes.size());
    for (auto& kv : nodes)
      result.push_back(&kv.second);
    std::sort(result.begin(), result.end(), [](const Node* x, const Node* y) {
      return x->e.enqueued != y->e.enqueued ? x->e.enqueued < y->e.enqueued
                                            : x->e.seq < y->e.seq;
    });
    return result;
  }

  /// Empties the levels and the promotion schedule (not the entries).
  void clear_index() {
    for (auto& level : levels_) {
      level.count = 0;
      level.bucket.clear();
      level.heads.clear();
    }
    for (auto& fifo : fifos_)
      fifo.clear();
    late_.clear();
    stale_ = 0;
    for (auto& kv : requesters_)
      for (auto& map : kv.second.levels)
        map.clear();
  }

  // -- aging ------------------------------------------------------------------

  /// The entry's next promotion when it is at `level`: enqueued + j * interval
  /// with j = priority - level + 1 (intervals waited by then); none at level
  /// 0, without aging or beyond the clock's range.
  std::optional<time_point> next_promotion(const Entry& e,
                                           std::size_t level) const {
    if (interval_ == duration::zero() || level == 0)
      return std::nullopt;
    auto j = static_cast<typename duration::rep>(e.priority) -
             static_cast<typename duration::rep>(level) + 1;
    if (interval_.count() > duration::max().count() / j)
      return std::nullopt;
    auto d = interval_ * j;
    if (e.enqueued > time_point::max() - d)
      return std::nullopt;
    return e.enqueued + d;
  }

  void schedule(Node& n) {
    auto due = next_promotion(n.e, n.level);
    if (!due || *due <= now_) // cannot be due already; never loop on it
      return;
    n.due = *due;
    auto& fifo = fifos_[static_cast<std::size_t>(n.e.priority) - n.level];
    if (fifo.empty() || !(*due < fifo.back().due)) {
      fifo.push_back(Pending{*due, n.e.seq});
      n.sched = Sched::fifo;
    } else {
      n.in_late = late_.emplace(*due, n.e.seq).first;
      n.sched = Sched::late;
    }
  }

  void unschedule(Node& n) {
    auto was = n.sched;
    n.sched = Sched::none;
    if (was == Sched::late)
      late_.erase(n.in_late);
    else if (was == Sched::fifo && ++stale_ > 2 * nodes_.size() + 64)
      compact();
  }

  /// The node a FIFO slot stands for, or nullptr when the slot is stale.
  Node* pending(const Pending& p) {
    auto i = nodes_.find(p.seq);
    if (i == nodes_.end() || i->second.sched != Sched::fifo ||
        i->second.due != p.due)
      return nullptr;
    return &i->second;
  }

  /// Drops the stale FIFO slots.
  void compact() {
    for (auto& fifo : fifos_) {
      std::deque<Pending> kept;
      for (const auto& p : fifo)
        if (pending(p) != nullptr)
          kept.push_back(p);
      fifo.swap(kept);
    }
    stale_ = 0;
  }

  /// Moves the clock to `now` (never back) and applies the due promotions,
  /// earliest first (so that the FIFOs they go on to stay in order).
  void advance(time_point now) {
    if (now > now_)
      now_ = now;
    for (;;) {
      std::deque<Pending>* from = nullptr;
      auto due = now_;
      for (auto& fifo : fifos_)
        if (!fifo.empty() && !(due < fifo.front().due)) {
          from = &fifo;
          due = fifo.front().due;
        }
      Node* n = nullptr;
      if (!late_.empty() && !(due < late_.begin()->first)) {
        n = &nodes_.find(late_.begin()->second)->second;
        late_.erase(late_.begin());
      } else if (from != nullptr) {
        n = pending(from->front());
        from->pop_front();
        if (n == nullptr) {
          if (stale_ > 0)
            --stale_;
          continue;
        }
      } else {
        return;
      }
      n->sched = Sched::none;
      auto level = level_at(n->e, now_);
      if (level != n->level) {
        unlink(*n);
        link(*n, level);
      }
      schedule(*n);
    }
  }

  // -- levels -----------------------------------------------------------------

  /// Puts `n` at `level`, re-keying its requester there only when `n` becomes
  /// its head.
  void link(Node& n, std::size_t level) {
    auto& r = *n.r;
    auto& map = r.levels[level];
    auto& lv = levels_[level];
    Key key{n.e.deadline, n.e.seq};
    bool was_empty = map.empty();
    bool head = was_empty || key < map.begin()->first;
    if (head && !was_empty) {
      lv.bucket.erase(r.in_bucket[level]);
      lv.heads.erase(r.in_heads[level]);
    }
    n.in_level = map.emplace_hint(head ? map.begin() : map.end(), key, &n);
    n.level = level;
    ++lv.count;
    if (head) {
      r.in_bucket[level] = lv.bucket.insert(head_key(r, level)).first;
      r.in_heads[level] = lv.heads.insert(key).first;
    }
  }

  void unlink(Node& n) {
    auto& r = *n.r;
    auto& map = r.levels[n.level];
    auto& lv = levels_[n.level];
    bool head = n.in_level == map.begin();
    if (head) {
      lv.bucket.erase(r.in_bucket[n.level]);
      lv.heads.erase(r.in_heads[n.level]);
    }
    map.erase(n.in_level);
    --lv.count;
    if (head && !map.empty()) {
      r.in_bucket[n.level] = lv.bucket.insert(head_key(r, n.level)).first;
      r.in_heads[n.level] = lv.heads.insert(map.begin()->first).first;
    }
  }

  void insert_node(Entry&& e) {
    auto& n = nodes_.try_emplace(e.seq).first->second;
    n.e = std::move(e);
    auto [i, fresh] = requesters_.try_emplace(n.e.requester);
    auto& r = i->second;
    if (fresh) {
      r.levels.resize(levels_.size());
      r.in_bucket.resize(levels_.size());
      r.in_heads.resize(levels_.size());
    }
    n.r = &r;
    ++r.count;
    by_request_[RequestKey{&r, n.e.request_id}].emplace(n.e.seq, &n);
    link(n, level_at(n.e, now_));
    schedule(n);
  }

  duration interval_;
  int max_level_;
  time_point now_ = time_point::min(); // the latest time seen
  std::unordered_map<std::uint64_t, Node> nodes_;
  std::unordered_map<std::string, Requester> requesters_;
  // (requester, request_id) -> its entries by seq (ids may repeat: 0 often).
  std::unordered_map<RequestKey, std::map<std::uint64_t, Node*>, RequestHash>
      by_request_;
  std::vector<Level> levels_;
  std::vector<std::deque<Pending>> fifos_; // by j - 1 (see next_promotion)
  Late late_;             // pending promotions out of FIFO order
  std::size_t stale_ = 0; // FIFO slots of entries gone or rescheduled
};

/// The pool's serving loop over a WaitQueue (today's serve_waiting without
/// its preemption restart), as an example of the intended use:
///  1. serve heads while they fit: take + serve, O(log n) each;
///  2. the head is blocked: one ranked pass behind it for backfill candidates,
///     entries that may pass it and fit; serve them afterwards (visit must not
///     modify the queue).
/// fits(const Entry&) -> bool decides and, when true, counts the entry as
/// served in the caller's model (serve(Entry&&) follows for each such entry).
/// may_pass(const Entry& e, const Entry& blocked) -> bool: may `e` go before
/// the blocked head (the pool: e's lease ends before blocked.deadline).
/// Returns the number served; q.head(now) is then the blocked entry, if any
/// (start preemption for it). Step 2 visits every entry behind the blocked
/// head: a caller that knows nothing more can fit (no free capacity) should
/// write its own visit that returns false then.
template <class Queue, class Fits, class MayPass, class Serve>
std::size_t serve_with_backfill(Queue& q, typename Queue::time_point now,
                                Fits fits, MayPass may_pass, Serve serve) {
  using Entry = typename Queue::Entry;
  std::size_t served = 0;
  for (auto* h = q.head(now); h != nullptr && fits(*h); h = q.head(now)) {
    serve(std::move(*q.take(h->seq)));
    ++served;
  }
  const Entry* blocked = q.head(now);
  if (blocked == nullptr)
    return served;
  std::vector<std::uint64_t> chosen;
  q.visit(now, [&](const Entry& e) {
    if (&e != blocked && may_pass(e, *blocked) && fits(e))
      chosen.push_back(e.seq);
  });
  for (auto seq : chosen)
    serve(std::move(*q.take(seq)));
  return served + chosen.size();
}

/// The pool's blocked_ahead: the earliest deadline among the entries at a
/// better level than `level` at `now`, or at `level` with a deadline no later
/// than `deadline`; nullopt when there are none. O(levels).
template <class Queue>
std::optional<typename Queue::time_point>
earliest_deadline_ahead(Queue& q, int level,
                        typename Queue::time_point deadline,
                        typename Queue::time_point now) {
  std::optional<typename Queue::time_point> result;
  auto note = [&](typename Queue::time_point d) {
    if (!result || d < *result)
      result = d;
  };
  for (int l = 0; l < level && l <= q.max_level(); ++l)
    if (q.count_at(l, now) > 0)
      note(q.earliest_deadline(l, now));
  if (level >= 0 && level <= q.max_level() && q.count_at(level, now) > 0) {
    auto d = q.earliest_deadline(level, now);
    if (d <= deadline)
      note(d);
  }
  return result;
}

} // namespace rros
