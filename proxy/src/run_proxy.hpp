// `softprobe proxy` as one call (cli/ runs it): starts the embedded decider
// and the listeners: the egress proxy, or with --ingress the reverse proxy
// (and with --egress-listen an egress one beside it), each printing its line
// on stdout once accepting ("softprobe proxy listening on http://HOST:PORT",
// "softprobe proxy ingress listening on ..."), serves until SIGTERM or SIGINT,
// then shuts down within --grace and writes the capture (--out).
#pragma once

#include "proxy_options.hpp"

namespace softprobe::proxy {

// Exit codes (contract section 10): 0 after a clean shutdown, 1 when the proxy
// could not start (the address is taken...) or the capture could not be
// written, 2 for bad arguments (an unreadable --case or --rules), 5 for an
// invalid --case or --rules document. Blocks SIGTERM and SIGINT in the
// calling thread; call it from main.
int run_proxy(const ProxyOptions& options);

}  // namespace softprobe::proxy
