// The runtime's HTTP server on the project's event-driven HTTP layer
// (softprobe_net, docs/net.md): the per-request flow (guard -> auth -> route
// -> body -> handler), the error envelope for everything refused before a
// handler, request metrics, and latencyMs served on a timer.
//
// No thread waits on a request: the io threads only parse, decide and write.
// Routes that write files (close) or carry a large body (1 MiB and more) run
// on a small work pool, so a capture's fsync or a big case's parse does not
// hold up other connections.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "request_guard.hpp"
#include "routes.hpp"
#include "runtime.hpp"
#include "softprobe/net/io_threads.hpp"
#include "softprobe/net/server.hpp"

namespace boost::asio {
class thread_pool;
}

namespace softprobe::runtime {

class Server {
 public:
  explicit Server(Runtime& rt);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the configured address and starts serving on the io threads;
  // returns the port (the chosen one for port 0). Throws std::runtime_error
  // naming the address when it cannot be bound.
  int start();

  // Graceful shutdown: stops accepting, lets in-flight requests finish
  // within `grace`, then closes what is left. Blocks until every connection
  // is closed and the work pool is idle. Not from an io thread.
  net::ShutdownReport shutdown(std::chrono::milliseconds grace);

  unsigned threads() const noexcept { return io_.size(); }

 private:
  void on_request(net::Exchange ex);
  void on_body(net::Exchange& ex, net::BodyStatus status, RouteMatch route, Method method);
  // Runs the route's handler and writes its answer (after its delay, if any).
  void serve(net::Exchange& ex, RouteMatch route, Method method);

  Runtime& rt_;
  GuardConfig guard_;
  net::IoThreads io_;
  std::unique_ptr<boost::asio::thread_pool> work_;
  std::unique_ptr<net::Server> http_;
};

// "http://127.0.0.1:8080", "http://[::1]:8080".
std::string base_url(const std::string& host, int port);

}  // namespace softprobe::runtime
