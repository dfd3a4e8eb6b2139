// The client's pool: which loop a connection lives on, and when a pooled
// connection is no longer fit for reuse (bytes nobody asked for, its idle
// timeout).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>
#include <vector>

#include "client_calls.hpp"
#include "raw_client.hpp"
#include "softprobe/net/client.hpp"

using namespace softprobe::net;
using nettest::fetch;
using nettest::get;
using nettest::TestServer;
using namespace std::chrono_literals;

namespace {

// Where one request ran: the thread that sent it and the threads its
// callbacks ran on.
struct Placement {
  std::thread::id sender, on_head, on_done;
  ClientError error = ClientError::none;
};

// Sends from a thread of `loop` and reports where its callbacks ran.
Placement send_from(boost::asio::io_context& loop, Client& c, std::uint16_t port) {
  auto p = std::make_shared<std::promise<Placement>>();
  auto f = p->get_future();
  auto at = std::make_shared<Placement>();
  boost::asio::post(loop, [&c, port, p, at] {
    at->sender = std::this_thread::get_id();
    ResponseHandler h;
    h.on_head = [at](const ResponseHead&) {
      at->on_head = std::this_thread::get_id();
      return true;
    };
    h.on_body = [](std::string_view, std::function<void()> more) { more(); };
    h.on_done = [p, at](ClientError e, const std::string&) {
      at->on_done = std::this_thread::get_id();
      at->error = e;
      p->set_value(*at);
    };
    c.send(get(port, "/hello"), std::move(h));
  });
  if (f.wait_for(10s) != std::future_status::ready) FAIL("the request did not end within 10 s");
  return f.get();
}

// An upstream on raw sockets: answers the i-th connection's first request
// with replies[i] (then `later` after 100 ms, when given), and keeps it
// open until the test ends. Every wait is bounded.
class RawUpstream {
 public:
  struct Reply {
    std::string now;
    std::string later;
  };
  explicit RawUpstream(std::vector<Reply> replies) : replies_(std::move(replies)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RawUpstream() {
    stop_ = true;
    thread_.join();
    for (int c : conns_) ::close(c);
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  static bool readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
  }
  void serve() {
    for (const Reply& r : replies_) {
      int c = -1;
      for (int i = 0; i < 100 && !stop_ && c < 0; ++i)
        if (readable(fd_, 50)) c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      conns_.push_back(c);
      std::string in;
      char buf[4096];
      for (int i = 0; i < 100 && in.find("\r\n\r\n") == std::string::npos; ++i) {
        if (!readable(c, 50)) continue;
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, std::size_t(n));
      }
      (void)!::send(c, r.now.data(), r.now.size(), MSG_NOSIGNAL);
      if (!r.later.empty()) {
        std::this_thread::sleep_for(100ms);
        (void)!::send(c, r.later.data(), r.later.size(), MSG_NOSIGNAL);
      }
    }
  }
  std::vector<Reply> replies_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> conns_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("client: a request sent from an io loop runs on that loop, on a connection of that loop",
          "[net][net-threads]") {
  TestServer s({}, nettest::demo_handler());
  IoThreads io(2);
  Client c(io);
  boost::asio::io_context& first = io.next_context();
  boost::asio::io_context& second = io.next_context();
  REQUIRE(&first != &second);
  for (int round = 0; round < 3; ++round) {
    for (auto* loop : {&first, &second}) {
      Placement at = send_from(*loop, c, s.port());
      REQUIRE(at.error == ClientError::none);
      CHECK(at.on_head == at.sender);
      CHECK(at.on_done == at.sender);
    }
  }
  // One pooled connection per loop, each reused by its own loop's requests.
  CHECK(c.stats().connections_opened == 2);
  CHECK(c.stats().reused == 4);
}

TEST_CASE("client: at the connection limit, a loop borrows another loop's pooled connection", "[net][net-threads]") {
  TestServer s({}, nettest::demo_handler());
  IoThreads io(2);
  ClientOptions o;
  o.max_connections_per_host = 1;
  Client c(io, o);
  boost::asio::io_context& first = io.next_context();
  boost::asio::io_context& second = io.next_context();
  REQUIRE(send_from(first, c, s.port()).error == ClientError::none);
  Placement at = send_from(second, c, s.port());
  REQUIRE(at.error == ClientError::none);
  CHECK(at.on_done != at.sender);  // it ran on the first loop, where the one connection lives
  CHECK(c.stats().connections_opened == 1);
  CHECK(c.stats().reused == 1);
}

TEST_CASE("client: bytes past a response, or sent while idle, end the pooled connection", "[net][net-threads]") {
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  // 1: junk right behind the response (read with it); 2: junk 100 ms later,
  // while the connection is idle; 3: a clean answer.
  RawUpstream up({{ok + "JUNK", ""}, {ok, "HTTP/1.1 408 Request Timeout\r\n\r\n"}, {ok, ""}});
  IoThreads io(2);
  Client c(io);
  for (int i = 0; i < 3; ++i) {
    INFO("request " << i + 1);
    auto r = fetch(c, get(up.port(), "/"));
    REQUIRE(r.error == ClientError::none);
    CHECK(r.body == "ok");
    std::this_thread::sleep_for(300ms);  // (the second connection's late bytes come meanwhile)
  }
  CHECK(c.stats().connections_opened == 3);
  CHECK(c.stats().idle == 1);
}

TEST_CASE("client: a pooled connection is closed after its idle timeout, a longer read timeout notwithstanding",
          "[net][net-threads]") {
  TestServer s({}, nettest::demo_handler());
  IoThreads io(2);
  ClientOptions o;
  o.idle_timeout = 150ms;
  o.read_timeout = 20s;  // armed for the exchange, then moved earlier for the idle wait
  Client c(io, o);
  REQUIRE(fetch(c, get(s.port(), "/hello")).error == ClientError::none);
  CHECK(c.stats().idle == 1);
  auto until = std::chrono::steady_clock::now() + 5s;
  while (c.stats().idle != 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
  CHECK(c.stats().idle == 0);
  REQUIRE(fetch(c, get(s.port(), "/hello")).error == ClientError::none);
  CHECK(c.stats().connections_opened == 2);
}

TEST_CASE("client: a read timeout still fires after many exchanges moved the deadline", "[net][net-threads]") {
  TestServer s({}, [](Exchange ex) {
    if (ex.head().path() == "/slow") return (void)ex.respond_after(3000ms, {200, {}, {}, "late", false});
    ex.respond({200, {}, {}, "quick", false});
  });
  IoThreads io(1);
  ClientOptions o;
  o.read_timeout = 300ms;
  o.idle_timeout = 10s;  // later than the read timeout: each request brings the idle wait's timer forward
  Client c(io, o);
  for (int i = 0; i < 20; ++i) REQUIRE(fetch(c, get(s.port(), "/quick")).error == ClientError::none);
  auto t0 = std::chrono::steady_clock::now();
  auto slow = fetch(c, get(s.port(), "/slow"));
  CHECK(slow.error == ClientError::timeout);
  CHECK(nettest::ms_since(t0) < 2500);
  CHECK(c.stats().connections_opened == 1);
}

TEST_CASE("client: every connection of a busy host is kept for reuse", "[net][net-threads]") {
  // 32 requests in flight at once, twice: the second round reuses the first
  // round's 32 connections. (A pool keeping 16 closed half of them and opened
  // them again: a new upstream connection for most requests under load.)
  TestServer s({}, nettest::demo_handler());
  IoThreads io(2);
  Client c(io);
  for (int round = 0; round < 2; ++round) {
    std::vector<std::future<FetchResult>> results;
    for (int i = 0; i < 32; ++i) results.push_back(nettest::fetch_later(c, get(s.port(), "/delay?ms=200")));
    for (auto& f : results) {
      REQUIRE(f.wait_for(10s) == std::future_status::ready);
      REQUIRE(f.get().error == ClientError::none);
    }
  }
  CHECK(c.stats().connections_opened == 32);
  CHECK(c.stats().idle == 32);
}
