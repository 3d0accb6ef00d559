// The bookkeeping of cluster membership (docs/cluster.md), without actors:
// who is a member, in which state and incarnation, and the latest capacity
// report of each. The membership actor feeds it what arrives and asks it
// what to accept; every rule is here so that it is tested alone.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "messages/cluster_messages.hpp"

namespace rros {

class MembershipTable {
public:
  using clock = std::chrono::steady_clock;

  /// What admit() decided about a joiner.
  enum class Verdict {
    admitted,      // new name, or a newer incarnation of a known one
    already_known, // the same run again (same incarnation and endpoint)
    name_alive,    // the name is alive or suspect here with another run
    stale,         // an older incarnation than the one already seen
  };

  /// A member as this node sees it.
  struct Entry {
    MemberInfo info;
    clock::time_point last_heard;
    std::vector<PoolStatus> pools; // latest report; empty until one arrives
    std::optional<clock::time_point> reported_at;
    std::optional<clock::time_point> lost_at;
  };

  /// `self` is this node's own run, always alive.
  explicit MembershipTable(MemberInfo self);

  const MemberInfo& self() const {
    return self_;
  }

  /// Rules for a node that joins or that a report names: a new name is
  /// admitted; a known name with a newer incarnation replaces the old run
  /// (a restart, whatever the old run's state); the same run is
  /// already_known; another run with the same or an older incarnation is
  /// name_alive while the known run is alive or suspect, stale otherwise.
  /// The own name is never admitted (name_alive).
  Verdict admit(const MemberInfo& joiner, clock::time_point now);

  /// Whether a message from this run counts: the name is known with exactly
  /// this incarnation and it is alive or suspect. Everything else (an older
  /// incarnation, a lost or left run) is dropped by the caller.
  bool accepts(const std::string& name, std::uint64_t incarnation) const;

  /// A report from a run that accepts() admits: stored, the member is alive
  /// again. False (nothing changes) otherwise.
  bool record_report(const std::string& name, std::uint64_t incarnation,
                     std::vector<PoolStatus> pools, clock::time_point now);

  /// The run's connection is gone without a goodbye: lost. False when that
  /// run is not the current one, or already lost or left.
  bool mark_lost(const std::string& name, std::uint64_t incarnation,
                 clock::time_point now);

  /// The run said goodbye: left. False as for mark_lost.
  bool mark_left(const std::string& name, std::uint64_t incarnation);

  /// Alive members not heard from for longer than `silence` become suspect;
  /// returns their names.
  std::vector<std::string> sweep(clock::time_point now,
                                 clock::duration silence);

  /// The entry of `name`, or null.
  const Entry* find(const std::string& name) const;

  /// Every member but this node, by name.
  const std::map<std::string, Entry>& peers() const {
    return peers_;
  }

  /// This node and every alive or suspect peer (what a joiner is told).
  std::vector<MemberInfo> live_members() const;

private:
  MemberInfo self_;
  std::map<std::string, Entry> peers_;
};

const char* to_string(MembershipTable::Verdict x);

} // namespace rros
