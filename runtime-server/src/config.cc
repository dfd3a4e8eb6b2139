#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace softprobe::runtime {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

int parse_port(const std::string& text, const std::string& what) {
  std::uint64_t v = 0;
  if (!parse_u64(text, v) || v > 65535) throw ConfigError(what + ": \"" + text + "\" is not a port (0-65535)");
  return int(v);
}

// "127.0.0.1:8080", "[::1]:8080", "localhost:8080", ":8080" (loopback), "8080".
void apply_listen(Config& c, const std::string& text, const std::string& what) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) throw ConfigError(what + ": \"" + text + "\" has no closing ']'");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') throw ConfigError(what + ": \"" + text + "\" must be [host]:port");
      port = text.substr(close + 2);
    }
  } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  } else if (!text.empty() && std::isdigit(static_cast<unsigned char>(text.front()))) {
    port = text;
  } else {
    host = text;
  }
  if (!host.empty()) c.host = host;
  if (!port.empty()) c.port = parse_port(port, what);
}

LogLevel parse_level(const std::string& text, const std::string& what) {
  LogLevel l;
  if (!parse_log_level(lower(text), l))
    throw ConfigError(what + ": \"" + text + "\" is not a log level (debug, info, warn, error, off)");
  return l;
}

std::size_t parse_count(const std::string& text, const std::string& what, std::size_t min, std::size_t max) {
  std::uint64_t v = 0;
  if (!parse_u64(text, v) || v < min || v > max)
    throw ConfigError(what + ": \"" + text + "\" must be an integer from " + std::to_string(min) + " to " +
                      std::to_string(max));
  return std::size_t(v);
}

// A duration of at least 1 ms: a timeout of 0 would close every connection at once.
std::chrono::milliseconds parse_positive_duration(const std::string& text, const std::string& what) {
  auto d = parse_duration(text, what);
  if (d.count() == 0) throw ConfigError(what + ": \"" + text + "\" must be longer than 0 (e.g. 500ms, 5s)");
  return d;
}

// A repeatable flag: each use adds values (comma-separated in the environment).
void add_list(std::vector<std::string>& list, const std::string& value, const std::string& what) {
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string item = value.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty()) throw ConfigError(what + ": \"" + value + "\" has an empty entry");
    if (item.size() > 253)
      throw ConfigError(what + ": \"" + item.substr(0, 40) + "...\" is longer than 253 characters");
    list.push_back(item);
    start = comma + 1;
  }
  if (list.size() > 256) throw ConfigError(what + ": at most 256 values");
}

