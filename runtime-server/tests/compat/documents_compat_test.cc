// Issue 11, items 1, 4, 5 and 9b: the rule documents the reference clients
// send (softprobe/hybrid), byte for byte, each answered as the reference
// runtime answers it: 200 with {"sessionId","sessionRevision"} (plus our
// "warnings" for a deprecated form), and GET .../rules echoing the document.
#include <catch2/catch.hpp>

#include "compat/compat_http.hpp"

using compat_test::Answer;
using compat_test::Runtime;
using nlohmann::json;

namespace {

// The string value of attribute `key` anywhere in an OTLP JSON answer.
std::string attribute(const json& j, const std::string& key) {
  if (j.is_object()) {
    if (j.contains("key") && j["key"] == key && j.contains("value") && j["value"].contains("stringValue"))
      return j["value"]["stringValue"].get<std::string>();
    for (const auto& [k, v] : j.items()) {
      (void)k;
      if (std::string s = attribute(v, key); !s.empty()) return s;
    }
  } else if (j.is_array()) {
    for (const auto& v : j)
      if (std::string s = attribute(v, key); !s.empty()) return s;
  }
  return "";
}

// An outbound inject span as the proxy sends it (OTLP JSON), for `path`.
std::string inject_json(const std::string& session, const std::string& path) {
  return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"051581bf3cb55c13",
    "name":"HTTP GET","attributes":[{"key":"sp.span.type","value":{"stringValue":"inject"}},
    {"key":"sp.session.id","value":{"stringValue":")" +
         session + R"("}},
    {"key":"sp.traffic.direction","value":{"stringValue":"outbound"}},
    {"key":"http.request.method","value":{"stringValue":"GET"}},
    {"key":"url.host","value":{"stringValue":"softprobe-proxy:8084"}},
    {"key":"url.path","value":{"stringValue":")" +
         path + R"("}}]}]}]}]})";
}

void check_mutation(const Answer& a, const std::string& id, int revision) {
  INFO(a.body);
  REQUIRE(a.status == 200);
  CHECK(a.json["sessionId"] == id);
  CHECK(a.json["sessionRevision"] == revision);
}

}  // namespace

// softprobe-cli/cmd/softprobe/suite_pipeline.go: runSuitePipelineCase posts
// json.Marshal(map{"version":1,"rules":rules}); buildRuleJSON writes an inline
// mock's response as {"status","headers","body"}, and a suite mock without
// `headers:` leaves the Go map nil, which marshals as null. Go sorts map keys.
TEST_CASE("suite run: an inline mock with \"headers\": null is registered and answers", "[compat]") {
  Runtime rt;
  std::string id = rt.create_session(json::parse(R"({"mode":"replay"})"));  // suiteStartSession's body
  REQUIRE(!id.empty());
  const std::string body =
      R"({"rules":[{"name":"fragment","then":{"action":"mock","response":{"body":"{\"dep\":\"ok\"}","headers":null,"status":200}},)"
      R"("when":{"direction":"outbound","method":"GET","path":"/fragment"}}],"version":1})";
  Answer a = rt.send("POST", "/v1/sessions/" + id + "/rules", body);
  check_mutation(a, id, 1);
  CHECK(!a.json.contains("warnings"));
  CHECK(rt.get("/v1/sessions/" + id + "/rules").json == json::parse(body));

  Answer hit = rt.send("POST", "/v1/inject", inject_json(id, "/fragment"));
  INFO(hit.body);
  REQUIRE(hit.status == 200);
  CHECK(attribute(hit.json, "http.response.body") == R"({"dep":"ok"})");
}

// spec/examples/rules/strict-block.rule.json, as `softprobe session rules
// apply --file strict-block.rule.json` sends it (main.go,
// normalizeRulesPayload: a JSON file goes through unchanged).
TEST_CASE("rules apply: one rule object on its own is a one-rule document", "[compat]") {
  Runtime rt;
  std::string id = rt.create_session(json::parse(R"({"mode":"replay"})"));
  REQUIRE(!id.empty());
  const std::string file = R"({
  "id": "block-unknown-external",
  "priority": 1000,
  "consume": "many",
  "when": {
    "direction": "outbound",
    "notHostSuffix": [".internal", "localhost"]
  },
  "then": {
    "action": "error",
    "error": {
      "status": 599,
      "body": {
        "error": "external call blocked in strict mode"
      }
    }
  }
}
)";
  Answer a = rt.send("POST", "/v1/sessions/" + id + "/rules", file);
  check_mutation(a, id, 1);
  CHECK(!a.json.contains("warnings"));
  CHECK(rt.get("/v1/sessions/" + id + "/rules").json == json::parse(file));
  // The rule blocks an external host, as the example says.
  Answer blocked = rt.send("POST", "/v1/inject", inject_json(id, "/anything"));
  INFO(blocked.body);
  REQUIRE(blocked.status == 200);
  CHECK(attribute(blocked.json, "http.response.body") == R"({"error":"external call blocked in strict mode"})");
}

