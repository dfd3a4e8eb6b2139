// Exchange::respond_streaming: a body sent piece by piece (chunked, or with
// a declared length), with back-pressure; what happens when it goes wrong.
#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include "raw_client.hpp"
#include "softprobe/net/client.hpp"

using namespace softprobe::net;
using nettest::RawSocket;
using nettest::TestServer;
using namespace std::chrono_literals;

namespace {

// Writes pieces[i..] one after the other, each once the previous is written, then finishes.
void write_from(BodyWriter w, std::shared_ptr<std::vector<std::string>> pieces, std::size_t i, bool finish = true) {
  if (i == pieces->size()) {
    if (finish) w.finish();
    return;
  }
  w.write((*pieces)[i], [w, pieces, i, finish](bool ok) {
    if (ok) write_from(w, pieces, i + 1, finish);
  });
}

Handler streaming_handler() {
  return [](Exchange ex) {
    auto pieces = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"one,", "two,", "three"});
    std::string_view path = ex.head().path();
    std::optional<std::uint64_t> length;
    if (path == "/sized") length = 13;
    if (path == "/short") length = 20;  // declares more than it sends
    bool finish = path != "/dropped";
    ex.respond_streaming({200, {}, {{"Content-Type", "text/plain"}}, "ignored", false}, length,
                         [pieces, finish](std::optional<BodyWriter> w) {
                           if (!w) return;  // the client went away (the tests then see no body)
                           // From another thread, as a proxy relaying an upstream would.
                           std::thread([w = *w, pieces, finish] {
                             std::this_thread::sleep_for(10ms);
                             write_from(w, pieces, 0, finish);
                           }).detach();
                         });
  };
}

}  // namespace

TEST_CASE("a streamed body is sent chunked, then the connection serves the next request", "[net][net-threads]") {
  TestServer s({}, streaming_handler());
  IoThreads io(1);
  Client c(io);
  for (int i = 0; i < 2; ++i) {
    auto p = std::make_shared<std::promise<FetchResult>>();
    ClientRequest req;
    req.host = "127.0.0.1";
    req.port = s.port();
    req.target = "/chunked";
    c.fetch(req, 1024, [p](FetchResult r) { p->set_value(std::move(r)); });
    auto f = p->get_future();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    auto r = f.get();
    REQUIRE(r.error == ClientError::none);
    CHECK(r.head.chunked);
    CHECK(r.body == "one,two,three");
  }
  CHECK(c.stats().connections_opened == 1);
}