// Sets one option by its flag name (without "--"); false when unknown.
bool apply_option(Config& c, const std::string& name, const std::string& value, const std::string& what) {
  if (name == "listen") apply_listen(c, value, what);
  else if (name == "host") c.host = value;
  else if (name == "port") c.port = parse_port(value, what);
  else if (name == "token") c.token = value;
  else if (name == "max-body-bytes") c.max_body_bytes = parse_size(value, what);
  else if (name == "session-ttl") c.session_ttl = parse_duration(value, what);
  else if (name == "log-level") c.log_level = parse_level(value, what);
  else if (name == "threads") c.threads = parse_count(value, what, 1, 1024);
  else if (name == "keep-alive-timeout") c.keep_alive_timeout = parse_positive_duration(value, what);
  else if (name == "head-timeout") c.head_timeout = parse_positive_duration(value, what);
  else if (name == "shutdown-grace") c.shutdown_grace = parse_duration(value, what);
  else if (name == "max-connections") c.max_connections = parse_count(value, what, 1, 1'000'000);
  else if (name == "max-latency-ms") c.max_latency = std::chrono::milliseconds(parse_count(value, what, 0, 600'000));
  else if (name == "capture-path") c.capture_path = value;
  else if (name == "capture-dir") c.capture_dir = value;
  else if (name == "max-sessions") c.max_sessions = parse_count(value, what, 1, 100'000'000);
  else if (name == "allow-origin") add_list(c.allow_origins, value, what);
  else if (name == "allow-host") add_list(c.allow_hosts, value, what);
  else return false;
  return true;
}

// Whether `name` is a flag, asked of apply_option itself (the one list of
// flags), on a scratch configuration: a known flag either takes the probe
// value or refuses it with a ConfigError; an unknown one returns false.
bool is_flag(const std::string& name) {
  Config scratch;
  try {
    return apply_option(scratch, name, "1", "--" + name);
  } catch (const ConfigError&) {
    return true;
  }
}

struct EnvOption {
  const char* env;
  const char* option;
};
constexpr EnvOption kEnv[] = {
    {"SOFTPROBE_LISTEN", "listen"},
    {"SOFTPROBE_PORT", "port"},
    {"SOFTPROBE_API_TOKEN", "token"},
    {"SOFTPROBE_MAX_BODY_BYTES", "max-body-bytes"},
    {"SOFTPROBE_SESSION_TTL", "session-ttl"},
    {"SOFTPROBE_LOG_LEVEL", "log-level"},
    {"SOFTPROBE_THREADS", "threads"},
    {"SOFTPROBE_KEEP_ALIVE_TIMEOUT", "keep-alive-timeout"},
    {"SOFTPROBE_HEAD_TIMEOUT", "head-timeout"},
    {"SOFTPROBE_SHUTDOWN_GRACE", "shutdown-grace"},
    {"SOFTPROBE_MAX_CONNECTIONS", "max-connections"},
    {"SOFTPROBE_MAX_LATENCY_MS", "max-latency-ms"},
    {"SOFTPROBE_CAPTURE_DIR", "capture-dir"},
    {"SOFTPROBE_MAX_SESSIONS", "max-sessions"},
    {"SOFTPROBE_ALLOW_ORIGIN", "allow-origin"},
    {"SOFTPROBE_ALLOW_HOST", "allow-host"},
};

}  // namespace

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& what) {
  std::string t = lower(text);
  std::size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  std::uint64_t n = 0;
  if (!parse_u64(std::string_view(t).substr(0, digits), n))
    throw ConfigError(what + ": \"" + text + "\" is not a duration (e.g. 500ms, 30s, 15m, 1h, or seconds)");
  std::string unit = t.substr(digits);
  std::uint64_t ms_per;
  if (unit.empty() || unit == "s") ms_per = 1000;
  else if (unit == "ms") ms_per = 1;
  else if (unit == "m") ms_per = 60'000;
  else if (unit == "h") ms_per = 3'600'000;
  else throw ConfigError(what + ": \"" + text + "\" has an unknown unit (use ms, s, m or h)");
  if (n > std::numeric_limits<std::uint64_t>::max() / ms_per / 2)
    throw ConfigError(what + ": \"" + text + "\" is too large");
  return std::chrono::milliseconds(n * ms_per);
}

std::size_t parse_size(const std::string& text, const std::string& what) {
  std::string t = lower(text);
  std::size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  std::uint64_t n = 0;
  if (!parse_u64(std::string_view(t).substr(0, digits), n) || n == 0)
    throw ConfigError(what + ": \"" + text + "\" is not a positive size (e.g. 1048576, 512k, 16M)");
  std::string unit = t.substr(digits);
  if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();  // "kb", "mib" -> "k", "mi"
  if (unit.size() > 1 && unit.back() == 'i') unit.pop_back();
  std::uint64_t mult;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k") mult = 1ull << 10;
  else if (unit == "m") mult = 1ull << 20;
  else if (unit == "g") mult = 1ull << 30;
  else throw ConfigError(what + ": \"" + text + "\" has an unknown unit (use k, M or G)");
  if (n > (std::uint64_t(1) << 40) / mult) throw ConfigError(what + ": \"" + text + "\" is too large");
  return std::size_t(n * mult);
}

CaptureLocation capture_location(const Config& c, const char* env_capture_path) {
  std::string path = !c.capture_path.empty()                 ? c.capture_path
                     : env_capture_path && *env_capture_path ? std::string(env_capture_path)
                                                             : std::string("./captured.case.json");
  if (c.capture_dir.empty()) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return {".", path};
    if (slash + 1 == path.size()) throw ConfigError("--capture-path: \"" + path + "\" names a directory, not a file");
    return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
  }
  std::string dir = c.capture_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (path.empty() || path.front() != '/') return {dir, path};
  if (path.rfind(dir + "/", 0) != 0 || path.size() == dir.size() + 1)
    throw ConfigError("--capture-path: \"" + path + "\" is not inside --capture-dir \"" + dir +
                      "\" (give it relative to the capture directory)");
  return {dir, path.substr(dir.size() + 1)};
}

