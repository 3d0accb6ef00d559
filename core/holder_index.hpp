// Which entries (waiting requests, held bundles) each holder has, so that a
// holder's end touches only its own entries: scanning every waiting request
// or held bundle per ended holder costs O(all) each, O(holders x entries)
// when many clients end together (a node's clients cut off at once).
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rros {

template <class Holder, class Id, class Hash = std::hash<Holder>>
class HolderIndex {
public:
  void add(const Holder& holder, Id id) {
    by_holder_[holder].insert(id);
  }

  /// Forgets one entry; unknown holders and ids are ignored.
  void remove(const Holder& holder, Id id) {
    auto i = by_holder_.find(holder);
    if (i == by_holder_.end())
      return;
    i->second.erase(id);
    if (i->second.empty())
      by_holder_.erase(i);
  }

  /// Removes and returns every entry of `holder`, in ascending id order
  /// (arrival order for sequence numbers), so callers act deterministically.
  std::vector<Id> take(const Holder& holder) {
    std::vector<Id> result;
    auto i = by_holder_.find(holder);
    if (i == by_holder_.end())
      return result;
    result.assign(i->second.begin(), i->second.end());
    by_holder_.erase(i);
    std::sort(result.begin(), result.end());
    return result;
  }

  std::size_t count(const Holder& holder) const {
    auto i = by_holder_.find(holder);
    return i == by_holder_.end() ? 0 : i->second.size();
  }

  /// Holders with at least one entry.
  std::size_t holders() const {
    return by_holder_.size();
  }

  void clear() {
    by_holder_.clear();
  }

private:
  std::unordered_map<Holder, std::unordered_set<Id>, Hash> by_holder_;
};

} // namespace rros
