// Unit tests of the core's OTLP layer (libsoftprobe/otlp_traces, otlp_proxy,
// exchange_view) through its internal C++ API, and of its C ABI.
//
// This binary links softprobe_static and uses the core's internal headers
// (namespace softprobe::core).
#define SOFTPROBE_EXPERIMENTAL 1  // the proxy OTLP API is experimental (softprobe.h)
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "otlp/exchange_view.hpp"
#include "otlp/otlp_proxy.hpp"
#include "otlp/otlp_traces.hpp"
#include "otlp_builder.hpp"
#include "session/session_store.hpp"
#include "softprobe.h"
#include "support/errors.hpp"

using otlp_test::Attr;
using otlp_test::Span;
using softprobe::core::ErrorCode;
using softprobe::core::HttpExchange;
using softprobe::core::PayloadFormat;

namespace {

std::vector<HttpExchange> decode(const std::vector<Span>& spans, PayloadFormat f, const std::string& service = "") {
  std::string payload =
      f == PayloadFormat::json ? otlp_test::to_json(spans, service) : otlp_test::to_protobuf(spans, service);
  return softprobe::core::decode_traces(payload, f);
}

// The code and message of what `fn` throws; fails the test if it throws
// anything but softprobe::core::Error (or nothing).
template <class Fn>
std::pair<ErrorCode, std::string> error_of(Fn&& fn) {
  try {
    fn();
  } catch (const softprobe::core::Error& e) {
    return {e.code(), e.what()};
  } catch (const std::exception& e) {
    FAIL("unexpected exception type: " << e.what());
  }
  FAIL("no exception");
  return {};
}

Span full_span() {
  Span s = otlp_test::extract_span("sess1", "api.example.com:8443", "/v1/items", 201, "{\"ok\":true}", "POST");
  s.parent_span_id = "1111111111111111";
  s.start_ns = 1700000000000000000ull;
  s.end_ns = 1700000000001000000ull;
  s.attrs.push_back(Attr::str("url.query", "a=1&b=2"));
  s.attrs.push_back(Attr::str("url.scheme", "https"));
  s.attrs.push_back(Attr::raw("http.request.body", std::string("\x00\x01binary", 8)));
  s.attrs.push_back(Attr::str("http.request.header.x-trace", "t1"));
  s.attrs.push_back(Attr::i64("custom.count", 42));
  s.attrs.push_back(Attr::flag("custom.flag", true));
  s.attrs.push_back(Attr::real("custom.ratio", 0.5));
  Attr arr{Attr::array, "custom.list", "a\nb"};
  s.attrs.push_back(arr);
  return s;
}

}  // namespace

TEST_CASE("OTLP JSON and protobuf decode to the same exchanges", "[otlp]") {
  Span s = full_span();
  for (PayloadFormat f : {PayloadFormat::json, PayloadFormat::protobuf}) {
    INFO((f == PayloadFormat::json ? "json" : "protobuf"));
    auto spans = decode({s, otlp_test::inject_span("sess2", "h", "/p")}, f, "checkout");
    REQUIRE(spans.size() == 2);
    const HttpExchange& ex = spans[0];
    CHECK(ex.trace_id == s.trace_id);
    CHECK(ex.span_id == s.span_id);
    CHECK(ex.parent_span_id == s.parent_span_id);
    CHECK(ex.name == "HTTP POST");
    CHECK(ex.start_time_unix_nano == "1700000000000000000");
    CHECK(ex.end_time_unix_nano == "1700000000001000000");
    CHECK(ex.session_id == "sess1");
    CHECK(ex.span_type == "extract");
    CHECK(ex.direction == "outbound");
    CHECK(ex.service == "checkout");  // from the resource
    CHECK(ex.host == "api.example.com:8443");
    CHECK(ex.path == "/v1/items");
    CHECK(ex.query == "a=1&b=2");
    CHECK(ex.scheme == "https");
    CHECK(ex.method == "POST");
    CHECK(ex.request_body == std::string("\x00\x01binary", 8));
    CHECK(ex.status == 201);
    CHECK(ex.response_body == "{\"ok\":true}");
    CHECK(ex.request_headers == softprobe::core::Headers{{"accept", "application/json"}, {"x-trace", "t1"}});
    CHECK(ex.response_headers == softprobe::core::Headers{{"content-type", "application/json"}});
    std::map<std::string, std::string> tags(ex.tags.begin(), ex.tags.end());
    CHECK(tags["custom.count"] == "42");
    CHECK(tags["custom.flag"] == "true");
    CHECK(tags["custom.ratio"] == "0.5");
    CHECK(nlohmann::json::parse(tags["custom.list"]) ==
          nlohmann::json::parse(R"({"values":[{"stringValue":"a"},{"stringValue":"b"}]})"));
    CHECK(spans[1].session_id == "sess2");
    CHECK(spans[1].span_type == "inject");
  }
}

