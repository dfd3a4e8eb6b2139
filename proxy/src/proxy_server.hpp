// One listener of `softprobe proxy`, on the project's HTTP layer
// (softprobe_net), in one of two roles.
//
// Ingress (a reverse proxy in front of the app, --ingress --upstream): every
// origin-form request ("GET /p") is decided by the Decider as an inbound
// request, then answered (a rule's mock or error) or forwarded to the app
// with the W3C trace context (trace_context.hpp) and streamed back, and
// recorded as an `inbound` span for a capture. Upgrades are tunneled to the app.
//
// Egress (the forward proxy, contract section 9): apps reach it through
// HTTP_PROXY / HTTPS_PROXY:
//   - absolute-form requests ("GET http://host/p") are decided by the
//     Decider: answered (mock, error, strict miss) by the proxy, or forwarded
//     on a keep-alive upstream pool with the response streamed back (and
//     recorded, for a capture);
//   - CONNECT host:port is decided on host and port, then tunneled;
//   - a WebSocket (any) upgrade is decided as a request, then its handshake
//     and everything after are tunneled to the upstream.
// One JSON log line per request at info (sessionId, method, host, path,
// decision, status, ms).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "decider.hpp"
#include "proxy_options.hpp"
#include "softprobe/net/client.hpp"
#include "softprobe/net/io_threads.hpp"
#include "softprobe/net/server.hpp"
#include "tunnel.hpp"

namespace softprobe::proxy {

// Request heads larger than this get 431 and are not forwarded (EC-006).
inline constexpr std::size_t kMaxRequestHeadBytes = 8 * 1024;
// A captured response body is kept up to this size (the rest is streamed but
// not recorded: the exchange is then not recorded at all, and a warning says so).
inline constexpr std::size_t kMaxCapturedBodyBytes = 16u << 20;

// Where a listener listens and what it is.
struct ListenerConfig {
  std::string host;
  std::uint16_t port = 0;              // 0: a free one (port())
  std::size_t max_connections = 1024;  // of this listener; past it, 503
  bool ingress = false;                // true: a reverse proxy in front of the app below
  std::string upstream_host;           // ingress: the app
  std::uint16_t upstream_port = 0;
};

class ProxyServer {
 public:
  // Binds and starts accepting on `io`. Throws std::runtime_error naming the
  // address when it cannot bind.
  ProxyServer(net::IoThreads& io, const ListenerConfig& config, Decider& decider);

  std::uint16_t port() const noexcept { return server_->port(); }
  // Stops accepting, lets exchanges and tunnels finish within `grace`, then
  // closes the rest. Blocks (call from the main thread). Returns how many
  // connections and tunnels had to be closed.
  std::size_t shutdown(std::chrono::milliseconds grace);

 private:
  void handle(net::Exchange ex);
  void handle_ingress(net::Exchange ex);
  // Decides `req` once its body is read, then answers or forwards it with `upstream_headers` (from the head).
  void decide_and_forward(net::Exchange ex, std::shared_ptr<ProxyRequest> req, net::HostPort upstream,
                          std::function<net::Headers(const ProxyRequest&, const Verdict&)> upstream_headers);
  void forward(net::Exchange ex, std::shared_ptr<ProxyRequest> req, net::HostPort upstream, Verdict verdict,
               net::Headers upstream_headers);
  void connect(net::Exchange ex);
  void upgrade(net::Exchange ex, std::shared_ptr<ProxyRequest> req, net::HostPort upstream);
  // The upgrade once decided: answered, or tunneled to `upstream`.
  void tunnel_upgrade(net::Exchange ex, const ProxyRequest& req, const net::HostPort& upstream, const Verdict& v);
  void answer(net::Exchange& ex, const Verdict& v);

  ListenerConfig config_;
  Decider& decider_;
  net::IoThreads& io_;
  std::shared_ptr<Tunnels> tunnels_ = std::make_shared<Tunnels>();
  std::unique_ptr<net::Client> client_;
  std::unique_ptr<net::Server> server_;
};

}  // namespace softprobe::proxy
