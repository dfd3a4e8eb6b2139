// The client side of the proxy OTLP API: encode_traces (the payloads a proxy
// sends a remote runtime) and the C ABI over it (sp_otlp_encode_inject,
// sp_otlp_encode_extract, sp_otlp_decode_inject_answer), each checked
// against the server side that reads it (decode_traces, sp_store_inject_otlp,
// sp_store_extract_otlp).
#define SOFTPROBE_EXPERIMENTAL 1
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "otlp/otlp_proxy.hpp"
#include "otlp/otlp_traces.hpp"
#include "session/session_store.hpp"
#include "softprobe.h"

using softprobe::core::HttpExchange;
using softprobe::core::PayloadFormat;

namespace {

HttpExchange sample_exchange() {
  HttpExchange ex;
  ex.trace_id = "0af7651916cd43dd8448eb211c80319c";
  ex.span_id = "b7ad6b7169203331";
  ex.parent_span_id = "00f067aa0ba902b7";
  ex.session_id = "s-1";
  ex.direction = "outbound";
  ex.span_type = "extract";
  ex.service = "checkout";
  ex.scheme = "https";
  ex.method = "POST";
  ex.host = "api.example.com:8443";
  ex.path = "/v1/items";
  ex.query = "a=1&b=2";
  ex.request_headers = {{"content-type", "application/json"}, {"cookie", "a=1"}, {"cookie", "b=2"}};
  ex.request_body = std::string("\x00\x01\xffraw", 6);  // not UTF-8: bytesValue
  ex.status = 201;
  ex.response_headers = {{"set-cookie", "x=1; Path=/"}, {"set-cookie", "y=2; Path=/"}, {"etag", "\"v1\""}};
  ex.response_body = "{\"ok\":true}";
  ex.start_time_unix_nano = "1700000000000000000";
  ex.end_time_unix_nano = "1700000000001000000";
  ex.tags = {{"custom.tag", "t"}};
  return ex;
}

std::string take(char* s, size_t len) {
  std::string out(s, len);
  sp_string_free(s);
  return out;
}

}  // namespace

TEST_CASE("encode_traces writes what decode_traces reads back, in both encodings", "[otlp-client]") {
  HttpExchange in = sample_exchange();
  HttpExchange inbound = sample_exchange();
  inbound.direction = "inbound";
  inbound.span_id = "c7ad6b7169203332";
  inbound.status.reset();
  inbound.response_headers.clear();
  inbound.response_body.clear();
  for (PayloadFormat f : {PayloadFormat::json, PayloadFormat::protobuf}) {
    INFO((f == PayloadFormat::json ? "json" : "protobuf"));
    auto spans = softprobe::core::decode_traces(softprobe::core::encode_traces({in, inbound}, f), f);
    REQUIRE(spans.size() == 2);
    const HttpExchange& out = spans[0];
    CHECK(out.trace_id == in.trace_id);
    CHECK(out.span_id == in.span_id);
    CHECK(out.parent_span_id == in.parent_span_id);
    CHECK(out.name == "HTTP POST");
    CHECK(out.session_id == "s-1");
    CHECK(out.span_type == "extract");
    CHECK(out.service == "checkout");
    CHECK(out.scheme == "https");
    CHECK(out.method == "POST");
    CHECK(out.host == "api.example.com:8443");
    CHECK(out.path == "/v1/items");
    CHECK(out.query == "a=1&b=2");
    // Repeated lines stay apart (an arrayValue), names sorted.
    CHECK(out.request_headers ==
          softprobe::core::Headers{{"content-type", "application/json"}, {"cookie", "a=1"}, {"cookie", "b=2"}});
    CHECK(out.request_body == in.request_body);
    REQUIRE(out.status);
    CHECK(*out.status == 201);
    CHECK(out.response_headers ==
          softprobe::core::Headers{{"etag", "\"v1\""}, {"set-cookie", "x=1; Path=/"}, {"set-cookie", "y=2; Path=/"}});
    CHECK(out.response_body == in.response_body);
    CHECK(out.start_time_unix_nano == in.start_time_unix_nano);
    CHECK(out.end_time_unix_nano == in.end_time_unix_nano);
    CHECK(out.tags == std::vector<std::pair<std::string, std::string>>{{"custom.tag", "t"}});
    // A span without a response gets no response attributes.
    CHECK_FALSE(spans[1].status);
    CHECK(spans[1].direction == "inbound");
    CHECK(spans[1].response_body.empty());
  }
  // The JSON form is the case file's span form: kind SERVER for inbound, CLIENT otherwise.
  auto doc = nlohmann::json::parse(softprobe::core::encode_traces({in, inbound}, PayloadFormat::json));
  const auto& list = doc["resourceSpans"][0]["scopeSpans"][0]["spans"];
  CHECK(list[0]["kind"] == 3);
  CHECK(list[1]["kind"] == 2);
  CHECK(doc["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"] == "softprobe");
}

