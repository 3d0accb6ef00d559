// Number formatting shared by the parts of `rros simulate`: the workload
// parser's messages and the driver's event texts (number_text), the summary
// and the progress line (fixed). Kept in one place so that every part prints
// a number the same way.
#pragma once

#include <iomanip>
#include <sstream>
#include <string>

namespace rros::app::sim {

/// A number as an ostream prints it by default (6 significant digits).
inline std::string number_text(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

/// A number with `digits` digits after the point.
inline std::string fixed(double x, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << x;
  return out.str();
}

} // namespace rros::app::sim
