// softprobe-runtime: configuration, startup and orderly shutdown.
//
// SIGTERM / SIGINT are blocked in every thread and taken by sigwait() on the
// main thread (no work in a signal handler). On a signal: stop accepting,
// close every session (capture sessions are written to disk), then wait a
// short grace period for open connections before exiting.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <thread>

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
  const Config& cfg = args.config;
  init_logging(cfg.log_level);
  if (!cfg.capture_path.empty()) setenv("SOFTPROBE_CAPTURE_CASE_PATH", cfg.capture_path.c_str(), 1);

  // Before any thread starts, so every thread inherits the mask.
  sigset_t signals = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the server

  Runtime rt(cfg);
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
  std::cout << url << std::endl;  // the one line on stdout: how tests and scripts find the port
  log(LogLevel::info, "listening",
      {{"address", url}, {"auth", !cfg.token.empty()}, {"maxBodyBytes", cfg.max_body_bytes},
       {"sessionTtlMs", cfg.session_ttl.count()}, {"threads", cfg.threads}, {"version", sp_version_string()}});
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
  if (sp_store_close_all(&closed, rt.store.handle()) == SP_OK) {
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
