#include "run_proxy.hpp"

#include <signal.h>
#include <sys/resource.h>

#include <iostream>
#include <memory>

#include "proxy_server.hpp"
#include "embedded_decider.hpp"
#include "support/log.hpp"

namespace softprobe::proxy {

using core::log;
using core::LogLevel;

namespace {

// Every connection and tunnel end is a descriptor: raise the soft limit toward
// twice --max-connections (a tunnel holds two).
void raise_fd_limit(std::size_t connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t want = rlim_t(connections) * 2 + 256;
  if (lim.rlim_cur >= want) return;
  lim.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= want ? want : lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

std::string url_host(const std::string& host) { return host.find(':') != std::string::npos ? "[" + host + "]" : host; }

}  // namespace

int run_proxy(const ProxyOptions& options) {
  core::LogLevel level;
  if (!core::parse_log_level(options.log_level, level)) {
    std::cerr << "softprobe proxy: --log-level: \"" << options.log_level
              << "\" is not one of debug, info, warn, error, off\n";
    return 2;
  }
  core::set_log_level(level);
  if (auto problem = check_options(options)) {
    std::cerr << "softprobe proxy: " << problem->message << "\n";
    return 2;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: every thread inherits it
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<EmbeddedDecider> decider;
  try {
    decider = std::make_unique<EmbeddedDecider>(options);
  } catch (const softprobe::Error& e) {
    std::cerr << "softprobe proxy: " << e.what() << "\n";
    return e.status() == SP_E_IO || e.status() == SP_E_INVALID_ARGUMENT ? 2 : 5;
  }
  raise_fd_limit(options.max_connections);

  int code = 0;
  {
    net::IoThreads io(options.threads);
    std::unique_ptr<EgressProxy> proxy;
    try {
      proxy = std::make_unique<EgressProxy>(io, options, *decider);
    } catch (const std::exception& e) {
      log(LogLevel::error, "cannot start", {{"error", e.what()}});
      std::cerr << "softprobe proxy: " << e.what() << "\n";
      return 1;
    }
    std::cout << "softprobe proxy listening on http://" << url_host(options.listen_host) << ":" << proxy->port()
              << std::endl;  // the line scripts and tests wait for, flushed
    log(LogLevel::info, "listening",
        {{"address", "http://" + url_host(options.listen_host) + ":" + std::to_string(proxy->port())},
         {"sessionId", decider->default_session_id()},
         {"mode", options.mode == ProxyMode::capture ? "capture" : "replay"},
         {"policy", options.strict ? "strict" : "allow"},
         {"maxConnections", options.max_connections},
         {"threads", io.size()}});

    int sig = 0;
    sigwait(&signals, &sig);
    log(LogLevel::info, "shutting down",
        {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}, {"graceMs", options.grace.count()}});
    std::size_t forced = proxy->shutdown(options.grace);
    if (forced) log(LogLevel::warn, "closed at the end of the grace period", {{"closed", forced}});
    proxy.reset();
    io.stop();
  }
  if (!decider->finish()) code = 1;
  log(LogLevel::info, "stopped", {{"exitCode", code}});
  return code;
}

}  // namespace softprobe::proxy
