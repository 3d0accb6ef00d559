// How values appear in error messages and printed output: one place, so that
// every actor renders a number, an amount or an address the same way.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>

namespace rros {

/// A number as the C++ stream prints it by default (six significant digits):
/// 0.1, 1500, 1e+12, nan, inf.
inline std::string format_number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

/// An address in hexadecimal ("0x7f0012345678").
inline std::string format_address(std::uint64_t address) {
  std::ostringstream out;
  out << "0x" << std::hex << address;
  return out.str();
}

} // namespace rros
