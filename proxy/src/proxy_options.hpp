// What `softprobe proxy` is told on its command line (docs/proxy.md). The
// flags themselves are read by the softprobe binary (cli/); this is the
// checked result.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace softprobe::proxy {

enum class ProxyMode { replay, capture };

struct ProxyOptions {
  std::string listen_host = "127.0.0.1";  // --listen HOST:PORT (default 127.0.0.1:8084)
  std::uint16_t listen_port = 8084;       // 0: a free port, printed on the startup line
  ProxyMode mode = ProxyMode::replay;     // --mode
  std::string out_path;                   // --out (capture): the case written on exit
  std::string case_path;                  // --case (replay): a case answered as recorded
  std::string rules_path;                 // --rules: a rules document, JSON or YAML
  bool strict = false;                    // --policy strict|allow
  std::vector<std::string> allow_hosts;   // --allow-host (repeatable): exempt from strict
  std::string session_id;                 // --session: the default session's id ("" = random)
  std::size_t max_connections = 1024;     // --max-connections: past it, 503
  std::chrono::milliseconds grace{5000};  // --grace SECONDS: shutdown's wait for open exchanges and tunnels
  std::string log_level = "info";         // --log-level debug|info|warn|error|off
  unsigned threads = 0;                   // --threads (0: one per core)
  // --ingress --upstream http://HOST:PORT: the --listen listener is a reverse
  // proxy in front of the app at HOST:PORT (origin-form requests).
  bool ingress = false;
  std::string upstream_host;
  std::uint16_t upstream_port = 0;
  // --egress-listen HOST:PORT (with --ingress): an egress listener beside it, same session.
  bool egress_listener = false;
  std::string egress_listen_host;
  std::uint16_t egress_listen_port = 0;
  // --runtime http://HOST:PORT [--token T]: remote mode, every request decided
  // by that runtime (remote_decider.hpp); --session names the session of
  // requests that name none. Empty host: embedded mode.
  std::string runtime_host;
  std::uint16_t runtime_port = 0;
  std::string token;
  bool remote() const noexcept { return !runtime_host.empty(); }
};

// A flag's value that cannot work, named: "--listen: ...".
struct OptionError {
  std::string message;
};

// "127.0.0.1:8084", "[::1]:0", "localhost:9000" -> host and port (0 allowed).
// std::nullopt when the form is wrong.
std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(const std::string& address);

// "http://127.0.0.1:3000" (a trailing "/" allowed) -> host and port (80 when
// none is given). std::nullopt for another scheme, a path, or a bad host or port.
std::optional<std::pair<std::string, std::uint16_t>> parse_upstream_url(const std::string& url);

// Checks the flags that only make sense together (--out with --mode capture,
// --case and --rules with replay, none of the embedded session's flags with
// --runtime...). Returns the first problem, naming the
// flag, or std::nullopt.
std::optional<OptionError> check_options(const ProxyOptions& o);

}  // namespace softprobe::proxy