TEST_CASE("a proxy's inject payload is decided by the runtime side, and its answer read back", "[otlp-client]") {
  sp_store* store = nullptr;
  REQUIRE(sp_store_new(&store) == SP_OK);
  sp_session* s = nullptr;
  std::string options = R"({"policy":{"externalHttp":"strict","allowHosts":["open.example.com"]}})";
  REQUIRE(sp_session_new(&s, store, options.data(), options.size()) == SP_OK);
  std::string rules = R"([{"name":"items","when":{"method":"PATCH","host":"api.example.com","path":"/v1/items",
      "headers":{"x-tenant":"t1"},"bodyJsonPath":"$.id","equals":7},
      "then":{"action":"mock","response":{"status":207,"headers":{"x-mocked":"yes"},"body":"{\"n\":1}"}}}])";
  INFO(sp_last_error());
  REQUIRE(sp_session_set_rules(nullptr, s, rules.data(), rules.size()) == SP_OK);
  std::string id = sp_session_id(s);

  std::vector<sp_header> headers = {{{"Host", 4}, {"api.example.com", 15}}, {{"X-Tenant", 8}, {"t1", 2}}};
  sp_request req = SP_REQUEST_INIT;
  req.method = {"PATCH", 5};
  req.url = {"http://api.example.com/v1/items?z=1", 35};
  req.body = {"{\"id\":7}", 8};
  req.headers = headers.data();
  req.header_count = headers.size();

  for (sp_payload_format f : {SP_FORMAT_JSON, SP_FORMAT_PROTOBUF}) {
    INFO((f == SP_FORMAT_JSON ? "json" : "protobuf"));
    char* out = nullptr;
    size_t len = 0;
    REQUIRE(sp_otlp_encode_inject(&out, &len, &req, id.data(), id.size(), f) == SP_OK);
    std::string payload = take(out, len);
    sp_inject_result* r = nullptr;
    REQUIRE(sp_store_inject_otlp(&r, store, payload.data(), payload.size(), f, f) == SP_OK);
    CHECK(sp_inject_result_outcome(r) == SP_INJECT_HIT);
    CHECK(std::string(sp_inject_result_rule(r)) == "items");
    sp_str body = sp_inject_result_body(r);
    sp_decision* d = nullptr;
    REQUIRE(sp_otlp_decode_inject_answer(&d, body.data, body.len, f) == SP_OK);
    sp_inject_result_free(r);
    CHECK(sp_decision_outcome(d) == SP_OUTCOME_MOCK);
    CHECK(sp_decision_status(d) == 207);
    CHECK_FALSE(sp_decision_is_strict_miss(d));
    sp_str b = sp_decision_body(d);
    CHECK(std::string(b.data, b.len) == "{\"n\":1}");
    bool mocked_header = false;
    for (size_t i = 0; i < sp_decision_header_count(d); ++i) {
      sp_header h = sp_decision_header(d, i);
      if (std::string(h.name.data, h.name.len) == "x-mocked" && std::string(h.value.data, h.value.len) == "yes")
        mocked_header = true;
    }
    CHECK(mocked_header);
    sp_decision_free(d);

    // Strict: an unmocked host is the runtime's strict miss, read as one.
    sp_request other = req;
    other.url = {"http://api.example.com/elsewhere", 32};
    REQUIRE(sp_otlp_encode_inject(&out, &len, &other, id.data(), id.size(), f) == SP_OK);
    payload = take(out, len);
    REQUIRE(sp_store_inject_otlp(&r, store, payload.data(), payload.size(), f, f) == SP_OK);
    CHECK(sp_inject_result_outcome(r) == SP_INJECT_STRICT_MISS);
    body = sp_inject_result_body(r);
    REQUIRE(sp_otlp_decode_inject_answer(&d, body.data, body.len, f) == SP_OK);
    sp_inject_result_free(r);
    CHECK(sp_decision_outcome(d) == SP_OUTCOME_ERROR);
    CHECK(sp_decision_status(d) == 599);
    CHECK(sp_decision_is_strict_miss(d));
    sp_decision_free(d);

    // An allowed host is a miss (404, empty): not an answer.
    other.url = {"http://open.example.com/", 24};
    REQUIRE(sp_otlp_encode_inject(&out, &len, &other, id.data(), id.size(), f) == SP_OK);
    payload = take(out, len);
    REQUIRE(sp_store_inject_otlp(&r, store, payload.data(), payload.size(), f, f) == SP_OK);
    CHECK(sp_inject_result_outcome(r) == SP_INJECT_MISS);
    body = sp_inject_result_body(r);
    d = nullptr;
    // (empty: no JSON document; empty protobuf: a TracesData without spans)
    CHECK(sp_otlp_decode_inject_answer(&d, body.data, body.len, f) ==
          (f == SP_FORMAT_JSON ? SP_E_INVALID_JSON : SP_E_INVALID_CASE));
    CHECK(d == nullptr);
    sp_inject_result_free(r);

    // Without a session id the runtime knows no session.
    REQUIRE(sp_otlp_encode_inject(&out, &len, &req, nullptr, 0, f) == SP_OK);
    payload = take(out, len);
    REQUIRE(sp_store_inject_otlp(&r, store, payload.data(), payload.size(), f, f) == SP_OK);
    CHECK(sp_inject_result_outcome(r) == SP_INJECT_UNKNOWN_SESSION);
    sp_inject_result_free(r);
  }
  sp_session_free(s);
  sp_store_free(store);
}

