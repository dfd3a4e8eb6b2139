#include "forwarded_headers.hpp"

#include <vector>

namespace softprobe::proxy {

namespace {

bool is_hop_by_hop(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "connection", "proxy-connection",    "keep-alive",        "te", "trailer", "transfer-encoding",
      "upgrade",    "proxy-authorization", "proxy-authenticate"};
  for (auto n : kNames)
    if (net::iequals(name, n)) return true;
  return false;
}

// The field names a Connection header lists ("close, X-Foo").
void connection_options(const net::Headers& headers, std::vector<std::string>& out) {
  for (const auto& h : headers) {
    if (!net::iequals(h.name, "connection")) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      auto comma = v.find(',');
      std::string_view token = v.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (!token.empty()) out.emplace_back(token);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
}

}  // namespace

net::Headers forwarded_headers(const net::Headers& headers, bool keep_upgrade) {
  std::vector<std::string> named;
  connection_options(headers, named);
  net::Headers out;
  out.reserve(headers.size());
  for (const auto& h : headers) {
    if (net::iequals(h.name, kSessionHeader)) continue;
    bool upgrade_field = net::iequals(h.name, "upgrade") || net::iequals(h.name, "connection");
    if (keep_upgrade && upgrade_field) {
      if (net::iequals(h.name, "connection")) out.push_back({h.name, "Upgrade"});
      else out.push_back(h);
      continue;
    }
    if (is_hop_by_hop(h.name)) continue;
    bool listed = false;
    for (const auto& n : named) listed = listed || net::iequals(h.name, n);
    if (listed && !(keep_upgrade && net::iequals(h.name, "upgrade"))) continue;
    out.push_back(h);
  }
  return out;
}

net::Headers forwarded_request_headers(const net::Headers& headers) {
  net::Headers out = forwarded_headers(headers);
  net::erase_header(out, "content-length");
  net::erase_header(out, "content-encoding");
  return out;
}

}  // namespace softprobe::proxy
