// Drop-in compatibility, issue 11: the exact calls of two more reference
// clients, from their public sources in softprobe/hybrid.
//  - The Envoy/WASM proxy (spec/protocol/proxy-otel-api.md, and the spans it
//    captured in getting-started/cases/hello.case.json): POST /v1/inject and
//    /v1/traces with an OTLP TracesData in protobuf (its default) or JSON,
//    `Accept` naming the answer's format; the request described by Envoy's
//    pseudo-headers (:method, :path, :authority) beside url.host/url.path,
//    without http.request.method. A hit is 200 with a TracesData whose span
//    carries http.response.status_code / http.response.header.<name> /
//    http.response.body (what its parser reads); a miss is 404.
//  - The Java SDK's Client (softprobe-java/src/main/java/com/softprobe/Client.java):
//    POST /v1/sessions {"mode":"..."}, /load-case, /rules, /close "{}", all
//    with content-type application/json; any non-2xx throws; the answer is
//    read by a regex over "key": "string" | true | false | -?\d+ pairs, each
//    number through Integer.valueOf (so it must fit in 32 bits).
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>

#include "compat/compat_http.hpp"
#include "otlp_builder.hpp"

using compat_test::Answer;
using compat_test::Runtime;
using nlohmann::json;
using otlp_test::Attr;
using otlp_test::Span;

namespace {

// The span the WASM proxy sends for an outbound GET, as Envoy describes it.
Span envoy_span(const std::string& type, const std::string& session, const std::string& path) {
  Span s;
  s.name = path;
  s.attrs = {Attr::str("sp.service.name", "checkout"),
             Attr::str("sp.traffic.direction", "outbound"),
             Attr::str("sp.span.type", type),
             Attr::str("sp.session.id", session),
             Attr::str("http.request.header.:authority", "127.0.0.1:8082"),
             Attr::str("http.request.header.:method", "GET"),
             Attr::str("http.request.header.:path", path),
             Attr::str("http.request.header.:scheme", "http"),
             Attr::str("http.request.header.user-agent", "curl/8.7.1"),
             Attr::str("http.request.header.tracestate", "x-softprobe-session-id=" + session),
             Attr::str("url.path", path),
             Attr::str("url.host", "127.0.0.1:8082")};
  return s;
}

void mock_hello(Runtime& rt, const std::string& id) {
  json rules = {{"version", 1},
                {"rules", json::array({{{"when", {{"host", "127.0.0.1:8082"}, {"path", "/hello"}, {"method", "GET"}}},
                                        {"then",
                                         {{"action", "mock"},
                                          {"response",
                                           {{"status", 200},
                                            {"headers", {{"content-type", "application/json"}}},
                                            {"body", "{\"message\":\"hello\"}"}}}}}}})}};
  REQUIRE(rt.post("/v1/sessions/" + id + "/rules", rules).status == 200);
}

// What the Java Client reads from an answer: its regex and Integer.valueOf.
bool java_client_can_read(const std::string& body) {
  static const std::regex field(R"re("([^"]+)"\s*:\s*("((?:\\.|[^"])*)"|true|false|-?\d+))re");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), field); it != std::sregex_iterator(); ++it) {
    std::string raw = (*it)[2];
    if (raw.front() == '"' || raw == "true" || raw == "false") continue;
    long long v = std::stoll(raw);
    if (v < INT32_MIN || v > INT32_MAX) return false;  // Integer.valueOf would throw
  }
  return true;
}

}  // namespace

TEST_CASE("compat WASM proxy: inject in protobuf, answered in protobuf; a miss is 404", "[compat][proxy]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  mock_hello(rt, id);
  const httplib::Headers accept_pb = {{"Accept", "application/x-protobuf"}};
  Answer hit = rt.send("POST", "/v1/inject", otlp_test::to_protobuf({envoy_span("inject", id, "/hello")}, "checkout"),
                       "application/x-protobuf", accept_pb);
  REQUIRE(hit.status == 200);
  CHECK(hit.header("Content-Type") == "application/x-protobuf");
  otlp_test::AnswerSpan a = otlp_test::read_answer_protobuf(hit.body);
  CHECK(a.status == 200);  // the method came from :method (no http.request.method in Envoy's span)
  CHECK(a.headers["content-type"] == "application/json");
  CHECK(a.body == "{\"message\":\"hello\"}");

  Answer miss = rt.send("POST", "/v1/inject", otlp_test::to_protobuf({envoy_span("inject", id, "/other")}, "checkout"),
                        "application/x-protobuf", accept_pb);
  CHECK(miss.status == 404);  // the proxy forwards upstream
  CHECK(miss.body.empty());
}

