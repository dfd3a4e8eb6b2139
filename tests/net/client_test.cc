// The client against the net server in-process: pooled keep-alive
// connections, streaming with back-pressure, and its errors (DNS failure vs
// connection refused, timeouts, limits).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "client_calls.hpp"
#include "raw_client.hpp"
#include "softprobe/net/client.hpp"

using namespace softprobe::net;
using nettest::fetch;
using nettest::get;
using nettest::TestServer;
using namespace std::chrono_literals;

namespace {

// A port with nothing listening on it.
std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("client: sequential requests reuse one pooled connection", "[net][net-threads]") {
  TestServer s({}, nettest::demo_handler());
  IoThreads io(2);
  Client c(io);
  for (int i = 0; i < 3; ++i) {
    auto r = fetch(c, get(s.port(), "/hello"));
    REQUIRE(r.error == ClientError::none);
    CHECK(r.head.status == 200);
    CHECK(r.body == "hello");
  }
  ClientRequest post = get(s.port(), "/echo");
  post.method = "POST";
  post.body = "posted";
  auto r = fetch(c, post);
  REQUIRE(r.error == ClientError::none);
  CHECK(r.body == "posted");
  auto st = c.stats();
  CHECK(st.connections_opened == 1);
  CHECK(st.reused == 3);
  CHECK(st.idle == 1);
  CHECK(s.server.connections() == 1);
}

TEST_CASE("client: DNS failure and connection refused are told apart", "[net]") {
  IoThreads io(1);
  Client c(io);
  ClientRequest r = get(80, "/");
  r.host = "no-such-host.invalid";
  auto dns = fetch(c, r);
  CHECK(dns.error == ClientError::dns);
  CHECK(dns.message.find("DNS lookup of \"no-such-host.invalid\" failed") != std::string::npos);
  auto refused = fetch(c, get(closed_port(), "/"));
  CHECK(refused.error == ClientError::refused);
  CHECK(refused.message.find("refused") != std::string::npos);
  CHECK(c.stats().connections_opened == 0);
}

TEST_CASE("client: the response streams in pieces, with back-pressure", "[net][net-threads]") {
  std::string big(3 << 20, 'z');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = char('a' + (i / 4096) % 26);
  TestServer s({}, [&](Exchange ex) { ex.respond({200, {}, {}, big, false}); });
  IoThreads io(2);
  Client c(io);
  std::promise<void> done;
  std::string got;
  int pieces = 0;
  std::vector<std::thread> later;
  ResponseHead seen;
  ClientError error = ClientError::aborted;
  ResponseHandler h;  // (callbacks run on io threads: record, check on the test's thread)
  h.on_head = [&](const ResponseHead& head) {
    seen = head;
    return true;
  };
  h.on_body = [&](std::string_view piece, std::function<void()> more) {
    got.append(piece);
    ++pieces;
    if (pieces % 16 == 0)
      later.emplace_back([more] {  // ask for more from another thread, later
        std::this_thread::sleep_for(1ms);
        more();
      });
    else more();
  };
  h.on_done = [&](ClientError e, const std::string&) {
    error = e;
    done.set_value();
  };
  c.send(get(s.port(), "/big"), h);
  REQUIRE(done.get_future().wait_for(10s) == std::future_status::ready);
  for (auto& t : later) t.join();
  CHECK(error == ClientError::none);
  CHECK(seen.status == 200);
  CHECK(seen.content_length == big.size());
  CHECK(pieces > 1);
  CHECK(got == big);
}

TEST_CASE("client: a pooled connection the server closed is replaced", "[net][net-threads]") {
  ServerOptions o;
  o.idle_timeout = 100ms;
  TestServer s(o, nettest::demo_handler());
  IoThreads io(2);
  Client c(io);
  REQUIRE(fetch(c, get(s.port(), "/hello")).error == ClientError::none);
  std::this_thread::sleep_for(400ms);  // the server closes the idle connection
  auto r = fetch(c, get(s.port(), "/hello"));
  REQUIRE(r.error == ClientError::none);
  CHECK(r.body == "hello");
  CHECK(c.stats().connections_opened == 2);
}

TEST_CASE("client: the pool per host is bounded; requests past it wait or are refused", "[net][net-threads]") {
  TestServer s({}, nettest::demo_handler());
  IoThreads io(2);
  ClientOptions o;
  o.max_connections_per_host = 2;
  o.max_waiting_per_host = 3;
  Client c(io, o);
  std::vector<std::future<FetchResult>> results;
  for (int i = 0; i < 6; ++i) results.push_back(nettest::fetch_later(c, get(s.port(), "/delay?ms=200"), 1024));
  int ok = 0, full = 0;
  for (auto& f : results) {
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    auto r = f.get();
    if (r.error == ClientError::none) ++ok;
    if (r.error == ClientError::pool_full) ++full;
  }
  CHECK(ok == 5);  // 2 at once, 3 waiting
  CHECK(full == 1);
  CHECK(c.stats().connections_opened == 2);
}

TEST_CASE("client: limits and timeouts", "[net][net-threads]") {
  TestServer s({}, [](Exchange ex) {
    if (ex.head().path() == "/fat-head")
      return (void)ex.respond(
          {200, {}, {{"X-Fat1", std::string(40000, 'f')}, {"X-Fat2", std::string(40000, 'f')}}, "", false});
    if (ex.head().path() == "/slow") return (void)ex.respond_after(2000ms, {200, {}, {}, "late", false});
    ex.respond({200, {}, {}, std::string(5000, 'b'), false});
  });
  IoThreads io(2);
  ClientOptions o;
  o.read_timeout = 200ms;
  Client c(io, o);
  CHECK(fetch(c, get(s.port(), "/fat-head")).error == ClientError::head_too_large);
  CHECK(fetch(c, get(s.port(), "/body"), 1000).error == ClientError::body_too_large);
  auto slow = fetch(c, get(s.port(), "/slow"));
  CHECK(slow.error == ClientError::timeout);
  CHECK(slow.message.find("within 200 ms") != std::string::npos);
  ClientRequest bad = get(s.port(), "/body");
  bad.headers.push_back({"X-Bad", "a\r\nX-Injected: 1"});
  CHECK(fetch(c, bad).error == ClientError::bad_request);
}

TEST_CASE("client: dropping `more` uncalled ends the exchange and frees the connection", "[net][net-threads]") {
  TestServer s({}, [](Exchange ex) { ex.respond({200, {}, {}, std::string(1 << 20, 'd'), false}); });
  IoThreads io(2);
  Client c(io);
  std::promise<ClientError> done;
  ResponseHandler h;
  h.on_body = [](std::string_view, std::function<void()>) {};  // a caller that went away
  h.on_done = [&](ClientError e, const std::string&) { done.set_value(e); };
  c.send(get(s.port(), "/"), h);
  auto f = done.get_future();
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  CHECK(f.get() == ClientError::aborted);
  // Not pooled: the next request opens a new connection and gets the whole body.
  auto r = fetch(c, get(s.port(), "/"), 2 << 20);
  REQUIRE(r.error == ClientError::none);
  CHECK(r.body.size() == std::size_t(1) << 20);
  CHECK(c.stats().connections_opened == 2);
}

TEST_CASE("client: 100 sequential requests stay on one pooled connection", "[net][net-threads]") {
  // Nothing about the idle wait may be taken for the server closing the connection.
  TestServer s({}, nettest::demo_handler());
  IoThreads io(2);
  Client c(io);
  for (int i = 0; i < 100; ++i) {
    auto r = fetch(c, get(s.port(), "/hello"));
    REQUIRE(r.error == ClientError::none);
  }
  CHECK(c.stats().connections_opened == 1);
  CHECK(c.stats().reused == 99);
}

TEST_CASE("client: the Host header it adds", "[net][net-threads]") {
  std::mutex mu;
  std::string host;
  TestServer s({}, [&](Exchange ex) {
    {
      std::lock_guard lock(mu);
      host = ex.head().header("Host") ? *ex.head().header("Host") : "(none)";
    }
    ex.respond({200, {}, {}, "", false});
  });
  IoThreads io(1);
  Client c(io);
  REQUIRE(fetch(c, get(s.port(), "/")).error == ClientError::none);
  {
    std::lock_guard lock(mu);
    CHECK(host == "127.0.0.1:" + std::to_string(s.port()));
  }
  ClientRequest given = get(s.port(), "/");
  given.headers.push_back({"Host", "example.test"});
  REQUIRE(fetch(c, given).error == ClientError::none);
  std::lock_guard lock(mu);
  CHECK(host == "example.test");
}

TEST_CASE("a callback that throws does not stop the io threads", "[net][net-threads]") {
  TestServer s({}, nettest::demo_handler());
  IoThreads io(1);  // one thread: if it died, nothing below would run
  Client c(io);
  std::promise<void> thrown;
  ResponseHandler h;
  h.on_done = [&](ClientError, const std::string&) {
    thrown.set_value();
    throw std::runtime_error("a caller's bug");
  };
  c.send(get(s.port(), "/hello"), h);
  REQUIRE(thrown.get_future().wait_for(5s) == std::future_status::ready);
  auto r = fetch(c, get(s.port(), "/hello"));
  CHECK(r.error == ClientError::none);
  CHECK(r.body == "hello");
}

TEST_CASE("client: a request body streamed piece by piece, chunked or with a length", "[net][net-threads]") {
  // The server echoes what it got, read as a stream too.
  TestServer s({}, [](Exchange ex) {
    auto got = std::make_shared<std::string>();
    ex.read_body_stream(
        [got](std::string_view piece, std::function<void()> more) {
          got->append(piece);
          more();
        },
        [got](Exchange& e, BodyStatus st) {
          std::string framing = e.head().chunked ? "chunked" : "length";
          if (st != BodyStatus::ok) return (void)e.respond({400, {}, {}, body_status_name(st), false});
          e.respond({200, {}, {{"X-Framing", framing}}, std::move(*got), false});
        });
  });
  IoThreads io(2);
  Client c(io);
  for (bool sized : {false, true}) {
    INFO("sized " << sized);
    auto pieces = std::make_shared<std::vector<std::string>>(
        std::vector<std::string>{"first piece, ", std::string(100000, 'm'), ", last"});
    auto next = std::make_shared<std::size_t>(0);
    ClientRequest req = get(s.port(), "/up");
    req.method = "POST";
    if (sized) req.body_length = 13 + 100000 + 6;
    req.body_source = [pieces, next](std::function<void(std::string, bool)> put) {
      std::size_t i = (*next)++;
      // From another thread, as a relay would.
      std::thread([put, piece = (*pieces)[i], last = i + 1 == pieces->size()] { put(piece, last); }).detach();
    };
    auto r = fetch(c, req, 1 << 20);
    REQUIRE(r.error == ClientError::none);
    CHECK(r.head.status == 200);
    CHECK(r.body == "first piece, " + std::string(100000, 'm') + ", last");
    CHECK(*r.head.header("X-Framing") == (sized ? "length" : "chunked"));
  }
}
