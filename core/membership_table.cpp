#include "core/membership_table.hpp"

namespace rros {

namespace {

bool is_live(MemberState x) {
  return x == MemberState::alive || x == MemberState::suspect;
}

} // namespace

MembershipTable::MembershipTable(MemberInfo self)
  : self_(std::move(self)) {
  self_.state = MemberState::alive;
}

MembershipTable::Verdict MembershipTable::admit(const MemberInfo& joiner,
                                                clock::time_point now) {
  if (joiner.name == self_.name)
    return Verdict::name_alive;
  auto i = peers_.find(joiner.name);
  if (i == peers_.end() || joiner.incarnation > i->second.info.incarnation) {
    Entry entry;
    entry.info = joiner;
    entry.info.state = MemberState::alive;
    entry.last_heard = now;
    peers_[joiner.name] = std::move(entry);
    return Verdict::admitted;
  }
  auto& known = i->second.info;
  if (joiner.incarnation == known.incarnation && joiner.host == known.host &&
      joiner.port == known.port)
    return is_live(known.state) ? Verdict::already_known : Verdict::stale;
  return is_live(known.state) ? Verdict::name_alive : Verdict::stale;
}

bool MembershipTable::accepts(const std::string& name,
                              std::uint64_t incarnation) const {
  auto i = peers_.find(name);
  return i != peers_.end() && i->second.info.incarnation == incarnation &&
         is_live(i->second.info.state);
}

bool MembershipTable::record_report(const std::string& name,
                                    std::uint64_t incarnation,
                                    std::vector<PoolStatus> pools,
                                    clock::time_point now) {
  if (!accepts(name, incarnation))
    return false;
  auto& entry = peers_.at(name);
  entry.pools = std::move(pools);
  entry.reported_at = now;
  entry.last_heard = now;
  entry.info.state = MemberState::alive;
  return true;
}

bool MembershipTable::mark_lost(const std::string& name,
                                std::uint64_t incarnation,
                                clock::time_point now) {
  if (!accepts(name, incarnation))
    return false;
  auto& entry = peers_.at(name);
  entry.info.state = MemberState::lost;
  entry.lost_at = now;
  return true;
}

bool MembershipTable::mark_left(const std::string& name,
                                std::uint64_t incarnation) {
  if (!accepts(name, incarnation))
    return false;
  peers_.at(name).info.state = MemberState::left;
  return true;
}

std::vector<std::string> MembershipTable::sweep(clock::time_point now,
                                                clock::duration silence) {
  std::vector<std::string> suspects;
  for (auto& [name, entry] : peers_)
    if (entry.info.state == MemberState::alive &&
        now - entry.last_heard > silence) {
      entry.info.state = MemberState::suspect;
      suspects.push_back(name);
    }
  return suspects;
}

const MembershipTable::Entry*
MembershipTable::find(const std::string& name) const {
  auto i = peers_.find(name);
  return i == peers_.end() ? nullptr : &i->second;
}

std::vector<MemberInfo> MembershipTable::live_members() const {
  std::vector<MemberInfo> result{self_};
  for (const auto& [name, entry] : peers_)
    if (is_live(entry.info.state))
      result.push_back(entry.info);
  return result;
}

const char* to_string(MembershipTable::Verdict x) {
  switch (x) {
    case MembershipTable::Verdict::admitted:
      return "admitted";
    case MembershipTable::Verdict::already_known:
      return "already_known";
    case MembershipTable::Verdict::name_alive:
      return "name_alive";
    case MembershipTable::Verdict::stale:
      return "stale";
  }
  return "unknown";
}

} // namespace rros
