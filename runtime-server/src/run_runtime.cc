// The runtime's whole life (run_runtime.hpp): configuration, startup and
// orderly shutdown, for softprobe-runtime and `softprobe runtime`.
//
// SIGTERM / SIGINT are blocked in every thread and taken by sigwait() on the
// main thread (no work in a signal handler). On a signal: stop accepting,
// let in-flight requests finish within --shutdown-grace, then close every
// session (capture sessions are written to disk) and exit.
#include <malloc.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <sys/resource.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "logger.hpp"
#include "run_runtime.hpp"
#include "runtime.hpp"
#include "server.hpp"
#include "session_reaper.hpp"

using namespace softprobe::runtime;

namespace {

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// 32 hex digits (128 bits) from the OS's random source, for --token auto.
std::string generate_token() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("getrandom failed: cannot generate a token");
    got += std::size_t(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

// Gives the store its capture directory (checked writable, stale temporary
// files removed; `where` says which) and its session limit. Returns false, having said why on
// stderr, when the runtime cannot start.
bool configure_store(Runtime& rt, CaptureLocation& where) {
  const Config& cfg = rt.config;
  try {
    where = capture_location(cfg, std::getenv("SOFTPROBE_CAPTURE_CASE_PATH"));
  } catch (const ConfigError& e) {
    std::cerr << "softprobe-runtime: " << e.what() << "\n";
    return false;
  }
  char* report = nullptr;
  if (sp_store_set_capture_dir(&report, rt.store.handle(), where.dir.data(), where.dir.size(),
                               where.default_path.data(), where.default_path.size()) != SP_OK) {
    std::string why = sp_last_error();
    log(LogLevel::error, "cannot use the capture directory", {{"captureDir", where.dir}, {"error", why}});
    std::cerr << "softprobe-runtime: " << why << " (set --capture-dir to a writable directory)\n";
    return false;
  }
  auto doc = nlohmann::json::parse(softprobe::take_string(report), nullptr, false);
  if (doc.is_object() && doc["removedTempFiles"].is_array() && !doc["removedTempFiles"].empty())
    log(LogLevel::warn, "removed temporary files left by an interrupted write",
        {{"captureDir", where.dir}, {"files", doc["removedTempFiles"]}});
  if (sp_store_set_max_sessions(rt.store.handle(), cfg.max_sessions) != SP_OK) {
    std::cerr << "softprobe-runtime: --max-sessions: " << sp_last_error() << "\n";
    return false;
  }
  return true;
}

// Every connection is a file descriptor: raise the soft limit toward the
// hard one so --max-connections can be reached (plus files and sessions).
void raise_fd_limit(std::size_t connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t want = rlim_t(connections) + 256;
  if (lim.rlim_cur >= want) return;
  rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= want ? want : lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < want)
    log(LogLevel::warn, "the open-file limit is below --max-connections; connections past it are refused",
        {{"openFileLimit", std::uint64_t(lim.rlim_cur > before ? lim.rlim_cur : before)},
         {"maxConnections", connections}});
}

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

}  // namespace

namespace softprobe::runtime {

int run_runtime(int argc, char** argv) {
  ParsedArgs args;
  try {
    args =
        parse_args(std::vector<std::string>(argv + 1, argv + argc), [](const char* name) { return std::getenv(name); });
  } catch (const ConfigError& e) {
    std::cerr << "softprobe-runtime: " << e.what() << "\n";
    return 2;
  }
  if (args.help) {
    std::cout << usage();
    return 0;
  }
  if (args.version) {
    std::cout << "softprobe-runtime " << sp_version_string() << " (" SOFTPROBE_SPEC_VERSION ")\n";
    return 0;
  }
  bool token_generated = args.config.token == "auto";
  if (token_generated) args.config.token = generate_token();
  const Config& cfg = args.config;
  init_logging(cfg.log_level);
  // Allocations of 1 MiB and more get their own mappings, returned to the OS
  // when freed (glibc otherwise raises this threshold as large blocks are
  // freed, and keeps them in its arenas).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  if (!cfg.capture_path.empty()) setenv("SOFTPROBE_CAPTURE_CASE_PATH", cfg.capture_path.c_str(), 1);

  // Before any thread starts, so every thread inherits the mask.
  sigset_t signals = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the server

  Runtime rt(cfg);
  CaptureLocation capture;
  if (!configure_store(rt, capture)) return 2;
  raise_fd_limit(cfg.max_connections);
  Server server(rt);
  int port;
  try {
    port = server.start();
  } catch (const std::exception& e) {
    log(LogLevel::error, "cannot start", {{"error", e.what()}});
    std::cerr << "softprobe-runtime: " << e.what() << "\n";
    return 1;
  }
  std::string url = base_url(cfg.host, port);
  std::cout << url << "\n";  // the first line on stdout: how tests and scripts find the port
  if (token_generated) std::cout << "token=" << cfg.token << "\n";  // the second, with --token auto only
  std::cout << std::flush;
  log(LogLevel::info, "listening",
      {{"address", url},
       {"auth", !cfg.token.empty()},
       {"maxBodyBytes", cfg.max_body_bytes},
       {"sessionTtlMs", cfg.session_ttl.count()},
       {"threads", server.threads()},
       {"maxConnections", cfg.max_connections},
       {"captureDir", capture.dir},
       {"capturePath", capture.default_path},
       {"maxSessions", cfg.max_sessions},
       {"version", sp_version_string()}});
  if (!is_loopback(cfg.host) && cfg.token.empty())
    log(LogLevel::warn,
        "listening beyond loopback without a token: anyone who can reach this port controls the runtime",
        {{"address", url}});

  SessionReaper reaper(rt);

  int sig = 0;
  sigwait(&signals, &sig);
  log(LogLevel::info, "shutting down",
      {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}, {"graceMs", cfg.shutdown_grace.count()}});

  // In-flight requests first (a capture's last spans may be on their way),
  // then every session, capture files first: nothing recorded is lost.
  auto connections = server.shutdown(cfg.shutdown_grace);
  if (!connections.clean())
    log(LogLevel::warn, "connections still busy at the end of the grace period were closed",
        {{"closed", connections.forced}, {"finished", connections.finished}});
  reaper.stop();
  char* closed = nullptr;
  std::size_t failed = 0;
  if (sp_store_close_all_or_fallback(&closed, rt.store.handle()) == SP_OK) {
    failed = report_closed(rt, closed, CloseReason::shutdown);
    sp_string_free(closed);
  } else {
    log(LogLevel::error, "closing sessions failed", {{"error", sp_last_error()}});
    failed = 1;
  }
  int code = failed ? 1 : 0;
  log(LogLevel::info, "stopped", {{"exitCode", code}});
  return code;
}

}  // namespace softprobe::runtime
