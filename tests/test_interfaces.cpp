// Walks every handler of every typed interface at compile time and checks
// that each argument and reply type can travel to another node: a default
// value inside a caf::message survives CAF's binary serializer with its type
// intact. A type without a type ID fails here (CAF 0.17 writes nothing for
// it, so a remote holder would silently miss the message). Local-only types
// (they carry code or pointers) are listed below by name, with the reason.
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "fixture.hpp"
#include "messages/memory_messages.hpp"
#include "messages/metrics_messages.hpp"
#include "messages/monitor_messages.hpp"
#include "messages/predictor_messages.hpp"
#include "messages/scheduler_messages.hpp"
#include "messages/type_ids.hpp"

using namespace rros;

namespace {

template <class T>
struct is_atom : std::false_type {};

template <caf::atom_value V>
struct is_atom<caf::atom_constant<V>> : std::true_type {};

/// Types that never leave their process, by design.
template <class T>
constexpr bool local_only() {
  // call_job_ptr points at a waiting caller's stack; TaskSubmission carries a
  // std::function (tasks run where they were submitted).
  return std::is_same<T, call_job_ptr>::value ||
         std::is_same<T, TaskSubmission>::value;
}

class InterfaceTest : public test::DeterministicFixture {
public:
  /// A default T inside a message comes back as a T.
  template <class T>
  void expect_travels(const std::string& interface, const char* role) {
    if constexpr (is_atom<T>::value || local_only<T>() ||
                  std::is_void<T>::value) {
      return;
    } else {
      SCOPED_TRACE(interface + ": " + role + " " + typeid(T).name());
      ++checked;
      auto msg = caf::make_message(T{});
      std::vector<char> buf;
      caf::binary_serializer sink{sys, buf};
      if (auto err = sink(msg)) {
        ADD_FAILURE() << "cannot serialize: " << sys.render(err);
        return;
      }
      caf::message out;
      caf::binary_deserializer source{sys, buf};
      if (auto err = source(out)) {
        ADD_FAILURE() << "cannot deserialize: " << sys.render(err);
        return;
      }
      EXPECT_TRUE(out.match_elements<T>())
          << "arrived as " << caf::to_string(out)
          << " (the type has no type ID or is not registered)";
    }
  }

  template <class... Ins, class... Outs>
  void expect_handler(const std::string& interface,
                      caf::typed_mpi<caf::detail::type_list<Ins...>,
                                     caf::output_tuple<Outs...>>) {
    (expect_travels<std::decay_t<Ins>>(interface, "argument"), ...);
    (expect_travels<std::decay_t<Outs>>(interface, "reply"), ...);
  }

  template <class... Sigs>
  void expect_interface(const std::string& interface,
                        caf::detail::type_list<Sigs...>) {
    (expect_handler(interface, Sigs{}), ...);
  }

  template <class Handle>
  void expect_interface(const std::string& interface) {
    ++interfaces;
    expect_interface(interface, typename Handle::signatures{});
  }

  int checked = 0;
  int interfaces = 0;
};

} // namespace

TEST_F(InterfaceTest, EveryArgumentAndReplyOfEveryInterfaceTravels) {
  expect_interface<pool_actor>("pool_actor");
  expect_interface<grant_holder_actor>("grant_holder_actor");
  expect_interface<bundle_actor>("bundle_actor");
  expect_interface<manager_actor>("manager_actor");
  expect_interface<bridge_actor>("bridge_actor");
  expect_interface<memory_manager_actor>("memory_manager_actor");
  expect_interface<memory_owner_actor>("memory_owner_actor");
  expect_interface<monitor_actor>("monitor_actor");
  expect_interface<predictor_actor>("predictor_actor");
  expect_interface<balancer_actor>("balancer_actor");
  expect_interface<scheduler_actor>("scheduler_actor");
  expect_interface<metrics_collector_actor>("metrics_collector_actor");
  // The walk really walked: every interface, many types.
  EXPECT_EQ(interfaces, 12);
  EXPECT_GT(checked, 100);
}

TEST_F(InterfaceTest, RevokeNoticesAndQuotasTravelWithTheirFields) {
  GrantNotice notice{first_id_of(3) + 7,      "vision",
                     ResourceType::ATTENTION, 0.25f,
                     RevokeReason::preempted, std::chrono::milliseconds(250)};
  Quota quota{"perception", {"vision", "audio"}, 1.5f, 8.0f, 2.0f};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(caf::make_message(notice, quota)));
  caf::message out;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(out));
  ASSERT_TRUE((out.match_elements<GrantNotice, Quota>()))
      << caf::to_string(out);
  const auto& n = out.get_as<GrantNotice>(0);
  EXPECT_EQ(n.grant_id, notice.grant_id);
  EXPECT_EQ(n.requester_id, "vision");
  EXPECT_EQ(n.resource_type, ResourceType::ATTENTION);
  EXPECT_EQ(n.amount, 0.25f);
  EXPECT_EQ(n.reason, RevokeReason::preempted);
  EXPECT_EQ(n.grace, notice.grace);
  const auto& q = out.get_as<Quota>(1);
  EXPECT_EQ(q.name, "perception");
  EXPECT_EQ(q.members, quota.members);
  EXPECT_EQ(q.min, 1.5f);
  EXPECT_EQ(q.max, 8.0f);
  EXPECT_EQ(q.weight, 2.0f);
}
