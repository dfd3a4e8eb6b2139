// softprobe-runtime: configuration, startup and orderly shutdown.
//
// SIGTERM / SIGINT are blocked in every thread and taken by sigwait() on the
// main thread (no work in a signal handler). On a signal: stop accepting,
// close every session (capture sessions are written to disk), then wait a
// short grace period for open connections before exiting.
#include <malloc.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "logger.hpp"
#include "runtime.hpp"
#include "server.hpp"
#include "session_reaper.hpp"

using namespace softprobe::runtime;

namespace {

constexpr auto kShutdownGrace = std::chrono::seconds(2);

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
  if (sp_store_set_capture_dir(&report, rt.store.handle(), where.dir.data(), where.dir.size(), where.default_path.data(),
                               where.default_path.size()) != SP_OK) {
    std::string why = sp_last_error();
    log(LogLevel::error, "cannot use the capture directory", {{"captureDir", where.dir}, {"error", why}});
    std::cerr << "softprobe-runtime: " << why << " (set --capture-dir to a writable directory)\n";
    return false;
  }
  auto doc = nlohmann::json::parse(take(report), nullptr, false);
  if (doc.is_object() && doc["removedTempFiles"].is_array() && !doc["removedTempFiles"].empty())
    log(LogLevel::warn, "removed temporary files left by an interrupted write",
        {{"captureDir", where.dir}, {"files", doc["removedTempFiles"]}});
  if (sp_store_set_max_sessions(rt.store.handle(), cfg.max_sessions) != SP_OK) {
    std::cerr << "softprobe-runtime: --max-sessions: " << sp_last_error() << "\n";
    return false;
  }
  return true;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

int main(int argc, char** argv) {
  ParsedArgs args;
  try {
    args = parse_args(std::vector<std::string>(argv + 1, argv + argc), [](const char* name) { return std::getenv(name); });
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
  Server server(rt);
  int port;
  try {
    port = server.bind();
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
      {{"address", url}, {"auth", !cfg.token.empty()}, {"maxBodyBytes", cfg.max_body_bytes},
       {"sessionTtlMs", cfg.session_ttl.count()}, {"threads", cfg.threads}, {"captureDir", capture.dir},
       {"capturePath", capture.default_path}, {"maxSessions", cfg.max_sessions}, {"version", sp_version_string()}});
  if (!is_loopback(cfg.host) && cfg.token.empty())
    log(LogLevel::warn, "listening beyond loopback without a token: anyone who can reach this port controls the runtime",
        {{"address", url}});

  std::promise<bool> served;
  std::future<bool> served_future = served.get_future();
  std::thread http([&] {
    bool ok = server.run();
    served.set_value(ok);
    if (!ok) kill(getpid(), SIGTERM);  // wake the main thread
  });
  SessionReaper reaper(rt);

  int sig = 0;
  sigwait(&signals, &sig);
  bool listener_failed = served_future.wait_for(std::chrono::seconds(0)) == std::future_status::ready && !served_future.get();
  log(listener_failed ? LogLevel::error : LogLevel::info, listener_failed ? "listener failed; shutting down" : "shutting down",
      {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});

  server.stop();
  reaper.stop();
  // Flush every session, capture files first: nothing recorded is lost.
  char* closed = nullptr;
  std::size_t failed = 0;
  if (sp_store_close_all_or_fallback(&closed, rt.store.handle()) == SP_OK) {
    failed = report_closed(rt, closed, CloseReason::shutdown);
    sp_string_free(closed);
  } else {
    log(LogLevel::error, "closing sessions failed", {{"error", sp_last_error()}});
    failed = 1;
  }
  int code = failed || listener_failed ? 1 : 0;

  // Idle keep-alive connections hold their threads until their timeout;
  // do not wait for them longer than the grace period.
  if (!listener_failed && served_future.valid() &&
      served_future.wait_for(kShutdownGrace) != std::future_status::ready) {
    log(LogLevel::info, "stopped (open connections dropped)", {{"exitCode", code}});
    std::fflush(nullptr);
    std::_Exit(code);
  }
  http.join();
  log(LogLevel::info, "stopped", {{"exitCode", code}});
  return code;
}
