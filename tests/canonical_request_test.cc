#include "request/canonical_request.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "support/errors.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using sp_test::expect_error;

namespace {

CanonicalRequest from_url(std::string_view url, const std::vector<HeaderView>& headers = {}) {
  RequestInput in;
  in.url = url;
  in.headers = headers.data();
  in.header_count = headers.size();
  return canonical_request(in);
}

std::string error_of(const RequestInput& in) {
  return expect_error(ErrorCode::invalid_argument, [&] { canonical_request(in); }).what();
}

std::string url_error(std::string_view url) {
  RequestInput in;
  in.url = url;
  return error_of(in);
}

}  // namespace

TEST_CASE("canonical request: scheme, host and default port of an absolute URL") {
  auto c = from_url("HTTP://User:pw@API.Example.COM:80/a?b=1#frag");
  CHECK(c.scheme == "http");
  CHECK(c.host == "api.example.com");
  CHECK(c.port == 80);
  CHECK(c.url_host == "api.example.com");
  CHECK(c.path == "/a");
  CHECK(c.query == "b=1");
  CHECK(c.url_full() == "http://api.example.com/a?b=1");
  CHECK(from_url("https://h:443").url_host == "h");
  CHECK(from_url("https://h:443").path == "/");
  CHECK(from_url("https://h:8443/").url_host == "h:8443");
  CHECK(from_url("http://h:/x").port == 80);  // an empty port is none (WHATWG)
  CHECK(from_url("http://h:0443/x").url_host == "h:443");
}

TEST_CASE("canonical request: IPv6 literals keep their brackets, in RFC 5952 form") {
  CHECK(from_url("http://[::1]:8080/p").url_host == "[::1]:8080");
  CHECK(from_url("http://[0:0:0:0:0:0:0:1]/").host == "[::1]");
  CHECK(from_url("http://[2001:DB8:0:0:1:0:0:1]/").host == "[2001:db8::1:0:0:1]");
  CHECK(from_url("http://[1:0:0:2:0:0:0:3]/").host == "[1:0:0:2::3]");
  CHECK(from_url("http://[::ffff:1.2.3.4]/").host == "[::ffff:102:304]");
  CHECK(from_url("http://[1:2:3:4:5:6:7:8]:443/").url_host == "[1:2:3:4:5:6:7:8]:443");
  CHECK(from_url("http://[::]/").host == "[::]");
  RequestInput bare;  // the split fields may give a bare IPv6 literal (Python's clients do)
  bare.authority = "0:0::1";
  bare.port = 8080;
  CHECK(canonical_request(bare).url_host == "[::1]:8080");
  CHECK(url_error("http://::1/x").find("invalid port") != std::string::npos);  // a URL needs the brackets
  CHECK(url_error("http://[::1/x").find("IPv6 literal without its closing ']'") != std::string::npos);
  CHECK(url_error("http://[1::2::3]/").find("a second '::'") != std::string::npos);
  CHECK(url_error("http://[12345::]/").find("more than 4 digits") != std::string::npos);
  CHECK(url_error("http://[1:2]/").find("fewer than 8 groups") != std::string::npos);
  CHECK(url_error("http://[::1]x/").find("expected ':' or the end after ']' at byte 12") != std::string::npos);
}

TEST_CASE("canonical request: one path rule (RFC 3986 6.2.2 over the WHATWG encode set)") {
  // Escapes of unreserved characters decoded, other escapes uppercased.
  CHECK(normalize_path("/a%7e/b%2f/%41") == "/a~/b%2F/A");
  // Dot segments removed, also when escaped.
  CHECK(normalize_path("/a/./b/../c") == "/a/c");
  CHECK(normalize_path("/%2e%2E/b/.%2e/c") == "/c");
  CHECK(normalize_path("/a/..") == "/");
  CHECK(normalize_path("/a/.") == "/a/");
  CHECK(normalize_path("/a//b") == "/a//b");
  // What a WHATWG serializer encodes (Node 20's URL), and only that.
  CHECK(normalize_path("/x y\"<>`{}^|[]") == "/x%20y%22%3C%3E%60%7B%7D^|[]");
  CHECK(normalize_path("/\xc3\xa9") == "/%C3%A9");
  CHECK(normalize_path("/a\\b") == "/a/b");
  // A '%' that starts no escape is escaped itself, so the rule is idempotent.
  CHECK(normalize_path("/d%zz") == "/d%25zz");
  CHECK(normalize_path("/d%") == "/d%25");
  CHECK(normalize_path("") == "/");
  CHECK(normalize_path("v1/items") == "/v1/items");
  CHECK(normalize_path("*") == "*");
  for (std::string p : {"/a%7e/b%2f/%41", "/%2e%2E/b/.%2e/c", "/x y\"<>`{}", "/d%zz", "/%%32%35", "/\xc3\xa9/\x01"})
    CHECK(normalize_path(normalize_path(p)) == normalize_path(p));
}

