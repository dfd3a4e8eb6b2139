// The runtime's configuration: defaults, then environment, then flags.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "logger.hpp"

namespace softprobe::runtime {

struct Config {
  std::string host = "127.0.0.1";  // loopback unless asked
  int port = 8080;                 // 0: pick a free port
  std::string token;               // bearer token for /v1/...; "" = no auth; "auto" = generated at start
  std::size_t max_body_bytes = 16u << 20;
  std::chrono::milliseconds session_ttl = std::chrono::hours(1);  // 0: sessions never expire
  LogLevel log_level = LogLevel::info;
  std::size_t threads = 0;  // io threads (event-driven: not one per connection); 0 = one per core
  std::chrono::milliseconds keep_alive_timeout{5'000};  // idle keep-alive connections close after this
  std::chrono::milliseconds head_timeout{10'000};       // total time to read a request head (then 408)
  std::chrono::milliseconds shutdown_grace{2'000};      // on SIGTERM: time given to in-flight requests
  std::size_t max_connections = 4096;                   // open at once; past it 503 + close
  std::chrono::milliseconds max_latency{30'000};        // a rule's latencyMs is capped at this
  std::string capture_path;                             // "" = $SOFTPROBE_CAPTURE_CASE_PATH or ./captured.case.json
  std::string capture_dir;                              // "" = the directory of the capture path
  std::size_t max_sessions = 10'000;
  std::vector<std::string> allow_origins;  // Origin values accepted besides none ("*": any)
  std::vector<std::string> allow_hosts;    // Host names accepted besides the built-in ones ("*": any)
};

// Where captures go: the directory the store is given, and the default file
// inside it (relative). Throws ConfigError when --capture-path lies outside
// --capture-dir.
struct CaptureLocation {
  std::string dir;
  std::string default_path;
};
CaptureLocation capture_location(const Config& c, const char* env_capture_path);

// A bad flag or environment value; the message names it.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ParsedArgs {
  Config config;
  bool help = false;
  bool version = false;
};

using GetEnv = std::function<const char*(const char*)>;

// Throws ConfigError. `args` excludes argv[0].
ParsedArgs parse_args(const std::vector<std::string>& args, const GetEnv& getenv);

std::string usage();

// "500ms", "30s", "15m", "1h", or a plain number of seconds.
std::chrono::milliseconds parse_duration(const std::string& text, const std::string& what);
// "1048576", "512k", "16M", "1G" (binary multiples; "KiB"/"MB"... accepted).
std::size_t parse_size(const std::string& text, const std::string& what);

}  // namespace softprobe::runtime
