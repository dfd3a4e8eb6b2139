#include "request/http_exchange.hpp"

#include "support/text.hpp"

namespace softprobe::core {

HostPort split_host_port(std::string_view host) noexcept {
  if (!host.empty() && host.front() == '[') {  // IPv6 literal
    auto close = host.find(']');
    if (close == std::string_view::npos) return {host, {}};
    if (close + 1 < host.size() && host[close + 1] == ':') return {host.substr(0, close + 1), host.substr(close + 2)};
    return {host.substr(0, close + 1), {}};
  }
  auto colon = host.rfind(':');
  if (colon == std::string_view::npos || host.find(':') != colon) return {host, {}};  // none, or bare IPv6
  return {host.substr(0, colon), host.substr(colon + 1)};
}

int default_port(std::string_view scheme) noexcept {
  return (text::iequals(scheme, "https") || text::iequals(scheme, "wss")) ? 443 : 80;
}

}  // namespace softprobe::core
