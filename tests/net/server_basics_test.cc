// The server's request cycle: keep-alive, pipelining, strict parsing,
// refusals before the body, HEAD, absolute-form targets, timers.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "raw_client.hpp"

using namespace softprobe::net;
using nettest::RawSocket;
using nettest::TestServer;

namespace {

ServerOptions test_options() {
  ServerOptions o;
  o.head_timeout = std::chrono::milliseconds(500);
  o.idle_timeout = std::chrono::milliseconds(1000);
  o.linger_timeout = std::chrono::milliseconds(300);
  o.max_body_bytes = 1 << 20;
  return o;
}

}  // namespace

TEST_CASE("keep-alive: several requests on one connection", "[net]") {
  TestServer s(test_options(), nettest::demo_handler());
  RawSocket c(s.port());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "hello");
    CHECK_FALSE(r->close);
  }
}

TEST_CASE("an HTTP/1.0 request gets an HTTP/1.1 response, kept alive only when asked", "[net]") {
  TestServer s(test_options(), nettest::demo_handler());
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto kept = c.read_response();
  REQUIRE(kept);
  CHECK(kept->head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(softprobe::net::iequals(kept->header("Connection"), "keep-alive"));
  REQUIRE(c.send_all("GET /hello HTTP/1.0\r\n\r\n"));  // 1.0 default: close after
  auto closed = c.read_response();
  REQUIRE(closed);
  CHECK(closed->head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(closed->close);
  CHECK(c.wait_closed());
}

TEST_CASE("pipelined requests in one write are answered in order", "[net]") {
  TestServer s(test_options(), nettest::demo_handler());
  RawSocket c(s.port());
  // The first is answered last by the handler (after 150 ms): order must hold anyway.
  REQUIRE(
      c.send_all("GET /delay?ms=150 HTTP/1.1\r\nHost: x\r\n\r\n"
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
                 "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto a = c.read_response(), b = c.read_response(), d = c.read_response();
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(d);
  CHECK(a->body == "delayed 150");
  CHECK(b->body == "abcde");
  CHECK(d->body == "hello");
}

TEST_CASE("conflicting Content-Length values get 400 and a close", "[net]") {
  TestServer s(test_options(), nettest::demo_handler());
  for (const char* head : {"Content-Length: 5\r\nContent-Length: 6\r\n", "Content-Length: 5, 6\r\n",
                           "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\n"}) {
    INFO(head);
    RawSocket c(s.port());
    REQUIRE(c.send_all(std::string("POST /echo HTTP/1.1\r\nHost: x\r\n") + head + "\r\nabcdef"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->close);
    CHECK(r->body.find("\"invalid_request\"") != std::string::npos);
    CHECK(c.wait_closed());
  }
  // Equal duplicates are one length (RFC 9110 8.6).
  RawSocket c(s.port());
  REQUIRE(c.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "abc");
}

TEST_CASE("malformed request lines get 400", "[net]") {
  TestServer s(test_options(), nettest::demo_handler());
  for (const char* req : {"GET\r\n\r\n", "GET /x HTTP/1.1\r\nBad Header\r\n\r\n", "G@T /x HTTP/1.1\r\n\r\n"}) {
    INFO(req);
    RawSocket c(s.port());
    REQUIRE(c.send_all(req));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET /hello HTTP/2.0\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 505);
}

TEST_CASE("a refusal on the head answers and closes without reading the body", "[net]") {
  std::atomic<int> body_reads{0};
  TestServer s(test_options(), [&](Exchange ex) {
    if (ex.head().path() == "/refuse") return (void)ex.respond(json_error(401, "missing_bearer_token", "no token"));
    ++body_reads;
    ex.read_body([](Exchange& e, BodyStatus) { e.respond({}); });
  });
  RawSocket c(s.port());
  // Declares 10 MiB (over the 1 MiB limit too) and sends only the head: the
  // answer must not wait for the body.
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(c.send_all("POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 10485760\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(nettest::ms_since(t0) < 2000);
  CHECK(r->status == 401);
  CHECK(r->close);
  CHECK(r->body == R"({"error":{"code":"missing_bearer_token","message":"no token"}})");
  CHECK(c.wait_closed());
  CHECK(body_reads == 0);
}

TEST_CASE("a declared body over the limit gets 413 and a close before it is sent", "[net]") {
  TestServer s(test_options(), nettest::demo_handler());
  RawSocket c(s.port());
  REQUIRE(c.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(r->close);
  CHECK(c.wait_closed());
}

TEST_CASE("chunked bodies and Expect: 100-continue", "[net]") {
  TestServer s(test_options(), nettest::demo_handler());
  RawSocket c(s.port());
  REQUIRE(c.send_all(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->body == "abcde");

  REQUIRE(c.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto cont = c.read_response();
  REQUIRE(cont);
  CHECK(cont->status == 100);
  REQUIRE(c.send_all("wxyz"));
  r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "wxyz");
}

TEST_CASE("HEAD gets the length without the body; 204 gets no length", "[net]") {
  TestServer s(test_options(), [](Exchange ex) {
    if (ex.head().path() == "/empty") return (void)ex.respond({204, {}, {}, {}, false});
    ex.respond({200, {}, {}, "twelve bytes", false});
  });
  RawSocket c(s.port());
  REQUIRE(c.send_all("HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response(3000, true);
  REQUIRE(r);
  CHECK(r->header("content-length") == "12");
  REQUIRE(c.send_all("GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 204);
  CHECK(r->header("content-length").empty());
  REQUIRE(c.send_all("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  REQUIRE(r);
  CHECK(r->body == "twelve bytes");  // the connection stayed in step
}

TEST_CASE("a response header with CR/LF is a 500, not an injected header", "[net]") {
  TestServer s(test_options(), [](Exchange ex) { ex.respond({200, {}, {{"X-A", "1\r\nX-Injected: 1"}}, "b", false}); });
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(r->header("x-injected").empty());
}

TEST_CASE("a response header over Beast's 65,535-byte field limit is a 500, not a crash", "[net]") {
  TestServer s(test_options(), [](Exchange ex) {
    ex.respond({200, {}, {{"X-Fat", std::string(70000, 'f')}}, "b", false});
  });
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(r->body.find("X-Fat") != std::string::npos);
}

TEST_CASE("absolute-form and authority-form targets reach the handler", "[net]") {
  std::mutex mu;
  std::vector<std::string> seen;
  TestServer s(test_options(), [&](Exchange ex) {
    Target t = ex.head().parsed_target();
    {
      std::lock_guard lock(mu);
      seen.push_back(std::string(t.scheme) + "|" + std::string(t.authority) + "|" + std::string(t.path) + "|" +
                     std::string(t.query));
    }
    ex.respond({200, {}, {}, "ok", false});
  });
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET http://example.test:8080/a/b?q=1 HTTP/1.1\r\nHost: example.test:8080\r\n\r\n"));
  REQUIRE(c.read_response());
  REQUIRE(c.send_all("GET http://example.test HTTP/1.1\r\nHost: example.test\r\n\r\n"));
  REQUIRE(c.read_response());
  std::lock_guard lock(mu);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == "http|example.test:8080|/a/b|q=1");
  CHECK(seen[1] == "http|example.test|/|");
}

TEST_CASE("parse_target and parse_authority", "[net]") {
  CHECK(parse_target("/p?q", false).form == Target::Form::origin);
  CHECK(parse_target("example.test:443", true).form == Target::Form::authority);
  CHECK(parse_target("*", false).form == Target::Form::asterisk);
  CHECK(parse_target("nope", false).form == Target::Form::invalid);
  CHECK(parse_target("/a#frag", false).form == Target::Form::invalid);
  auto hp = parse_authority("[::1]:8443", 80);
  REQUIRE(hp);
  CHECK(hp->host == "::1");
  CHECK(hp->port == 8443);
  hp = parse_authority("example.test", 80);
  REQUIRE(hp);
  CHECK(hp->port == 80);
  CHECK_FALSE(parse_authority("h:0", 80));
  CHECK_FALSE(parse_authority("h:70000", 80));
  CHECK_FALSE(parse_authority("u@h:1", 80));
  CHECK_FALSE(parse_authority(":80", 80));
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout", "[net]") {
  auto o = test_options();
  o.idle_timeout = std::chrono::milliseconds(300);
  TestServer s(o, nettest::demo_handler());
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(c.read_response());
  auto t0 = std::chrono::steady_clock::now();
  CHECK(c.wait_closed(3000));
  auto ms = nettest::ms_since(t0);
  CHECK(ms >= 250);
  CHECK(ms < 2500);
}

TEST_CASE("a head not complete by the head deadline gets 408 and a close", "[net]") {
  TestServer s(test_options(), nettest::demo_handler());
  RawSocket c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(c.send_all("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // no blank line
  auto r = c.read_response(3000);
  REQUIRE(r);
  CHECK(r->status == 408);
  CHECK(nettest::ms_since(t0) >= 450);
  CHECK(c.wait_closed());
}

TEST_CASE("on_complete reports route, status and duration of each request", "[net]") {
  std::mutex mu;
  std::vector<std::pair<std::string, int>> done;
  int bad_records = 0;
  auto o = test_options();
  o.on_complete = [&](const Completed& c) {  // on an io thread: record, check on the test's thread
    std::lock_guard lock(mu);
    done.emplace_back(std::string(c.route), c.status);
    if (!c.written || c.duration < std::chrono::steady_clock::duration::zero()) ++bad_records;
  };
  TestServer s(o, nettest::demo_handler());
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  // on_complete runs after the write, maybe after the client read it: wait for it, bounded.
  auto wait_for = [&](std::size_t n) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(mu);
        if (done.size() >= n) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  REQUIRE(c.read_response());
  REQUIRE(c.read_response());
  wait_for(2);
  RawSocket bad(s.port());
  REQUIRE(bad.send_all("BAD\r\n\r\n"));
  REQUIRE(bad.read_response());
  wait_for(3);
  std::lock_guard lock(mu);
  REQUIRE(done.size() == 3);
  CHECK(bad_records == 0);
  CHECK(done[0] == std::pair<std::string, int>("hello", 200));
  CHECK(done[1] == std::pair<std::string, int>("", 404));
  CHECK(done[2] == std::pair<std::string, int>("", 400));
}

TEST_CASE("a handler that drops the exchange unanswered gets a 500, not a hang", "[net]") {
  TestServer s(test_options(), [](Exchange) {});
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 500);
}

TEST_CASE("a handler or continuation that throws gets a 500 naming the error", "[net]") {
  TestServer s(test_options(), [](Exchange ex) {
    if (ex.head().path() == "/later")
      return (void)ex.read_body([](Exchange&, BodyStatus) { throw std::runtime_error("boom in then"); });
    throw std::runtime_error("boom");
  });
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(r->body.find("boom") != std::string::npos);
  r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(r->body.find("boom in then") != std::string::npos);
}

TEST_CASE("the listen address must be an IP address of this machine", "[net]") {
  IoThreads io(1);
  ServerOptions o;
  o.host = "not-an-ip";
  CHECK_THROWS_WITH(Server(io, o, nettest::demo_handler()), Catch::Contains("not an IP address"));
  ServerOptions taken;
  Server first(io, taken, nettest::demo_handler());
  taken.port = first.port();
  CHECK_THROWS_WITH(Server(io, taken, nettest::demo_handler()), Catch::Contains("cannot listen on 127.0.0.1:"));
}

TEST_CASE("an answer given while the body is still being read stops the read", "[net]") {
  std::atomic<int> continuations{0};
  TestServer s(test_options(), [&](Exchange ex) {
    ex.read_body([&](Exchange&, BodyStatus) { ++continuations; });
    ex.respond(json_error(403, "invalid_bearer_token", "decided before the body arrived"));
  });
  RawSocket c(s.port());
  // Half of the declared body: the read is still waiting when the answer comes.
  REQUIRE(c.send_all("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcde"));
  auto r = c.read_response(3000);
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(r->close);
  CHECK(c.wait_closed());
  CHECK(continuations == 0);
}
