// The server's limits: head size and header count (431), body size (413)
// including decoded size (gzip bombs), max connections (503).
#include <catch2/catch.hpp>

#include <thread>

#include "raw_client.hpp"

using namespace softprobe::net;
using nettest::RawSocket;
using nettest::TestServer;

namespace {

ServerOptions limit_options() {
  ServerOptions o;
  o.head_timeout = std::chrono::milliseconds(5000);
  o.linger_timeout = std::chrono::milliseconds(300);
  o.max_body_bytes = 1 << 20;
  return o;
}

std::string post(std::string_view encoding, std::string_view body) {
  std::string r = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!encoding.empty()) r += "Content-Encoding: " + std::string(encoding) + "\r\n";
  return r + "\r\n" + std::string(body);
}

}  // namespace

TEST_CASE("a 64 MiB request line is cut at the head limit without being buffered", "[net]") {
  TestServer s(limit_options(), nettest::demo_handler());
  long before = nettest::rss_kib();
  RawSocket c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.send_reading("GET /", std::size_t(64) << 20, 'a', 10000);
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(r->close);
  CHECK(nettest::ms_since(t0) < 5000);
  long growth = nettest::rss_kib() - before;
  INFO("RSS growth " << growth << " KiB");
  CHECK(growth < 8 * 1024);
}

TEST_CASE("a 64 MiB header line is cut at the head limit", "[net]") {
  TestServer s(limit_options(), nettest::demo_handler());
  long before = nettest::rss_kib();
  RawSocket c(s.port());
  auto r = c.send_reading("GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", std::size_t(64) << 20, 'b', 10000);
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(r->body.find("65536 bytes") != std::string::npos);
  long growth = nettest::rss_kib() - before;
  INFO("RSS growth " << growth << " KiB");
  CHECK(growth < 8 * 1024);
}