TEST_CASE("a proxy's extract payload is recorded by the runtime side as it was observed", "[otlp-client]") {
  softprobe::core::SessionStore store;
  softprobe::core::SessionOptions options;
  options.mode = softprobe::core::SessionMode::capture;
  auto session = store.create(options);
  const std::string& id = session->id();

  std::vector<sp_header> req_headers = {
      {{"traceparent", 11}, {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", 55}}};
  sp_request req = SP_REQUEST_INIT;
  req.method = {"GET", 3};
  req.url = {"http://api.example.com:8080/v1/items?a=1", 40};
  req.headers = req_headers.data();
  req.header_count = req_headers.size();
  std::vector<sp_header> resp_headers = {{{"X-Multi", 7}, {"x=1", 3}}, {{"X-Multi", 7}, {"y=2", 3}}};
  sp_response resp = SP_RESPONSE_INIT;
  resp.status = 203;
  resp.headers = resp_headers.data();
  resp.header_count = resp_headers.size();
  resp.body = {"\x00\x01", 2};

  for (sp_payload_format f : {SP_FORMAT_JSON, SP_FORMAT_PROTOBUF}) {
    char* out = nullptr;
    size_t len = 0;
    REQUIRE(sp_otlp_encode_extract(&out, &len, &req, &resp, id.data(), id.size(), 1000, 2000, f) == SP_OK);
    std::string payload = take(out, len);
    auto result = softprobe::core::extract_otlp(
        store, payload, f == SP_FORMAT_JSON ? PayloadFormat::json : PayloadFormat::protobuf, PayloadFormat::json);
    CHECK(result.recorded == 1);
    CHECK(result.rejected == 0);
  }
  auto captured = session->captured_case();
  REQUIRE(captured.exchanges.size() == 2);
  for (const auto& ex : captured.exchanges) {
    CHECK(ex.method == "GET");
    CHECK(ex.host == "api.example.com:8080");
    CHECK(ex.path == "/v1/items");
    CHECK(ex.query == "a=1");
    REQUIRE(ex.status);
    CHECK(*ex.status == 203);
    REQUIRE(ex.response_headers.size() == 2);
    CHECK(ex.response_headers[0].first == "x-multi");
    CHECK(ex.response_headers[0].second == "x=1");
    CHECK(ex.response_headers[1].second == "y=2");
    CHECK(ex.response_body == std::string("\x00\x01", 2));
    CHECK(ex.start_time_unix_nano == "1000");
    CHECK(ex.end_time_unix_nano == "2000");
    // The request's traceparent makes the span its child.
    CHECK(ex.trace_id == "0af7651916cd43dd8448eb211c80319c");
    CHECK(ex.parent_span_id == "b7ad6b7169203331");
  }
}

TEST_CASE("the OTLP client calls refuse bad arguments, naming them", "[otlp-client]") {
  sp_request req = SP_REQUEST_INIT;
  req.url = {"http://h/", 9};
  sp_response resp = SP_RESPONSE_INIT;
  char* out = nullptr;
  size_t len = 0;
  CHECK(sp_otlp_encode_inject(&out, &len, &req, "s", 1, sp_payload_format(9)) == SP_E_INVALID_ARGUMENT);
  CHECK_THAT(sp_last_error(), Catch::Contains("SP_FORMAT_JSON or SP_FORMAT_PROTOBUF"));
  CHECK(sp_otlp_encode_inject(nullptr, &len, &req, "s", 1, SP_FORMAT_JSON) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_otlp_encode_inject(&out, &len, nullptr, "s", 1, SP_FORMAT_JSON) == SP_E_INVALID_ARGUMENT);
  std::string long_id(129, 'a');
  CHECK(sp_otlp_encode_inject(&out, &len, &req, long_id.data(), long_id.size(), SP_FORMAT_JSON) ==
        SP_E_INVALID_ARGUMENT);
  CHECK_THAT(sp_last_error(), Catch::Contains("at most 128"));
  CHECK(sp_otlp_encode_inject(&out, &len, &req, "a\0b", 3, SP_FORMAT_JSON) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_otlp_encode_extract(&out, &len, &req, nullptr, "s", 1, 0, 0, SP_FORMAT_JSON) == SP_E_INVALID_ARGUMENT);
  resp.version = 99;
  CHECK(sp_otlp_encode_extract(&out, &len, &req, &resp, "s", 1, 0, 0, SP_FORMAT_JSON) == SP_E_INVALID_ARGUMENT);
  CHECK_THAT(sp_last_error(), Catch::Contains("response.version"));
  sp_request bad = SP_REQUEST_INIT;
  bad.url = {"http://exa mple.com/", 20};
  CHECK(sp_otlp_encode_inject(&out, &len, &bad, "s", 1, SP_FORMAT_JSON) == SP_E_INVALID_ARGUMENT);
  CHECK(out == nullptr);

  sp_decision* d = nullptr;
  CHECK(sp_otlp_decode_inject_answer(&d, "{", 1, SP_FORMAT_JSON) == SP_E_INVALID_JSON);
  CHECK(sp_otlp_decode_inject_answer(&d, "\x0a\x05", 2, SP_FORMAT_PROTOBUF) == SP_E_INVALID_CASE);
  CHECK(sp_otlp_decode_inject_answer(&d, "{}", 2, SP_FORMAT_JSON) == SP_E_INVALID_CASE);
  CHECK_THAT(sp_last_error(), Catch::Contains("no span"));
  CHECK(sp_otlp_decode_inject_answer(&d, nullptr, 4, SP_FORMAT_JSON) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_otlp_decode_inject_answer(nullptr, "{}", 2, SP_FORMAT_JSON) == SP_E_INVALID_ARGUMENT);
  CHECK(d == nullptr);
}
