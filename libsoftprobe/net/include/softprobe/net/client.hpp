// An event-driven HTTP/1.1 client on Boost.Beast and Asio, with a bounded
// keep-alive pool per host:port: for the proxy's passthrough and capture
// (docs/net.md). Responses stream back piece by piece, with back-pressure.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "softprobe/net/http.hpp"
#include "softprobe/net/io_threads.hpp"

namespace softprobe::net {

struct ClientOptions {
  std::size_t max_connections_per_host = 64;  // open (busy + idle) per host:port
  // Kept for reuse per host:port. As many as may be open: a busy upstream
  // then keeps every connection, where a smaller pool closed and reopened
  // one for most requests once more were in flight than it kept.
  std::size_t max_idle_per_host = 64;
  std::size_t max_waiting_per_host = 1024;  // requests queued for a connection; past it: pool_full
  std::size_t max_response_head_bytes = 64 * 1024;
  std::chrono::milliseconds connect_timeout{5'000};  // DNS lookup + TCP connect
  std::chrono::milliseconds read_timeout{30'000};    // each wait for response bytes, and for writing the request
  std::chrono::milliseconds idle_timeout{30'000};    // a pooled connection unused this long is closed
};

enum class ClientError : std::uint8_t {
  none,
  dns,              // the host name did not resolve
  refused,          // the host resolved; nothing listens on the port
  connect_timeout,  // DNS + connect took longer than connect_timeout
  connect_failed,   // another connect failure (unreachable network...)
  io,               // the connection failed while sending or receiving
  timeout,          // no response bytes within read_timeout
  bad_response,     // a malformed response
  head_too_large,   // a response head over max_response_head_bytes
  body_too_large,   // fetch(): a body over its max_body
  pool_full,        // max_connections_per_host busy and max_waiting_per_host queued
  aborted,          // the caller stopped it (on_head returned false) or the client was destroyed
  bad_request,      // the request cannot be sent as given (a header with CR/LF, or over 65,535 bytes)
};
const char* client_error_name(ClientError e) noexcept;

struct ClientRequest {
  std::string host;  // a name (resolved with Asio's resolver) or an IP literal
  std::uint16_t port = 80;
  std::string method = "GET";
  std::string target = "/";  // origin-form as sent upstream ("/p?q")
  Headers headers;           // Host is added when absent; Content-Length is set from body
  std::string body;
  // Instead of `body`: a body produced piece by piece (a proxy relaying an
  // upload). Called on an io thread each time the connection is ready for the
  // next piece; answer, from any thread, with put(piece, last) (last: this is
  // the end; the piece may be empty). Sent with Content-Length when
  // body_length is given (the pieces must add up to it), else chunked. A
  // streamed request is never retried.
  std::function<void(std::function<void(std::string piece, bool last)> put)> body_source;
  std::optional<std::uint64_t> body_length;
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  unsigned version = 11;
  Headers headers;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = true;
  const std::string* header(std::string_view name) const noexcept { return find_header(headers, name); }
};

// Callbacks of one request; all run on an io thread, one at a time.
struct ResponseHandler {
  // The head arrived (interim 1xx heads are skipped). Return false to stop:
  // on_done(aborted) follows and the connection is closed, not pooled.
  std::function<bool(const ResponseHead&)> on_head;
  // A piece of the (de-chunked) body. Call `more` (from any thread) when
  // ready for the next piece; the connection reads nothing until then.
  // Dropping every copy of `more` uncalled ends the exchange: on_done(aborted).
  std::function<void(std::string_view piece, std::function<void()> more)> on_body;
  // Once, at the end: ClientError::none when the whole response was read.
  std::function<void(ClientError error, const std::string& message)> on_done;
};

// The whole response, for fetch().
struct FetchResult {
  ClientError error = ClientError::none;
  std::string message;  // what failed, naming host:port; empty on success
  ResponseHead head;
  std::string body;
};

struct ClientStats {
  std::size_t connections_opened = 0;  // TCP connections made, ever
  std::size_t reused = 0;              // requests sent on a pooled connection
  std::size_t idle = 0;                // pooled connections now
};

namespace detail {
struct ClientState;
}

class Client {
 public:
  explicit Client(IoThreads& io, ClientOptions options = {});
  // Closes pooled connections; requests in flight end with ClientError::aborted.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `request` on a pooled connection to host:port (or a new one) and
  // streams the response to `handler`. A request that fails on a reused
  // connection before any response byte arrived is retried once on a new
  // connection when its method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE, TRACE).
  void send(ClientRequest request, ResponseHandler handler);
  // send() collecting the body (at most max_body bytes: body_too_large past it).
  void fetch(ClientRequest request, std::size_t max_body, std::function<void(FetchResult)> done);

  ClientStats stats() const;

 private:
  std::shared_ptr<detail::ClientState> s_;
};

}  // namespace softprobe::net
