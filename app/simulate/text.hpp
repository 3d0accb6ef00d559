// Number formatting shared by the parts of `rros simulate`: the workload
// parser's messages and the driver's event texts (number_text), the summary
// and the progress line (fixed). Kept in one place so that every part prints
// a number the same way.
#pragma once

#include <iomanip>
#include <sstream>
#include <string>

namespace rros::app::sim {

/// A number in fixed notation, at most six decimals, trailing zeros dropped
/// (1048576, not an ostream's 1.04858e+06).
inline std::string number_text(double x) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(6) << x;
  auto text = out.str();
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.')
      text.pop_back();
  }
  return text == "-0" ? "0" : text;
}

/// A number with `digits` digits after the point.
inline std::string fixed(double x, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << x;
  return out.str();
}

} // namespace rros::app::sim
