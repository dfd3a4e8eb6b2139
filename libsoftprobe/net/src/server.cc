// The server: accept loop, connections and exchanges (one translation unit
// with Beast, to keep the build short).
//
// Threads: one io_context per thread (IoThreads), connections handed out
// round-robin at accept. A connection lives on one thread, so its handlers
// run in order and its state needs no lock; Exchange::respond from another
// thread is a post onto that connection's context. Chosen over one context
// shared by N threads with a strand per connection: measured under wrk, the
// shared context woke a second thread for nearly every request (an epoll_ctl
// on Asio's interrupter plus a futex per request) and routed each handler
// through the strand's queue. The cost of pinning: a connection cannot move
// to an idle thread, which matters little when requests are short.
#include "softprobe/net/server.hpp"

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "body_decoder.hpp"
#include "safe_call.hpp"
#include "softprobe/net/handoff.hpp"

namespace softprobe::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

const char* body_status_name(BodyStatus s) noexcept {
  switch (s) {
    case BodyStatus::ok: return "ok";
    case BodyStatus::too_large: return "too_large";
    case BodyStatus::bad_encoding: return "bad_encoding";
    case BodyStatus::unsupported_encoding: return "unsupported_encoding";
    case BodyStatus::failed: return "failed";
  }
  return "unknown";
}

namespace detail {

class Connection;

struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(IoThreads& threads_, ServerOptions o, Handler h)
      : threads(threads_),
        opt(std::move(o)),
        handler(std::move(h)),
        acceptor(threads_.context()),
        retry_timer(acceptor.get_executor()),
        grace_timer(threads_.context()) {
    if (!opt.error_response) opt.error_response = json_error;
    if (opt.max_head_bytes == 0) opt.max_head_bytes = 1;
  }

  IoThreads& threads;
  ServerOptions opt;
  Handler handler;
  tcp::acceptor acceptor;  // on the first loop
  asio::steady_timer retry_timer;
  asio::steady_timer grace_timer;
  std::uint16_t port = 0;

  std::atomic<std::size_t> open{0};       // slots held: connections, handed-off sockets included
  std::atomic<std::size_t> rejecting{0};  // connections being answered 503
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> forced{0};

  std::mutex mu;  // guards what follows
  std::unordered_map<Connection*, std::weak_ptr<Connection>> conns;
  std::vector<std::function<void(const ShutdownReport&)>> done;
  std::optional<ShutdownReport> report;
  std::size_t at_shutdown = 0;
  bool grace_over = false;
  std::condition_variable cv;

  void accept();
  void on_accept(const error_code& ec, tcp::socket socket);
  std::shared_ptr<void> make_slot();
  void deregister(Connection* c);
  void maybe_done();
  void shutdown(Millis grace, std::function<void(const ShutdownReport&)> cb);
  std::vector<std::shared_ptr<Connection>> snapshot();
};

struct ExchangeState {
  ExchangeState(std::shared_ptr<Connection> c, std::uint64_t s, RequestHead h, Clock::time_point t)
      : conn(std::move(c)), seq(s), head(std::move(h)), start(t) {}
  ~ExchangeState();

  std::shared_ptr<Connection> conn;
  std::uint64_t seq;
  RequestHead head;
  Clock::time_point start;
  std::string body;
  std::string route;
  std::uint32_t route_id = 0;
  std::atomic<bool> answered{false};      // respond, respond_after, respond_streaming or hand_off claimed it
  std::atomic<bool> stream_open{false};   // a streamed body was started and not finished
  std::atomic<bool> body_claimed{false};  // read_body was called
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<ServerState> srv, tcp::socket socket, std::shared_ptr<void> slot)
      : srv_(std::move(srv)),
        opt_(srv_->opt),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        delay_timer_(socket_.get_executor()),
        buffer_(buffer_limit(opt_)),
        slot_(std::move(slot)) {}

  asio::any_io_executor executor() { return socket_.get_executor(); }
  bool gone() const noexcept { return gone_.load(std::memory_order_acquire); }
  bool server_stopping() const noexcept { return srv_->stopping.load(std::memory_order_acquire); }

  // All of the following run on the connection's loop (its one thread).
  void start();
  void reject_full();
  void on_shutdown();
  void force_close();
  using PieceFn = std::function<void(std::string_view, std::function<void()>)>;
  void read_body(const std::shared_ptr<ExchangeState>& st, std::function<void(Exchange&, BodyStatus)> then,
                 PieceFn on_piece);
  void send(const std::shared_ptr<ExchangeState>& st, Response r);
  void send_after(const std::shared_ptr<ExchangeState>& st, Millis delay, Response r);
  void hand_off(const std::shared_ptr<ExchangeState>& st, std::function<void(HandOff&&)> taker,
                std::optional<Response> first);
  void abandoned(std::uint64_t seq);
  void stream_start(const std::shared_ptr<ExchangeState>& st, Response head, std::optional<std::uint64_t> length,
                    std::function<void(std::optional<BodyWriter>)> ready);
  void stream_write(const std::shared_ptr<ExchangeState>& st, std::string piece, std::function<void(bool)> cb);
  void stream_finish(const std::shared_ptr<ExchangeState>& st, std::function<void(bool)> cb);
  void stream_abort(std::uint64_t seq);
  void hold_expired(std::uint64_t seq, const std::weak_ptr<ExchangeState>& weak);

 private:
  enum class State : std::uint8_t { idle, head, handler, body, write, stream, linger, closed, handed_off };

  static std::size_t buffer_limit(const ServerOptions& o) {
    return std::max<std::size_t>(o.max_head_bytes, 16384) + 16384;
  }

  // The connection's one deadline (head, idle, body, write or linger).
  // arm() only moves deadline_: the timer's wait is started once and, when
  // it fires early (the deadline moved later since), waits again for the
  // rest. So the several arm/disarm of each request cost no timer
  // cancellation, and no aborted completion to dispatch. A wait is cancelled
  // only when a deadline moves earlier than the pending expiry, and on close
  // (the wait holds the connection).
  void arm(Millis after);
  void disarm() noexcept { deadline_ = Clock::time_point::max(); }
  void wait_timer();
  void on_timer_fired();
  void on_timer();
  void wait_for_request();
  void wait_idle();
  void read_head();
  void on_head(error_code ec);
  // A body being read: held by the pending operations only (never by the
  // connection, which the exchange holds: that would be a cycle).
  struct BodyRead {
    std::shared_ptr<ExchangeState> st;
    std::function<void(Exchange&, BodyStatus)> then;
    PieceFn on_piece;     // set when the body is streamed (read_body_stream)
    std::string scratch;  // streamed: decoded bytes not yet taken by on_piece
    bool ended = false;
  };
  using BodyReadPtr = std::shared_ptr<BodyRead>;
  void read_body_some(const BodyReadPtr& br);
  void on_body_some(error_code ec, const BodyReadPtr& br);
  void finish_body(const BodyReadPtr& br, BodyStatus status);
  void deliver(const BodyReadPtr& br, bool done);
  void stop_body_read();
  void send_error(int status, std::string_view code, std::string_view message);
  void write(Response r, std::shared_ptr<ExchangeState> st);
  void on_written(error_code ec, ExchangeState* st);
  void complete(const ExchangeState* st, int status, bool written);
  // A streamed response that cannot go on (a write failed, or more than the
  // declared length): the writer is told, the exchange ends unwritten, the
  // connection closes (only closing tells the client the body is cut).
  void fail_stream(ExchangeState& st);
  void linger();
  void close();
  RequestHead make_head();

  std::shared_ptr<ServerState> srv_;
  const ServerOptions& opt_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::steady_timer delay_timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool timer_waiting_ = false;  // a wait on timer_ is pending
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  std::shared_ptr<void> slot_;
  State state_ = State::head;
  std::atomic<bool> gone_{false};
  bool stopping_ = false;
  bool reject_ = false;

  // The current exchange.
  std::uint64_t seq_ = 0;
  Clock::time_point head_start_{};
  bool body_begun_ = false;
  std::optional<BodyDecoder> decoder_;
  std::uint64_t raw_body_bytes_ = 0;
  std::unique_ptr<char[]> chunk_;
  std::weak_ptr<BodyRead> body_read_;  // the body being read (weak: its operations own it)
  bool body_op_pending_ = false;       // a body read (or the 100 Continue) is in flight

  // The response being written (its exchange is held by the write operation).
  std::optional<http::response<http::string_body>> res_;
  std::optional<http::response_serializer<http::string_body>> sr_;
  std::optional<http::response<http::empty_body>> bare_;
  int writing_status_ = 0;
  bool close_after_ = false;
  std::optional<RequestHead> error_head_;  // the head of a request the server itself refused

  // A streamed response (respond_streaming).
  std::optional<http::response<http::buffer_body>> sres_;
  std::optional<http::response_serializer<http::buffer_body>> ssr_;
  std::string piece_;  // the piece being written
  std::optional<std::uint64_t> stream_length_;
  std::uint64_t stream_sent_ = 0;
  bool stream_head_only_ = false;
  bool stream_busy_ = false;
  // The streamed head is not written alone when the body's first piece, or
  // its end, comes soon after: it is held (at most stream_head_hold) and goes
  // out in the same write. See stream_start.
  bool head_held_ = false;                        // not written yet; the first write() or finish() takes it along
  bool head_flushing_ = false;                    // the hold ran out: the head is being written alone
  std::function<void()> after_head_;              // a write() or finish() that came meanwhile: run once the head is out
  std::vector<asio::const_buffer> head_and_end_;  // a chunked head and the last chunk, in one write
};

