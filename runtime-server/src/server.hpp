// The HTTP server: cpp-httplib wiring (threads, keep-alive, body limit),
// per-request flow (guard -> auth -> route -> body -> handler), the error envelope
// for everything that fails before a handler, and request metrics.
#pragma once

#include <httplib.h>

#include <string>

#include "request_guard.hpp"
#include "runtime.hpp"

namespace softprobe::runtime {

class Server {
 public:
  explicit Server(Runtime& rt);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the configured address; returns the port (the chosen one for port
  // 0). Throws std::runtime_error when the address cannot be bound.
  int bind();
  // Serves until stop(); returns false when the listener failed.
  bool run();
  // Stops accepting; run() returns once the open connections are done.
  void stop();

 private:
  void handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader);

  Runtime& rt_;
  GuardConfig guard_;
  httplib::Server http_;
};

// "http://127.0.0.1:8080", "http://[::1]:8080".
std::string base_url(const std::string& host, int port);

}  // namespace softprobe::runtime
