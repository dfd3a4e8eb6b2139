#include "proxy_command.hpp"

#include <cmath>
#include <iostream>

namespace softprobe::cli {

CLI::App* add_proxy_command(CLI::App& app, ProxyFlags& f) {
  CLI::App* p =
      app.add_subcommand("proxy", "Run the proxy: egress (HTTP_PROXY / HTTPS_PROXY), or ingress in front of the app");
  p->add_option("--listen", f.listen, "HOST:PORT to listen on (port 0: a free port)")->capture_default_str();
  p->add_option("--mode", f.mode, "replay or capture")
      ->check(CLI::IsMember({"replay", "capture"}))
      ->capture_default_str();
  p->add_option("--out", f.out, "capture: the case file written on exit");
  p->add_option("--case", f.case_path, "replay: a case file answered as recorded")->check(CLI::ExistingFile);
  p->add_option("--rules", f.rules, "a rules document, JSON or YAML")->check(CLI::ExistingFile);
  p->add_option("--policy", f.policy, "strict or allow")
      ->check(CLI::IsMember({"strict", "allow"}))
      ->capture_default_str();
  p->add_option("--allow-host", f.allow_hosts, "a host exempt from strict (repeatable; .suffix, host:port)");
  p->add_option("--session", f.session, "the default session's id");
  p->add_option("--max-connections", f.max_connections, "past it, new connections get 503")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  p->add_option("--grace", f.grace_seconds, "seconds to let exchanges and tunnels finish on SIGTERM")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  p->add_option("--log-level", f.log_level, "debug, info, warn, error or off")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  p->add_option("--threads", f.threads, "event loops (0: one per core)")->capture_default_str();
  p->add_option("--runtime", f.runtime, "decide through a running runtime: http://HOST:PORT (remote mode)");
  p->add_option("--token", f.token, "the runtime's bearer token (with --runtime)");
  p->add_flag("--ingress", f.ingress, "--listen is a reverse proxy in front of the app (--upstream)");
  p->add_option("--upstream", f.upstream, "the app, for --ingress: http://HOST:PORT");
  p->add_option("--egress-listen", f.egress_listen, "HOST:PORT of an egress listener beside --ingress (same session)");
  return p;
}

int proxy_options_from_flags(const ProxyFlags& f, proxy::ProxyOptions& o) {
  auto bad = [](const std::string& message) {
    std::cerr << "softprobe proxy: " << message << "\n";
    return 2;
  };
  auto listen = proxy::parse_listen_address(f.listen);
  if (!listen) return bad("--listen: \"" + f.listen + "\" is not HOST:PORT (e.g. 127.0.0.1:0, [::1]:8084)");
  o.listen_host = listen->first;
  o.listen_port = listen->second;
  o.mode = f.mode == "capture" ? proxy::ProxyMode::capture : proxy::ProxyMode::replay;
  o.out_path = f.out;
  o.case_path = f.case_path;
  o.rules_path = f.rules;
  o.strict = f.policy == "strict";
  o.allow_hosts = f.allow_hosts;
  o.session_id = f.session;
  o.max_connections = f.max_connections;
  o.grace = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(f.grace_seconds * 1000)));
  o.log_level = f.log_level;
  o.threads = f.threads;
  o.ingress = f.ingress;
  if (!f.upstream.empty()) {
    auto up = proxy::parse_upstream_url(f.upstream);
    if (!up) return bad("--upstream: \"" + f.upstream + "\" is not http://HOST:PORT (e.g. http://127.0.0.1:3000)");
    o.upstream_host = up->first;
    o.upstream_port = up->second;
  }
  if (!f.egress_listen.empty()) {
    auto el = proxy::parse_listen_address(f.egress_listen);
    if (!el) return bad("--egress-listen: \"" + f.egress_listen + "\" is not HOST:PORT (e.g. 127.0.0.1:0, [::1]:8085)");
    o.egress_listener = true;
    o.egress_listen_host = el->first;
    o.egress_listen_port = el->second;
  }
  if (!f.runtime.empty()) {
    auto rt = proxy::parse_upstream_url(f.runtime);
    if (!rt)
      return bad("--runtime: \"" + f.runtime +
                 "\" is not http://HOST:PORT (e.g. http://127.0.0.1:8080; https is not supported)");
    o.runtime_host = rt->first;
    o.runtime_port = rt->second;
  }
  o.token = f.token;
  if (auto problem = proxy::check_options(o)) return bad(problem->message);
  return 0;
}

}  // namespace softprobe::cli
