#include "request/http_exchange.hpp"

#include <atomic>

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

std::uint64_t new_trace_entry() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace softprobe::core