constexpr std::size_t kChunk = 16 * 1024;
// What an idle keep-alive connection reads its next request's first bytes into
// (a request's head and a small body usually fit: one recv).
constexpr std::size_t kIdleReadBytes = 2048;

// Beast refuses any version but 1.0 and 1.1 as bad_version; a well-formed
// request line with another version ("GET / HTTP/2.0") deserves 505, not 400.
bool well_formed_other_version(const beast::flat_buffer& b) {
  std::string_view in(static_cast<const char*>(b.data().data()), b.data().size());
  auto eol = in.find("\r\n");
  if (eol == std::string_view::npos || eol < 8) return false;
  std::string_view v = in.substr(eol - 8, 8);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v.substr(0, 5) == "HTTP/" && digit(v[5]) && v[6] == '.' && digit(v[7]) && in[eol - 9] == ' ';
}

ExchangeState::~ExchangeState() {
  if (!conn) return;
  if (stream_open.load(std::memory_order_acquire)) {
    // Every BodyWriter was dropped before finish(): the response can only end by closing.
    asio::post(conn->executor(), [c = conn, s = seq] { c->stream_abort(s); });
    return;
  }
  if (answered.load(std::memory_order_acquire)) return;
  // The handler dropped the exchange without answering: answer 500 rather
  // than leave the connection waiting.
  asio::post(conn->executor(), [c = conn, s = seq] { c->abandoned(s); });
}

// ---- the accept loop -------------------------------------------------------

std::shared_ptr<void> ServerState::make_slot() {
  open.fetch_add(1, std::memory_order_acq_rel);
  return std::shared_ptr<void>(static_cast<void*>(this), [self = shared_from_this()](void*) {
    self->open.fetch_sub(1, std::memory_order_acq_rel);
    if (self->stopping.load(std::memory_order_acquire)) self->maybe_done();
  });
}

void ServerState::accept() {
  acceptor.async_accept(threads.next_context(), [self = shared_from_this()](const error_code& ec, tcp::socket s) {
    self->on_accept(ec, std::move(s));
  });
}

void ServerState::on_accept(const error_code& ec, tcp::socket socket) {
  if (stopping.load(std::memory_order_acquire) || !acceptor.is_open()) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    // EMFILE and friends: the pending connection stays in the backlog; retry shortly.
    retry_timer.expires_after(Millis(50));
    retry_timer.async_wait([self = shared_from_this()](const error_code& e) {
      if (!e) self->accept();
    });
    return;
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (open.load(std::memory_order_acquire) >= opt.max_connections) {
    if (rejecting.load(std::memory_order_acquire) < std::max<std::size_t>(opt.max_connections, 64)) {
      auto c = std::make_shared<Connection>(shared_from_this(), std::move(socket), nullptr);
      asio::post(c->executor(), [c] { c->reject_full(); });
    }  // else: a flood; the socket closes here
  } else {
    auto c = std::make_shared<Connection>(shared_from_this(), std::move(socket), make_slot());
    {
      std::lock_guard lock(mu);
      conns.emplace(c.get(), c);
    }
    asio::post(c->executor(), [c] { c->start(); });
  }
  accept();
}

std::vector<std::shared_ptr<Connection>> ServerState::snapshot() {
  std::vector<std::shared_ptr<Connection>> out;
  std::lock_guard lock(mu);
  out.reserve(conns.size());
  for (auto& [p, w] : conns)
    if (auto c = w.lock()) out.push_back(std::move(c));
  return out;
}