TEST_CASE("the method falls back to the :method header, then the span name", "[otlp]") {
  for (PayloadFormat f : {PayloadFormat::json, PayloadFormat::protobuf}) {
    Span s;
    s.name = "HTTP PATCH";
    s.attrs = {Attr::str("sp.session.id", "x")};
    CHECK(decode({s}, f)[0].method == "PATCH");
    s.attrs.push_back(Attr::str("http.request.header.:method", "PUT"));
    CHECK(decode({s}, f)[0].method == "PUT");
    s.attrs.push_back(Attr::str("http.request.method", "DELETE"));
    CHECK(decode({s}, f)[0].method == "DELETE");
  }
}

TEST_CASE("the request view fills host, path, query and scheme from url.full and pseudo-headers", "[otlp]") {
  HttpExchange ex;
  ex.method = "GET";
  ex.url_full = "https://user@api.example.com:8443/a/b?x=1#frag";
  {
    softprobe::core::ExchangeRequestView v(ex);
    CHECK(v.view().scheme == "https");
    CHECK(v.view().host == "api.example.com:8443");
    CHECK(v.view().path == "/a/b");
    CHECK(v.view().query == "x=1");
    CHECK(v.view().direction == "outbound");
  }
  HttpExchange envoy;
  envoy.request_headers = {{":authority", "svc:9000"}, {":path", "/p?q=2"}, {":scheme", "http"}};
  {
    softprobe::core::ExchangeRequestView v(envoy);
    CHECK(v.view().host == "svc:9000");
    CHECK(v.view().path == "/p");
    CHECK(v.view().query == "q=2");
    CHECK(v.view().header_count == 3);
  }
  HttpExchange explicit_ex = envoy;
  explicit_ex.host = "h";
  explicit_ex.path = "/x";
  explicit_ex.direction = "inbound";
  {
    softprobe::core::ExchangeRequestView v(explicit_ex);
    CHECK(v.view().host == "h");
    CHECK(v.view().path == "/x");
    CHECK(v.view().direction == "inbound");
  }
  HttpExchange bare;
  CHECK(softprobe::core::ExchangeRequestView(bare).view().path == "/");
}

TEST_CASE("malformed JSON payloads throw errors that say where", "[otlp]") {
  auto json_error = [](const std::string& text) {
    return error_of([&] { softprobe::core::decode_traces_json(text); });
  };
  CHECK(json_error("{").first == ErrorCode::invalid_json);
  CHECK(json_error("[]").first == ErrorCode::invalid_case);
  CHECK_THAT(json_error("[]").second, Catch::StartsWith("$: must be an OTLP TracesData object"));
  CHECK(json_error(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":5}]}]}]})").second ==
        "$.resourceSpans[0].scopeSpans[0].spans[0].name: must be a string");
  CHECK(json_error(
            R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":1}}]}}]})")
            .second == "$.resourceSpans[0].resource.attributes[0].value.stringValue: must be a string");
  CHECK(json_error(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":true}]}]}]})").second ==
        "$.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: must be a decimal string or an integer");
  auto deep = json_error(std::string(200, '['));
  CHECK(deep.first == ErrorCode::limit_exceeded);
  CHECK_THAT(deep.second, Catch::Contains("deeper than 64"));
  // A header given as non-UTF-8 bytes (obs-text) is kept: case files write it back as bytesValue.
  auto binary = softprobe::core::decode_traces_json(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"http.request.header.x","value":{"bytesValue":"/w=="}}]}]}]}]})");
  REQUIRE(binary.size() == 1);
  CHECK(binary[0].request_headers == softprobe::core::Headers{{"x", "\xff"}});
  // A span's kind is an integer or a string (both decoders, and case files).
  CHECK(json_error(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":1.5}]}]}]})").second ==
        "$.resourceSpans[0].scopeSpans[0].spans[0].kind: must be an integer or a string");
  // Strings in JSON may be nested deeply without counting as nesting.
  CHECK_NOTHROW(softprobe::core::decode_traces_json(R"({"resourceSpans":[],"x":")" + std::string(500, '[') + R"("})"));
}

