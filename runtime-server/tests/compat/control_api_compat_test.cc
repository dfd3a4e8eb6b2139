// Compatibility with the reference runtime's control API, stats, /v1/traces
// statuses, metrics and strict policy (issue 11, items 2, 6, 8, 9, 10): the
// requests its clients send, as they send them, and what they expect back.
// Each case names the reference source it is taken from (softprobe/hybrid).
#include <catch2/catch.hpp>

#include <string>

#include "compat/compat_http.hpp"
#include "otlp_builder.hpp"

using compat_test::Answer;
using compat_test::Runtime;
using nlohmann::json;

namespace {

// An OTLP JSON payload with one span of `type` for `session`, shaped as the
// reference's controlapi tests write it (no traceId/spanId, attributes only).
std::string span_payload(const std::string& type, const std::string& session, const std::string& direction,
                         const std::string& path, bool with_status = false) {
  json attrs = json::array();
  auto add = [&](const std::string& k, const std::string& v) {
    attrs.push_back({{"key", k}, {"value", {{"stringValue", v}}}});
  };
  add("sp.span.type", type);
  if (!session.empty()) add("sp.session.id", session);
  add("sp.traffic.direction", direction);
  add("http.request.method", "GET");
  add("url.host", "softprobe-proxy:8084");
  add("url.path", path);
  if (with_status) attrs.push_back({{"key", "http.response.status_code"}, {"value", {{"intValue", 200}}}});
  json doc = {{"resourceSpans", {{{"scopeSpans", {{{"spans", {{{"attributes", attrs}}}}}}}}}}};
  return doc.dump();
}

Answer inject(Runtime& rt, const std::string& session, const std::string& path,
              const std::string& direction = "outbound") {
  return rt.send("POST", "/v1/inject", span_payload("inject", session, direction, path));
}

Answer traces(Runtime& rt, const std::string& payload, const std::string& type = "application/json") {
  return rt.send("POST", "/v1/traces", payload, type);
}

json stats_of(Runtime& rt, const std::string& session) {
  return rt.get("/v1/sessions/" + session + "/stats").json["stats"];
}

// The rules document of TestSessionStatsReturnsInjectHitCounters
// (softprobe-cli/internal/controlapi/session_test.go).
const char* kFragmentRule = R"({
  "version": 1,
  "rules": [
    {
      "name": "fragment-mock",
      "when": {"direction": "outbound", "method": "GET", "path": "/fragment"},
      "then": {"action": "mock", "response": {"status": 200, "body": "{\"dep\":\"ok\"}"}}
    }
  ]
})";

// The value of the sample `series` (name with its labels) in a Prometheus
// text exposition; -1 when absent.
double metric(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + series.size() + 1));
    at += series.size();
  }
  return -1;
}

}  // namespace

// --- Item 2: stats.injectedSpans counts injected answers only -----------------

TEST_CASE("compat stats: a mock hit is one injected span (session_test.go TestSessionStatsReturnsInjectHitCounters)",
          "[compat]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  REQUIRE(rt.send("POST", "/v1/sessions/" + id + "/rules", kFragmentRule).status == 200);
  REQUIRE(inject(rt, id, "/fragment").status == 200);
  json s = stats_of(rt, id);
  CHECK(s["injectedSpans"] == 1);
  CHECK(s["extractedSpans"] == 0);
  CHECK(s["strictMisses"] == 0);
  CHECK(s["decisions"] == 1);
  CHECK(s["passthroughs"] == 0);
}

TEST_CASE("compat stats: a miss is a decision and a passthrough, not an injected span", "[compat]") {
  // `softprobe replay run` reports injectedSpans as hits (issue 11, item 2).
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  REQUIRE(rt.send("POST", "/v1/sessions/" + id + "/rules", kFragmentRule).status == 200);
  REQUIRE(inject(rt, id, "/fragment").status == 200);
  CHECK(inject(rt, id, "/other").status == 404);
  CHECK(inject(rt, id, "/other").status == 404);
  json s = stats_of(rt, id);
  CHECK(s["injectedSpans"] == 1);
  CHECK(s["passthroughs"] == 2);
  CHECK(s["decisions"] == 3);
  CHECK(s["strictMisses"] == 0);
}

