// The proxy's pure parts: which headers are forwarded (RFC 9110 7.6.1), the
// session a request names (contract section 8), --listen addresses.
#include <catch2/catch.hpp>

#include "forwarded_headers.hpp"
#include "proxy_options.hpp"
#include "session_id.hpp"

using namespace softprobe;
using namespace softprobe::proxy;

namespace {
std::vector<std::string> names(const net::Headers& h) {
  std::vector<std::string> out;
  for (const auto& x : h) out.push_back(x.name);
  return out;
}
}  // namespace

TEST_CASE("hop-by-hop fields and the session header are not forwarded", "[proxy]") {
  net::Headers in = {{"Host", "a"},
                     {"Connection", "keep-alive, X-Hop"},
                     {"X-Hop", "1"},
                     {"Keep-Alive", "t=5"},
                     {"Proxy-Connection", "keep-alive"},
                     {"TE", "trailers"},
                     {"Trailer", "X"},
                     {"Transfer-Encoding", "chunked"},
                     {"Upgrade", "h2c"},
                     {"Proxy-Authorization", "Basic x"},
                     {"X-Softprobe-Session-Id", "s1"},
                     {"Accept", "*/*"}};
  CHECK(names(forwarded_headers(in)) == std::vector<std::string>{"Host", "Accept"});
  net::Headers body = {{"Content-Length", "3"}, {"Content-Encoding", "gzip"}, {"Content-Type", "x"}};
  CHECK(names(forwarded_request_headers(body)) == std::vector<std::string>{"Content-Type"});
}

TEST_CASE("an upgrade keeps its Upgrade and Connection: Upgrade", "[proxy]") {
  net::Headers in = {
      {"Connection", "keep-alive, Upgrade"}, {"Upgrade", "websocket"}, {"Keep-Alive", "5"}, {"Sec-WebSocket-Key", "k"}};
  net::Headers out = forwarded_headers(in, true);
  REQUIRE(out.size() == 3);
  CHECK(out[0].name == "Connection");
  CHECK(out[0].value == "Upgrade");
  CHECK(out[1].name == "Upgrade");
  CHECK(out[2].name == "Sec-WebSocket-Key");
}

TEST_CASE("the session comes from the header, else from tracestate", "[proxy]") {
  CHECK(session_id_of({{"x-softprobe-session-id", " s1 "}, {"tracestate", "x-softprobe-session-id=s2"}}) == "s1");
  CHECK(session_id_of({{"tracestate", "vendor=a"}, {"Tracestate", "b=1, x-softprobe-session-id=s2 ,c=3"}}) == "s2");
  CHECK(session_id_of({{"tracestate", "vendor=x-softprobe-session-id"}}).empty());
  CHECK(session_id_of({}).empty());
  CHECK(tracestate_member("a=1,b=2", "b") == "2");
}

TEST_CASE("--listen takes HOST:PORT, port 0 included", "[proxy]") {
  CHECK(parse_listen_address("127.0.0.1:0") == std::make_pair(std::string("127.0.0.1"), std::uint16_t(0)));
  CHECK(parse_listen_address("[::1]:8084") == std::make_pair(std::string("::1"), std::uint16_t(8084)));
  CHECK_FALSE(parse_listen_address("127.0.0.1"));
  CHECK_FALSE(parse_listen_address(":80"));
  CHECK_FALSE(parse_listen_address("h:65536"));
  CHECK_FALSE(parse_listen_address("h:8x"));
  CHECK_FALSE(parse_listen_address("::1:80"));
}

TEST_CASE("flags that only work together", "[proxy]") {
  ProxyOptions o;
  o.mode = ProxyMode::capture;
  REQUIRE(check_options(o));
  CHECK(check_options(o)->message.rfind("--out:", 0) == 0);
  o.out_path = "x.case.json";
  CHECK_FALSE(check_options(o));
  o.case_path = "c.case.json";
  CHECK(check_options(o)->message.rfind("--case:", 0) == 0);
}