TEST_CASE("malformed protobuf payloads throw errors that say where", "[otlp]") {
  using namespace std::string_literals;
  auto pb_error = [](const std::string& data) {
    return error_of([&] { softprobe::core::decode_traces_protobuf(data); });
  };
  CHECK(pb_error("\x0a\x05\x12\x03\x12\x01"s).second == "protobuf: resourceSpans[0]: truncated length-delimited field");
  CHECK(pb_error("\x08\x01"s).second == "protobuf: resourceSpans[0]: has wire type varint, expected length-delimited");
  CHECK(pb_error("\x0a\x01"s).second == "protobuf: resourceSpans[0]: truncated length-delimited field");
  CHECK_THAT(pb_error("\x00"s).second, Catch::Contains("invalid field number"));
  CHECK_THAT(pb_error("\x0f"s).second, Catch::Contains("wire type"));
  CHECK_THAT(pb_error("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"s).second, Catch::Contains("longer than 10 bytes"));
  CHECK(pb_error("\x11\x01\x02"s).second ==
        "protobuf: TracesData: truncated fixed64 field 2");  // an unknown field, skipped

  // Nested: a span whose attributes field has the wrong wire type.
  std::string span_with_varint_attrs;
  {
    protozero::pbf_writer traces(span_with_varint_attrs);
    protozero::pbf_writer rs(traces, 1);
    protozero::pbf_writer ss(rs, 2);
    protozero::pbf_writer span(ss, 2);
    span.add_string(5, "HTTP GET");
    span.add_uint64(9, 7);
  }
  CHECK(pb_error(span_with_varint_attrs).second ==
        "protobuf: resourceSpans[0].scopeSpans[0].spans[0].attributes[0]: has wire type varint, expected "
        "length-delimited");

  // A start time sent as a varint instead of fixed64.
  std::string bad_time;
  {
    protozero::pbf_writer traces(bad_time);
    protozero::pbf_writer rs(traces, 1);
    protozero::pbf_writer ss(rs, 2);
    ss.add_message(2, std::string("\x38\x01", 2));  // field 7, varint
  }
  CHECK(pb_error(bad_time).second ==
        "protobuf: resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: has wire type varint, expected fixed64");

  // Too deep arrays.
  std::string value;
  {
    protozero::pbf_writer v(value);
    v.add_string(1, "leaf");
  }
  for (int i = 0; i < 100; ++i) {
    std::string array, wrapped;
    {
      protozero::pbf_writer a(array);
      a.add_message(1, value);
    }
    {
      protozero::pbf_writer w(wrapped);
      w.add_message(5, array);
    }
    value = wrapped;
  }
  std::string deep;
  {
    protozero::pbf_writer traces(deep);
    protozero::pbf_writer rs(traces, 1);
    protozero::pbf_writer ss(rs, 2);
    protozero::pbf_writer span(ss, 2);
    protozero::pbf_writer kv(span, 9);
    kv.add_string(1, "deep");
    kv.add_message(2, value);
  }
  auto too_deep = pb_error(deep);
  CHECK(too_deep.first == ErrorCode::limit_exceeded);
  CHECK_THAT(too_deep.second, Catch::Contains("spans[0].attributes[0].value.arrayValue.values[0]"));

  // Invalid UTF-8 in a string field.
  Span s = otlp_test::inject_span("x", "h", "/");
  s.attrs.push_back(Attr::str("url.query", "\xff"));
  CHECK(pb_error(otlp_test::to_protobuf({s})).second ==
        "protobuf: resourceSpans[0].scopeSpans[0].spans[0].attributes[6].value.stringValue: string is not valid UTF-8");
}