TEST_CASE("compat stats: an error rule's answer is an injected span", "[compat]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  json rules = {
      {"version", 1},
      {"rules", {{{"when", {{"path", "/down"}}}, {"then", {{"action", "error"}, {"error", {{"status", 503}}}}}}}}};
  REQUIRE(rt.post("/v1/sessions/" + id + "/rules", rules).status == 200);
  REQUIRE(inject(rt, id, "/down").status == 200);
  json s = stats_of(rt, id);
  CHECK(s["injectedSpans"] == 1);
  CHECK(s["decisions"] == 1);
}

TEST_CASE(
    "compat stats: a strict miss counts in strictMisses only (session_test.go "
    "TestSessionStatsReturnsStrictMissCounters)",
    "[compat]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  REQUIRE(rt.send("POST", "/v1/sessions/" + id + "/policy", R"({"externalHttp":"strict"})").status == 200);
  Answer a = inject(rt, id, "/missing");
  REQUIRE(a.status == 200);  // kept: a 599 response span (docs/runtime.md, "Differences from the reference runtime")
  CHECK(otlp_test::read_answer_json(a.body).status == 599);
  json s = stats_of(rt, id);
  CHECK(s["strictMisses"] == 1);
  CHECK(s["injectedSpans"] == 0);
  CHECK(s["extractedSpans"] == 0);
  CHECK(s["decisions"] == 1);
  CHECK(s["passthroughs"] == 0);
}

TEST_CASE(
    "compat stats: an extract counts in extractedSpans (session_test.go TestSessionStatsReturnsCaptureExtractCounters)",
    "[compat]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "capture"}});
  REQUIRE(traces(rt, span_payload("extract", id, "outbound", "/fragment", true)).status == 200);
  json s = stats_of(rt, id);
  CHECK(s["extractedSpans"] == 1);
  CHECK(s["injectedSpans"] == 0);
  CHECK(s["strictMisses"] == 0);
  CHECK(s["decisions"] == 0);
}

// --- Item 6: /v1/traces statuses ------------------------------------------------

TEST_CASE("compat traces: an extract for an unknown session is 404 unknown_session", "[compat]") {
  Runtime rt;
  Answer a = traces(rt, span_payload("extract", "never-created", "outbound", "/fragment", true));
  CHECK(a.status == 404);
  CHECK(a.json["error"]["code"] == "unknown_session");
  CHECK(a.json["error"]["message"].get<std::string>().find("never-created") != std::string::npos);

  SECTION("the proxy's protobuf upload too") {
    otlp_test::Span span = otlp_test::extract_span("never-created", "api.example.com", "/x", 200, "{}");
    Answer p = traces(rt, otlp_test::to_protobuf({span}), "application/x-protobuf");
    CHECK(p.status == 404);
  }
  SECTION("a closed session is unknown") {
    std::string id = rt.create_session({{"mode", "capture"}});
    REQUIRE(rt.post("/v1/sessions/" + id + "/close?out=c.case.json", json::object()).status == 200);
    CHECK(traces(rt, span_payload("extract", id, "outbound", "/fragment", true)).status == 404);
  }
}

TEST_CASE("compat traces: an extract without sp.session.id is 400", "[compat]") {
  Runtime rt;
  Answer a = traces(rt, span_payload("extract", "", "outbound", "/fragment", true));
  CHECK(a.status == 400);
  CHECK(a.json["error"]["code"] == "invalid_request");
  CHECK(a.json["error"]["message"].get<std::string>().find("sp.session.id") != std::string::npos);
}

TEST_CASE("compat traces: a payload without an extract span is 400", "[compat]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "capture"}});
  Answer a = traces(rt, span_payload("inject", id, "outbound", "/fragment"));
  CHECK(a.status == 400);
  CHECK(a.json["error"]["message"].get<std::string>().find("no extract span") != std::string::npos);
  CHECK(stats_of(rt, id)["extractedSpans"] == 0);
}