TEST_CASE("canonical request: Node's URL-normalized path and the raw path agree") {
  // What Node 20 gives for new URL("http://h/a%7e/./b/../x y\"é?q=1 2&b=%7e'é").pathname and .search
  const std::string node_path = "/a%7e/x%20y%22%C3%A9", node_query = "q=1%202&b=%7e%27%C3%A9";
  auto raw = from_url("http://h/a%7e/./b/../x y\"\xc3\xa9?q=1 2&b=%7e'\xc3\xa9");
  CHECK(raw.path == normalize_path(node_path));
  CHECK(raw.query == normalize_query(node_query));
  CHECK(raw.path == "/a~/x%20y%22%C3%A9");
  CHECK(raw.query == "q=1%202&b=~%27%C3%A9");
}

TEST_CASE("canonical request: the split fields give the same form as the URL") {
  std::vector<HeaderView> headers = {{"Accept", "*/*"}};
  RequestInput split;
  split.scheme = "HTTPS";
  split.authority = "Example.com";
  split.port = 443;
  split.path = "/a/%7euser";
  split.query = "x=1";
  split.headers = headers.data();
  split.header_count = headers.size();
  auto a = canonical_request(split);
  auto b = from_url("https://example.com/a/~user?x=1", headers);
  CHECK(a.url_full() == b.url_full());
  CHECK(a.headers == b.headers);
  CHECK(canonical_request_json(a) == canonical_request_json(b));

  SECTION("an OTLP url.path carrying ?query with no url.query is split") {
    RequestInput otlp;
    otlp.authority = "h";
    otlp.path = "/p?a=1";
    auto c = canonical_request(otlp);
    CHECK(c.path == "/p");
    CHECK(c.query == "a=1");
  }
  SECTION("a '?' in the path with a query given is part of the path") {
    RequestInput otlp;
    otlp.authority = "h";
    otlp.path = "/p?a=1";
    otlp.query = "b=2";
    auto c = canonical_request(otlp);
    CHECK(c.path == "/p%3Fa=1");
    CHECK(c.query == "b=2");
  }
  SECTION("a request-target takes its host from the Host header") {
    std::vector<HeaderView> h = {{"Host", "Svc.Local:8080"}};
    RequestInput in;
    in.url = "/x?y";
    in.headers = h.data();
    in.header_count = h.size();
    auto c = canonical_request(in);
    CHECK(c.url_host == "svc.local:8080");
    CHECK(c.url_full() == "http://svc.local:8080/x?y");
  }
}

TEST_CASE("canonical request: headers lowercased, repeated lines kept in order, host added once") {
  std::vector<HeaderView> headers = {{"X-A", "1"}, {"Set-Cookie", "a=1"}, {"x-a", "2"}, {"SET-COOKIE", "b=2"}};
  auto c = from_url("http://h:8080/", headers);
  Headers want = {{"host", "h:8080"}, {"x-a", "1"}, {"set-cookie", "a=1"}, {"x-a", "2"}, {"set-cookie", "b=2"}};
  CHECK(c.headers == want);
  CHECK(canonical_request_json(c) ==
        R"({"scheme":"http","host":"h","port":8080,"urlHost":"h:8080","path":"/","query":"","url":"http://h:8080/",)"
        R"("headers":{"host":["h:8080"],"x-a":["1","2"],"set-cookie":["a=1","b=2"]}})");
  // A Host header that was sent is kept as sent (virtual hosting), not added again.
  std::vector<HeaderView> with_host = {{"HOST", "other"}};
  auto d = from_url("http://h/", with_host);
  CHECK(d.headers == Headers{{"host", "other"}});
  // HTTP/2: ":authority" stands for Host, so none is added.
  std::vector<HeaderView> h2 = {{":authority", "svc:9000"}, {":path", "/p"}};
  RequestInput in;
  in.path = "/p";
  in.headers = h2.data();
  in.header_count = h2.size();
  auto e = canonical_request(in);
  CHECK(e.url_host == "svc:9000");
  CHECK(e.headers == Headers{{":authority", "svc:9000"}, {":path", "/p"}});
}