TEST_CASE("every truncation and random corruption of a protobuf payload fails cleanly", "[otlp]") {
  std::string valid = otlp_test::to_protobuf({full_span(), otlp_test::inject_span("s", "h", "/p")}, "svc");
  REQUIRE(softprobe::core::decode_traces_protobuf(valid).size() == 2);
  auto clean = [](const std::string& data) {
    try {
      softprobe::core::decode_traces_protobuf(data);
    } catch (const softprobe::core::Error& e) {
      std::string what = e.what();
      return what.rfind("protobuf: ", 0) == 0;
    } catch (...) {
      return false;
    }
    return true;
  };
  for (std::size_t n = 0; n < valid.size(); ++n) {
    INFO("prefix " << n);
    CHECK(clean(valid.substr(0, n)));
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 5000; ++i) {
    std::string m = valid;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) m[rng() % m.size()] = char(rng() & 0xff);
    INFO("mutation " << i);
    CHECK(clean(m));
  }
}

TEST_CASE("the inject answer round-trips in both encodings", "[otlp]") {
  softprobe::core::Response resp;
  resp.status = 202;
  resp.headers = {{"X-B", "2"}, {"x-a", "1"}, {"x-b", "3"}};
  resp.body = std::string("\x00\xfe", 2);
  HttpExchange req;
  req.trace_id = "5b8efff798038103d269b633813fc60c";
  req.span_id = "051581bf3cb55c13";
  req.method = "GET";
  for (PayloadFormat f : {PayloadFormat::json, PayloadFormat::protobuf}) {
    std::string payload = softprobe::core::encode_inject_response(req, resp, f);
    auto answer =
        f == PayloadFormat::json ? otlp_test::read_answer_json(payload) : otlp_test::read_answer_protobuf(payload);
    CHECK(answer.status == 202);
    CHECK(answer.headers == std::map<std::string, std::string>{{"x-a", "1"}, {"x-b", "2, 3"}});
    CHECK(answer.body == resp.body);
    CHECK(answer.body_was_bytes);
    CHECK(answer.trace_id == req.trace_id);
    CHECK(answer.span_id == req.span_id);
    CHECK(answer.name == "HTTP GET");
    // And the core reads its own answer back.
    auto decoded = softprobe::core::decode_traces(payload, f);
    REQUIRE(decoded.size() == 1);
    CHECK(decoded[0].status == 202);
    CHECK(decoded[0].response_body == resp.body);
  }
  resp.body = "plain text";
  auto answer = otlp_test::read_answer_json(softprobe::core::encode_inject_response(req, resp, PayloadFormat::json));
  CHECK_FALSE(answer.body_was_bytes);
  CHECK(answer.body == "plain text");
}

TEST_CASE("the export response is empty, or a partialSuccess", "[otlp]") {
  CHECK(softprobe::core::encode_export_response(0, "", PayloadFormat::json) == "{}");
  CHECK(softprobe::core::encode_export_response(0, "", PayloadFormat::protobuf).empty());
  CHECK(nlohmann::json::parse(softprobe::core::encode_export_response(3, "why", PayloadFormat::json)) ==
        nlohmann::json::parse(R"({"partialSuccess":{"rejectedSpans":"3","errorMessage":"why"}})"));
  std::string pb = softprobe::core::encode_export_response(3, "why", PayloadFormat::protobuf);
  protozero::pbf_reader r(pb);
  REQUIRE(r.next(1));
  protozero::pbf_reader ps = r.get_message();
  REQUIRE(ps.next(1));
  CHECK(ps.get_int64() == 3);
  REQUIRE(ps.next(2));
  CHECK(ps.get_string() == "why");
}

