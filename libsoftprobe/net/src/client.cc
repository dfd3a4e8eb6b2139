// The client: a pool of keep-alive connections per host:port, each one living
// on one io loop and running resolve -> connect -> write -> read head ->
// stream body there. A connection is made on the loop of the caller that
// needs it, and a pooled one is reused by a caller on its own loop first, so
// a proxied exchange stays on one thread (docs/net.md, "The client").
// (The second and last translation unit with Beast.)
#include "softprobe/net/client.hpp"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "safe_call.hpp"

namespace softprobe::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

const char* client_error_name(ClientError e) noexcept {
  switch (e) {
    case ClientError::none: return "none";
    case ClientError::dns: return "dns";
    case ClientError::refused: return "refused";
    case ClientError::connect_timeout: return "connect_timeout";
    case ClientError::connect_failed: return "connect_failed";
    case ClientError::io: return "io";
    case ClientError::timeout: return "timeout";
    case ClientError::bad_response: return "bad_response";
    case ClientError::head_too_large: return "head_too_large";
    case ClientError::body_too_large: return "body_too_large";
    case ClientError::pool_full: return "pool_full";
    case ClientError::aborted: return "aborted";
    case ClientError::bad_request: return "bad_request";
  }
  return "unknown";
}

namespace detail {

namespace {

constexpr std::size_t kChunk = 16 * 1024;

bool idempotent(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

std::string host_port(const std::string& host, std::uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

struct Job {
  ClientRequest req;
  ResponseHandler h;
  bool retried = false;
};

class ClientConn;

struct HostPool {
  std::vector<std::shared_ptr<ClientConn>> idle;  // most recently used last (at most max_idle_per_host)
  std::size_t open = 0;
  std::deque<Job> waiting;
};

struct ClientState : std::enable_shared_from_this<ClientState> {
  ClientState(IoThreads& t, ClientOptions o) : threads(t), opt(std::move(o)) {}

  IoThreads& threads;
  ClientOptions opt;
  std::atomic<std::size_t> opened{0};
  std::atomic<std::size_t> reused{0};

  mutable std::mutex mu;  // guards what follows
  std::unordered_map<std::string, HostPool> pools;
  std::unordered_map<ClientConn*, std::weak_ptr<ClientConn>> all;
  bool closed = false;

  // The loop of the calling thread, else the next one round-robin.
  asio::io_context& loop_here() {
    asio::io_context* here = threads.current_context();
    return here ? *here : threads.next_context();
  }
  void send(Job job, bool fresh);
  void released(const std::shared_ptr<ClientConn>& c);
  void remove_idle(ClientConn* c);
  void gone(ClientConn* c);
  void fail_later(Job job, ClientError e, std::string message);
  void shutdown();
};

class ClientConn : public std::enable_shared_from_this<ClientConn> {
 public:
  ClientConn(std::shared_ptr<ClientState> st, asio::io_context& loop, std::string key, std::string host,
             std::uint16_t port)
      : st_(std::move(st)),
        loop_(&loop),
        key_(std::move(key)),
        host_(std::move(host)),
        port_(port),
        ex_(loop.get_executor()),
        socket_(loop),
        resolver_(loop),
        timer_(loop) {}

  const std::string& key() const noexcept { return key_; }
  const asio::io_context* loop() const noexcept { return loop_; }
  void run(Job job, bool reused) {
    asio::post(ex_, [self = shared_from_this(), job = std::move(job), reused]() mutable {
      self->start(std::move(job), reused);
    });
  }
  void go_idle() {
    asio::post(ex_, [self = shared_from_this()] { self->idle(); });
  }
  void abort() {
    asio::post(ex_, [self = shared_from_this()] {
      if (self->job_) return self->fail(ClientError::aborted, "the client was destroyed");
      self->close();
    });
  }

 private:
  enum class State : std::uint8_t { fresh, busy, idle, closed };

  // The connection's one deadline. Arming moves it; the timer is re-set only
  // when the new deadline is earlier than the wait already pending (so a
  // request costs no timer cancellation), and a wait that fires early finds
  // the moved deadline and waits on until it.
  void arm(std::chrono::milliseconds after) {
    timed_out_ = false;
    deadline_ = std::chrono::steady_clock::now() + after;
    if (timer_waiting_ && timer_.expiry() <= deadline_) return;
    timer_.expires_at(deadline_);  // cancels a later wait, if one is pending
    wait_deadline();
  }
  void disarm() { deadline_ = kNoDeadline; }  // a pending wait stops when it fires

  void wait_deadline() {
    timer_waiting_ = true;
    unsigned gen = ++gen_;
    timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
      if (gen != self->gen_) return;  // a newer wait replaced this one
      self->timer_waiting_ = false;
      if (ec || self->state_ == State::closed || self->deadline_ == kNoDeadline) return;
      if (std::chrono::steady_clock::now() < self->deadline_) {
        self->timer_.expires_at(self->deadline_);
        return self->wait_deadline();
      }
      self->timed_out_ = true;
      if (self->state_ == State::idle) {
        self->st_->remove_idle(self.get());
        return self->close();
      }
      error_code ignored;
      self->resolver_.cancel();
      self->socket_.cancel(ignored);
    });
  }

  void start(Job job, bool reused) {
    if (state_ == State::closed) {
      // Taken from the pool as the server closed it: nothing was sent, so a
      // new connection can always carry it.
      job.retried = true;
      st_->send(std::move(job), true);
      return;
    }
    job_ = std::move(job);
    reused_ = reused;
    got_bytes_ = false;
    if (state_ == State::idle) {
      // The idle read stays pending: it will receive the response's first bytes.
      state_ = State::busy;
      return write();
    }
    state_ = State::busy;
    arm(st_->opt.connect_timeout);
    resolver_.async_resolve(host_, std::to_string(port_),
                            [self = shared_from_this()](const error_code& ec, tcp::resolver::results_type r) {
                              self->on_resolved(ec, std::move(r));
                            });
  }

  void on_resolved(const error_code& ec, tcp::resolver::results_type results) {
    if (!job_) return;
    if (ec) {
      if (timed_out_)
        return fail(ClientError::connect_timeout, "DNS lookup of \"" + host_ + "\" took longer than " +
                                                      std::to_string(st_->opt.connect_timeout.count()) + " ms");
      return fail(ClientError::dns, "DNS lookup of \"" + host_ + "\" failed: " + ec.message());
    }
    asio::async_connect(socket_, results, [self = shared_from_this()](const error_code& e, const tcp::endpoint&) {
      self->on_connected(e);
    });
  }

  void on_connected(const error_code& ec) {
    if (!job_) return;
    disarm();
    std::string where = host_port(host_, port_);
    if (ec) {
      if (timed_out_)
        return fail(ClientError::connect_timeout, "connecting to " + where + " took longer than " +
                                                      std::to_string(st_->opt.connect_timeout.count()) + " ms");
      if (ec == asio::error::connection_refused)
        return fail(ClientError::refused, "connection to " + where + " refused (nothing listens there)");
      return fail(ClientError::connect_failed, "cannot connect to " + where + ": " + ec.message());
    }
    st_->opened.fetch_add(1, std::memory_order_relaxed);
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    write();
  }

  void write() {
    ClientRequest& r = job_->req;
    auto& m = req_.emplace();
    m.version(11);
    m.method_string(r.method);
    m.target(r.target);
    bool has_host = false;
    for (auto& h : r.headers) {
      if (iequals(h.name, "Content-Length") || iequals(h.name, "Transfer-Encoding")) continue;
      if (iequals(h.name, "Host")) has_host = true;
      bool valid = !h.name.empty();
      for (char ch : h.name + h.value)
        if (ch == '\r' || ch == '\n' || ch == '\0') valid = false;
      if (valid) {
        try {
          m.insert(h.name, h.value);
        } catch (const std::exception&) {  // Beast: a name or value over 65,535 bytes
          valid = false;
        }
      }
      if (!valid)
        return fail(ClientError::bad_request, "request header \"" + h.name.substr(0, 64) +
                                                  "\" cannot be sent (empty name, CR/LF/NUL, or over 65,535 bytes)");
    }
    if (!has_host) {
      // host[:port], an IPv6 literal in brackets; the port only when not the default.
      std::string h = host_port(host_, port_);
      if (port_ == 80) h.resize(h.rfind(':'));
      m.set(http::field::host, h);
    }
    head_request_ = r.method == "HEAD";
    if (r.body_source) return write_streamed(m);
    m.body() = std::move(r.body);
    if (!m.body().empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH")
      m.content_length(m.body().size());
    arm(st_->opt.read_timeout);
    http::async_write(socket_, *req_, [self = shared_from_this()](const error_code& ec, std::size_t) {
      if (!self->job_) return;
      if (ec) return self->fail_io(ec, "sending the request");
      self->read_head();
    });
  }

  // A request body from job_->req.body_source, piece by piece: the head
  // (Content-Length from body_length, else chunked), then each piece the
  // source puts, then the end.
  void write_streamed(const http::request<http::string_body>& head) {
    ssr_.reset();  // (it refers to the message: before replacing that)
    auto& m = sreq_.emplace();
    m.base() = head.base();
    if (job_->req.body_length) m.content_length(*job_->req.body_length);
    else m.chunked(true);
    m.body().data = nullptr;
    m.body().size = 0;
    m.body().more = true;
    got_bytes_ = true;  // never retried: the source cannot be replayed
    ssr_.emplace(m);
    arm(st_->opt.read_timeout);
    http::async_write_header(socket_, *ssr_, [self = shared_from_this()](const error_code& ec, std::size_t) {
      if (!self->job_) return;
      self->disarm();
      if (ec) return self->fail_io(ec, "sending the request head");
      self->next_piece();
    });
  }

  void next_piece() {
    auto once = std::make_shared<std::atomic<bool>>(false);
    auto put = [self = shared_from_this(), once](std::string piece, bool last) {
      if (once->exchange(true)) return;
      asio::post(self->ex_, [self, piece = std::move(piece), last]() mutable {
        if (!self->job_) return;
        self->put_piece(std::move(piece), last);
      });
    };
    try {
      job_->req.body_source(std::move(put));
    } catch (...) {
      fail(ClientError::aborted, "the request body source failed");
    }
  }

  void put_piece(std::string piece, bool last) {
    piece_ = std::move(piece);
    auto& b = sreq_->body();
    b.data = piece_.empty() ? nullptr : piece_.data();
    b.size = piece_.size();
    b.more = !last;
    arm(st_->opt.read_timeout);
    http::async_write(socket_, *ssr_, [self = shared_from_this(), last](error_code ec, std::size_t) {
      if (!self->job_) return;
      if (ec == http::error::need_buffer) ec = {};
      self->disarm();
      if (ec) return self->fail_io(ec, "sending the request body");
      if (last) return self->read_head();
      self->next_piece();
    });
  }

  void read_head() {
    if (idle_read_pending_) {
      head_wanted_ = true;  // on_idle_read starts it with what arrived
      return;
    }
    if (idle_read_error_) {
      error_code ec = *idle_read_error_;
      idle_read_error_.reset();
      return fail_io(ec, "reading the response head");
    }
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(st_->opt.max_response_head_bytes, UINT32_MAX)));
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (head_request_) parser_->skip(true);
    arm(st_->opt.read_timeout);
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_head(ec); });
  }

  void on_head(const error_code& ec) {
    if (!job_) return;
    disarm();
    if (buffer_.size() > 0 || parser_->got_some()) got_bytes_ = true;
    if (ec) {
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        return fail(ClientError::head_too_large, "the response head from " + host_port(host_, port_) + " is over " +
                                                     std::to_string(st_->opt.max_response_head_bytes) + " bytes");
      if (ec.category() == error_code(http::error::bad_target).category() && ec != http::error::end_of_stream)
        return fail(ClientError::bad_response,
                    "malformed response from " + host_port(host_, port_) + ": " + ec.message());
      return fail_io(ec, "reading the response head");
    }
    got_bytes_ = true;
    const auto& m = parser_->get();
    int status = int(m.result_int());
    if (status >= 100 && status < 200 && status != 101) return read_head();  // interim: skip
    ResponseHead h;
    h.status = status;
    h.reason = std::string(m.reason());
    h.version = m.version();
    for (const auto& f : m) h.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    if (auto cl = parser_->content_length()) h.content_length = *cl;
    h.chunked = parser_->chunked();
    h.keep_alive = m.keep_alive() && status != 101;
    keep_alive_ = h.keep_alive;
    bool go_on = true;
    try {
      go_on = !job_->h.on_head || job_->h.on_head(h);
    } catch (...) {
      go_on = false;
    }
    if (!go_on) return fail(ClientError::aborted, "stopped by the caller after the response head");
    if (status == 101) return finish_done(false);
    chunk_ = std::make_unique<char[]>(kChunk);
    read_body();
  }

  void read_body() {
    if (!job_) return;
    if (parser_->is_done()) return finish_done(keep_alive_ && !parser_->need_eof());
    auto& b = parser_->get().body();
    b.data = chunk_.get();
    b.size = kChunk;
    arm(st_->opt.read_timeout);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(error_code ec) {
    if (!job_) return;
    disarm();
    auto& b = parser_->get().body();
    std::size_t got = kChunk - b.size;
    if (ec == http::error::need_buffer) ec = {};
    if (ec && got == 0) {
      if (ec.category() == error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
          ec != http::error::partial_message)
        return fail(ClientError::bad_response,
                    "malformed response body from " + host_port(host_, port_) + ": " + ec.message());
      return fail_io(ec, "reading the response body");
    }
    if (got == 0) return read_body();
    // Hand the piece over; read on when the caller says so.
    auto token = std::make_shared<MoreToken>();
    token->conn = shared_from_this();
    token->failed = bool(ec);
    token->ec = ec;
    std::function<void()> more = [token] { token->next(); };
    if (job_->h.on_body) {
      try {
        job_->h.on_body(std::string_view(chunk_.get(), got), std::move(more));
      } catch (...) {
        fail(ClientError::aborted, "stopped by the caller while streaming the body");
      }
    } else {
      more();
    }
  }

  // Behind on_body's `more`: reads on when called; when every copy of `more`
  // was dropped uncalled, ends the exchange (aborted) instead of holding the
  // connection forever.
  struct MoreToken {
    std::shared_ptr<ClientConn> conn;
    bool failed = false;
    error_code ec;
    std::atomic<bool> called{false};
    void next() {
      if (called.exchange(true)) return;
      asio::post(conn->ex_, [c = conn, failed = failed, ec = ec] {
        if (failed) return c->fail_io(ec, "reading the response body");
        c->read_body();
      });
    }
    ~MoreToken() {
      if (called.load()) return;
      asio::post(conn->ex_, [c = conn] { c->fail(ClientError::aborted, "the caller dropped the body stream"); });
    }
  };

  void finish_done(bool reusable) {
    Job job = std::move(*job_);
    job_.reset();
    parser_.reset();
    req_.reset();
    ssr_.reset();
    sreq_.reset();
    std::string().swap(piece_);
    chunk_.reset();
    auto self = shared_from_this();
    if (reusable) {
      state_ = State::idle;
      st_->released(self);  // before on_done, so a next request can reuse it
    } else {
      close();
    }
    safe_call(job.h.on_done, ClientError::none, std::string());
  }

  void fail_io(const error_code& ec, const char* during) {
    std::string where = host_port(host_, port_);
    if (timed_out_)
      return fail(ClientError::timeout, "no answer from " + where + " within " +
                                            std::to_string(st_->opt.read_timeout.count()) + " ms (" + during + ")");
    return fail(ClientError::io, std::string("connection to ") + where + " failed " + during + ": " + ec.message());
  }

  void fail(ClientError e, std::string message) {
    if (!job_) return;
    Job job = std::move(*job_);
    job_.reset();
    bool retry = reused_ && !got_bytes_ && !job.retried && e == ClientError::io && idempotent(job.req.method);
    close();
    if (retry) {
      // The pooled connection was stale: once more on a new one. (An io
      // failure comes from a completed operation: nothing is using req_.)
      job.retried = true;
      if (req_) job.req.body = std::move(req_->body());
      st_->send(std::move(job), true);
      return;
    }
    // req_ stays: an aborted write may still be pending on it.
    safe_call(job.h.on_done, e, message);
  }

  // A pooled connection waits with a read (not a readiness wait, which
  // costs an epoll_ctl each time it is re-armed). While idle, anything that
  // completes it (the server closing, or bytes nobody asked for) ends the
  // connection. Once a request was sent on it, the same read receives the
  // response's first bytes, and read_head parses on from there.
  void idle() {
    if (state_ != State::idle) return;
    if (buffer_.size() > 0) {  // bytes after the last response: not a connection to reuse
      st_->remove_idle(this);
      return close();
    }
    arm(st_->opt.idle_timeout);
    if (idle_read_pending_) return;
    idle_read_pending_ = true;
    socket_.async_read_some(
        buffer_.prepare(kIdleRead),
        [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_idle_read(ec, n); });
  }

  void on_idle_read(const error_code& ec, std::size_t n) {
    idle_read_pending_ = false;
    if (state_ == State::closed) return;
    buffer_.commit(n);
    if (state_ == State::idle) {
      st_->remove_idle(this);
      return close();
    }
    // Busy: a request was (or is being) written on this connection.
    if (ec && n == 0) idle_read_error_ = ec;
    if (head_wanted_) {
      head_wanted_ = false;
      read_head();
    }
  }

  void close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    disarm();
    timer_.cancel();  // (its handler holds this connection)
    error_code ignored;
    resolver_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    // The parser and buffers stay until the connection is destroyed: a pending
    // Beast read still touches them when it completes with operation_aborted.
    st_->gone(this);  // every connection was counted open when made
  }

  static constexpr std::size_t kIdleRead = 4096;
  static constexpr auto kNoDeadline = std::chrono::steady_clock::time_point::max();

  std::shared_ptr<ClientState> st_;
  asio::io_context* loop_;
  std::string key_;
  std::string host_;
  std::uint16_t port_;
  asio::io_context::executor_type ex_;
  tcp::socket socket_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_ = kNoDeadline;
  bool timer_waiting_ = false;
  unsigned gen_ = 0;
  bool timed_out_ = false;
  bool idle_read_pending_ = false;  // the idle read is outstanding (into buffer_)
  bool head_wanted_ = false;        // read_head waits for the idle read
  std::optional<error_code> idle_read_error_;
  State state_ = State::fresh;
  beast::flat_buffer buffer_;
  std::optional<Job> job_;
  std::optional<http::request<http::string_body>> req_;
  std::optional<http::request<http::buffer_body>> sreq_;  // a streamed request body
  std::optional<http::request_serializer<http::buffer_body>> ssr_;
  std::string piece_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::unique_ptr<char[]> chunk_;
  bool reused_ = false;
  bool got_bytes_ = false;
  bool head_request_ = false;
  bool keep_alive_ = true;
};