TEST_CASE("canonical request: bad input names the problem and the byte") {
  CHECK(url_error("example.com/x") ==
        "url: expected an absolute URL (scheme://host/path) or a request-target starting with '/' at byte 0");
  CHECK(url_error("http:///x") == "url: missing host at byte 7");
  CHECK(url_error("http://h:8x/") == "url: invalid port \"8x\" at byte 10");
  CHECK(url_error("http://h:65536/") == "url: port 65536 over 65535 at byte 9");
  CHECK(url_error("http://a b/").find("not allowed in a host at byte 8") != std::string::npos);
  CHECK(url_error("1http://h/").find("expected an absolute URL") != std::string::npos);
  auto e = expect_error(ErrorCode::invalid_argument, [] { from_url("http://h:8x/"); });
  CHECK(e.details()["field"] == "url");
  CHECK(e.details()["offset"] == 10);

  RequestInput both;
  both.url = "/x";
  both.path = "/y";
  CHECK(error_of(both) == "url: given together with path or query (give one or the other) at byte 0");

  std::vector<HeaderView> bad_name = {{"ok", "1"}, {"Bad Name", "2"}};
  RequestInput in;
  in.url = "http://h/";
  in.headers = bad_name.data();
  in.header_count = bad_name.size();
  CHECK(error_of(in).find("headers[1].name: byte") != std::string::npos);
  CHECK(error_of(in).find("at byte 3") != std::string::npos);

  std::vector<HeaderView> bad_value = {{"x", "a\r\nb"}};
  in.headers = bad_value.data();
  in.header_count = bad_value.size();
  CHECK(error_of(in).find("headers[0].value: byte CR") != std::string::npos);

  std::vector<HeaderView> pseudo = {{":path", "/x"}};
  in.headers = pseudo.data();
  in.header_count = pseudo.size();
  CHECK(canonical_request(in).headers.back() == std::pair<std::string, std::string>{":path", "/x"});
}

TEST_CASE("canonical request: limits") {
  RequestLimits limits;
  limits.max_url_bytes = 16;
  RequestInput in;
  in.url = "http://h/0123456789";
  auto e = expect_error(ErrorCode::limit_exceeded, [&] { canonical_request(in, limits); });
  CHECK(e.details()["limit"] == "maxUrlBytes");
  CHECK(e.details()["actual"] == 19);

  limits = {};
  limits.max_headers = 1;
  std::vector<HeaderView> two = {{"a", "1"}, {"b", "2"}};
  in.headers = two.data();
  in.header_count = two.size();
  CHECK(expect_error(ErrorCode::limit_exceeded, [&] { canonical_request(in, limits); }).details()["limit"] ==
        "maxHeaders");

  limits = {};
  limits.max_header_bytes = 1;
  std::vector<HeaderView> long_value = {{"a", "12"}};
  in.headers = long_value.data();
  in.header_count = long_value.size();
  CHECK(expect_error(ErrorCode::limit_exceeded, [&] { canonical_request(in, limits); }).details()["limit"] ==
        "maxHeaderBytes");
  // The defaults are the case limits, so whatever is accepted can be captured.
  CHECK(RequestLimits{}.max_headers == CaseLimits{}.max_attributes_per_span);
  CHECK(RequestLimits{}.max_header_bytes == CaseLimits{}.max_string_bytes);
}

TEST_CASE("canonical request: the path and query rules are idempotent on arbitrary bytes") {
  // Deterministic pseudo-random strings over the bytes the rules treat specially.
  const std::string alphabet = "%%%2eE7fAa0/./..\\?#' \"<>`{}^|~-_\x01\x7f\xc3\xa9";
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int i = 0; i < 5000; ++i) {
    std::string s;
    for (std::size_t n = next() % 24; n > 0; --n) s += alphabet[next() % alphabet.size()];
    const std::string p = normalize_path(s), q = normalize_query(s);
    INFO("input: " << s);
    CHECK(normalize_path(p) == p);
    CHECK(normalize_query(q) == q);
    CHECK(p.front() == '/');
    for (std::size_t k = 0; k < p.size(); ++k) {
      auto c = static_cast<unsigned char>(p[k]);
      CHECK((c > 0x20 && c < 0x7f && c != '\\'));  // every byte left is visible ASCII
      if (c == '%') {
        REQUIRE(k + 2 < p.size());  // every '%' starts an escape with uppercase hex
        CHECK(std::string("0123456789ABCDEF").find(p[k + 1]) != std::string::npos);
        CHECK(std::string("0123456789ABCDEF").find(p[k + 2]) != std::string::npos);
      }
    }
  }
}
