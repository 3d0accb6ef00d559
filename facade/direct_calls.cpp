#include "facade/direct_calls.hpp"

#include <utility>

namespace rros {

namespace {

std::uint64_t key_of(caf::message_id id) {
  return id.integer_value() & caf::message_id::request_id_mask;
}

caf::actor_companion* companion_of(const caf::strong_actor_ptr& ptr) {
  return static_cast<caf::actor_companion*>(
      caf::actor_cast<caf::abstract_actor*>(ptr));
}

} // namespace

DirectCalls::DirectCalls(caf::actor_system& sys)
  : companion_(caf::actor_cast<caf::strong_actor_ptr>(
        sys.spawn<caf::actor_companion>())) {
  // Runs in the sender's thread, under the companion's lock: disconnect()
  // waits for a running callback, so none runs after the destructor.
  companion_of(companion_)->on_enqueue([this](caf::mailbox_element_ptr ptr) {
    on_message(std::move(ptr));
  });
}

DirectCalls::~DirectCalls() {
  companion_of(companion_)->disconnect(caf::exit_reason::user_shutdown);
}

caf::actor DirectCalls::handle() const {
  return caf::actor_cast<caf::actor>(companion_);
}

caf::message_id DirectCalls::enlist(call_job_ptr job) {
  std::lock_guard<std::mutex> guard{mutex_};
  // Request ids are 60 bits wide: they never wrap in practice.
  auto value = next_++ & caf::message_id::request_id_mask;
  pending_.emplace(value, std::move(job));
  return caf::make_message_id(value);
}

void DirectCalls::forget(caf::message_id id) {
  std::lock_guard<std::mutex> guard{mutex_};
  pending_.erase(key_of(id));
}

void DirectCalls::on_message(caf::mailbox_element_ptr ptr) {
  if (!ptr || !ptr->mid.is_response())
    return; // e.g. a revoke notice: the ledger shows the change
  call_job_ptr job;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto i = pending_.find(key_of(ptr->mid));
    if (i == pending_.end())
      return; // its caller gave up waiting
    job = std::move(i->second);
    pending_.erase(i);
  }
  auto reply = ptr->move_content_to_message();
  job->deliver(reply);
}

} // namespace rros