TEST_CASE("inject_otlp and extract_otlp against a store", "[otlp]") {
  softprobe::core::SessionStore store;
  softprobe::core::SessionOptions options;
  options.mode = softprobe::core::SessionMode::capture;
  options.policy = nlohmann::json::parse(R"({"externalHttp":"strict","externalAllowlist":["allowed.example.com"]})");
  auto session = store.create(options);
  session->set_rules(nlohmann::json::parse(
      R"({"version":1,"rules":[{"name":"r","when":{"host":"api.example.com","path":"/x"},"then":{"action":"mock","response":{"status":200,"body":"hi"}}}]})"));
  const std::string& id = session->id();
  for (PayloadFormat f : {PayloadFormat::json, PayloadFormat::protobuf}) {
    auto payload = [&](const Span& s) {
      return f == PayloadFormat::json ? otlp_test::to_json({s}) : otlp_test::to_protobuf({s});
    };
    auto hit = softprobe::core::inject_otlp(store, payload(otlp_test::inject_span(id, "api.example.com", "/x")), f, f);
    CHECK(hit.outcome == softprobe::core::InjectOutcome::hit);
    CHECK(hit.http_status == 200);
    CHECK(hit.rule == "r");
    auto strict =
        softprobe::core::inject_otlp(store, payload(otlp_test::inject_span(id, "api.example.com", "/y")), f, f);
    CHECK(strict.outcome == softprobe::core::InjectOutcome::strict_miss);
    CHECK(strict.http_status == 200);
    auto miss =
        softprobe::core::inject_otlp(store, payload(otlp_test::inject_span(id, "allowed.example.com", "/y")), f, f);
    CHECK(miss.outcome == softprobe::core::InjectOutcome::miss);
    CHECK(miss.http_status == 404);
    CHECK(miss.body.empty());
    auto unknown =
        softprobe::core::inject_otlp(store, payload(otlp_test::inject_span("nope", "api.example.com", "/x")), f, f);
    CHECK(unknown.outcome == softprobe::core::InjectOutcome::unknown_session);
    CHECK(unknown.http_status == 404);
    CHECK(unknown.session_id == "nope");
    // Only an extract span: no inject span to decide.
    auto only_extract = error_of(
        [&] { softprobe::core::inject_otlp(store, payload(otlp_test::extract_span(id, "h", "/", 200, "")), f, f); });
    CHECK_THAT(only_extract.second, Catch::Contains("no span with sp.span.type \"inject\""));

    std::vector<Span> spans = {otlp_test::extract_span(id, "h", "/a", 200, "a"),
                               otlp_test::extract_span("ghost", "h", "/b", 200, "b"),
                               otlp_test::inject_span(id, "h", "/c")};
    std::string p = f == PayloadFormat::json ? otlp_test::to_json(spans) : otlp_test::to_protobuf(spans);
    auto extracted = softprobe::core::extract_otlp(store, p, f, f);
    CHECK(extracted.recorded == 1);
    CHECK(extracted.rejected == 1);
    CHECK(extracted.ignored == 1);
    CHECK_THAT(extracted.message, Catch::Contains("unknown session \"ghost\""));
  }
  CHECK(session->captured_count() == 2);
  CHECK(session->stats_json()["stats"]["extractedSpans"] == 2);
  // Per format: a hit, a strict miss and a miss were decided; only the hit was injected (issue 11, item 2).
  CHECK(session->stats_json()["stats"]["injectedSpans"] == 2);
  CHECK(session->stats_json()["stats"]["strictMisses"] == 2);
  CHECK(session->stats_json()["stats"]["passthroughs"] == 2);
  CHECK(session->stats_json()["stats"]["decisions"] == 6);

  // Why extract spans were rejected, and those a replay session does not keep (issue 11, item 6).
  softprobe::core::SessionOptions replay_options;
  auto replay = store.create(replay_options);
  std::vector<Span> mixed = {
      otlp_test::extract_span(replay->id(), "h", "/r", 200, ""), otlp_test::extract_span("gone", "h", "/g", 200, ""),
      otlp_test::extract_span("", "h", "/n", 200, ""), otlp_test::extract_span(id, "h", "/k", 200, "")};
  auto why = softprobe::core::extract_otlp(store, otlp_test::to_json(mixed), PayloadFormat::json, PayloadFormat::json);
  CHECK(why.recorded == 1);
  CHECK(why.to_replay == 1);
  CHECK(why.ignored == 1);
  CHECK(why.rejected == 2);
  CHECK(why.unknown_session == 1);
  CHECK(why.without_session_id == 1);
  CHECK(replay->stats_json()["stats"]["extractedSpans"] == 0);
}