void ClientState::fail_later(Job job, ClientError e, std::string message) {
  asio::post(loop_here(),
             [job = std::move(job), e, message = std::move(message)]() { safe_call(job.h.on_done, e, message); });
}

void ClientState::send(Job job, bool fresh) {
  std::string key = host_port(job.req.host, job.req.port);
  std::shared_ptr<ClientConn> conn;
  bool reuse = false;
  {
    std::lock_guard lock(mu);
    if (closed) {
      fail_later(std::move(job), ClientError::aborted, "the client was destroyed");
      return;
    }
    HostPool& p = pools[key];
    // A pooled connection on the caller's loop; else a new one there; else
    // (at max_connections_per_host) one pooled on another loop.
    asio::io_context* here = threads.current_context();
    auto pooled = p.idle.end();
    if (!fresh && !p.idle.empty()) {
      pooled = std::prev(p.idle.end());
      if (here)
        for (auto it = p.idle.rbegin(); it != p.idle.rend(); ++it)
          if ((*it)->loop() == here) {
            pooled = std::prev(it.base());
            break;
          }
      if (here && (*pooled)->loop() != here && p.open < opt.max_connections_per_host) pooled = p.idle.end();
    }
    if (pooled != p.idle.end()) {
      conn = std::move(*pooled);
      p.idle.erase(pooled);
      reuse = true;
    } else if (p.open < opt.max_connections_per_host) {
      ++p.open;
      conn = std::make_shared<ClientConn>(shared_from_this(), here ? *here : threads.next_context(), key, job.req.host,
                                          job.req.port);
      all.emplace(conn.get(), conn);
    } else if (p.waiting.size() < opt.max_waiting_per_host) {
      p.waiting.push_back(std::move(job));
      return;
    } else {
      fail_later(std::move(job), ClientError::pool_full,
                 "the pool for " + key + " is full (" + std::to_string(opt.max_connections_per_host) +
                     " connections busy, " + std::to_string(opt.max_waiting_per_host) + " requests waiting)");
      return;
    }
  }
  if (reuse) reused.fetch_add(1, std::memory_order_relaxed);
  conn->run(std::move(job), reuse);
}