TEST_CASE("the head limit is configurable (the proxy's 8 KiB)", "[net]") {
  auto o = limit_options();
  o.max_head_bytes = 8 * 1024;
  TestServer s(o, nettest::demo_handler());
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET /hello HTTP/1.1\r\nHost: x\r\nX-A: " + std::string(9000, 'a') + "\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 431);
  RawSocket ok(s.port());
  REQUIRE(ok.send_all("GET /hello HTTP/1.1\r\nHost: x\r\nX-A: " + std::string(7000, 'a') + "\r\n\r\n"));
  r = ok.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("6,000 headers get 431", "[net]") {
  TestServer s(limit_options(), nettest::demo_handler());
  SECTION("of 8 KB each: the head limit") {
    std::string head = "GET /hello HTTP/1.1\r\nHost: x\r\n";
    std::string value(8000, 'v');
    RawSocket c(s.port());
    std::string first = head;
    for (int i = 0; i < 10; ++i) first += "X-H" + std::to_string(i) + ": " + value + "\r\n";
    auto r = c.send_reading(first, std::size_t(6000) * 8010, 'v', 10000);
    REQUIRE(r);
    CHECK(r->status == 431);
  }
  SECTION("small ones: the count limit") {
    std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 6000; ++i) req += "a" + std::to_string(i) + ":b\r\n";  // ~50 KB: under the size limit
    REQUIRE(req.size() < 64 * 1024);
    req += "\r\n";
    RawSocket c(s.port());
    REQUIRE(c.send_all(req));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(r->body.find("over the limit of 100") != std::string::npos);
  }
  SECTION("100 headers are fine") {
    std::string req = "GET /hello HTTP/1.1\r\n";
    for (int i = 0; i < 100; ++i) req += "a" + std::to_string(i) + ":b\r\n";
    RawSocket c(s.port());
    REQUIRE(c.send_all(req + "\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}

TEST_CASE("gzip, deflate and br bodies are decoded", "[net]") {
  TestServer s(limit_options(), nettest::demo_handler());
  std::string text = "the body, " + std::string(10000, 'x');
  std::string zlib = nettest::compress(text, false);
  std::string raw_deflate = zlib.substr(2, zlib.size() - 6);  // no zlib header or Adler-32
  for (auto [enc, body] : {std::pair<const char*, std::string>{"gzip", nettest::compress(text, true)},
                           {"x-gzip", nettest::compress(text, true)},
                           {"deflate", zlib},
                           {"deflate", raw_deflate},
                           {"br", nettest::compress_br(text)},
                           {"BR", nettest::compress_br(text)},
                           {"identity", text}}) {
    INFO(enc);
    RawSocket c(s.port());
    REQUIRE(c.send_all(post(enc, body)));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == text);
  }
}

TEST_CASE("a body that does not decode, or an unknown coding, is refused", "[net]") {
  TestServer s(limit_options(), nettest::demo_handler());
  std::string gz = nettest::compress("some text", true);
  std::string br = nettest::compress_br(std::string(5000, 'q') + "some text");
  struct Case {
    const char* enc;
    std::string body;
    int status;
  };
  for (const auto& k :
       {Case{"gzip", "not gzip at all", 400}, Case{"gzip", gz.substr(0, gz.size() - 5), 400},
        Case{"gzip", gz + "trailing", 400}, Case{"br", "not brotli", 400}, Case{"br", br.substr(0, br.size() / 2), 400},
        Case{"zstd", "xx", 415}, Case{"gzip, gzip", gz, 415}}) {
    INFO(k.enc << " " << k.body.size());
    RawSocket c(s.port());
    REQUIRE(c.send_all(post(k.enc, k.body)));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == k.status);
    CHECK(r->close);
  }
}

TEST_CASE("a gzip bomb gets 413 quickly: decoding stops at the body limit", "[net]") {
  TestServer s(limit_options(), nettest::demo_handler());
  std::string bomb = nettest::compress(std::string(std::size_t(16) << 20, '\0'), true);
  REQUIRE(bomb.size() < 64 * 1024);  // 16 MiB of zeros in a few KiB
  RawSocket c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(c.send_all(post("gzip", bomb)));
  auto r = c.read_response(5000);
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(r->close);
  CHECK(nettest::ms_since(t0) < 2000);
}

TEST_CASE("a brotli bomb gets 413 quickly too", "[net]") {
  TestServer s(limit_options(), nettest::demo_handler());
  std::string bomb = nettest::compress_br(std::string(std::size_t(16) << 20, '\0'));
  REQUIRE(bomb.size() < 64 * 1024);
  RawSocket c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(c.send_all(post("br", bomb)));
  auto r = c.read_response(5000);
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(nettest::ms_since(t0) < 2000);
}

TEST_CASE("an undeclared (chunked) body over the limit gets 413", "[net]") {
  TestServer s(limit_options(), nettest::demo_handler());
  RawSocket c(s.port());
  std::string chunk(64 * 1024, 'c');
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
  std::string one = std::string(size) + chunk + "\r\n";
  std::string first = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) first += one;  // 1.25 MiB
  auto r = c.send_reading(first, first.size(), 'c', 10000);
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(r->close);
}

TEST_CASE("past max_connections new connections get 503 and a close", "[net]") {
  auto o = limit_options();
  o.max_connections = 4;
  TestServer s(o, nettest::demo_handler());
  std::vector<RawSocket> held;
  for (int i = 0; i < 4; ++i) {
    held.emplace_back(s.port());
    REQUIRE(held.back().send_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = held.back().read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  CHECK(s.server.connections() == 4);
  RawSocket over(s.port());
  auto r = over.read_response();
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->close);
  CHECK(r->body.find("too_many_connections") != std::string::npos);
  CHECK(over.wait_closed());
  // A place freed is a place taken.
  held.pop_back();
  for (int i = 0; i < 100 && s.server.connections() != 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  RawSocket again(s.port());
  REQUIRE(again.send_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = again.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
}
