#include "session_id.hpp"

#include "forwarded_headers.hpp"

namespace softprobe::proxy {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::string tracestate_member(std::string_view tracestate, std::string_view key) {
  while (!tracestate.empty()) {
    auto comma = tracestate.find(',');
    std::string_view member = trim(tracestate.substr(0, comma));
    auto eq = member.find('=');
    if (eq != std::string_view::npos && trim(member.substr(0, eq)) == key)
      return std::string(trim(member.substr(eq + 1)));
    if (comma == std::string_view::npos) break;
    tracestate.remove_prefix(comma + 1);
  }
  return "";
}

std::string session_id_of(const net::Headers& headers) {
  if (const std::string* id = net::find_header(headers, kSessionHeader)) {
    std::string_view v = trim(*id);
    if (!v.empty()) return std::string(v);
  }
  for (const auto& h : headers)  // tracestate may come in several lines
    if (net::iequals(h.name, "tracestate")) {
      std::string id = tracestate_member(h.value, kSessionHeader);
      if (!id.empty()) return id;
    }
  return "";
}

}  // namespace softprobe::proxy