ParsedArgs parse_args(const std::vector<std::string>& args, const GetEnv& getenv) {
  ParsedArgs out;
  for (const auto& e : kEnv)
    if (const char* v = getenv(e.env); v && *v) apply_option(out.config, e.option, v, e.env);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      out.help = true;
      continue;
    }
    if (a == "--version") {
      out.version = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) throw ConfigError("unexpected argument \"" + a + "\" (see --help)");
    std::string name = a.substr(2), value;
    auto eq = name.find('=');
    std::string bare = name.substr(0, eq);
    if (!is_flag(bare)) throw ConfigError("unknown flag --" + bare + " (see --help)");
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else {
      if (i + 1 >= args.size()) throw ConfigError("--" + name + " needs a value");
      value = args[++i];
    }
    if (!apply_option(out.config, name, value, "--" + name))
      throw ConfigError("unknown flag --" + name + " (see --help)");
  }
  return out;
}

std::string usage() {
  return R"(softprobe-runtime: the Softprobe HTTP control API and proxy OTLP API.

Usage: softprobe-runtime [flags]

Flags (each also read from the environment variable shown; flags win):
  --listen HOST:PORT        address to listen on (SOFTPROBE_LISTEN, default 127.0.0.1:8080;
                            use 0.0.0.0:PORT to listen on every interface)
  --host HOST               host only (default 127.0.0.1)
  --port N                  port only; 0 picks a free port (SOFTPROBE_PORT)
                            The address listened on is printed on stdout as one line: http://HOST:PORT
  --token TOKEN             require "Authorization: Bearer TOKEN" on /v1/... (SOFTPROBE_API_TOKEN);
                            "auto" generates one and prints it as a second stdout line: token=TOKEN
  --max-body-bytes SIZE     largest request body, e.g. 16M, also after gzip/deflate/br decoding;
                            past it 413 and close (SOFTPROBE_MAX_BODY_BYTES, default 16M)
                            Request heads are limited to 64 KiB and 100 headers (431).
  --session-ttl DURATION    close sessions idle this long, 0 = never (SOFTPROBE_SESSION_TTL, default 1h)
  --log-level LEVEL         debug|info|warn|error|off (SOFTPROBE_LOG_LEVEL, default info)
  --threads N               event-loop threads; connections are not tied to threads
                            (SOFTPROBE_THREADS, default: one per core)
  --max-connections N       connections open at once; past it 503 and close (SOFTPROBE_MAX_CONNECTIONS, default 4096)
  --keep-alive-timeout DUR  idle keep-alive connections close after this (SOFTPROBE_KEEP_ALIVE_TIMEOUT, default 5s)
  --head-timeout DUR        total time to send a request's line and headers; then 408 and close
                            (SOFTPROBE_HEAD_TIMEOUT, default 10s)
  --max-latency-ms N        cap on a rule's latencyMs, served on a timer (SOFTPROBE_MAX_LATENCY_MS, default 30000)
  --shutdown-grace DUR      on SIGTERM/SIGINT, time in-flight requests get to finish before their
                            connections are closed (SOFTPROBE_SHUTDOWN_GRACE, default 2s)
  --capture-path PATH       where capture sessions are written on close without ?out=
                            (SOFTPROBE_CAPTURE_CASE_PATH, default ./captured.case.json)
  --capture-dir DIR         the only directory captures are written in; ?out= is relative to it
                            (SOFTPROBE_CAPTURE_DIR, default: the directory of the capture path)
  --max-sessions N          most sessions open at once; more get 429 (SOFTPROBE_MAX_SESSIONS, default 10000)
  --allow-origin ORIGIN     accept requests carrying this Origin header (repeatable; "*" any;
                            SOFTPROBE_ALLOW_ORIGIN, comma-separated); other Origins get 403
  --allow-host NAME         accept this Host header name besides the listen address, localhost,
                            127.0.0.1 and [::1] (repeatable; "*" any; SOFTPROBE_ALLOW_HOST); others get 421
  --version                 print the version and exit
  -h, --help                print this help and exit
)";
}

}  // namespace softprobe::runtime