void ClientState::released(const std::shared_ptr<ClientConn>& c) {
  std::optional<Job> next;
  {
    std::lock_guard lock(mu);
    HostPool& p = pools[c->key()];
    if (!closed && !p.waiting.empty()) {
      next = std::move(p.waiting.front());
      p.waiting.pop_front();
    } else if (!closed && p.idle.size() < opt.max_idle_per_host) {
      p.idle.push_back(c);
    } else {
      c->abort();  // closes it (and gone() counts it)
      return;
    }
  }
  if (next) {
    reused.fetch_add(1, std::memory_order_relaxed);
    c->run(std::move(*next), true);
  } else {
    c->go_idle();
  }
}

void ClientState::remove_idle(ClientConn* c) {
  std::lock_guard lock(mu);
  auto it = pools.find(c->key());
  if (it == pools.end()) return;
  std::erase_if(it->second.idle, [c](const std::shared_ptr<ClientConn>& p) { return p.get() == c; });
}

void ClientState::gone(ClientConn* c) {
  std::optional<Job> next;
  std::shared_ptr<ClientConn> conn;
  {
    std::lock_guard lock(mu);
    all.erase(c);
    auto it = pools.find(c->key());
    if (it == pools.end()) return;
    HostPool& p = it->second;
    std::erase_if(p.idle, [c](const std::shared_ptr<ClientConn>& q) { return q.get() == c; });
    if (p.open > 0) --p.open;
    if (!closed && !p.waiting.empty()) {
      next = std::move(p.waiting.front());
      p.waiting.pop_front();
      ++p.open;
      conn = std::make_shared<ClientConn>(shared_from_this(), loop_here(), c->key(), next->req.host, next->req.port);
      all.emplace(conn.get(), conn);
    } else if (p.open == 0 && p.waiting.empty() && p.idle.empty()) {
      pools.erase(it);
    }
  }
  if (conn) conn->run(std::move(*next), false);
}