void ServerState::deregister(Connection* c) {
  {
    std::lock_guard lock(mu);
    conns.erase(c);
  }
  if (stopping.load(std::memory_order_acquire)) maybe_done();
}

void ServerState::maybe_done() {
  std::vector<std::function<void(const ShutdownReport&)>> callbacks;
  ShutdownReport r;
  {
    std::lock_guard lock(mu);
    if (report || !stopping.load(std::memory_order_acquire)) return;
    if (!conns.empty()) return;
    if (open.load(std::memory_order_acquire) != 0 && !grace_over) return;  // handed-off sockets, within grace
    r.forced = forced.load(std::memory_order_acquire);
    r.finished = at_shutdown > r.forced ? at_shutdown - r.forced : 0;
    report = r;
    callbacks.swap(done);
    grace_timer.cancel();  // under mu, as shutdown() arms it under mu
  }
  cv.notify_all();
  for (auto& cb : callbacks) safe_call(cb, r);
}

void ServerState::shutdown(Millis grace, std::function<void(const ShutdownReport&)> cb) {
  std::vector<std::shared_ptr<Connection>> now;
  {
    std::unique_lock lock(mu);
    if (report) {
      ShutdownReport r = *report;
      lock.unlock();
      safe_call(cb, r);
      return;
    }
    if (cb) done.push_back(std::move(cb));
    if (stopping.exchange(true)) return;
    at_shutdown = conns.size();
  }
  asio::post(acceptor.get_executor(), [self = shared_from_this()] {
    error_code ignored;
    self->acceptor.close(ignored);
    self->retry_timer.cancel();
  });
  for (auto& c : snapshot()) asio::post(c->executor(), [c] { c->on_shutdown(); });
  maybe_done();  // nothing open: done now
  std::lock_guard lock(mu);
  if (report) return;
  grace_timer.expires_after(grace);
  grace_timer.async_wait([self = shared_from_this()](const error_code&) {
    {
      std::lock_guard lock(self->mu);
      if (self->report) return;
      self->grace_over = true;
    }
    auto left = self->snapshot();
    if (left.empty()) return self->maybe_done();
    for (auto& c : left) asio::post(c->executor(), [c] { c->force_close(); });
  });
}

// ---- a connection ----------------------------------------------------------

void Connection::arm(Millis after) {
  timed_out_ = false;
  deadline_ = Clock::now() + after;
  if (!timer_waiting_) return wait_timer();
  if (timer_.expiry() > deadline_)
    timer_.expires_at(deadline_);  // earlier: the pending wait ends (aborted) and waits again
}

void Connection::wait_timer() {
  timer_waiting_ = true;
  timer_.expires_at(deadline_);
  timer_.async_wait([self = shared_from_this()](const error_code&) { self->on_timer_fired(); });
}

void Connection::on_timer_fired() {
  timer_waiting_ = false;
  if (state_ == State::closed || state_ == State::handed_off) return;
  if (deadline_ == Clock::time_point::max()) return;  // disarmed: the next arm() starts a wait
  if (Clock::now() < deadline_) return wait_timer();  // the deadline moved: wait for the rest
  deadline_ = Clock::time_point::max();
  on_timer();
}

void Connection::on_timer() {
  timed_out_ = true;
  switch (state_) {
    case State::idle:
    case State::write:
    case State::stream:  // armed only while a piece is being written
    case State::linger: return close();
    case State::body:
      if (!body_op_pending_) {  // waiting for a streamed body's consumer
        if (auto br = body_read_.lock()) finish_body(br, BodyStatus::failed);
        return;
      }
      [[fallthrough]];
    case State::head: {
      error_code ignored;
      socket_.cancel(ignored);  // the read completes with operation_aborted
      return;
    }
    case State::handler:
    case State::closed:
    case State::handed_off: return;
  }
}

void Connection::start() {
  head_start_ = Clock::now();
  state_ = State::head;
  if (srv_->stopping.load(std::memory_order_acquire)) return close();
  arm(opt_.head_timeout);  // a new connection's first head is due from accept
  read_head();
}

void Connection::reject_full() {
  reject_ = true;
  srv_->rejecting.fetch_add(1, std::memory_order_acq_rel);
  head_start_ = Clock::now();
  send_error(503, "too_many_connections",
             "the server is at its connection limit (" + std::to_string(opt_.max_connections) + "); retry later");
}

void Connection::wait_for_request() {
  // Between requests: keep no parser and little buffer while idle.
  parser_.reset();
  decoder_.reset();
  chunk_.reset();
  body_begun_ = false;
  raw_body_bytes_ = 0;
  error_head_.reset();
  if (stopping_ || srv_->stopping.load(std::memory_order_acquire)) return close();
  if (buffer_.size() > 0) {  // a pipelined request is already here
    head_start_ = Clock::now();
    state_ = State::head;
    arm(opt_.head_timeout);
    return read_head();
  }
  if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();
  state_ = State::idle;
  arm(opt_.idle_timeout);
  wait_idle();
}

void Connection::wait_idle() {
  // A read, not a readiness wait: Asio tries it at once (on a busy keep-alive
  // connection the next request is often there already: one recv and no
  // epoll call), and otherwise parks it on the reactor without touching the
  // epoll set. (async_wait re-registered the socket with epoll_ctl for every
  // request, one syscall per request.) The price is kIdleReadBytes of buffer
  // per idle connection.
  socket_.async_read_some(buffer_.prepare(kIdleReadBytes),
                          [self = shared_from_this()](const error_code& ec, std::size_t n) {
                            if (self->state_ != State::idle) return;
                            if (ec) return self->close();  // eof: the peer closed; or aborted by the idle timeout
                            self->buffer_.commit(n);
                            self->head_start_ = Clock::now();
                            self->state_ = State::head;
                            self->arm(self->opt_.head_timeout);
                            self->read_head();
                          });
}

void Connection::read_head() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(opt_.max_head_bytes, UINT32_MAX)));
  // The body limit is enforced by read_body, after the handler saw the head.
  // (Not boost::none: Beast 1.74 compares the length with the optional, and
  // any length is greater than none.)
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  http::async_read_header(socket_, buffer_, *parser_,
                          [self = shared_from_this()](error_code ec, std::size_t) { self->on_head(ec); });
}

