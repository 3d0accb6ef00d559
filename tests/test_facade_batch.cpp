// Batched calls through the blocking facade (ResourceManager's
// try_allocate_batch / try_release_batch): one round trip, one outcome per
// item, a bad item refused alone, and the pool's crash handled like any
// other facade call.
#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "actors/manager.hpp"
#include "facade/resource_manager.hpp"
#include "messages/limits.hpp"

using namespace rros;

namespace {

ResourceRequest req(const std::string& who, ResourceType type, float amount) {
  return ResourceRequest{who, type, Priority::NORMAL, amount};
}

} // namespace

TEST(FacadeBatch, AllocatesAndReleasesManyInOneCall) {
  ResourceManager manager({{"computational_capacity", 100.0f}});
  auto c = ResourceType::COMPUTATIONAL;
  auto out = manager.try_allocate_batch(
      c, {req("vision", c, 40), req("", c, 1), req("audio", c, 50),
          req("memo", c, 20), req("io", ResourceType::IO, 1)});
  ASSERT_TRUE(out) << describe(out.error());
  ASSERT_EQ(out->size(), 5u);
  EXPECT_FALSE((*out)[0].error);
  EXPECT_TRUE(is((*out)[1].error, ec::empty_requester));
  EXPECT_FALSE((*out)[2].error);
  EXPECT_TRUE(is((*out)[3].error, ec::insufficient_resources));
  EXPECT_TRUE(is((*out)[4].error, ec::unknown_resource_type));
  EXPECT_FLOAT_EQ(manager.get_available_resources(c), 10.0f);
  auto back = manager.try_release_batch(c, {(*out)[0].allocation.grant_id,
                                            (*out)[2].allocation.grant_id,
                                            (*out)[0].allocation.grant_id});
  ASSERT_TRUE(back) << describe(back.error());
  ASSERT_EQ(back->size(), 3u);
  EXPECT_FALSE((*back)[0].error);
  EXPECT_FALSE((*back)[1].error);
  EXPECT_TRUE(is((*back)[2].error, ec::unknown_grant));
  EXPECT_FLOAT_EQ(manager.get_available_resources(c), 100.0f);
  // Over-long: refused whole.
  AllocationBatch many(max_batch_items + 1, req("vision", c, 0.01f));
  auto refused = manager.try_allocate_batch(c, many);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is(refused.error(), ec::limit_exceeded));
  EXPECT_FLOAT_EQ(manager.get_available_resources(c), 100.0f);
}

TEST(FacadeBatch, ABatchAfterAPoolCrashGoesToTheReplacement) {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  ResourceManager manager(sys, ConfigMap{{"memory_capacity", 4096.0f}});
  auto m = ResourceType::MEMORY;
  caf::scoped_actor self{sys};
  PoolDirectory pools;
  self->request(manager.manager(), caf::infinite, pools_atom::value)
      .receive([&](PoolDirectory& d) { pools = std::move(d); },
               [&](caf::error& err) { FAIL() << describe(err); });
  self->monitor(pools[m]);
  caf::anon_send_exit(pools[m], caf::exit_reason::kill);
  self->receive([](caf::down_msg&) {});
  auto out = manager.try_allocate_batch(m, {req("a", m, 100), req("b", m, 50)});
  ASSERT_TRUE(out) << describe(out.error());
  ASSERT_EQ(out->size(), 2u);
  EXPECT_FALSE((*out)[0].error);
  EXPECT_FALSE((*out)[1].error);
  EXPECT_FLOAT_EQ(manager.get_available_resources(m), 3946.0f);
}

TEST(FacadeDirect, GrantsOfADestroyedFacadeReturnToTheirPool) {
  // Two facades on one manager: the first's grants are held by its
  // companion actor, which ends with it (the pool monitors it).
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  auto config = Config{}.with(ConfigMap{{"computational_capacity", 100.0f}});
  ASSERT_TRUE(config);
  auto manager = spawn_manager(sys, *config);
  auto c = ResourceType::COMPUTATIONAL;
  ResourceManager observer(sys, manager);
  {
    ResourceManager taker(sys, manager);
    auto single = taker.try_allocate_resource(req("vision", c, 30));
    ASSERT_TRUE(single) << describe(single.error());
    auto batch = taker.try_allocate_batch(c, {req("audio", c, 20)});
    ASSERT_TRUE(batch) << describe(batch.error());
    EXPECT_FLOAT_EQ(observer.get_available_resources(c), 50.0f);
    // Another facade is another holder: it cannot return them by id.
    auto foreign = observer.try_release_grant(c, single->grant_id);
    ASSERT_FALSE(foreign);
    EXPECT_TRUE(is(foreign.error(), ec::unknown_grant));
  }
  // The companion's end reached the pool before this question did.
  EXPECT_FLOAT_EQ(observer.get_available_resources(c), 100.0f);
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
}