TEST_CASE("a streamed body with a declared length", "[net][net-threads]") {
  TestServer s({}, streaming_handler());
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET /sized HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->header("content-length") == "13");
  CHECK(r->header("transfer-encoding").empty());
  CHECK(r->body == "one,two,three");
  REQUIRE(c.send_all("HEAD /sized HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response(3000, true);
  REQUIRE(r);
  CHECK(r->header("content-length") == "13");
  REQUIRE(c.send_all("GET /sized HTTP/1.1\r\nHost: x\r\n\r\n"));  // still in step after the HEAD
  r = c.read_response();
  REQUIRE(r);
  CHECK(r->body == "one,two,three");
}

TEST_CASE("a streamed body shorter than declared, or abandoned, ends by closing", "[net][net-threads]") {
  TestServer s({}, streaming_handler());
  for (const char* path : {"/short", "/dropped"}) {
    INFO(path);
    RawSocket c(s.port());
    REQUIRE(c.send_all(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(c.wait_closed(3000));
  }
}

TEST_CASE("a streamed 204 or 304 is a head without a body, and the connection stays in step", "[net][net-threads]") {
  // A proxy relays an upstream's 204 or 304 with respond_streaming: the head goes out without
  // framing (a 304 keeps the length given), pieces are dropped, finish() ends it.
  TestServer s({}, [](Exchange ex) {
    std::string_view path = ex.head().path();
    int status = path == "/304" ? 304 : 204;
    std::optional<std::uint64_t> length;
    if (path == "/304") length = 13;
    if (path == "/204-sized") length = 5;
    ex.respond_streaming({status, {}, {{"ETag", "\"v1\""}}, "", false}, length, [](std::optional<BodyWriter> w) {
      if (!w) return;
      w->write("dropped", [w = *w](bool ok) mutable {
        if (ok) w.finish();
      });
    });
  });
  RawSocket c(s.port());
  for (int i = 0; i < 2; ++i) {
    REQUIRE(c.send_all("GET /204 HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 204);
    CHECK(r->header("content-length").empty());
    CHECK(r->header("transfer-encoding").empty());
    CHECK(r->header("etag") == "\"v1\"");
    CHECK_FALSE(r->close);
    REQUIRE(c.send_all("GET /304 HTTP/1.1\r\nHost: x\r\n\r\n"));
    r = c.read_response(3000, true);  // no body follows its Content-Length
    REQUIRE(r);
    CHECK(r->status == 304);
    CHECK(r->header("content-length") == "13");
    CHECK(r->header("transfer-encoding").empty());
    CHECK_FALSE(r->close);
  }
  CHECK(c.take_buffered().empty());  // nothing was sent after the heads
  REQUIRE(c.send_all("GET /204-sized HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(r->body.find("status 204 cannot have a body") != std::string::npos);

  IoThreads io(1);  // and the client reads it as a whole response
  Client client(io);
  auto p = std::make_shared<std::promise<FetchResult>>();
  ClientRequest req;
  req.host = "127.0.0.1";
  req.port = s.port();
  req.target = "/204";
  client.fetch(req, 1024, [p](FetchResult fr) { p->set_value(std::move(fr)); });
  auto f = p->get_future();
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto fr = f.get();
  CHECK(fr.error == ClientError::none);
  CHECK(fr.head.status == 204);
  CHECK(fr.body.empty());
}

namespace {

// Collects a streamed request body; answers with it. Every third `more` comes
// from another thread; with `stall`, `more` is never called.
Handler streamed_echo(bool stall = false) {
  return [stall](Exchange ex) {
    auto got = std::make_shared<std::string>();
    auto pieces = std::make_shared<int>(0);
    ex.read_body_stream(
        [got, pieces, stall](std::string_view piece, std::function<void()> more) {
          got->append(piece);
          if (stall) return;
          if (++*pieces % 3 == 0) std::thread([more] { more(); }).detach();
          else more();
        },
        [got, pieces](Exchange& e, BodyStatus s) {
          if (s != BodyStatus::ok)
            return (void)e.respond(json_error(s == BodyStatus::too_large ? 413 : 400, body_status_name(s), "streamed"));
          e.respond({200,
                     {},
                     {{"X-Pieces", std::to_string(*pieces)}, {"X-Body-Empty", e.body().empty() ? "yes" : "no"}},
                     std::move(*got),
                     false});
        });
  };
}

std::string sample_text(std::size_t n) {
  std::string s;
  s.reserve(n);
  for (std::size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i * 7919 % 100003) + "\n";
  s.resize(n);
  return s;
}

}  // namespace

TEST_CASE("a request body streamed to the handler piece by piece, decoded", "[net][net-threads]") {
  ServerOptions o;
  o.max_body_bytes = 1 << 20;
  TestServer s(o, streamed_echo());
  std::string text = sample_text(300 * 1024);
  for (bool gzip : {false, true}) {
    INFO("gzip " << gzip);
    std::string body = gzip ? nettest::compress(text, true) : text;
    RawSocket c(s.port());
    REQUIRE(c.send_all("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                       (gzip ? "Content-Encoding: gzip\r\n" : "") + "\r\n" + body));
    auto r = c.read_response(5000);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == text);
    CHECK(std::stoi(r->header("x-pieces")) > 1);
    CHECK(r->header("x-body-empty") == "yes");  // streamed: body() is not filled
    CHECK_FALSE(r->close);
  }
}

TEST_CASE("a streamed request body still stops at the body limit", "[net][net-threads]") {
  ServerOptions o;
  o.max_body_bytes = 100 * 1024;
  TestServer s(o, streamed_echo());
  std::string gz = nettest::compress(sample_text(300 * 1024), true);  // small on the wire, 300 KiB decoded
  RawSocket c(s.port());
  REQUIRE(c.send_all("POST /up HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: " +
                     std::to_string(gz.size()) + "\r\n\r\n" + gz));
  auto r = c.read_response(5000);
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(r->close);
}

TEST_CASE("a consumer that stops taking pieces is cut at the body timeout", "[net][net-threads]") {
  ServerOptions o;
  o.body_timeout = std::chrono::milliseconds(300);
  TestServer s(o, streamed_echo(true));
  std::string text = sample_text(200 * 1024);
  RawSocket c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.send_reading("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(text.size()) + "\r\n\r\n",
                          text.size() + 100, 'z', 5000);
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("failed") != std::string::npos);
  CHECK(nettest::ms_since(t0) < 3000);
}

TEST_CASE("a consumer that holds `more` without calling it is cut at the body timeout", "[net][net-threads]") {
  ServerOptions o;
  o.body_timeout = std::chrono::milliseconds(300);
  std::mutex mu;
  std::vector<std::function<void()>> held;  // kept, never called
  TestServer s(o, [&](Exchange ex) {
    ex.read_body_stream(
        [&](std::string_view, std::function<void()> more) {
          std::lock_guard lock(mu);
          held.push_back(std::move(more));
        },
        [](Exchange& e, BodyStatus st) { e.respond(json_error(400, body_status_name(st), "streamed")); });
  });
  std::string text = sample_text(200 * 1024);
  RawSocket c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.send_reading("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(text.size()) + "\r\n\r\n",
                          text.size() + 100, 'z', 5000);
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("failed") != std::string::npos);
  auto ms = nettest::ms_since(t0);
  CHECK(ms >= 250);
  CHECK(ms < 3000);
  std::lock_guard lock(mu);
  held.clear();  // (before the server goes: these hold its connection)
}