// softprobe-cli/cmd/softprobe/pd1_test.go, TestSessionRulesApplyJSONEnvelope
// and TestCaptureRunRedactFileIsApplied: a rules YAML in the legacy form,
// "rules:\n  - match:\n      method: GET\n      host: api\n    response:\n      status: 200\n",
// which the CLI turns into JSON (yamlToJSON) and posts to .../rules. (The
// capture command's own source is not in the public store; its test posts
// the same shape.) The reference takes it; we take it too, read it as
// when/then, and say it is deprecated.
TEST_CASE("rules apply / capture run --redact-file: the legacy {match, response} form is taken with a warning",
          "[compat]") {
  Runtime rt;
  std::string id = rt.create_session(json::parse(R"({"mode":"capture"})"));
  REQUIRE(!id.empty());
  const std::string body = R"({"rules":[{"match":{"host":"api","method":"GET"},"response":{"status":200}}]})";
  Answer a = rt.send("POST", "/v1/sessions/" + id + "/rules", body);
  check_mutation(a, id, 1);
  REQUIRE(a.json.contains("warnings"));
  REQUIRE(a.json["warnings"].size() == 1);
  CHECK_THAT(a.json["warnings"][0].get<std::string>(),
             Catch::Contains("rules[0]: the legacy {match, response} form is deprecated"));
  CHECK(rt.get("/v1/sessions/" + id + "/rules").json == json::parse(body));  // echoed as posted, not translated
  // The next document without legacy rules answers without warnings.
  Answer b = rt.send("POST", "/v1/sessions/" + id + "/rules", R"({"rules":[]})");
  check_mutation(b, id, 2);
  CHECK(!b.json.contains("warnings"));
}

// The TypeScript SDK (softprobe-js, SoftprobeSession.mockOutbound / syncRules)
// keeps a local list, appends each mock and posts the whole list as
// {version: 1, rules}; the caller's response object is passed through
// (docs-site/reference/sdk-typescript.md: `response: { ...hit.response, body }`).
// spec/schemas/rule.schema.json leaves then.response open.
TEST_CASE("mockOutbound: extra keys inside then.response are taken, so the SDK's list is never poisoned", "[compat]") {
  Runtime rt;
  std::string id = rt.create_session(json::parse(R"({"mode":"replay"})"));
  REQUIRE(!id.empty());
  json rules = json::array();
  auto mock_outbound = [&](const json& rule) {
    rules.push_back(rule);
    return rt.send("POST", "/v1/sessions/" + id + "/rules", json{{"version", 1}, {"rules", rules}}.dump());
  };
  check_mutation(
      mock_outbound(json::parse(
          R"({"when":{"direction":"outbound","path":"/a"},"then":{"action":"mock","response":{"status":200,"body":"a"}}})")),
      id, 1);
  check_mutation(mock_outbound(json::parse(R"({"when":{"direction":"outbound","path":"/b"},
      "then":{"action":"mock","response":{"status":201,"headers":{"content-type":"text/plain"},"body":"b","statusText":"Created"}}})")),
                 id, 2);
  check_mutation(
      mock_outbound(json::parse(
          R"({"when":{"direction":"outbound","path":"/c"},"then":{"action":"error","error":{"status":503,"message":"down"}}})")),
      id, 3);
  CHECK(rt.get("/v1/sessions/" + id + "/rules").json["rules"] == rules);
  Answer b = rt.send("POST", "/v1/inject", inject_json(id, "/b"));
  INFO(b.body);
  REQUIRE(b.status == 200);
  CHECK(attribute(b.json, "http.response.body") == "b");

  // A document we do refuse (outside then.response / then.error nothing
  // changed) leaves the session as it was: the next valid list is taken.
  json bad = rules;
  bad.push_back(json::parse(R"({"when":{"pathh":"/d"},"then":{"action":"mock"}})"));
  Answer refused = rt.send("POST", "/v1/sessions/" + id + "/rules", json{{"version", 1}, {"rules", bad}}.dump());
  CHECK(refused.status == 400);
  CHECK(rt.get("/v1/sessions/" + id + "/rules").json["rules"] == rules);
  CHECK(rt.get("/v1/sessions/" + id + "/state").json["sessionRevision"] == 3);
  check_mutation(mock_outbound(json::parse(R"({"when":{"path":"/d"},"then":{"action":"mock"}})")), id, 4);
}
