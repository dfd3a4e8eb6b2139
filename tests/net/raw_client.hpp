// Test helpers: a blocking TCP client on raw sockets (so malformed HTTP can
// be sent), every operation bounded by a timeout, and a server fixture.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "softprobe/net/server.hpp"

namespace nettest {

// One response as read off the wire (a test's minimal reading of it).
struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
  bool close = false;                               // "Connection: close"
  std::string header(std::string_view name) const;  // "" when absent
};

class RawSocket {
 public:
  // Connects to 127.0.0.1:port within timeout_ms; throws std::runtime_error.
  explicit RawSocket(std::uint16_t port, int timeout_ms = 3000);
  ~RawSocket();
  RawSocket(RawSocket&& o) noexcept;
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  int fd() const noexcept { return fd_; }
  // Sends all of `data` within timeout_ms; false on error or timeout.
  bool send_all(std::string_view data, int timeout_ms = 3000);
  // Reads one response (Content-Length or no body) within timeout_ms.
  std::optional<RawResponse> read_response(int timeout_ms = 3000, bool head_request = false);
  // Reads until `marker` has come: returns what came up to and with it (the
  // rest stays buffered), or nullopt on close, error or timeout.
  std::optional<std::string> read_until(std::string_view marker, int timeout_ms = 3000);
  // Waits for the peer to close (EOF or reset) within timeout_ms; discards input.
  bool wait_closed(int timeout_ms = 3000);
  // Sends `total` bytes, `first` then repeated `filler`, reading at the same
  // time; stops at the first complete response, a send error or the
  // timeout. Returns the response, if one came.
  std::optional<RawResponse> send_reading(std::string_view first, std::size_t total, char filler, int timeout_ms);
  void shutdown_write();
  // Bytes read past the last response (e.g. a tunnel's first bytes).
  std::string take_buffered() { return std::exchange(in_, {}); }

 private:
  std::optional<RawResponse> parse_buffered(bool head_request);
  bool fill(int timeout_ms);  // false: closed, error or timeout
  int fd_ = -1;
  std::string in_;
};

// A server on 127.0.0.1 with its own threads, for one test.
struct TestServer {
  TestServer(softprobe::net::ServerOptions o, softprobe::net::Handler h, unsigned threads = 2)
      : io(threads), server(io, std::move(o), std::move(h)) {}
  std::uint16_t port() const { return server.port(); }
  softprobe::net::IoThreads io;
  softprobe::net::Server server;
};

// The demo handler: GET /hello, POST /echo (reads the body), /delay?ms=N,
// /refuse (401 before the body), anything else 404.
softprobe::net::Handler demo_handler();

// Milliseconds since `t`.
long long ms_since(std::chrono::steady_clock::time_point t);

// This process's resident set size in KiB (from /proc/self/status).
long rss_kib();

// gzip (or zlib "deflate") of `data`.
std::string compress(std::string_view data, bool gzip);
// brotli of `data`.
std::string compress_br(std::string_view data);

}  // namespace nettest
