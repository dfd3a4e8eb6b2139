// Byte tunnels for CONNECT and WebSocket upgrades: the client's socket
// (taken over from the server, net::HandOff) spliced to a socket to the
// upstream, both ways, until either side hangs up; then both are closed
// (contract EC-004, EC-005). Everything one tunnel does runs on its client
// socket's executor, so it needs no lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "softprobe/net/handoff.hpp"

namespace softprobe::proxy {

class Tunnel;

// Every open tunnel, so shutdown can wait for them and close what is left
// (EC-013). Thread-safe; each tunnel holds it (it may outlive the proxy).
class Tunnels {
 public:
  std::size_t open() const;
  // Closes every tunnel (each on its own executor); returns how many there were.
  std::size_t close_all();

  void add(const std::shared_ptr<Tunnel>& t);
  void remove(const Tunnel* t);

 private:
  mutable std::mutex mu_;
  std::unordered_map<const Tunnel*, std::weak_ptr<Tunnel>> open_;
};

struct TunnelPlan {
  std::string host;  // upstream host name or IP literal
  std::uint16_t port = 0;
  // Written to the client once the upstream is connected ("HTTP/1.1 200
  // Connection established" for CONNECT; empty for an upgrade, whose 101
  // comes from upstream).
  std::string to_client_first;
  // Written to the upstream first (the upgrade request's head; empty for CONNECT).
  std::string to_upstream_first;
  std::chrono::milliseconds connect_timeout{5000};
  // Called once when the upstream cannot be reached: the raw HTTP response to
  // write to the client instead (a 502 saying why), given whether it was DNS.
  std::function<std::string(bool dns, const std::string& why)> failure_response;
  // Called once with the tunnel's status, for the request log: 200 when a
  // CONNECT's upstream is connected, the status of the upstream's first
  // response line for an upgrade (101 when it switched), 502/504 when the
  // upstream cannot be reached, 0 when the client left first.
  std::function<void(int status)> on_status;
};

// Resolves and connects to the upstream, then splices. The client's bytes
// already read (`handoff.buffered`) go upstream first. Buffers: 16 KiB each
// way, allocated when the tunnel starts.
void open_tunnel(net::HandOff handoff, TunnelPlan plan, std::shared_ptr<Tunnels> tunnels);

}  // namespace softprobe::proxy
