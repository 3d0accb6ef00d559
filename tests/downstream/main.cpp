// Takes and releases a grant through the installed library's blocking facade;
// exits 0 only when the ledger shows both.
#include <iostream>

#include <rros/facade/resource_manager.hpp>

int main() {
  using rros::ResourceType;
  rros::ResourceManager manager;
  auto grant = manager.try_allocate_resource(
      {"downstream", ResourceType::COMPUTATIONAL, rros::Priority::HIGH, 30});
  if (!grant || !grant->fully_satisfied) {
    std::cerr << "downstream: no grant: "
              << (grant ? "partial" : rros::describe(grant.error())) << "\n";
    return 1;
  }
  auto during = manager.get_available_resources(ResourceType::COMPUTATIONAL);
  manager.release_resource("downstream", ResourceType::COMPUTATIONAL, 30);
  auto after = manager.get_available_resources(ResourceType::COMPUTATIONAL);
  std::cout << "downstream: available " << during << " while holding 30, "
            << after << " after the release\n";
  return during == 70 && after == 100 ? 0 : 1;
}
