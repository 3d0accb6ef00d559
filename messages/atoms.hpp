// Message tags (CAF atoms, at most 10 characters each).
#pragma once

#include <caf/atom.hpp>

namespace rros {

using allocate_atom = caf::atom_constant<caf::atom("allocate")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using reserve_atom = caf::atom_constant<caf::atom("reserve")>;
using unreserve_atom = caf::atom_constant<caf::atom("unreserve")>;
using holding_atom = caf::atom_constant<caf::atom("holding")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using capacity_atom = caf::atom_constant<caf::atom("capacity")>;
using reset_atom = caf::atom_constant<caf::atom("reset")>;
using pools_atom = caf::atom_constant<caf::atom("pools")>;
using config_atom = caf::atom_constant<caf::atom("config")>;
using configure_atom = caf::atom_constant<caf::atom("configure")>;
using restarts_atom = caf::atom_constant<caf::atom("restarts")>;
using call_atom = caf::atom_constant<caf::atom("call")>;

} // namespace rros