void ClientState::shutdown() {
  std::vector<std::shared_ptr<ClientConn>> conns;
  std::vector<Job> waiting;
  {
    std::lock_guard lock(mu);
    closed = true;
    for (auto& [p, w] : all)
      if (auto c = w.lock()) conns.push_back(std::move(c));
    for (auto& [k, p] : pools) {
      for (auto& j : p.waiting) waiting.push_back(std::move(j));
      p.waiting.clear();
      p.idle.clear();
    }
  }
  for (auto& c : conns) c->abort();
  for (auto& j : waiting) fail_later(std::move(j), ClientError::aborted, "the client was destroyed");
}

}  // namespace detail

Client::Client(IoThreads& io, ClientOptions options)
    : s_(std::make_shared<detail::ClientState>(io, std::move(options))) {}

Client::~Client() { s_->shutdown(); }

void Client::send(ClientRequest request, ResponseHandler handler) {
  s_->send(detail::Job{std::move(request), std::move(handler), false}, false);
}

void Client::fetch(ClientRequest request, std::size_t max_body, std::function<void(FetchResult)> done) {
  auto result = std::make_shared<FetchResult>();
  std::string where = request.host + ":" + std::to_string(request.port);
  ResponseHandler h;
  h.on_head = [result](const ResponseHead& head) {
    result->head = head;
    return true;
  };
  h.on_body = [result, max_body, where](std::string_view piece, std::function<void()> more) {
    if (piece.size() > max_body - std::min(max_body, result->body.size())) {
      result->error = ClientError::body_too_large;
      result->message = "the response body from " + where + " is over " + std::to_string(max_body) + " bytes";
      return;  // `more` dropped uncalled: the exchange ends (on_done(aborted), kept as body_too_large)
    }
    result->body.append(piece);
    more();
  };
  h.on_done = [result, done = std::move(done)](ClientError e, const std::string& message) {
    if (result->error == ClientError::none) {
      result->error = e;
      result->message = message;
    }
    done(std::move(*result));
  };
  send(std::move(request), std::move(h));
}

ClientStats Client::stats() const {
  ClientStats out;
  out.connections_opened = s_->opened.load(std::memory_order_relaxed);
  out.reused = s_->reused.load(std::memory_order_relaxed);
  std::lock_guard lock(s_->mu);
  for (auto& [k, p] : s_->pools) out.idle += p.idle.size();
  return out;
}

}  // namespace softprobe::net
