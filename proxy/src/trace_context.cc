#include "trace_context.hpp"

#include "forwarded_headers.hpp"
#include "request/traceparent.hpp"

namespace softprobe::proxy {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool valid_tracestate_value(std::string_view v) {
  if (v.empty() || v.size() > kMaxTracestateValue || v.back() == ' ') return false;
  for (char c : v)
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  return true;
}

std::string tracestate_with_member(const std::vector<std::string_view>& lines, std::string_view key,
                                   std::string_view value) {
  std::string out;
  out.append(key).append("=").append(value);
  std::size_t members = 1;
  for (std::string_view line : lines) {
    while (!line.empty() && members < kMaxTracestateMembers) {
      auto comma = line.find(',');
      std::string_view member = trim(line.substr(0, comma));
      line = comma == std::string_view::npos ? std::string_view() : line.substr(comma + 1);
      if (member.empty()) continue;
      auto eq = member.find('=');
      if (eq != std::string_view::npos && trim(member.substr(0, eq)) == key) continue;
      out.append(",").append(member);
      ++members;
    }
  }
  return out;
}

void add_trace_context(net::Headers& headers, std::string_view session_id) {
  const std::string* parent = nullptr;
  std::size_t parents = 0;
  std::vector<std::string_view> states;
  for (const auto& h : headers) {
    if (net::iequals(h.name, "traceparent")) {
      parent = &h.value;
      ++parents;
    } else if (net::iequals(h.name, "tracestate")) {
      states.emplace_back(h.value);
    }
  }
  bool set_state = valid_tracestate_value(session_id);
  std::string state = set_state ? tracestate_with_member(states, kSessionHeader, session_id) : std::string();
  std::string traceparent =
      parents == 1 && core::parse_traceparent(trim(*parent)) ? std::string(trim(*parent)) : core::new_traceparent();
  net::erase_header(headers, "traceparent");
  headers.push_back({"traceparent", std::move(traceparent)});
  if (set_state) {
    net::erase_header(headers, "tracestate");
    headers.push_back({"tracestate", std::move(state)});
  }
}

}  // namespace softprobe::proxy
