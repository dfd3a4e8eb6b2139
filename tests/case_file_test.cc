#include "case/case_file.hpp"

#include "case/case_lookup.hpp"
#include "support/text.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;
using sp_test::expect_error;
using sp_test::fixture;

TEST_CASE("the golden fragment case parses into one outbound exchange", "[case]") {
  CaseFile c = parse_case(fixture("fragment-happy-path.case.json"));
  CHECK(c.case_id == "fragment-happy-path");
  CHECK(c.version == "1.0.0");
  CHECK(c.trace_count == 1);
  REQUIRE(c.exchanges.size() == 1);
  const HttpExchange& ex = c.exchanges[0];
  CHECK(ex.direction == "outbound");
  CHECK(ex.span_type == "extract");
  CHECK(ex.service == "api");  // from the resource's service.name
  CHECK(ex.host == "softprobe-proxy:8084");
  CHECK(ex.path == "/fragment");
  CHECK(ex.method == "GET");
  REQUIRE(ex.status);
  CHECK(*ex.status == 200);
  CHECK(ex.response_body == "{\"dep\":\"ok\"}\n");
}

TEST_CASE("a case with no traces parses", "[case]") {
  CaseFile c = parse_case(fixture("minimal.case.json"));
  CHECK(c.case_id == "example-minimal");
  CHECK(c.exchanges.empty());
}

TEST_CASE("every AnyValue kind decodes", "[case]") {
  CaseFile c = parse_case(fixture("all-kinds.case.json"));
  REQUIRE(c.exchanges.size() == 4);
  const HttpExchange& post = c.exchanges[0];
  CHECK(post.status == 201);  // intValue given as a decimal string
  CHECK(post.query == "expand=customer");
  CHECK(post.scheme == "https");
  CHECK(post.service == "checkout");
  CHECK(post.start_time_unix_nano == "1713175200000000000");
  CHECK(post.end_time_unix_nano == "1713175200050000000");  // a JSON number is accepted too
  CHECK(post.request_headers == Headers{{"content-type", "application/json"}});
  auto tag = [&](const std::string& key) {
    for (const auto& [k, v] : post.tags)
      if (k == key) return v;
    return std::string("<absent>");
  };
  CHECK(tag("app.retry") == "true");
  CHECK(tag("app.ratio") == "0.25");
  CHECK(tag("app.count") == "7");
  CHECK(json::parse(tag("app.list"))["values"].size() == 2);
  CHECK(json::parse(tag("app.map"))["values"][0]["key"] == "k");
  const HttpExchange& png = c.exchanges[1];
  CHECK(png.status == 200);                                       // intValue as a JSON number
  CHECK(png.response_body == std::string("\x89PNG\x00\xff", 6));  // bytesValue decoded
  CHECK(c.exchanges[2].service == "gateway");
  CHECK_FALSE(c.exchanges[3].status);          // no response on this span
  CHECK(c.extra["owner"] == "team-payments");  // unknown top-level keys are kept
  CHECK(c.rules.size() == 1);
}

