// Drop-in compatibility, issue 11 items 3 and 7: the cases the reference SDKs
// and proxy write load here, and the capture files we write look like the
// reference's. Shapes from softprobe/hybrid: softprobe-js's test fixtures
// (src/__tests__/fixtures/*.case.json: spans named "span-1", no ids at all in
// the SDKs' generated cases), getting-started/cases/hello.case.json (captured
// by the reference proxy: base64 ids, "kind":"SPAN_KIND_SERVER", intValue as
// a string, Envoy's pseudo-headers), and the seed docs ("each entry in
// traces[] ... describing a single HTTP hop").
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "compat/compat_http.hpp"
#include "otlp_builder.hpp"
#include "softprobe.hpp"

using compat_test::Answer;
using compat_test::Runtime;
using nlohmann::json;

namespace {

json attr(const std::string& key, const json& value) { return {{"key", key}, {"value", value}}; }
json str(const std::string& key, const std::string& v) { return attr(key, {{"stringValue", v}}); }

json one_entry(json spans, const std::string& service = "softprobe-js") {
  return {{"resourceSpans", json::array({{{"resource", {{"attributes", json::array({str("service.name", service)})}}},
                                          {"scopeSpans", json::array({{{"spans", std::move(spans)}}})}}})}};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("compat: an SDK case without span ids, version or caseId loads, with warnings", "[compat][case]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  REQUIRE(!id.empty());
  json span = {
      {"kind", 3},
      {"attributes", json::array({str("sp.traffic.direction", "outbound"), str("sp.span.type", "extract"),
                                  str("http.request.method", "GET"), str("url.host", "httpbin.org"),
                                  str("url.path", "/get"), attr("http.response.status_code", {{"intValue", 200}}),
                                  str("http.response.body", R"({"ok":true})")})}};
  json doc = {{"traces", json::array({one_entry(json::array({span, span}))})}};
  Answer a = rt.post("/v1/sessions/" + id + "/load-case", doc);
  REQUIRE(a.status == 200);  // the reference loads it; we answered 400 before
  CHECK(a.json["sessionId"] == id);
  REQUIRE(a.json.contains("warnings"));
  REQUIRE(a.json["warnings"].size() == 3);
  CHECK_THAT(a.json["warnings"][2].get<std::string>(), Catch::Contains("2 span(s) had no traceId or spanId"));
  Answer state = rt.get("/v1/sessions/" + id + "/state");
  REQUIRE(state.status == 200);
  CHECK(state.json["caseSummary"]["spanCount"] == 2);
  CHECK(state.json["caseSummary"]["traceCount"] == 1);
  // A complete case is answered as before: no "warnings" key.
  json complete = doc;
  complete["version"] = "1.0.0";
  complete["caseId"] = "complete";
  for (auto& s : complete["traces"][0]["resourceSpans"][0]["scopeSpans"][0]["spans"]) {
    s["traceId"] = "00000000000000000000000000000001";
    s["spanId"] = "000000000000000" +
                  std::to_string(&s - &complete["traces"][0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0] + 1);
  }
  Answer plain = rt.post("/v1/sessions/" + id + "/load-case", complete);
  REQUIRE(plain.status == 200);
  CHECK(!plain.json.contains("warnings"));
}

TEST_CASE("compat: a case the reference proxy captured loads, ids and pseudo-headers read as it meant them",
          "[compat][case]") {
  Runtime rt;
  std::string id = rt.create_session({{"mode", "replay"}});
  json span = {
      {"traceId", "AAAAAGnpwoMAAAAABctiGA=="},
      {"spanId", "GKjqBXpZZx4="},
      {"parentSpanId", "GKjqBWESpCY="},
      {"name", "/hello"},
      {"kind", "SPAN_KIND_SERVER"},
      {"startTimeUnixNano", "1776927363095598000"},
      {"attributes", json::array({str("sp.traffic.direction", "outbound"), str("sp.span.type", "extract"),
                                  str("sp.session.id", "sess_RME13ujtb3uiYUE1"),
                                  str("http.request.header.:authority", "127.0.0.1:8082"),
                                  str("http.request.header.:method", "GET"), str("http.request.header.:path", "/hello"),
                                  str("http.request.header.user-agent", "curl/8.7.1"), str("url.path", "/hello"),
                                  str("url.host", "127.0.0.1:8082"), str("http.response.header.:status", "200"),
                                  str("http.response.header.content-type", "application/json"),
                                  attr("http.response.status_code", {{"intValue", "200"}}),
                                  str("http.response.body", "{\"dep\":\"ok\"}\n")})},
      {"status", {{"code", "STATUS_CODE_OK"}}}};
  json doc = {{"version", "1.0.0"},
              {"caseId", "sess_RME13ujtb3uiYUE1"},
              {"mode", "capture"},
              {"traces", json::array({one_entry(json::array({span}), "checkout")})}};
  Answer a = rt.post("/v1/sessions/" + id + "/load-case", doc);
  REQUIRE(a.status == 200);
  CHECK(!a.json.contains("warnings"));
  Answer state = rt.get("/v1/sessions/" + id + "/state");
  CHECK(state.json["caseSummary"]["spanCount"] == 1);
  // What the span reads as (the core's findInCase on the same document): hex
  // ids, the status and the request from the pseudo-headers, and no ":status"
  // header line for a client to choke on.
  softprobe::Store store;
  softprobe::Session s = store.start_session();
  s.load_case(doc.dump());
  json found = json::parse(s.find_in_case(R"({"path":"/hello"})"));
  CHECK(found["span"]["traceId"] == "0000000069e9c2830000000005cb6218");
  CHECK(found["span"]["spanId"] == "18a8ea057a59671e");
  CHECK(found["response"]["status"] == 200);
  CHECK(found["response"]["headers"].dump().find(":status") == std::string::npos);
}

TEST_CASE("compat: capture files as the reference writes them", "[compat][capture]") {
  runtime_test::TempDir dir;
  Runtime rt({"--capture-dir", dir.path()});
  std::string id = rt.create_session({{"mode", "capture"}});
  REQUIRE(!id.empty());
  // Two uploads that share a trace id (one request, two hops): two traces[] entries.
  for (const char* path : {"/first", "/second"}) {
    otlp_test::Span s = otlp_test::extract_span(id, "api.example.com", path, 200, "ok");
    s.span_id = std::string(path) == "/first" ? "1000000000000001" : "1000000000000002";
    Answer up = rt.send("POST", "/v1/traces", otlp_test::to_json({s}, "svc"), "application/json");
    REQUIRE(up.status == 200);
  }
  Answer closed = rt.send("POST", "/v1/sessions/" + id + "/close?out=" + "{sessionId}-{mode}.case.json", "{}");
  REQUIRE(closed.status == 200);
  std::string path = closed.json["capturePath"].get<std::string>();
  CHECK(std::filesystem::path(path).filename().string() == id + "-capture.case.json");  // placeholders filled in
  json doc = json::parse(read_file(path));
  CHECK(doc["caseId"] == id);          // the reference names a capture by its session (ours was "capture-xxxx")
  REQUIRE(doc["traces"].size() == 2);  // each upload its own entry (ours merged uploads sharing a trace id)
  for (const auto& entry : doc["traces"])
    for (const auto& a : entry["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"])
      CHECK(a["key"] != "http.request.body");  // no empty request body added to a GET
}
