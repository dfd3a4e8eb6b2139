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

std::optional<std::pair<std::string, std::uint16_t>> parse_upstream_url(const std::string& url) {
  std::string_view rest(url);
  if (rest.substr(0, 7) != "http://") return std::nullopt;
  rest.remove_prefix(7);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@") != std::string_view::npos) return std::nullopt;
  bool bracketed = rest.front() == '[';
  auto close = bracketed ? rest.find(']') : std::string_view::npos;
  if (bracketed && close == std::string_view::npos) return std::nullopt;
  auto colon = rest.find(':', bracketed ? close : 0);
  if (colon == std::string_view::npos) {
    std::string host(bracketed ? rest.substr(1, close - 1) : rest);
    if (host.empty() || (!bracketed && host.find(':') != std::string::npos)) return std::nullopt;
    return std::make_pair(host, std::uint16_t{80});
  }
  auto hp = parse_listen_address(std::string(rest));
  if (!hp || hp->second == 0) return std::nullopt;
  return hp;
}

std::optional<OptionError> check_options(const ProxyOptions& o) {
  if (o.remote()) {
    // The runtime's sessions decide: their mode, policy, rules and cases are
    // set through its control API (or a binding), not here.
    auto embedded_only = [](const char* flag) {
      return OptionError{std::string(flag) +
                         ": configures the embedded session; with --runtime the runtime's sessions decide (set "
                         "their mode, policy, rules and case through its control API)"};
    };
    if (o.mode == ProxyMode::capture) return embedded_only("--mode capture");
    if (!o.out_path.empty()) return embedded_only("--out");
    if (!o.case_path.empty()) return embedded_only("--case");
    if (!o.rules_path.empty()) return embedded_only("--rules");
    if (o.strict) return embedded_only("--policy strict");
    if (!o.allow_hosts.empty()) return embedded_only("--allow-host");
  } else if (!o.token.empty()) {
    return OptionError{"--token: only with --runtime (the token the runtime was started with)"};
  }
  if (o.mode == ProxyMode::capture && o.out_path.empty())
    return OptionError{"--out: --mode capture needs --out FILE (where the case is written on exit)"};
  if (o.mode != ProxyMode::capture && !o.out_path.empty())
    return OptionError{"--out: only with --mode capture (replay writes no case)"};
  if (o.mode != ProxyMode::replay && !o.case_path.empty())
    return OptionError{"--case: only with --mode replay (a capture starts from nothing)"};
  if (o.max_connections == 0) return OptionError{"--max-connections: must be at least 1"};
  if (o.ingress && o.upstream_host.empty())
    return OptionError{"--ingress: needs --upstream http://HOST:PORT (the app it stands in front of)"};
  if (!o.ingress && !o.upstream_host.empty()) return OptionError{"--upstream: only with --ingress"};
  if (!o.ingress && o.egress_listener)
    return OptionError{"--egress-listen: only with --ingress (without it --listen is the egress listener)"};
  for (const auto& h : o.allow_hosts)
    if (h.empty()) return OptionError{"--allow-host: must not be empty"};
  return std::nullopt;
}

}  // namespace softprobe::proxy