TEST_CASE("compat traces: a mixed batch is 200 with partialSuccess for the unknown session", "[compat]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "capture"}});
  otlp_test::Span good = otlp_test::extract_span(id, "api.example.com", "/ok", 200, "{}");
  otlp_test::Span bad = otlp_test::extract_span("gone", "api.example.com", "/ok", 200, "{}");
  Answer a = traces(rt, otlp_test::to_json({good, bad}));
  REQUIRE(a.status == 200);
  CHECK(a.json["partialSuccess"]["rejectedSpans"] == "1");
  CHECK(a.json["partialSuccess"]["errorMessage"].get<std::string>().find("\"gone\"") != std::string::npos);
  CHECK(stats_of(rt, id)["extractedSpans"] == 1);
}

TEST_CASE("compat traces: extracts sent to a replay session are neither recorded nor counted", "[compat]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  Answer a = traces(rt, span_payload("extract", id, "outbound", "/fragment", true));
  CHECK(a.status == 200);
  CHECK(a.json == json::object());
  json state = rt.get("/v1/sessions/" + id + "/state").json;
  CHECK(state["stats"]["extractedSpans"] == 0);
  CHECK(state["capturedExchanges"] == 0);
  CHECK(metric(rt.get("/metrics").body, "softprobe_extracted_spans_total") == 0);
}

// --- Item 8: the reference's metric names ---------------------------------------

TEST_CASE("compat metrics: the reference's four families are exposed (metrics_test.go)", "[compat]") {
  Runtime rt;
  Answer m = rt.get("/metrics");
  REQUIRE(m.status == 200);
  CHECK(m.header("Content-Type").rfind("text/plain", 0) == 0);
  for (const char* name : {"softprobe_sessions_total", "softprobe_inject_requests_total",
                           "softprobe_inject_latency_seconds", "softprobe_extract_spans_total"}) {
    INFO(name);
    CHECK(m.body.find(std::string("# TYPE ") + name + " ") != std::string::npos);
  }
}

TEST_CASE("compat metrics: counters follow the activity (metrics_test.go TestMetricsCountersIncrementOnActivity)",
          "[compat]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  std::string capture = rt.create_session({{"mode", "capture"}});
  REQUIRE(rt.send("POST", "/v1/sessions/" + id + "/rules", kFragmentRule).status == 200);
  REQUIRE(inject(rt, id, "/fragment").status == 200);
  REQUIRE(inject(rt, id, "/other").status == 404);
  REQUIRE(inject(rt, "no-such-session", "/fragment").status == 404);
  REQUIRE(traces(rt, span_payload("extract", capture, "outbound", "/fragment", true)).status == 200);

  std::string text = rt.get("/metrics").body;
  CHECK(text.find("softprobe_sessions_total{mode=\"replay\"} 1\n") != std::string::npos);  // the reference test's line
  CHECK(metric(text, "softprobe_sessions_total{mode=\"capture\"}") == 1);
  CHECK(metric(text, "softprobe_inject_requests_total{outcome=\"hit\",result=\"hit\"}") == 1);
  CHECK(metric(text, "softprobe_inject_requests_total{outcome=\"miss\",result=\"miss\"}") == 1);
  CHECK(metric(text, "softprobe_inject_requests_total{outcome=\"unknown_session\",result=\"error\"}") == 1);
  CHECK(metric(text, "softprobe_inject_latency_seconds_count") == 3);
  CHECK(metric(text, "softprobe_inject_latency_seconds_bucket{le=\"+Inf\"}") == 3);
  CHECK(metric(text, "softprobe_extract_spans_total") == 1);
}

// --- Item 9: the control API surface --------------------------------------------

TEST_CASE("compat state: without a case, caseSummary is {\"traceCount\":0} (inspect_session.go)", "[compat]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  json state = rt.get("/v1/sessions/" + id + "/state").json;
  CHECK(state["caseSummary"] == json({{"traceCount", 0}}));
}

