// The error enum as a whole: every code has its own name and text, codes
// never move, and each is classed permanent or transient on purpose.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <caf/actor.hpp>
#include <caf/sec.hpp>

#include "messages/error.hpp"
#include "messages/validate.hpp"

using namespace rros;

TEST(Errors, EveryCodeHasADistinctNameAndADescription) {
  std::set<std::string> names;
  const auto last = static_cast<int>(last_ec);
  for (int i = 1; i <= last; ++i) {
    auto code = static_cast<ec>(i);
    const std::string name = to_string(code);
    SCOPED_TRACE(name);
    EXPECT_NE(name, "unknown_error_code") << i;
    EXPECT_TRUE(names.insert(name).second) << name << " twice";
    EXPECT_EQ(describe(make_error(code, "what")), "rros." + name + ": what");
    EXPECT_EQ(code_of(make_error(code, "")), code);
  }
  EXPECT_EQ(std::string{to_string(static_cast<ec>(last + 1))},
            "unknown_error_code");
}

TEST(Errors, CodesAddedLaterKeepTheirNumbers) {
  // Codes travel between nodes: appended, never renumbered.
  EXPECT_EQ(static_cast<int>(ec::shed), 25);
  EXPECT_EQ(static_cast<int>(ec::invalid_argument), 26);
  EXPECT_EQ(static_cast<int>(ec::duplicate_id), 27);
  EXPECT_EQ(static_cast<int>(ec::unknown_block), 28);
  EXPECT_EQ(static_cast<int>(ec::subsystem_unavailable), 29);
  EXPECT_EQ(static_cast<int>(ec::framework_error), 30);
  EXPECT_EQ(static_cast<int>(ec::not_permitted), 31);
  EXPECT_EQ(static_cast<int>(ec::limit_exceeded), 32);
  EXPECT_EQ(static_cast<int>(ec::storage_failed), 33);
  EXPECT_EQ(last_ec, ec::storage_failed);
}

TEST(Errors, IsPermanentForEveryCode) {
  const std::vector<std::pair<ec, bool>> table{
      {ec::invalid_amount, true},
      {ec::amount_too_large, true},
      {ec::unknown_resource_type, true},
      {ec::invalid_priority, true},
      {ec::empty_requester, true},
      {ec::exceeds_capacity, true},
      {ec::insufficient_resources, false},
      {ec::release_exceeds_holding, true},
      {ec::nothing_held, true},
      {ec::capacity_below_usage, false},
      {ec::invalid_config_value, true},
      {ec::unknown_config_key, true},
      {ec::malformed_config, true},
      {ec::pool_unavailable, false},
      {ec::not_connected, false},
      {ec::unknown_grant, true},
      {ec::invalid_duration, true},
      {ec::deadline_expired, false},
      {ec::cancelled, false},
      {ec::unknown_request, true},
      {ec::exceeds_quota, true},
      {ec::invalid_quota, true},
      {ec::invalid_bundle, true},
      {ec::unknown_bundle, true},
      {ec::shed, false},
      {ec::invalid_argument, true},
      {ec::duplicate_id, true},
      {ec::unknown_block, true},
      {ec::subsystem_unavailable, false},
      {ec::framework_error, false},
      {ec::not_permitted, true},
      {ec::limit_exceeded, false},
      {ec::storage_failed, false}, // a disk with room again serves
  };
  // One row per code, in order: a new code needs a row here.
  ASSERT_EQ(table.size(), static_cast<std::size_t>(last_ec));
  for (std::size_t i = 0; i < table.size(); ++i) {
    auto [code, permanent] = table[i];
    SCOPED_TRACE(to_string(code));
    EXPECT_EQ(static_cast<std::size_t>(code), i + 1);
    EXPECT_EQ(is_permanent(make_error(code, "x")), permanent);
  }
  // Errors of CAF's own (a receiver down, a timeout) may pass.
  EXPECT_FALSE(is_permanent(caf::error{}));
  EXPECT_FALSE(is_permanent(caf::make_error(caf::sec::request_receiver_down)));
  EXPECT_FALSE(is_permanent(caf::make_error(caf::sec::request_timeout)));
}

TEST(Errors, ForeignErrorsAreCarriedUnderTheirOwnCodes) {
  auto ours = make_error(ec::exceeds_quota, "group full");
  EXPECT_EQ(carried(ours, ec::pool_unavailable, "asking: "), ours);
  auto down = carried(caf::make_error(caf::sec::request_receiver_down),
                      ec::subsystem_unavailable, "asking the monitor: ");
  EXPECT_TRUE(is(down, ec::subsystem_unavailable)) << describe(down);
  EXPECT_EQ(context_of(down).rfind("asking the monitor: ", 0), 0u);
  auto other = carried(caf::make_error(caf::sec::request_timeout),
                       ec::pool_unavailable, "asking the pool: ");
  EXPECT_TRUE(is(other, ec::framework_error)) << describe(other);
  EXPECT_EQ(code_of(caf::make_error(caf::sec::request_timeout)),
            ec::framework_error);
}

TEST(Errors, SharedChecksUseTheCodesTheirNamesSay) {
  EXPECT_TRUE(is(check_name("", "module name"), ec::invalid_argument));
  EXPECT_FALSE(check_name("vision", "module name"));
  EXPECT_TRUE(
      is(check_handle(caf::actor{}, "subscriber"), ec::invalid_argument));
  EXPECT_TRUE(is(check_requester(""), ec::empty_requester));
  EXPECT_FALSE(check_quantity(0, "a load"));
  EXPECT_TRUE(is(check_quantity(-1, "a load"), ec::invalid_amount));
  EXPECT_TRUE(is(check_quantity(2e12, "a load"), ec::amount_too_large));
  EXPECT_EQ(context_of(check_quantity(-1, "a load")),
            "a load must be a finite number >= 0, got -1");
}