TEST_CASE("malformed case input gets an error naming the problem and the place", "[case][errors]") {
  SECTION("not JSON") {
    auto e = expect_error(ErrorCode::invalid_json, [] { parse_case("{\"version\": \"1.0.0\", "); });
    CHECK_THAT(e.what(), Catch::Contains("not valid JSON"));
    CHECK(e.details().contains("byte"));
  }
  SECTION("missing traces") {
    auto e = expect_error(ErrorCode::invalid_case, [] { parse_case(R"({"version":"1.0.0","caseId":"x"})"); });
    CHECK_THAT(e.what(), Catch::Contains("$: missing required key \"traces\""));
  }
  SECTION("caseId not a string") {
    auto e = expect_error(ErrorCode::invalid_case, [] { parse_case(R"({"caseId":7,"traces":[]})"); });
    CHECK_THAT(e.what(), Catch::Contains("$.caseId: must be a string"));
  }
  SECTION("span kind that is neither an integer nor a string") {
    auto e = expect_error(ErrorCode::invalid_case, [] {
      parse_case(R"({"caseId":"x","traces":[{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":[2]}]}]}]}]})");
    });
    CHECK_THAT(
        e.what(),
        Catch::Contains("$.traces[0].resourceSpans[0].scopeSpans[0].spans[0].kind: must be an integer or a string"));
  }
  SECTION("traces not an array") {
    auto e = expect_error(ErrorCode::invalid_case, [] { parse_case(R"({"version":"1","caseId":"x","traces":{}})"); });
    CHECK_THAT(e.what(), Catch::Contains("$.traces: must be an array"));
  }
  SECTION("intValue that is not a number") {
    auto e = expect_error(ErrorCode::invalid_case, [] {
      parse_case(
          R"({"version":"1","caseId":"x","traces":[{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"a","spanId":"b","attributes":[{"key":"http.response.status_code","value":{"intValue":"2o0"}}]}]}]}]}]})");
    });
    CHECK_THAT(e.what(), Catch::Contains("attributes[0].value.intValue: intValue \"2o0\" is not a decimal integer"));
  }
  SECTION("bad base64") {
    auto e = expect_error(ErrorCode::invalid_case, [] {
      parse_case(
          R"({"version":"1","caseId":"x","traces":[{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"a","spanId":"b","attributes":[{"key":"http.response.body","value":{"bytesValue":"!!"}}]}]}]}]}]})");
    });
    CHECK_THAT(e.what(), Catch::Contains("bytesValue: is not valid base64"));
  }
  SECTION("unknown AnyValue kind") {
    auto e = expect_error(ErrorCode::invalid_case, [] {
      parse_case(
          R"({"version":"1","caseId":"x","traces":[{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"a","spanId":"b","attributes":[{"key":"k","value":{"textValue":"x"}}]}]}]}]}]})");
    });
    CHECK_THAT(e.what(), Catch::Contains("unknown AnyValue kind \"textValue\""));
  }
}

namespace {

json one_span_case(std::size_t spans, std::size_t attrs, std::size_t string_bytes) {
  json span_list = json::array();
  for (std::size_t i = 0; i < spans; ++i) {
    json a = json::array();
    for (std::size_t k = 0; k < attrs; ++k)
      a.push_back({{"key", "k" + std::to_string(k)}, {"value", {{"stringValue", "v"}}}});
    if (string_bytes)
      a.push_back({{"key", "http.response.body"}, {"value", {{"stringValue", std::string(string_bytes, 'x')}}}});
    span_list.push_back({{"traceId", "t"}, {"spanId", "s" + std::to_string(i)}, {"attributes", a}});
  }
  return {{"version", "1.0.0"},
          {"caseId", "limits"},
          {"traces",
           json::array({{{"resourceSpans", json::array({{{"scopeSpans", json::array({{{"spans", span_list}}})}}})}}})}};
}

}  // namespace