TEST_CASE("compat create session: a bad body is 400 \"invalid create session request\"", "[compat]") {
  Runtime rt;
  for (const char* body : {R"({"mode":"bogus"})", "not json", R"(["replay"])"}) {
    INFO(body);
    Answer a = rt.send("POST", "/v1/sessions", body);
    CHECK(a.status == 400);
    CHECK(a.json["error"]["code"] == "invalid_request");
    std::string message = a.json["error"]["message"];
    CHECK(message.rfind("invalid create session request: ", 0) == 0);
    CHECK(message.size() > std::string("invalid create session request: ").size());  // and then what is wrong
  }
  CHECK(rt.get("/v1/sessions").json["sessions"].empty());
}

TEST_CASE(
    "compat errors: an unknown session is 404 with code unknown_session, which the CLI maps to exit 4 "
    "(exitcodes_test.go TestExitCodeSessionNotFoundOnUnknownSessionEnvelope, main.go classifyHTTPError)",
    "[compat]") {
  Runtime rt;
  const std::string base = "/v1/sessions/missing/";
  for (Answer a : {rt.get(base + "stats"), rt.send("POST", base + "close", "{}"),
                   rt.send("POST", base + "load-case", R"({"version":"1.0.0","caseId":"demo","traces":[]})"),
                   rt.get(base + "state")}) {
    CHECK(a.status == 404);
    CHECK(a.json["error"]["code"] == "unknown_session");
    CHECK(!a.json["error"]["message"].get<std::string>().empty());
  }
}

// --- Item 10: the opt-in strict policy on inbound traffic ----------------------

TEST_CASE(
    "compat strict inbound: \"inboundHttp\":\"strict\" blocks an unmatched inbound request (e2e "
    "TestStrictPolicyBlocksUnmockedTraffic)",
    "[compat]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});

  SECTION("outbound-only stays the default: externalHttp strict lets inbound through") {
    REQUIRE(rt.send("POST", "/v1/sessions/" + id + "/policy", R"({"externalHttp":"strict"})").status == 200);
    CHECK(inject(rt, id, "/unknown", "inbound").status == 404);
    CHECK(stats_of(rt, id)["strictMisses"] == 0);
  }
  SECTION("with inboundHttp strict the proxy gets a 5xx answer for the app's unknown route") {
    REQUIRE(rt.send("POST", "/v1/sessions/" + id + "/policy", R"({"externalHttp":"strict","inboundHttp":"strict"})")
                .status == 200);
    Answer a = inject(rt, id, "/unknown", "inbound");
    REQUIRE(a.status == 200);
    otlp_test::AnswerSpan span = otlp_test::read_answer_json(a.body);
    CHECK(span.status == 599);
    CHECK(json::parse(span.body)["error"] == "strict policy blocked unmatched inbound");
    CHECK(stats_of(rt, id)["strictMisses"] == 1);
    CHECK(rt.get("/v1/sessions/" + id + "/state").json["policy"]["inboundHttp"] == "strict");
  }
  SECTION("inboundHttp strict alone: outbound still passes, a rule still answers inbound") {
    REQUIRE(rt.send("POST", "/v1/sessions/" + id + "/policy", R"({"inboundHttp":"strict"})").status == 200);
    CHECK(inject(rt, id, "/elsewhere").status == 404);
    json rules = {{"version", 1},
                  {"rules",
                   {{{"when", {{"direction", "inbound"}, {"path", "/hello"}}},
                     {"then", {{"action", "mock"}, {"response", {{"status", 200}, {"body", "hi"}}}}}}}}};
    REQUIRE(rt.post("/v1/sessions/" + id + "/rules", rules).status == 200);
    Answer hit = inject(rt, id, "/hello", "inbound");
    REQUIRE(hit.status == 200);
    CHECK(otlp_test::read_answer_json(hit.body).status == 200);
    CHECK(stats_of(rt, id)["strictMisses"] == 0);
  }
  SECTION("a bad value is refused and names the key; the policy stays") {
    Answer a = rt.send("POST", "/v1/sessions/" + id + "/policy", R"({"inboundHttp":"block"})");
    CHECK(a.status == 400);
    CHECK(a.json["error"]["message"].get<std::string>().find("policy.inboundHttp") != std::string::npos);
    CHECK(inject(rt, id, "/unknown", "inbound").status == 404);
  }
}
