#include "run_proxy.hpp"

#include <signal.h>
#include <sys/resource.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "embedded_decider.hpp"
#include "proxy_server.hpp"
#include "remote_decider.hpp"
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

  int code = 0;
  raise_fd_limit(options.max_connections);
  {
    net::IoThreads io(options.threads);
    // Embedded: the core in this process, one default session from the
    // flags. Remote: the runtime at --runtime decides (remote_decider.hpp).
    std::unique_ptr<Decider> decider;
    if (options.remote()) {
      decider = std::make_unique<RemoteDecider>(io, options);
    } else {
      try {
        decider = std::make_unique<EmbeddedDecider>(options);
      } catch (const softprobe::Error& e) {
        std::cerr << "softprobe proxy: " << e.what() << "\n";
        return e.status() == SP_E_IO || e.status() == SP_E_INVALID_ARGUMENT ? 2 : 5;
      }
    }
    // --listen: the egress proxy, or with --ingress the reverse proxy in
    // front of the app; --egress-listen: an egress listener beside it.
    std::vector<ListenerConfig> configs(1);
    configs[0].host = options.listen_host;
    configs[0].port = options.listen_port;
    configs[0].ingress = options.ingress;
    configs[0].upstream_host = options.upstream_host;
    configs[0].upstream_port = options.upstream_port;
    if (options.egress_listener) {
      configs.emplace_back();
      configs.back().host = options.egress_listen_host;
      configs.back().port = options.egress_listen_port;
    }
    std::vector<std::unique_ptr<ProxyServer>> listeners;
    for (auto& c : configs) {
      c.max_connections = options.max_connections;
      try {
        listeners.push_back(std::make_unique<ProxyServer>(io, c, *decider));
      } catch (const std::exception& e) {
        log(LogLevel::error, "cannot start", {{"error", e.what()}});
        std::cerr << "softprobe proxy: " << e.what() << "\n";
        return 1;
      }
    }
    for (std::size_t i = 0; i < listeners.size(); ++i) {
      const ListenerConfig& c = configs[i];
      std::string address = "http://" + url_host(c.host) + ":" + std::to_string(listeners[i]->port());
      // The lines scripts and tests wait for, flushed.
      std::cout << (c.ingress ? "softprobe proxy ingress listening on " : "softprobe proxy listening on ") << address
                << std::endl;
      nlohmann::ordered_json fields = {{"address", address},
                                       {"role", c.ingress ? "ingress" : "egress"},
                                       {"sessionId", decider->default_session_id()}};
      if (options.remote()) {
        fields["mode"] = "remote";
        fields["runtime"] = "http://" + url_host(options.runtime_host) + ":" + std::to_string(options.runtime_port);
      } else {
        fields["mode"] = options.mode == ProxyMode::capture ? "capture" : "replay";
        fields["policy"] = options.strict ? "strict" : "allow";
      }
      fields["maxConnections"] = options.max_connections;
      fields["threads"] = io.size();
      if (c.ingress) fields["upstream"] = "http://" + url_host(c.upstream_host) + ":" + std::to_string(c.upstream_port);
      log(LogLevel::info, "listening", fields);
    }

    int sig = 0;
    sigwait(&signals, &sig);
    log(LogLevel::info, "shutting down",
        {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}, {"graceMs", options.grace.count()}});
    // The listeners share the grace period: each shuts down in its own thread.
    std::vector<std::size_t> forced(listeners.size());
    std::vector<std::thread> stopping;
    for (std::size_t i = 0; i < listeners.size(); ++i)
      stopping.emplace_back([&, i] { forced[i] = listeners[i]->shutdown(options.grace); });
    for (auto& t : stopping) t.join();
    std::size_t closed = 0;
    for (auto n : forced) closed += n;
    if (closed) log(LogLevel::warn, "closed at the end of the grace period", {{"closed", closed}});
    // Before the listeners go: a remote decider's calls still on their way
    // answer into them.
    if (!decider->finish()) code = 1;
    listeners.clear();
    decider.reset();
    io.stop();
  }
  log(LogLevel::info, "stopped", {{"exitCode", code}});
  return code;
}

}  // namespace softprobe::proxy