TEST_CASE("case limits are enforced with errors naming the limit, and can be raised explicitly", "[case][limits]") {
  SECTION("the defaults are sized for real traffic") {
    CaseLimits d;
    CHECK(d.max_spans == 10'000);
    CHECK(d.max_attributes_per_span == 1'024);
    CHECK(d.max_string_bytes == 16u << 20);
    CHECK(d.max_trace_bytes == 256u << 20);
    CHECK(d.max_case_bytes == 256u << 20);
  }
  SECTION("spans per case") {
    CHECK(parse_case(one_span_case(150, 1, 0).dump()).exchanges.size() == 150);  // refused before the 2026-12 defaults
    std::string text = one_span_case(10'001, 1, 0).dump();
    auto e = expect_error(ErrorCode::limit_exceeded, [&] { parse_case(text); });
    CHECK_THAT(e.what(), Catch::Contains("maxSpans"));
    CHECK(e.details()["limit"] == "maxSpans");
    CaseLimits raised;
    raised.max_spans = 20'000;
    CHECK(parse_case(text, raised).exchanges.size() == 10'001);
  }
  SECTION("attributes per span") {
    std::string text = one_span_case(1, 1'025, 0).dump();
    auto e = expect_error(ErrorCode::limit_exceeded, [&] { parse_case(text); });
    CHECK(e.details()["limit"] == "maxAttributesPerSpan");
    CHECK_THAT(e.what(), Catch::Contains("spans[0].attributes"));
    CaseLimits raised;
    raised.max_attributes_per_span = 2'000;
    CHECK(parse_case(text, raised).exchanges[0].tags.size() == 1'025);
  }
  SECTION("bytes per string attribute") {
    CHECK(parse_case(one_span_case(1, 0, 64 * 1024 + 1).dump()).exchanges.size() ==
          1);  // refused before the 2026-12 defaults
    std::size_t max = 16u << 20;
    std::string text = one_span_case(1, 0, max + 1).dump();
    auto e = expect_error(ErrorCode::limit_exceeded, [&] { parse_case(text); });
    CHECK(e.details()["limit"] == "maxStringBytes");
    CHECK(e.details()["actual"] == max + 1);
    CHECK(parse_case(one_span_case(1, 0, max).dump()).exchanges[0].response_body.size() == max);  // at the limit: fine
  }
  SECTION("bytes per trace document") {
    CaseLimits lowered;
    lowered.max_trace_bytes = 1024 * 1024;
    std::string text = one_span_case(1, 0, 1024 * 1024).dump();
    auto e = expect_error(ErrorCode::limit_exceeded, [&] { parse_case(text, lowered); });
    CHECK(e.details()["limit"] == "maxTraceBytes");
    CHECK_THAT(e.what(), Catch::Contains("$.traces[0]"));
    CHECK(parse_case(text).exchanges.size() == 1);
  }
  SECTION("bytes per case file") {
    CaseLimits lowered;
    lowered.max_case_bytes = 1000;
    std::string text = one_span_case(1, 0, 2000).dump();
    auto e = expect_error(ErrorCode::limit_exceeded, [&] { parse_case(text, lowered); });
    CHECK(e.details()["limit"] == "maxCaseBytes");
    CHECK(e.details()["actual"] == text.size());
  }
  SECTION("limits from JSON") {
    CaseLimits l = case_limits_from_json(json{{"maxSpans", 5}, {"maxStringBytes", 10}, {"maxCaseBytes", 99}});
    CHECK(l.max_spans == 5);
    CHECK(l.max_string_bytes == 10);
    CHECK(l.max_case_bytes == 99);
    CHECK(l.max_attributes_per_span == 1'024);
    auto e = expect_error(ErrorCode::invalid_argument, [] { case_limits_from_json(json{{"maxSpan", 5}}); });
    CHECK_THAT(e.what(), Catch::Contains("limits.maxSpan: unknown limit"));
    expect_error(ErrorCode::invalid_argument, [] { case_limits_from_json(json{{"maxSpans", -1}}); });
    expect_error(ErrorCode::invalid_argument, [] { case_limits_from_json(json{{"maxSpans", 0}}); });
    // 2^64 - 1 is an unsigned JSON integer: not wrapped into something else.
    expect_error(ErrorCode::invalid_argument,
                 [] { case_limits_from_json(json::parse(R"({"maxSpans":18446744073709551615})")); });
  }
}

TEST_CASE("writing a case round-trips and is stable", "[case][write]") {
  CaseFile c = parse_case(fixture("all-kinds.case.json"));
  std::string first = serialize_case(c);
  CaseFile back = parse_case(first);
  std::string second = serialize_case(back);
  CHECK(first == second);  // two writes of the same content are byte-identical
  REQUIRE(back.exchanges.size() == c.exchanges.size());
  for (std::size_t i = 0; i < c.exchanges.size(); ++i) {
    const auto& a = c.exchanges[i];
    const auto& b = back.exchanges[i];
    CHECK(a.span_id == b.span_id);
    CHECK(a.trace_id == b.trace_id);
    CHECK(a.method == b.method);
    CHECK(a.host == b.host);
    CHECK(a.path == b.path);
    CHECK(a.status == b.status);
    CHECK(a.response_body == b.response_body);  // binary bodies survive via bytesValue
    CHECK(a.service == b.service);
  }
  CHECK(back.extra["owner"] == "team-payments");
  // Stable top-level order: version, caseId, suite, mode, createdAt, traces, rules, fixtures, then kept keys.
  auto pos = [&](const char* key) { return first.find(std::string("\"") + key + "\":"); };
  CHECK(pos("version") < pos("caseId"));
  CHECK(pos("caseId") < pos("suite"));
  CHECK(pos("createdAt") < pos("traces"));
  CHECK(pos("fixtures") < pos("owner"));
  CHECK(first.find("\n  \"caseId\"") != std::string::npos);  // pretty-printed
  // Binary body written as bytesValue, text as stringValue.
  CHECK(first.find("\"bytesValue\": \"iVBORwD/\"") != std::string::npos);
}

// Regressions found by the case_json fuzzer.
TEST_CASE("writing keeps a response body that has no status code", "[case][write][regression]") {
  CaseFile c;
  c.case_id = "x";
  HttpExchange ex;
  ex.trace_id = "t";
  ex.span_id = "s";
  ex.response_body = "partial";
  c.exchanges.push_back(ex);
  CHECK(parse_case(serialize_case(c)).exchanges[0].response_body == "partial");
}

TEST_CASE("writing non-UTF-8 values outside bodies uses bytesValue", "[case][write][regression]") {
  CaseFile c;
  c.case_id = "x";
  HttpExchange ex;
  ex.trace_id = "t";
  ex.span_id = "s";
  ex.tags = {{"app.raw", std::string("\x89\xff", 2)}};
  ex.request_headers = {{"x-bin", std::string("\xc3", 1)}};
  c.exchanges.push_back(ex);
  std::string text = serialize_case(c);  // used to throw json type_error 316
  CaseFile back = parse_case(text);
  CHECK(back.exchanges[0].tags[0].second == std::string("\x89\xff", 2));
  CHECK(back.exchanges[0].request_headers[0].second == std::string("\xc3", 1));
}

TEST_CASE("a number too large for a double is invalid JSON, not a crash", "[case][errors][regression]") {
  std::string huge(400, '8');
  expect_error(ErrorCode::invalid_json, [&] { parse_case(huge + "e888"); });
}

TEST_CASE("writing preserves span order across interleaved traces", "[case][write][regression]") {
  CaseFile c;
  c.case_id = "x";
  for (const char* id : {"a1", "b1", "a2", "b2"}) {
    HttpExchange ex;
    ex.trace_id = std::string("trace-") + id[0];
    ex.span_id = id;
    ex.service = id[1] == '1' ? "one" : "two";
    c.exchanges.push_back(ex);
  }
  CaseFile back = parse_case(serialize_case(c));
  REQUIRE(back.exchanges.size() == 4);
  CHECK(back.exchanges[0].span_id == "a1");
  CHECK(back.exchanges[1].span_id == "b1");
  CHECK(back.exchanges[2].span_id == "a2");
  CHECK(back.exchanges[3].span_id == "b2");
  CHECK(back.exchanges[3].service == "two");
}

TEST_CASE("deeply nested JSON is refused before parsing, not a stack overflow", "[case][errors][regression]") {
  std::string deep = std::string(200000, '[') + std::string(200000, ']');
  auto e = expect_error(ErrorCode::invalid_json, [&] { parse_case(deep); });
  CHECK_THAT(e.what(), Catch::Contains("deeper than 256 levels"));
  CHECK(e.details()["byte"] == 256);
  // Brackets inside strings do not count; 256 levels are fine.
  CHECK(text::json_depth_exceeded_at(R"({"a":"[[[[[[[[\"[[["})", 2) == std::string_view::npos);
  CHECK(text::json_depth_exceeded_at(std::string(256, '[') + std::string(256, ']')) == std::string_view::npos);
}

TEST_CASE("intValue out of the int64 range is an error naming the place, not a wrap", "[case][errors][regression]") {
  for (const char* v : {"9223372036854775808", "18446744073709551615", "1e300", "-1e300"}) {
    json c = json::parse(R"({"version":"1.0.0","caseId":"x","traces":[{"resourceSpans":[{"scopeSpans":[{"spans":[
      {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"051581bf3cb55c13","attributes":[
      {"key":"http.response.status_code","value":{"intValue":)" +
                         std::string(v) + R"(}}]}]}]}]}]})");
    auto e = expect_error(ErrorCode::invalid_case, [&] { parse_case(c.dump()); });
    CHECK_THAT(e.what(), Catch::Contains("spans[0].attributes[0]"));
  }
}

TEST_CASE("repeated headers are written as one arrayValue with a string per line, and read back apart",
          "[case][write][headers]") {
  CaseFile c;
  c.case_id = "cookies";
  HttpExchange ex;
  ex.trace_id = "5b8efff798038103d269b633813fc60c";
  ex.span_id = "051581bf3cb55c13";
  ex.method = "GET";
  ex.host = "a.test";
  ex.path = "/login";
  ex.status = 200;
  ex.request_headers = {{"accept", "text/html"}};
  ex.response_headers = {{"set-cookie", "a=1; Path=/"}, {"content-type", "text/html"}, {"set-cookie", "b=2, c=3"}};
  c.exchanges.push_back(ex);
  std::string text = serialize_case(c);
  json doc = json::parse(text);
  json attrs = doc["traces"][0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"];
  json cookie, accept;
  for (const auto& a : attrs) {
    if (a["key"] == "http.response.header.set-cookie") cookie = a["value"];
    if (a["key"] == "http.request.header.accept") accept = a["value"];
  }
  CHECK(cookie ==
        json::parse(R"({"arrayValue":{"values":[{"stringValue":"a=1; Path=/"},{"stringValue":"b=2, c=3"}]}})"));
  CHECK(accept == json::parse(R"({"stringValue":"text/html"})"));  // a header sent once stays a string
  CaseFile back = parse_case(text);
  const Headers& h = back.exchanges[0].response_headers;
  CHECK(std::count(h.begin(), h.end(), std::pair<std::string, std::string>{"set-cookie", "a=1; Path=/"}) == 1);
  CHECK(std::count(h.begin(), h.end(), std::pair<std::string, std::string>{"set-cookie", "b=2, c=3"}) == 1);
  // findInCase hands the lines as a list, which a mock rule replays as separate lines.
  json match = exchange_match_json(back.exchanges[0]);
  CHECK(match["response"]["headers"]["set-cookie"] == json::array({"a=1; Path=/", "b=2, c=3"}));
  CHECK(match["response"]["headers"]["content-type"] == "text/html");
}

TEST_CASE("a legacy joined header string is read as one line", "[case][headers]") {
  json c = json::parse(R"({"version":"1.0.0","caseId":"x","traces":[{"resourceSpans":[{"scopeSpans":[{"spans":[
    {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"051581bf3cb55c13","attributes":[
    {"key":"http.response.status_code","value":{"intValue":200}},
    {"key":"http.response.header.set-cookie","value":{"stringValue":"a=1, b=2"}}]}]}]}]}]})");
  CaseFile back = parse_case(c.dump());
  REQUIRE(back.exchanges[0].response_headers.size() == 1);
  CHECK(back.exchanges[0].response_headers[0].second == "a=1, b=2");
}

namespace {

// A traces[] entry with the given spans (each a JSON object).
json entry(const std::vector<json>& spans) {
  json list = json::array();
  for (const auto& s : spans) list.push_back(s);
  json scope = {{"spans", list}};
  json resource = {{"scopeSpans", json::array({scope})}};
  return {{"resourceSpans", json::array({resource})}};
}

json get_span(const char* path) {
  return {{"attributes", json::array({{{"key", "http.request.method"}, {"value", {{"stringValue", "GET"}}}},
                                      {{"key", "url.host"}, {"value", {{"stringValue", "api.example"}}}},
                                      {{"key", "url.path"}, {"value", {{"stringValue", path}}}}})}};
}

}  // namespace

TEST_CASE("cases without span ids, version or caseId load with generated values and warnings (issue 11)",
          "[case][compat]") {
  // The reference SDKs write spans without traceId/spanId, some without version/caseId.
  json doc = {{"traces", json::array({entry({get_span("/a"), get_span("/b")}), entry({get_span("/c")})})}};
  CaseFile c = parse_case(doc.dump());
  CHECK(c.version == "1.0.0");
  CHECK(text::starts_with(c.case_id, "case-"));
  REQUIRE(c.exchanges.size() == 3);
  for (const auto& ex : c.exchanges) {
    CHECK(ex.trace_id.size() == 32);
    CHECK(ex.span_id.size() == 16);
  }
  CHECK(c.exchanges[0].trace_id == c.exchanges[1].trace_id);  // one entry, one trace
  CHECK(c.exchanges[0].trace_id != c.exchanges[2].trace_id);
  CHECK(c.exchanges[0].span_id != c.exchanges[1].span_id);
  REQUIRE(c.warnings.size() == 3);
  CHECK_THAT(c.warnings[0], Catch::Contains("$.version is missing"));
  CHECK_THAT(c.warnings[1], Catch::Contains("$.caseId is missing"));
  CHECK_THAT(c.warnings[2], Catch::Contains("3 span(s) had no traceId or spanId (the first in $.traces[0])"));
  // Deterministic: the same case loads with the same ids.
  CaseFile again = parse_case(doc.dump());
  CHECK(again.case_id == c.case_id);
  CHECK(again.exchanges[2].span_id == c.exchanges[2].span_id);
  // A complete case has nothing to say.
  CHECK(parse_case(fixture("fragment-happy-path.case.json")).warnings.empty());
}

TEST_CASE("span ids are read in one form: hex lowercased, base64 converted, names kept", "[case][ids]") {
  json upper = get_span("/a"), b64 = get_span("/b"), named = get_span("/c");
  upper["traceId"] = "4BF92F3577B34DA6A3CE929D0E0E4736";
  upper["spanId"] = "00F067AA0BA902B7";
  b64["traceId"] = "AAAAAGnpwoMAAAAABctiGA==";  // as Go's protojson and the reference proxy write them
  b64["spanId"] = "GKjqBXrASP4=";
  b64["parentSpanId"] = "fdh1/slGVXw=";
  named["traceId"] = "ndjson-cassette-load-trace";
  named["spanId"] = "span-1";
  CaseFile c = parse_case(
      json{{"version", "1.0.0"}, {"caseId", "ids"}, {"traces", json::array({entry({upper, b64, named})})}}.dump());
  REQUIRE(c.exchanges.size() == 3);
  CHECK(c.exchanges[0].trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(c.exchanges[0].span_id == "00f067aa0ba902b7");
  CHECK(c.exchanges[1].trace_id == "0000000069e9c2830000000005cb6218");
  CHECK(c.exchanges[1].span_id == "18a8ea057ac048fe");
  CHECK(c.exchanges[1].parent_span_id == "7dd875fec946557c");
  CHECK(c.exchanges[2].trace_id == "ndjson-cassette-load-trace");
  CHECK(c.exchanges[2].span_id == "span-1");
  CHECK(c.warnings.empty());
}

TEST_CASE("traces[] entries stay apart when written back, even with one trace id", "[case][write][compat]") {
  json a = get_span("/a"), b = get_span("/b");
  a["traceId"] = b["traceId"] = "4bf92f3577b34da6a3ce929d0e0e4736";
  a["spanId"] = "00f067aa0ba902b1";
  b["spanId"] = "00f067aa0ba902b2";
  CaseFile c = parse_case(
      json{{"version", "1.0.0"}, {"caseId", "two"}, {"traces", json::array({entry({a}), entry({b})})}}.dump());
  CHECK(c.trace_count == 2);
  json written = json::parse(serialize_case(c));
  CHECK(written["traces"].size() == 2);  // each upload or hop is its own entry (the seed documents)
  CHECK(parse_case(written.dump()).trace_count == 2);
}

TEST_CASE("a span without a request body is written without one", "[case][write][compat]") {
  CaseFile c;
  c.case_id = "x";
  HttpExchange ex;
  ex.trace_id = "t";
  ex.span_id = "s";
  ex.method = "GET";
  ex.status = 200;
  c.exchanges.push_back(ex);
  std::string text = serialize_case(c);
  CHECK(text.find("http.request.body") == std::string::npos);
  CHECK(text.find("http.response.body") != std::string::npos);  // a response is written whole
}

TEST_CASE("HTTP/2 pseudo-headers are not header lines; the request falls back on them", "[case][headers][compat]") {
  // Envoy (the reference proxy) reports :method, :path, :authority, :scheme and :status as headers.
  json span = {
      {"attributes", json::array({
                         {{"key", "http.request.header.:method"}, {"value", {{"stringValue", "POST"}}}},
                         {{"key", "http.request.header.:path"}, {"value", {{"stringValue", "/hello"}}}},
                         {{"key", "http.request.header.:authority"}, {"value", {{"stringValue", "127.0.0.1:8082"}}}},
                         {{"key", "http.request.header.:scheme"}, {"value", {{"stringValue", "http"}}}},
                         {{"key", "http.request.header.accept"}, {"value", {{"stringValue", "*/*"}}}},
                         {{"key", "http.response.header.:status"}, {"value", {{"stringValue", "201"}}}},
                         {{"key", "http.response.header.content-type"}, {"value", {{"stringValue", "text/plain"}}}},
                     })}};
  CaseFile c = parse_case(json{{"caseId", "pseudo"}, {"traces", json::array({entry({span})})}}.dump());
  REQUIRE(c.exchanges.size() == 1);
  const HttpExchange& ex = c.exchanges[0];
  CHECK(ex.method == "POST");
  CHECK(ex.path == "/hello");
  CHECK(ex.host == "127.0.0.1:8082");
  CHECK(ex.scheme == "http");
  CHECK(ex.status == 201);
  CHECK(ex.request_headers == Headers{{"accept", "*/*"}});
  CHECK(ex.response_headers == Headers{{"content-type", "text/plain"}});  // a client never sees ":status"
  // Kept as written: the pseudo-headers round-trip.
  CHECK(serialize_case(c).find("http.response.header.:status") != std::string::npos);
}
