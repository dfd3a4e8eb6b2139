// The proxy's pure parts: which headers are forwarded (RFC 9110 7.6.1), the
// session a request names (contract section 8), the trace context an ingress
// request carries to the app (W3C), --listen and --upstream addresses.
#include <algorithm>
#include <catch2/catch.hpp>

#include "forwarded_headers.hpp"
#include "proxy_options.hpp"
#include "request/traceparent.hpp"
#include "session_id.hpp"
#include "trace_context.hpp"

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

TEST_CASE("--upstream takes http://HOST[:PORT]", "[proxy]") {
  CHECK(parse_upstream_url("http://127.0.0.1:3000") == std::make_pair(std::string("127.0.0.1"), std::uint16_t(3000)));
  CHECK(parse_upstream_url("http://app/") == std::make_pair(std::string("app"), std::uint16_t(80)));
  CHECK(parse_upstream_url("http://[::1]:81") == std::make_pair(std::string("::1"), std::uint16_t(81)));
  CHECK_FALSE(parse_upstream_url("https://127.0.0.1:3000"));
  CHECK_FALSE(parse_upstream_url("127.0.0.1:3000"));
  CHECK_FALSE(parse_upstream_url("http://127.0.0.1:3000/api"));
  CHECK_FALSE(parse_upstream_url("http://127.0.0.1:0"));
  CHECK_FALSE(parse_upstream_url("http://"));
}

TEST_CASE("--ingress needs --upstream; --upstream and --egress-listen need --ingress", "[proxy]") {
  ProxyOptions o;
  o.ingress = true;
  CHECK(check_options(o)->message.rfind("--ingress:", 0) == 0);
  o.upstream_host = "127.0.0.1";
  o.upstream_port = 3000;
  o.egress_listener = true;
  CHECK_FALSE(check_options(o));
  o.ingress = false;
  CHECK(check_options(o)->message.rfind("--upstream:", 0) == 0);
  o.upstream_host.clear();
  CHECK(check_options(o)->message.rfind("--egress-listen:", 0) == 0);
}

TEST_CASE("traceparent: a valid one is kept, else a new one", "[proxy]") {
  // (What is valid is the core's parse_traceparent: tests/traceparent_test.cc.)
  auto valid_traceparent = [](std::string_view v) { return core::parse_traceparent(v).has_value(); };
  const std::string good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  net::Headers h = {{"traceparent", good}, {"Accept", "*/*"}};
  add_trace_context(h, "s1");
  CHECK(*net::find_header(h, "traceparent") == good);
  net::Headers bad = {{"traceparent", "garbage"}};
  add_trace_context(bad, "s1");
  REQUIRE(bad.size() == 2);
  CHECK(valid_traceparent(*net::find_header(bad, "traceparent")));
  CHECK(*net::find_header(bad, "traceparent") != "garbage");
  net::Headers two = {{"traceparent", good}, {"traceparent", good}};  // two lines: invalid (W3C)
  add_trace_context(two, "s1");
  CHECK(*net::find_header(two, "traceparent") != good);
}

TEST_CASE("tracestate: the session member first, the others kept, 32 at most", "[proxy]") {
  const std::string_view key = "x-softprobe-session-id";
  CHECK(tracestate_with_member({}, key, "s1") == "x-softprobe-session-id=s1");
  CHECK(tracestate_with_member({"rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"}, key, "s1") ==
        "x-softprobe-session-id=s1,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  // An existing member of the key is replaced; lines join as one list; empty members go.
  CHECK(tracestate_with_member({"a=1,x-softprobe-session-id=old,,", "b=2"}, key, "new") ==
        "x-softprobe-session-id=new,a=1,b=2");
  std::string many;
  for (int i = 0; i < 40; ++i) many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  std::string out = tracestate_with_member({many}, key, "s1");
  CHECK(std::count(out.begin(), out.end(), ',') == 31);  // 32 members
  CHECK(out.find(",k30=v") != std::string::npos);
  CHECK(out.find(",k31=v") == std::string::npos);  // dropped from the right

  net::Headers h = {{"tracestate", "a=1"}, {"Tracestate", "x-softprobe-session-id=old"}};
  add_trace_context(h, "s1");
  REQUIRE(h.size() == 2);
  CHECK(*net::find_header(h, "tracestate") == "x-softprobe-session-id=s1,a=1");
  // A session id that cannot be a tracestate value leaves tracestate as it came.
  CHECK_FALSE(valid_tracestate_value("a,b"));
  CHECK_FALSE(valid_tracestate_value("a=b"));
  CHECK_FALSE(valid_tracestate_value(""));
  CHECK_FALSE(valid_tracestate_value(std::string(257, 'a')));
  net::Headers odd = {{"tracestate", "a=1"}};
  add_trace_context(odd, "a,b");
  CHECK(*net::find_header(odd, "tracestate") == "a=1");
}