TEST_CASE("compat WASM proxy: inject in JSON, answered in JSON", "[compat][proxy]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  mock_hello(rt, id);
  Answer hit = rt.send("POST", "/v1/inject", otlp_test::to_json({envoy_span("inject", id, "/hello")}, "checkout"),
                       "application/json", {{"Accept", "application/json"}});
  REQUIRE(hit.status == 200);
  otlp_test::AnswerSpan a = otlp_test::read_answer_json(hit.body);
  CHECK(a.status == 200);
  CHECK(a.body == "{\"message\":\"hello\"}");
}

TEST_CASE("compat WASM proxy: an extract upload in protobuf is recorded and written with hex ids", "[compat][proxy]") {
  runtime_test::TempDir dir;
  Runtime rt({"--capture-dir", dir.path()});
  std::string id = rt.create_session({{"mode", "capture"}});
  Span s = envoy_span("extract", id, "/hello");
  s.attrs.push_back(Attr::str("http.response.header.:status", "200"));
  s.attrs.push_back(Attr::i64("http.response.status_code", 200));
  s.attrs.push_back(Attr::str("http.response.header.content-type", "application/json"));
  s.attrs.push_back(Attr::str("http.response.body", "{\"dep\":\"ok\"}\n"));
  Answer up = rt.send("POST", "/v1/traces", otlp_test::to_protobuf({s}, "checkout"), "application/x-protobuf");
  REQUIRE(up.status == 200);  // 2xx: accepted
  Answer closed = rt.send("POST", "/v1/sessions/" + id + "/close", "{}");
  REQUIRE(closed.status == 200);
  std::ifstream in(closed.json["capturePath"].get<std::string>());
  json doc = json::parse(in);
  const json& span = doc["traces"][0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  CHECK(span["traceId"] == s.trace_id);  // protobuf bytes, written as OTLP JSON's hex
  CHECK(span["spanId"] == s.span_id);
  bool status_header_line = false;
  for (const auto& attr : span["attributes"]) status_header_line |= attr["key"] == "http.response.header.:status";
  CHECK(status_header_line);  // kept as written (a tag, not a header line a client would see)
}

TEST_CASE("compat Java SDK Client: its four calls succeed and every answer reads through its regex", "[compat][java]") {
  Runtime rt;
  const std::string json_type = "application/json";
  Answer created = rt.send("POST", "/v1/sessions", R"({"mode":"replay"})", json_type);
  REQUIRE(created.status == 200);
  CHECK(java_client_can_read(created.body));
  std::string id = created.json["sessionId"];
  std::smatch m;
  REQUIRE(std::regex_search(created.body, m, std::regex(R"re("sessionId"\s*:\s*"([^"]+)")re")));
  CHECK(m[1] == id);  // what Client.sessions().create() returns as sessionId

  const std::string base = "/v1/sessions/" + id;
  // A case as the SDK's tests write it (no span ids: filled in, with warnings the regex skips).
  std::string case_json =
      R"({"version":"1.0.0","caseId":"java-case","traces":[{"resourceSpans":[{"scopeSpans":[{"spans":[)"
      R"({"attributes":[{"key":"sp.span.type","value":{"stringValue":"extract"}},)"
      R"({"key":"url.path","value":{"stringValue":"/v1/price"}}]}]}]}]}]})";
  Answer loaded = rt.send("POST", base + "/load-case", case_json, json_type);
  REQUIRE(loaded.status == 200);
  CHECK(java_client_can_read(loaded.body));
  Answer rules = rt.send(
      "POST", base + "/rules",
      R"({"version":1,"rules":[{"when":{"path":"/v1/price"},"then":{"action":"mock","response":{"status":200,"body":"7"}}}]})",
      json_type);
  REQUIRE(rules.status == 200);
  CHECK(java_client_can_read(rules.body));
  Answer closed = rt.send("POST", base + "/close", "{}", json_type);
  REQUIRE(closed.status == 200);
  CHECK(java_client_can_read(closed.body));
  CHECK(std::regex_search(closed.body, std::regex(R"re("closed"\s*:\s*true)re")));
  // A non-2xx is what it throws on: an unknown session stays a 404.
  CHECK(rt.send("POST", base + "/close", "{}", json_type).status == 404);
}
