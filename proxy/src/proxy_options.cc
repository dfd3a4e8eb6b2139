#include "proxy_options.hpp"

#include <charconv>

namespace softprobe::proxy {

std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(const std::string& address) {
  std::string host;
  std::string_view port;
  if (!address.empty() && address[0] == '[') {
    auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') return std::nullopt;
    host = address.substr(1, close - 1);
    port = std::string_view(address).substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = address.substr(0, colon);
    port = std::string_view(address).substr(colon + 1);
    if (host.find(':') != std::string::npos) return std::nullopt;  // an IPv6 literal needs brackets
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return std::nullopt;
  return std::make_pair(host, static_cast<std::uint16_t>(value));
}

std::optional<OptionError> check_options(const ProxyOptions& o) {
  if (o.mode == ProxyMode::capture && o.out_path.empty())
    return OptionError{"--out: --mode capture needs --out FILE (where the case is written on exit)"};
  if (o.mode != ProxyMode::capture && !o.out_path.empty())
    return OptionError{"--out: only with --mode capture (replay writes no case)"};
  if (o.mode != ProxyMode::replay && !o.case_path.empty())
    return OptionError{"--case: only with --mode replay (a capture starts from nothing)"};
  if (o.max_connections == 0) return OptionError{"--max-connections: must be at least 1"};
  for (const auto& h : o.allow_hosts)
    if (h.empty()) return OptionError{"--allow-host: must not be empty"};
  return std::nullopt;
}

}  // namespace softprobe::proxy
