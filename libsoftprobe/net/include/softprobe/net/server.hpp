// An event-driven HTTP/1.1 server on Boost.Beast and Asio (docs/net.md).
//
// No thread ever blocks on a connection: every read, write and timer is an
// Asio operation. A request goes through two steps, so a front end can refuse
// it before its body is read:
//   1. the handler gets an Exchange with the request head (method, target,
//      headers) and may respond at once (401, 404, 405, 413...), which closes
//      the connection if the request had a body, without reading it;
//   2. or it calls read_body(), which reads and decodes the body within
//      max_body_bytes, and responds from the continuation.
// Responses may be completed later, from any thread, or after a delay on an
// Asio timer (respond_after). A CONNECT or an upgrade may take the socket over
// (hand_off, declared in handoff.hpp).
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

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct HandOff;  // handoff.hpp (needs Asio)
class BodyWriter;

namespace detail {
struct ExchangeState;
struct ServerState;
}  // namespace detail

// Written once per request after its response was written (or failed): for
// metrics and the request log. Also for the server's own answers (400, 408,
// 431, 503...), with route "" and, before a head was parsed, head == nullptr.
struct Completed {
  const RequestHead* head = nullptr;  // valid only during the callback
  std::string_view route;             // Exchange::set_route's label, "" if none
  std::uint32_t route_id = 0;         // Exchange::set_route's id, 0 if none
  int status = 0;                     // the status written
  Clock::time_point start{};          // when the request head had been read
  Clock::duration duration{};         // start -> response written
  bool written = false;               // false: the client went away first
};

