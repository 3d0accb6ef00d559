// Batched calls to a pool (docs/semantics.md, "Batches"): one message carries
// many allocations or many releases by grant id, and one reply answers each
// item on its own, in order. The per-item outcome is a grant (or receipt) or
// the error a single call would have got.
#pragma once

#include <vector>

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/types.hpp"

namespace rros {

/// One item of a batched allocation: `error` is set (and `allocation` empty)
/// when the item was refused.
struct AllocationOutcome {
  caf::error error;
  ResourceAllocation allocation;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AllocationOutcome& x) {
  return f(caf::meta::type_name("AllocationOutcome"), x.error, x.allocation);
}

/// One item of a batched release by grant id: `error` is set (and `receipt`
/// empty) when the item was refused.
struct ReleaseOutcome {
  caf::error error;
  ReleaseReceipt receipt;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ReleaseOutcome& x) {
  return f(caf::meta::type_name("ReleaseOutcome"), x.error, x.receipt);
}

using AllocationBatch = std::vector<ResourceRequest>;
using ReleaseBatch = std::vector<GrantId>;

} // namespace rros
