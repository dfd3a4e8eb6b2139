#include "request/traceparent.hpp"

#include "support/random_id.hpp"

namespace softprobe::core {

namespace {

bool lower_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return !s.empty();
}

bool all_zero(std::string_view s) noexcept { return s.find_first_not_of('0') == std::string_view::npos; }

}  // namespace

std::optional<TraceParent> parse_traceparent(std::string_view v) noexcept {
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  std::string_view version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16),
                   flags = v.substr(53, 2);
  if (!lower_hex(version) || version == "ff" || !lower_hex(trace) || !lower_hex(parent) || !lower_hex(flags))
    return std::nullopt;
  if (all_zero(trace) || all_zero(parent)) return std::nullopt;
  if (version == "00" ? v.size() != 55 : v.size() != 55 && v[55] != '-') return std::nullopt;
  return TraceParent{trace, parent};
}

std::string new_traceparent() { return "00-" + random_hex(16) + "-" + random_hex(8) + "-01"; }

}  // namespace softprobe::core