TEST_CASE("the proxy OTLP C ABI", "[otlp]") {
  sp_store* store = nullptr;
  REQUIRE(sp_store_new(&store) == SP_OK);
  sp_session* s = nullptr;
  REQUIRE(sp_session_new(&s, store, R"({"mode":"capture"})", 18) == SP_OK);
  std::string rules =
      R"([{"latencyMs":5,"when":{"path":"/x"},"then":{"action":"mock","response":{"status":200,"body":"hi"}}}])";
  REQUIRE(sp_session_set_rules(nullptr, s, rules.data(), rules.size()) == SP_OK);
  std::string id = sp_session_id(s);

  std::string payload = otlp_test::to_protobuf({otlp_test::inject_span(id, "h", "/x")});
  sp_inject_result* r = nullptr;
  REQUIRE(sp_store_inject_otlp(&r, store, payload.data(), payload.size(), SP_FORMAT_PROTOBUF, SP_FORMAT_JSON) == SP_OK);
  CHECK(sp_inject_result_outcome(r) == SP_INJECT_HIT);
  CHECK(sp_inject_result_http_status(r) == 200);
  CHECK(sp_inject_result_latency_ms(r) == 5);
  CHECK(std::string(sp_inject_result_session_id(r)) == id);
  CHECK(std::string(sp_inject_result_rule(r)) == "session rule #0");
  sp_str body = sp_inject_result_body(r);
  CHECK(otlp_test::read_answer_json(std::string(body.data, body.len)).body == "hi");
  sp_inject_result_free(r);

  r = nullptr;
  CHECK(sp_store_inject_otlp(&r, store, "{", 1, SP_FORMAT_JSON, SP_FORMAT_JSON) == SP_E_INVALID_JSON);
  CHECK(r == nullptr);
  CHECK(sp_store_inject_otlp(&r, store, "\x0a\x05", 2, SP_FORMAT_PROTOBUF, SP_FORMAT_JSON) == SP_E_INVALID_CASE);
  CHECK(std::string(sp_last_error()) == "protobuf: resourceSpans[0]: truncated length-delimited field");
  CHECK(sp_store_inject_otlp(&r, store, payload.data(), payload.size(), sp_payload_format(7), SP_FORMAT_JSON) ==
        SP_E_INVALID_ARGUMENT);
  CHECK(sp_store_inject_otlp(&r, nullptr, payload.data(), payload.size(), SP_FORMAT_JSON, SP_FORMAT_JSON) ==
        SP_E_INVALID_ARGUMENT);
  CHECK(sp_store_inject_otlp(&r, store, nullptr, 3, SP_FORMAT_JSON, SP_FORMAT_JSON) == SP_E_INVALID_ARGUMENT);

  std::string traces = otlp_test::to_json(
      {otlp_test::extract_span(id, "h", "/x", 200, "b"), otlp_test::extract_span("zz", "h", "/", 200, "")});
  sp_extract_result* e = nullptr;
  REQUIRE(sp_store_extract_otlp(&e, store, traces.data(), traces.size(), SP_FORMAT_JSON, SP_FORMAT_JSON) == SP_OK);
  CHECK(sp_extract_result_recorded(e) == 1);
  CHECK(sp_extract_result_rejected(e) == 1);
  CHECK(sp_extract_result_ignored(e) == 0);
  CHECK_THAT(std::string(sp_extract_result_message(e)), Catch::Contains("\"zz\""));
  sp_str eb = sp_extract_result_body(e);
  CHECK_THAT(std::string(eb.data, eb.len), Catch::Contains("partialSuccess"));
  sp_extract_result_free(e);

  // NULL-safe accessors and frees; a NULL inject result fails closed (a
  // refusal with 500, never the 404 that tells a proxy to forward).
  sp_inject_result_free(nullptr);
  sp_extract_result_free(nullptr);
  CHECK(sp_inject_result_http_status(nullptr) == 500);
  CHECK(sp_inject_result_outcome(nullptr) == SP_INJECT_STRICT_MISS);
  CHECK(sp_extract_result_recorded(nullptr) == 0);

  // sp_store_close_all closes (and writes) every session.
  char* closed = nullptr;
  std::string dir = std::filesystem::temp_directory_path().string() + "/softprobe-close-all-" + id + ".case.json";
  setenv("SOFTPROBE_CAPTURE_CASE_PATH", dir.c_str(), 1);
  REQUIRE(sp_store_close_all(&closed, store) == SP_OK);
  auto list = nlohmann::json::parse(closed);
  sp_string_free(closed);
  unsetenv("SOFTPROBE_CAPTURE_CASE_PATH");
  REQUIRE(list["closed"].size() == 1);
  CHECK(list["closed"][0]["sessionId"] == id);
  CHECK(list["closed"][0]["capturePath"] == dir);
  CHECK(std::filesystem::exists(dir));
  std::filesystem::remove(dir);
  sp_session_free(s);
  sp_store_free(store);
}