RequestHead Connection::make_head() {
  const auto& m = parser_->get();
  RequestHead h;
  h.method = std::string(m.method_string());
  h.target = std::string(m.target());
  h.version = m.version();
  for (const auto& f : m) h.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  h.keep_alive = m.keep_alive();
  h.chunked = parser_->chunked();
  if (auto cl = parser_->content_length()) h.content_length = *cl;
  h.has_body = h.chunked || (h.content_length && *h.content_length > 0);
  h.upgrade = parser_->upgrade();
  return h;
}

void Connection::on_head(error_code ec) {
  if (state_ != State::head) return;
  bool timed_out = timed_out_;
  disarm();
  if (ec) {
    bool started = buffer_.size() > 0;
    if (timed_out) {
      if (!started) return close();
      return send_error(
          408, "request_timeout",
          "the request head was not received within " + std::to_string(opt_.head_timeout.count()) + " ms");
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
      return send_error(431, "request_header_fields_too_large",
                        "the request head is over the limit of " + std::to_string(opt_.max_head_bytes) + " bytes");
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
        ec.category() != error_code(http::error::bad_target).category())
      return close();  // the client went away (or a socket error)
    if (ec == http::error::bad_version && well_formed_other_version(buffer_))
      return send_error(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
    return send_error(400, "invalid_request", "malformed HTTP request: " + ec.message());
  }
  const auto& m = parser_->get();
  std::size_t count = 0;
  for (auto it = m.begin(); it != m.end(); ++it) ++count;
  if (count > opt_.max_header_count)
    return send_error(431, "request_header_fields_too_large",
                      "the request has " + std::to_string(count) + " header lines, over the limit of " +
                          std::to_string(opt_.max_header_count));
  if (m.find(http::field::transfer_encoding) != m.end() && !parser_->chunked())
    // RFC 9112 6.3: a request whose framing is unknown must get 400 and a close.
    return send_error(400, "invalid_request", "Transfer-Encoding without chunked as the final coding");

  auto st = std::make_shared<ExchangeState>(shared_from_this(), ++seq_, make_head(), Clock::now());
  state_ = State::handler;
  try {
    srv_->handler(Exchange(st));
  } catch (const std::exception& e) {
    Exchange(st).respond(opt_.error_response(500, "internal_error", std::string("internal error: ") + e.what()));
  } catch (...) {
    Exchange(st).respond(opt_.error_response(500, "internal_error", "internal error"));
  }
}

void Connection::read_body(const std::shared_ptr<ExchangeState>& st, std::function<void(Exchange&, BodyStatus)> then,
                           PieceFn on_piece) {
  if (st->seq != seq_ || state_ != State::handler) return;
  const RequestHead& h = st->head;
  auto br = std::make_shared<BodyRead>();
  br->st = st;
  br->then = std::move(then);
  br->on_piece = std::move(on_piece);
  body_read_ = br;
  body_begun_ = true;
  if (!h.has_body) return finish_body(br, BodyStatus::ok);
  if (h.content_length && *h.content_length > opt_.max_body_bytes) return finish_body(br, BodyStatus::too_large);
  const std::string* ce = h.header("Content-Encoding");
  auto coding = ce ? coding_of(*ce) : Coding::identity;
  if (!coding) return finish_body(br, BodyStatus::unsupported_encoding);
  decoder_.emplace(*coding, opt_.max_body_bytes, br->on_piece ? br->scratch : st->body);
  if (!br->on_piece && coding == Coding::identity && h.content_length) st->body.reserve(std::size_t(*h.content_length));
  chunk_ = std::make_unique<char[]>(kChunk);
  state_ = State::body;
  arm(opt_.body_timeout);
  const std::string* expect = h.header("Expect");
  if (expect && h.version == 11 && iequals(*expect, "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    body_op_pending_ = true;
    return asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                             [self = shared_from_this(), br](error_code ec, std::size_t) {
                               if (self->state_ != State::body || br->ended) return;
                               self->body_op_pending_ = false;
                               if (ec) return self->finish_body(br, BodyStatus::failed);
                               self->read_body_some(br);
                             });
  }
  read_body_some(br);
}

void Connection::read_body_some(const BodyReadPtr& br) {
  if (parser_->is_done()) return on_body_some({}, br);
  auto& b = parser_->get().body();
  b.data = chunk_.get();
  b.size = kChunk;
  b.more = true;
  body_op_pending_ = true;
  http::async_read(socket_, buffer_, *parser_, [self = shared_from_this(), br](error_code ec, std::size_t) {
    self->body_op_pending_ = false;
    self->on_body_some(ec, br);
  });
}

void Connection::on_body_some(error_code ec, const BodyReadPtr& br) {
  if (state_ != State::body || br->ended) return;
  auto& b = parser_->get().body();
  std::size_t got = b.data ? kChunk - b.size : 0;
  b.data = nullptr;
  raw_body_bytes_ += got;
  if (raw_body_bytes_ > opt_.max_body_bytes) return finish_body(br, BodyStatus::too_large);
  BodyStatus s = decoder_->feed(chunk_.get(), got);
  if (s != BodyStatus::ok) return finish_body(br, s);
  if (ec == http::error::need_buffer) ec = {};
  if (ec) return finish_body(br, BodyStatus::failed);  // gone, timed out, or a malformed chunk
  bool done = parser_->is_done();
  if (done) {
    BodyStatus end = decoder_->finish();
    if (end != BodyStatus::ok) return finish_body(br, end);
  }
  deliver(br, done);
}

void Connection::deliver(const BodyReadPtr& br, bool done) {
  if (!br->on_piece || br->scratch.empty()) {
    if (done) return finish_body(br, BodyStatus::ok);
    return read_body_some(br);
  }
  // Streamed: hand the decoded piece over; read on when the consumer says so.
  // A consumer that drops `more` uncalled has stopped: the body ends (failed).
  struct More {
    std::shared_ptr<Connection> self;
    BodyReadPtr br;
    bool done;
    std::atomic<bool> called{false};
    void next() {
      if (called.exchange(true)) return;
      asio::post(self->executor(), [self = self, br = br, done = done] {
        if (self->state_ != State::body || br->ended) return;
        br->scratch.clear();
        if (done) return self->finish_body(br, BodyStatus::ok);
        self->read_body_some(br);
      });
    }
    ~More() {
      if (called.load()) return;
      asio::post(self->executor(), [self = self, br = br] {
        if (self->state_ == State::body && !self->body_op_pending_) self->finish_body(br, BodyStatus::failed);
      });
    }
  };
  auto token = std::make_shared<More>();
  token->self = shared_from_this();
  token->br = br;
  token->done = done;
  std::function<void()> more = [token] { token->next(); };
  try {
    br->on_piece(br->scratch, std::move(more));
  } catch (...) {
    finish_body(br, BodyStatus::failed);
  }
}

void Connection::finish_body(const BodyReadPtr& br, BodyStatus status) {
  if (br->ended) return;
  br->ended = true;
  body_read_.reset();
  if (state_ == State::body) disarm();
  state_ = State::handler;
  if (status != BodyStatus::ok) close_after_ = true;  // the body was not read to its end
  auto st = std::move(br->st);
  auto then = std::move(br->then);
  decoder_.reset();
  chunk_.reset();
  Exchange ex(st);
  try {
    then(ex, status);
  } catch (const std::exception& e) {
    ex.respond(opt_.error_response(500, "internal_error", std::string("internal error: ") + e.what()));
  } catch (...) {
    ex.respond(opt_.error_response(500, "internal_error", "internal error"));
  }
}

void Connection::stop_body_read() {
  // An answer given while the body is still being read: stop reading (the
  // continuation will not run), and close after the answer.
  if (state_ != State::body) return;
  if (auto br = body_read_.lock()) br->ended = true;
  body_read_.reset();
  disarm();
  error_code ignored;
  socket_.cancel(ignored);  // a pending read completes, aborted, and finds its body ended
  state_ = State::handler;
  close_after_ = true;
}

void Connection::send(const std::shared_ptr<ExchangeState>& st, Response r) {
  if (st->seq == seq_) stop_body_read();
  if (st->seq != seq_ || state_ != State::handler) return;
  delay_timer_.cancel();
  write(std::move(r), st);
}

void Connection::send_after(const std::shared_ptr<ExchangeState>& st, Millis delay, Response r) {
  if (st->seq == seq_) stop_body_read();
  if (st->seq != seq_ || state_ != State::handler) return;
  delay_timer_.expires_after(std::clamp(delay, Millis(0), opt_.max_delay));
  delay_timer_.async_wait([self = shared_from_this(), st, r = std::move(r)](const error_code& ec) mutable {
    if (!ec) self->send(st, std::move(r));
  });
}

void Connection::abandoned(std::uint64_t seq) {
  if (seq != seq_ || state_ != State::handler) return;
  send_error(500, "internal_error", "the request's handler ended without a response");
}

void Connection::send_error(int status, std::string_view code, std::string_view message) {
  Response r = opt_.error_response(status, code, message);
  r.close = true;
  if (parser_ && parser_->is_header_done() && !error_head_) error_head_ = make_head();
  write(std::move(r), nullptr);
}

namespace {

bool valid_header_text(std::string_view s) noexcept {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

// Headers the net layer writes itself.
bool framing_header(std::string_view name) noexcept {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection");
}

template <class Message>
std::string fill_head(Message& m, Response& r) {
  if (r.status < 100 || r.status > 999) return "status " + std::to_string(r.status) + " is not an HTTP status";
  m.result(static_cast<unsigned>(r.status));
  if (!r.reason.empty()) {
    if (!valid_header_text(r.reason)) return "the reason phrase has CR, LF or NUL";
    m.reason(r.reason);
  } else if (http::int_to_status(unsigned(r.status)) == http::status::unknown) {
    m.reason("Unknown");
  }
  for (auto& h : r.headers) {
    if (h.name.empty() || !valid_header_text(h.name) || !valid_header_text(h.value))
      return "response header \"" + h.name + "\" has an empty name or CR, LF or NUL";
    if (framing_header(h.name)) continue;
    try {
      m.insert(h.name, h.value);
    } catch (const std::exception& e) {  // Beast: a name or value over 65,535 bytes
      return "response header \"" + h.name.substr(0, 64) + "\" cannot be written (" + e.what() + ")";
    }
  }
  return {};
}

// Responses are HTTP/1.1 whatever the request's version (RFC 9110 2.5: the
// highest version the server conforms to); an HTTP/1.0 client that asked
// for keep-alive is told so explicitly, since 1.0 closes by default.
template <class Message>
void set_connection(Message& m, unsigned request_version, bool keep_alive) {
  m.keep_alive(keep_alive);
  if (keep_alive && request_version == 10) m.set(http::field::connection, "keep-alive");
}

}  // namespace

void Connection::write(Response r, std::shared_ptr<ExchangeState> st) {
  const RequestHead* head = st ? &st->head : (error_head_ ? &*error_head_ : nullptr);
  bool unread_body = head && head->has_body && !(parser_ && parser_->is_done());
  bool close = r.close || close_after_ || !head || !head->keep_alive || unread_body || stopping_ ||
               srv_->stopping.load(std::memory_order_acquire) || reject_;
  unsigned version = head ? head->version : 11;
  auto& m = res_.emplace();
  m.version(11);
  if (std::string bad = fill_head(m, r); !bad.empty()) {
    Response e = opt_.error_response(500, "internal_error", "invalid response from the handler: " + bad);
    m = {};
    m.version(11);
    fill_head(m, e);
    r = std::move(e);
  }
  writing_status_ = r.status;
  bool head_request = head && head->method == "HEAD";
  m.body() = std::move(r.body);
  set_connection(m, version, !close);
  // Content-Length, except where HTTP forbids one (RFC 9110 8.6: 1xx, 204; a 304 has no body).
  bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
  if (bodiless && (!m.body().empty() || r.status < 200)) {
    Response e =
        opt_.error_response(500, "internal_error",
                            "invalid response from the handler: status " + std::to_string(r.status) +
                                (r.status < 200 ? " is interim (use hand_off for 101)" : " cannot have a body"));
    m = {};
    m.version(11);
    fill_head(m, e);
    writing_status_ = e.status;
    m.body() = std::move(e.body);
    set_connection(m, version, !close);
    bodiless = false;
  }
  if (!bodiless) m.content_length(m.body().size());
  close_after_ = close;
  state_ = State::write;
  arm(opt_.write_timeout);
  sr_.emplace(m);
  auto done = [self = shared_from_this(), st = std::move(st)](error_code ec, std::size_t) {
    self->on_written(ec, st.get());
  };
  if (head_request) http::async_write_header(socket_, *sr_, std::move(done));  // HEAD: the length, not the body
  else http::async_write(socket_, *sr_, std::move(done));
}

void Connection::on_written(error_code ec, ExchangeState* st) {
  if (state_ != State::write) return;
  disarm();
  sr_.reset();
  res_.reset();
  complete(st, writing_status_, !ec);
  if (ec) return close();
  if (close_after_) return linger();
  wait_for_request();
}

void Connection::complete(const ExchangeState* st, int status, bool written) {
  if (!opt_.on_complete) return;
  Completed c;
  c.head = st ? &st->head : (error_head_ ? &*error_head_ : nullptr);
  c.route = st ? std::string_view(st->route) : std::string_view();
  c.route_id = st ? st->route_id : 0;
  c.status = status;
  c.start = st ? st->start : head_start_;
  c.duration = Clock::now() - c.start;
  c.written = written;
  try {
    opt_.on_complete(c);
  } catch (...) {
  }
}

void Connection::stream_start(const std::shared_ptr<ExchangeState>& st, Response r, std::optional<std::uint64_t> length,
                              std::function<void(std::optional<BodyWriter>)> ready) {
  auto not_ready = [&] {
    st->stream_open.store(false, std::memory_order_release);
    safe_call(ready, std::nullopt);
  };
  if (st->seq == seq_) stop_body_read();
  if (st->seq != seq_ || state_ != State::handler) return not_ready();
  const RequestHead& h = st->head;
  bool unread_body = h.has_body && !(parser_ && parser_->is_done());
  bool close = r.close || close_after_ || !h.keep_alive || unread_body || stopping_ ||
               srv_->stopping.load(std::memory_order_acquire);
  auto& m = sres_.emplace();
  m.version(11);
  std::string bad = fill_head(m, r);
  if (bad.empty() && r.status < 200) bad = "status " + std::to_string(r.status) + " is interim (use hand_off for 101)";
  if (bad.empty() && r.status == 204 && length && *length > 0)
    bad = "status 204 cannot have a body (length " + std::to_string(*length) + ")";
  if (!bad.empty()) {
    sres_.reset();
    not_ready();
    return write(opt_.error_response(500, "internal_error", "invalid response from the handler: " + bad), st);
  }
  // 204 and 304 have no body whatever the request (RFC 9110 15.3.5, 15.4.5): like a
  // HEAD's, the head is all that is sent and pieces are dropped. A 204 gets no
  // framing header; a 304 keeps a given length (that of the representation).
  bool no_content = r.status == 204 || r.status == 304;
  stream_head_only_ = no_content || h.method == "HEAD";
  if (length && r.status != 204) m.content_length(*length);
  else if (!no_content && h.version == 11) m.chunked(true);
  else if (!no_content) close = true;  // HTTP/1.0: the end of the body is the end of the connection
  set_connection(m, h.version, !close);
  close_after_ = close;
  stream_length_ = length;
  stream_sent_ = 0;
  m.body().data = nullptr;
  m.body().size = 0;
  m.body().more = true;
  writing_status_ = r.status;
  state_ = State::stream;
  ssr_.emplace(m);
  head_flushing_ = false;
  after_head_ = nullptr;
  if (!stream_head_only_ && opt_.stream_head_hold > Millis(0)) {
    // Hold the head for the first piece or the end: a relayed response's
    // first piece usually follows at once (a proxy's upstream sent it with
    // the head), and one write instead of two saves a send, which on
    // loopback is the costliest call of a relayed request. The writer is
    // ready now; a head still held when the hold runs out is written alone.
    head_held_ = true;
    stream_busy_ = false;
    delay_timer_.expires_after(opt_.stream_head_hold);
    delay_timer_.async_wait(
        [self = shared_from_this(), seq = st->seq, weak = std::weak_ptr<ExchangeState>(st)](const error_code& ec) {
          if (!ec) self->hold_expired(seq, weak);
        });
    safe_call(ready, BodyWriter(st));
    return;
  }
  // No body to join it (HEAD, 204, 304), or holding is off: the head now, then ready.
  head_held_ = false;
  stream_busy_ = true;
  arm(opt_.write_timeout);
  http::async_write_header(socket_, *ssr_,
                           [self = shared_from_this(), st, ready = std::move(ready)](error_code ec, std::size_t) {
                             if (self->state_ != State::stream) {
                               st->stream_open.store(false, std::memory_order_release);
                               safe_call(ready, std::nullopt);
                               return;
                             }
                             self->disarm();
                             self->stream_busy_ = false;
                             if (ec) {
                               self->fail_stream(*st);
                               safe_call(ready, std::nullopt);
                               return;
                             }
                             safe_call(ready, BodyWriter(st));
                           });
}

void Connection::fail_stream(ExchangeState& st) {
  st.stream_open.store(false, std::memory_order_release);
  complete(&st, writing_status_, false);
  close();
}

void Connection::hold_expired(std::uint64_t seq, const std::weak_ptr<ExchangeState>& weak) {
  if (seq != seq_ || state_ != State::stream || !head_held_) return;
  auto st = weak.lock();
  if (!st) return;  // every BodyWriter was dropped: stream_abort is on its way
  // Nothing came to join the head: write it alone (as a head is due), and
  // let a write() or finish() that comes meanwhile follow it.
  head_held_ = false;
  head_flushing_ = true;
  stream_busy_ = true;
  arm(opt_.write_timeout);
  http::async_write_header(socket_, *ssr_, [self = shared_from_this(), st](error_code ec, std::size_t) {
    self->head_flushing_ = false;
    auto after = std::move(self->after_head_);
    self->after_head_ = nullptr;
    if (self->state_ == State::stream) {
      self->disarm();
      self->stream_busy_ = false;
      if (ec) self->fail_stream(*st);
    }
    if (after) after();  // written(false) / done(false) if the stream failed meanwhile
  });
}

void Connection::stream_write(const std::shared_ptr<ExchangeState>& st, std::string piece,
                              std::function<void(bool)> cb) {
  if (st->seq == seq_ && state_ == State::stream && head_flushing_ && !after_head_) {
    // The head is being written alone (the hold ran out just before): this piece follows it.
    // (Weak: the head's write holds the exchange until this runs.)
    after_head_ = [this, weak = std::weak_ptr<ExchangeState>(st), piece = std::move(piece),
                   cb = std::move(cb)]() mutable {
      if (auto s = weak.lock()) return stream_write(s, std::move(piece), std::move(cb));
      safe_call(cb, false);
    };
    return;
  }
  if (st->seq != seq_ || state_ != State::stream || stream_busy_) {
    safe_call(cb, false);
    return;
  }
  if (stream_head_only_ || piece.empty()) {
    safe_call(cb, true);
    return;
  }
  if (stream_length_ && piece.size() > *stream_length_ - stream_sent_) {  // more than the declared length
    fail_stream(*st);
    safe_call(cb, false);
    return;
  }
  stream_sent_ += piece.size();
  piece_ = std::move(piece);
  auto& b = sres_->body();
  b.data = piece_.data();
  b.size = piece_.size();
  b.more = true;
  if (head_held_) {
    // The serializer has not written the head: it writes it and this piece
    // (its chunk header and CRLF when chunked) as one buffer sequence, one send.
    head_held_ = false;
    delay_timer_.cancel();
  }
  stream_busy_ = true;
  arm(opt_.write_timeout);
  http::async_write(socket_, *ssr_, [self = shared_from_this(), st, cb = std::move(cb)](error_code ec, std::size_t) {
    if (ec == http::error::need_buffer) ec = {};  // the piece is out; the serializer wants the next
    if (self->state_ != State::stream) {
      safe_call(cb, false);
      return;
    }
    self->disarm();
    self->stream_busy_ = false;
    if (ec) {
      self->fail_stream(*st);
      safe_call(cb, false);
      return;
    }
    safe_call(cb, true);
  });
}

void Connection::stream_finish(const std::shared_ptr<ExchangeState>& st, std::function<void(bool)> cb) {
  if (st->seq == seq_ && state_ == State::stream && head_flushing_ && !after_head_) {
    after_head_ = [this, weak = std::weak_ptr<ExchangeState>(st), cb = std::move(cb)]() mutable {
      if (auto s = weak.lock()) return stream_finish(s, std::move(cb));
      safe_call(cb, false);
    };
    return;
  }
  if (st->seq != seq_ || state_ != State::stream || stream_busy_) {
    safe_call(cb, false);
    return;
  }
  st->stream_open.store(false, std::memory_order_release);
  if (!stream_head_only_ && stream_length_ && stream_sent_ != *stream_length_) {
    // Shorter than declared: only closing tells the client the body is cut.
    complete(st.get(), writing_status_, false);
    close();
    safe_call(cb, false);
    return;
  }
  auto done = [self = shared_from_this(), st, cb = std::move(cb)](error_code ec) {
    if (self->state_ != State::stream) {
      safe_call(cb, false);
      return;
    }
    self->disarm();
    self->stream_busy_ = false;
    self->head_and_end_.clear();
    self->ssr_.reset();
    self->sres_.reset();
    std::string().swap(self->piece_);
    self->complete(st.get(), self->writing_status_, !ec);
    if (ec) {
      self->close();
    } else if (self->close_after_) {
      self->linger();
    } else {
      self->wait_for_request();
    }
    safe_call(cb, !ec);
  };
  if (stream_head_only_) return done({});
  if (head_held_) {
    // The end right after the head: both in one write. Beast would send a
    // chunked head and its last chunk apart, so the head's buffers are taken
    // from the serializer and the last chunk put after them.
    head_held_ = false;
    delay_timer_.cancel();
    stream_busy_ = true;
    arm(opt_.write_timeout);
    auto written = [done = std::move(done)](error_code ec, std::size_t) mutable { done(ec); };
    if (!sres_->chunked())  // Content-Length 0, or the end of an HTTP/1.0 body is the close: the head is all
      return http::async_write_header(socket_, *ssr_, std::move(written));
    static constexpr std::string_view kLastChunk = "0\r\n\r\n";
    error_code ec;
    ssr_->split(true);
    head_and_end_.clear();
    ssr_->next(ec, [this](error_code&, const auto& buffers) {
      for (asio::const_buffer b : beast::buffers_range_ref(buffers)) head_and_end_.push_back(b);
    });
    if (ec) return done(ec);
    head_and_end_.push_back(asio::buffer(kLastChunk.data(), kLastChunk.size()));
    // (The serializer is not told what was written: it is dropped once this is out.)
    return asio::async_write(socket_, head_and_end_, std::move(written));
  }
  auto& b = sres_->body();
  b.data = nullptr;
  b.size = 0;
  b.more = false;
  stream_busy_ = true;
  arm(opt_.write_timeout);
  http::async_write(socket_, *ssr_, [done = std::move(done)](error_code ec, std::size_t) mutable {
    if (ec == http::error::need_buffer) ec = {};
    done(ec);
  });
}

void Connection::stream_abort(std::uint64_t seq) {
  if (seq != seq_ || state_ != State::stream) return;
  close();
}

void Connection::linger() {
  // Half-close, then discard what the client still sends for a while: a close
  // with unread input would reset the connection, and the client could lose
  // the answer. Discarding needs no memory beyond one small buffer.
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  state_ = State::linger;
  arm(opt_.linger_timeout);
  buffer_.consume(buffer_.size());
  auto discard = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = discard;
  *discard = [self = shared_from_this(), weak] {
    auto again = weak.lock();
    if (!again) return;
    self->socket_.async_read_some(self->buffer_.prepare(4096), [self, again](error_code ec, std::size_t) {
      if (self->state_ != State::linger) return;
      if (ec) return self->close();
      (*again)();
    });
  };
  (*discard)();
}

void Connection::close() {
  if (state_ == State::closed || state_ == State::handed_off) return;
  state_ = State::closed;
  gone_.store(true, std::memory_order_release);
  disarm();
  timer_.cancel();  // the pending wait holds this connection
  delay_timer_.cancel();
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  // The parser and buffers stay until the connection is destroyed: a pending
  // Beast read still touches them when it completes with operation_aborted.
  if (reject_) {
    srv_->rejecting.fetch_sub(1, std::memory_order_acq_rel);
    reject_ = false;
  } else {
    srv_->deregister(this);
  }
  slot_.reset();
}

void Connection::on_shutdown() {
  stopping_ = true;
  // Idle between requests, or a new connection that sent nothing yet: close now.
  if (state_ == State::idle || (state_ == State::head && buffer_.size() == 0)) close();
}

void Connection::force_close() {
  if (state_ == State::closed || state_ == State::handed_off) return;
  srv_->forced.fetch_add(1, std::memory_order_acq_rel);
  close();
}

void Connection::hand_off(const std::shared_ptr<ExchangeState>& st, std::function<void(HandOff&&)> taker,
                          std::optional<Response> first) {
  if (st->seq != seq_ || state_ != State::handler) return;
  auto finish = [self = shared_from_this(), st, taker = std::move(taker)](error_code ec, int status) mutable {
    if (self->state_ != State::write && self->state_ != State::handler) return;
    self->disarm();
    self->timer_.cancel();  // the pending wait holds this connection
    self->bare_.reset();
    self->complete(st.get(), status, !ec);
    if (ec) return self->close();
    auto data = self->buffer_.data();
    HandOff ho{std::move(self->socket_), std::string(static_cast<const char*>(data.data()), data.size()),
               std::move(self->slot_)};
    self->state_ = State::handed_off;
    self->gone_.store(true, std::memory_order_release);
    self->buffer_.consume(self->buffer_.size());
    self->parser_.reset();
    self->srv_->deregister(self.get());
    try {
      taker(std::move(ho));
    } catch (...) {
    }
  };
  if (!first) return finish({}, 0);
  auto& m = bare_.emplace();
  m.version(11);
  if (std::string bad = fill_head(m, *first); !bad.empty()) {
    bare_.reset();
    return write(opt_.error_response(500, "internal_error", "invalid response from the handler: " + bad), st);
  }
  int status = first->status;
  state_ = State::write;
  arm(opt_.write_timeout);
  http::async_write(socket_, *bare_,
                    [finish = std::move(finish), status](error_code ec, std::size_t) mutable { finish(ec, status); });
}

}  // namespace detail

// ---- the public handles ----------------------------------------------------

const RequestHead& Exchange::head() const noexcept { return s_->head; }
Clock::time_point Exchange::start() const noexcept { return s_->start; }
void Exchange::set_route(std::string_view label, std::uint32_t id) {
  s_->route = label;
  s_->route_id = id;
}
std::string& Exchange::body() noexcept { return s_->body; }

bool Exchange::shutting_down() const noexcept { return s_->conn->server_stopping(); }

bool Exchange::read_body(std::function<void(Exchange&, BodyStatus)> then) {
  if (s_->answered.load(std::memory_order_acquire) || s_->body_claimed.exchange(true)) return false;
  if (s_->conn->gone()) return false;
  asio::post(s_->conn->executor(),
             [st = s_, then = std::move(then)]() mutable { st->conn->read_body(st, std::move(then), nullptr); });
  return true;
}

bool Exchange::read_body_stream(std::function<void(std::string_view piece, std::function<void()> more)> on_piece,
                                std::function<void(Exchange&, BodyStatus)> on_end) {
  if (!on_piece) return false;
  if (s_->answered.load(std::memory_order_acquire) || s_->body_claimed.exchange(true)) return false;
  if (s_->conn->gone()) return false;
  asio::post(s_->conn->executor(), [st = s_, p = std::move(on_piece), e = std::move(on_end)]() mutable {
    st->conn->read_body(st, std::move(e), std::move(p));
  });
  return true;
}

bool Exchange::respond(Response response) {
  if (s_->answered.exchange(true)) return false;
  if (s_->conn->gone()) return false;
  asio::post(s_->conn->executor(), [st = s_, r = std::move(response)]() mutable { st->conn->send(st, std::move(r)); });
  return true;
}

bool Exchange::respond_after(Millis delay, Response response) {
  if (s_->answered.exchange(true)) return false;
  if (s_->conn->gone()) return false;
  asio::post(s_->conn->executor(),
             [st = s_, delay, r = std::move(response)]() mutable { st->conn->send_after(st, delay, std::move(r)); });
  return true;
}

bool Exchange::respond_streaming(Response head, std::optional<std::uint64_t> length,
                                 std::function<void(std::optional<BodyWriter>)> ready) {
  if (s_->answered.exchange(true)) return false;
  if (s_->conn->gone()) return false;
  s_->stream_open.store(true, std::memory_order_release);
  asio::post(s_->conn->executor(), [st = s_, h = std::move(head), length, ready = std::move(ready)]() mutable {
    st->conn->stream_start(st, std::move(h), length, std::move(ready));
  });
  return true;
}

bool BodyWriter::write(std::string piece, std::function<void(bool ok)> written) {
  if (!s_->stream_open.load(std::memory_order_acquire) || s_->conn->gone()) return false;
  asio::post(s_->conn->executor(), [st = s_, p = std::move(piece), cb = std::move(written)]() mutable {
    st->conn->stream_write(st, std::move(p), std::move(cb));
  });
  return true;
}

bool BodyWriter::finish(std::function<void(bool ok)> done) {
  if (!s_->stream_open.load(std::memory_order_acquire) || s_->conn->gone()) return false;
  asio::post(s_->conn->executor(),
             [st = s_, cb = std::move(done)]() mutable { st->conn->stream_finish(st, std::move(cb)); });
  return true;
}

void BodyWriter::abort() {
  asio::post(s_->conn->executor(), [st = s_] {
    st->stream_open.store(false, std::memory_order_release);
    st->conn->stream_abort(st->seq);
  });
}

bool Exchange::hand_off(std::function<void(HandOff&&)> taker, std::optional<Response> first) {
  if (s_->body_claimed.load(std::memory_order_acquire)) return false;
  if (s_->answered.exchange(true)) return false;
  if (s_->conn->gone()) return false;
  asio::post(s_->conn->executor(), [st = s_, taker = std::move(taker), first = std::move(first)]() mutable {
    st->conn->hand_off(st, std::move(taker), std::move(first));
  });
  return true;
}

Server::Server(IoThreads& io, ServerOptions options, Handler handler)
    : s_(std::make_shared<detail::ServerState>(io, std::move(options), std::move(handler))) {
  auto& o = s_->opt;
  error_code ec;
  auto where = [&] {
    bool v6 = o.host.find(':') != std::string::npos;
    return (v6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
  };
  auto addr = asio::ip::make_address(o.host, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where() + ": \"" + o.host + "\" is not an IP address");
  tcp::endpoint ep(addr, o.port);
  auto& a = s_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(std::max(o.backlog, 1), ec);
  if (ec) throw std::runtime_error("cannot listen on " + where() + ": " + ec.message());
  s_->port = a.local_endpoint().port();
  asio::post(a.get_executor(), [s = s_] { s->accept(); });
}

Server::~Server() { s_->shutdown(Millis(0), {}); }

std::uint16_t Server::port() const noexcept { return s_->port; }
std::size_t Server::connections() const noexcept { return s_->open.load(std::memory_order_acquire); }

void Server::shutdown(Millis grace, std::function<void(const ShutdownReport&)> done) {
  s_->shutdown(grace, std::move(done));
}

ShutdownReport Server::wait() {
  std::unique_lock lock(s_->mu);
  s_->cv.wait(lock, [&] { return s_->report.has_value(); });
  return *s_->report;
}

}  // namespace softprobe::net
