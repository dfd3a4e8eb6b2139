// The `softprobe proxy` subcommand's flags (docs/proxy.md), read into ProxyOptions.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "proxy_options.hpp"

namespace softprobe::cli {

// What the flags read before they are checked and turned into ProxyOptions.
struct ProxyFlags {
  std::string listen = "127.0.0.1:8084";
  std::string mode = "replay";
  std::string out, case_path, rules, policy = "allow", session, log_level = "info";
  std::vector<std::string> allow_hosts;
  std::size_t max_connections = 1024;
  double grace_seconds = 5;
  unsigned threads = 0;
  std::string upstream, egress_listen;
  bool ingress = false;
  // Remote mode: --runtime URL [--token T].
  std::string runtime, token;
};

// Adds the subcommand to `app`; its flags are read into `flags`.
CLI::App* add_proxy_command(CLI::App& app, ProxyFlags& flags);

// The checked options, or an exit code (2) after a message naming the flag on stderr.
int proxy_options_from_flags(const ProxyFlags& flags, proxy::ProxyOptions& out);

}  // namespace softprobe::cli