struct ServerOptions {
  std::string host = "127.0.0.1";          // an address of this machine (IPv4 or IPv6)
  std::uint16_t port = 0;                  // 0: any free port (see Server::port())
  int backlog = 1024;                      // listen(2) backlog (the kernel caps it at somaxconn)
  std::size_t max_connections = 1024;      // past it: 503 + close
  std::size_t max_head_bytes = 64 * 1024;  // request line + headers; past it: 431 + close
  std::size_t max_header_count = 100;      // past it: 431 + close
  std::size_t max_body_bytes = 16u << 20;  // declared, received or decoded; past it: 413 + close
  Millis head_timeout{10'000};             // total time to read a request head, from its first byte
                                           // (from accept for a connection's first request); then 408 + close
  Millis idle_timeout{5'000};              // keep-alive: time to wait for the next request's first byte
  Millis body_timeout{60'000};             // total time to read a body once read_body() was called
  Millis write_timeout{30'000};            // total time to write one response
  Millis linger_timeout{1'000};            // after a closing answer, how long unread input is discarded
                                           // so the client sees the answer rather than a reset
  Millis max_delay{30'000};                // respond_after() delays are capped at this
  Millis stream_head_hold{5};              // respond_streaming(): how long the head waits for the body's first
                                           // piece or its end, to go out in the same write; 0: at once
  // The server's own error answers (400, 408, 413, 431, 503). Default: json_error().
  std::function<Response(int status, std::string_view code, std::string_view message)> error_response;
  // Called on an io thread after each response (see Completed). Must not block.
  std::function<void(const Completed&)> on_complete;
};

// How read_body() ended.
enum class BodyStatus : std::uint8_t {
  ok,                    // body() holds the decoded body
  too_large,             // over max_body_bytes (declared, received or decoded)
  bad_encoding,          // a gzip/deflate body that does not decode
  unsupported_encoding,  // a Content-Encoding other than identity, gzip, x-gzip, deflate
  failed,                // the client went away, timed out, or sent a malformed body
};
const char* body_status_name(BodyStatus s) noexcept;

// One request and its response: what the handler gets. A cheap, copyable
// handle; copies refer to the same exchange. Thread-safe: respond() and
// respond_after() may be called from any thread, once (later calls return
// false). head() never changes; body() is valid once read_body's
// continuation runs, and only the handler should touch it.
class Exchange {
 public:
  const RequestHead& head() const noexcept;
  // When the head had been read (the request's start, for metrics).
  Clock::time_point start() const noexcept;
  // The route reported in Completed: a label (e.g. "inject") and, for a
  // front end's own tables, an id. "" and 0 by default. Set it before responding.
  void set_route(std::string_view label, std::uint32_t id = 0);

  // Reads and decodes (Content-Encoding gzip/deflate) the body within
  // max_body_bytes, then calls `then` on an io thread. Answers a pending
  // "Expect: 100-continue" first. Once per exchange; false if called again
  // or after a response.
  bool read_body(std::function<void(Exchange&, BodyStatus)> then);
  std::string& body() noexcept;
  // read_body() for a body relayed as it arrives (a proxy forwarding it
  // upstream): each decoded piece goes to `on_piece`, which calls `more`
  // (from any thread) when ready for the next; body() stays empty. `on_end`
  // runs once at the end, as read_body's `then` (ok: every piece was given;
  // failed also when every copy of a `more` was dropped uncalled).
  // max_body_bytes and body_timeout (which counts time waiting for `more`)
  // still apply.
  bool read_body_stream(std::function<void(std::string_view piece, std::function<void()> more)> on_piece,
                        std::function<void(Exchange&, BodyStatus)> on_end);

  // Writes `response`. If the request's body was not read (or not fully),
  // the connection is closed after it instead of draining the body. Given
  // while read_body is still reading, it stops the read (its continuation
  // does not run). Returns
  // false if a response was already given or the connection is gone.
  bool respond(Response response);
  // Responds after `delay` (capped at max_delay), on an Asio timer.
  bool respond_after(Millis delay, Response response);

  // Writes `head` (its body is ignored) and then sends the body in pieces
  // through a BodyWriter, for a body that is not all at hand (a proxy relaying
  // an upstream response). Framing: Content-Length when `length` is given
  // (the pieces must add up to it, or the connection is closed), else chunked
  // for HTTP/1.1 and close-delimited for HTTP/1.0. For HEAD, 204 and 304 only
  // the head is sent and pieces are dropped (a 204 gets no Content-Length; a
  // 304 keeps a given `length`; a 1xx, or a 204 with a `length` over 0, is a
  // 500). `ready` runs on an io thread as soon as pieces can be written; the
  // head is then held for up to ServerOptions::stream_head_hold and goes out
  // in one write with the first piece, or with the end when finish() comes
  // first (a write or finish after the hold follows the head, written alone).
  // A head-only response (HEAD, 204, 304), or stream_head_hold 0: `ready` runs
  // once the head is written. ready(std::nullopt): the connection is gone, or
  // the head could not be written. A client gone before the head was written
  // shows as the first write's written(false) (or finish's done(false)); a
  // stream cut (abort, a short body) while its head is held closes the
  // connection without a response.
  bool respond_streaming(Response head, std::optional<std::uint64_t> length,
                         std::function<void(std::optional<BodyWriter>)> ready);

  // Takes the connection's socket over (CONNECT tunnels, WebSocket upgrades):
  // writes `first` (e.g. "200 Connection established" or a 101) as a bare
  // head with no Content-Length if given, then calls `taker` on an io thread
  // with the socket and the bytes the client sent after the head. Only
  // before read_body() and instead of respond(). If the client is gone, or
  // the write fails, `taker` is not called. See handoff.hpp.
  bool hand_off(std::function<void(HandOff&&)> taker, std::optional<Response> first = std::nullopt);

  // The server is shutting down (respond soon; the connection will close after).
  bool shutting_down() const noexcept;

  explicit Exchange(std::shared_ptr<detail::ExchangeState> s) noexcept : s_(std::move(s)) {}

 private:
  std::shared_ptr<detail::ExchangeState> s_;
};

// The body of a streamed response (Exchange::respond_streaming). A cheap,
// copyable handle, usable from any thread; one write at a time.
class BodyWriter {
 public:
  // Sends `piece`; `written(true)` runs on an io thread once it is written,
  // `written(false)` if the client is gone or write_timeout passed. Write the
  // next piece after `written` ran (back-pressure): a write while one is
  // pending gets written(false). False if the body ended or the client is gone.
  bool write(std::string piece, std::function<void(bool ok)> written);
  // Ends the body; `done(ok)` runs once the end is written and the
  // connection moves on to the next request (or closes).
  bool finish(std::function<void(bool ok)> done = {});
  // Ends the exchange by closing the connection (the client sees a truncated
  // response): for an upstream that failed mid-body.
  void abort();

  explicit BodyWriter(std::shared_ptr<detail::ExchangeState> s) noexcept : s_(std::move(s)) {}

 private:
  std::shared_ptr<detail::ExchangeState> s_;
};

using Handler = std::function<void(Exchange)>;

// What a graceful shutdown found.
struct ShutdownReport {
  std::size_t finished = 0;  // connections that closed on their own within the grace period
  std::size_t forced = 0;    // connections closed when the grace period ended
  bool clean() const noexcept { return forced == 0; }
};

class Server {
 public:
  // Binds and listens (SO_REUSEADDR, never SO_REUSEPORT), and accepts on
  // `io`'s threads. Throws std::runtime_error naming the address when the
  // address cannot be bound. `handler` runs on an io thread for every
  // request head; it must not block.
  Server(IoThreads& io, ServerOptions options, Handler handler);
  ~Server();  // shutdown(0) if not shut down yet; does not wait
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const noexcept;       // the bound port
  std::size_t connections() const noexcept;  // open connections (handed-off ones included)

  // Graceful shutdown: stops accepting at once, closes idle keep-alive
  // connections, lets in-flight requests finish within `grace` (each
  // connection closes after its current response), then closes the rest.
  // `done` runs once, on an io thread, when every connection is closed.
  // Handed-off sockets are the taker's: they are not closed, and `done`
  // does not wait for them past the grace period. Idempotent (later calls
  // only add nothing).
  void shutdown(Millis grace, std::function<void(const ShutdownReport&)> done = {});
  // Blocks until shutdown's done ran (for a main thread). Not from an io thread.
  ShutdownReport wait();

 private:
  std::shared_ptr<detail::ServerState> s_;
};

}  // namespace softprobe::net
