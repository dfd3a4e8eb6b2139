// What a capture may hold: the same limits as loading, so a captured case
// always loads back; replay sessions keep nothing (issue 8, items 8 and 12).
#include "capture/capture.hpp"
#include "otlp/otlp_proxy.hpp"
#include "session/session.hpp"
#include "session/session_store.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;
using sp_test::expect_error;
using sp_test::Req;

namespace {

void record(Session& s, const std::string& path, const std::string& body) {
  Req r = sp_test::get("api.example.com", path);
  auto v = r.view();
  ResponseView resp{200, nullptr, 0, body};
  s.record(exchange_from_views(v, &resp, {1, 2}, s.id()));
}

std::shared_ptr<Session> capture(SessionStore& store, const json& limits = nullptr) {
  json o = {{"mode", "capture"}};
  if (!limits.is_null()) o["limits"] = limits;
  return store.create(session_options_from_json(o));
}

}  // namespace

TEST_CASE("a real-sized capture loads back with the default limits", "[capture][limits][regression]") {
  sp_test::TempDir dir;
  SessionStore store;
  auto s = capture(store);
  for (int i = 0; i < 150; ++i) record(*s, "/item/" + std::to_string(i), "{}");
  record(*s, "/big", std::string(200 * 1024, 'x'));  // a body over the old 64 KiB limit
  std::string path = dir.file("real.case.json");
  s->close(path);
  auto replay = store.create({});
  std::string text = read_file(path);
  CaseFile loaded = parse_case(text, replay->limits());  // before: refused (maxSpans 100, maxStringBytes 64 KiB)
  CHECK(loaded.exchanges.size() == 151);
  CHECK(loaded.exchanges.back().response_body.size() == 200 * 1024);
}

TEST_CASE("a capture refuses, with the limit named, what could not load back", "[capture][limits]") {
  SessionStore store;
  SECTION("spans") {
    auto s = capture(store, {{"maxSpans", 3}});
    for (int i = 0; i < 3; ++i) record(*s, "/ok", "{}");
    auto e = expect_error(ErrorCode::limit_exceeded, [&] { record(*s, "/4th", "{}"); });
    CHECK_THAT(e.what(), Catch::Contains("capture of session " + s->id()));
    CHECK_THAT(e.what(), Catch::Contains("raise limits.maxSpans"));
    CHECK(e.details()["limit"] == "maxSpans");
    CHECK(s->captured_count() == 3);
    CHECK(s->stats_json()["stats"]["extractedSpans"] == 3);
  }
  SECTION("one string") {
    auto s = capture(store, {{"maxStringBytes", 1000}});
    record(*s, "/ok", std::string(1000, 'a'));
    auto e = expect_error(ErrorCode::limit_exceeded, [&] { record(*s, "/big", std::string(1001, 'a')); });
    CHECK(e.details()["limit"] == "maxStringBytes");
    CHECK_THAT(e.what(), Catch::Contains("response body"));
    CHECK(s->captured_count() == 1);
  }
  SECTION("the whole case") {
    auto s = capture(store, {{"maxCaseBytes", 64 * 1024}});
    auto e = expect_error(ErrorCode::limit_exceeded, [&] {
      for (int i = 0; i < 100; ++i) record(*s, "/p", std::string(4000, 'b'));
    });
    CHECK(e.details()["limit"] == "maxCaseBytes");
    // Whatever was accepted writes a case that the same limits load.
    CaseFile c = s->captured_case();
    CaseLimits limits;
    limits.max_case_bytes = 64 * 1024;
    CHECK(parse_case(serialize_case(c), limits).exchanges.size() == c.exchanges.size());
  }
}

TEST_CASE("the case-size estimate is an upper bound of what is written", "[capture][limits]") {
  SessionStore store;
  auto s = capture(store);
  record(*s, "/text", std::string(5000, '"'));                                            // every byte escaped
  record(*s, "/binary", std::string("\xff\xfe\x00\x01", 4) + std::string(3000, '\x80'));  // base64
  record(*s, "/plain", "hello");
  std::size_t estimate = 0;
  for (const auto& ex : s->captured_case().exchanges) estimate += estimated_case_bytes(ex);
  CHECK(serialize_case(s->captured_case()).size() <= estimate);
}

TEST_CASE("replay sessions keep no capture buffer", "[capture][regression]") {
  SessionStore store;
  auto s = store.create({});
  for (int i = 0; i < 10; ++i) record(*s, "/x", std::string(10'000, 'z'));
  CHECK(s->captured_count() == 0);
  CHECK(s->stats_json()["stats"]["extractedSpans"] == 0);
}

TEST_CASE("session option strings are bounded", "[session][errors][regression]") {
  auto e = expect_error(ErrorCode::invalid_argument, [] {
    session_options_from_json({{"caseId", std::string(8 << 20, 'c')}});
  });
  CHECK_THAT(e.what(), Catch::Contains("caseId: is 8388608 bytes, over the limit of 1024"));
  expect_error(ErrorCode::invalid_argument, [] { session_options_from_json({{"suite", std::string(1025, 's')}}); });
  CHECK(session_options_from_json({{"caseId", std::string(1024, 'c')}}).case_id.size() == 1024);
}

TEST_CASE("extracts for unknown sessions: one hash lookup each, at most 10 named", "[otlp][capture][regression]") {
  SessionStore store;
  json spans = json::array();
  for (int i = 0; i < 40'000; ++i)
    spans.push_back({{"traceId", "5b8efff798038103d269b633813fc60c"},
                     {"spanId", "051581bf3cb55c13"},
                     {"attributes",
                      {{{"key", "sp.session.id"}, {"value", {{"stringValue", "nope-" + std::to_string(i % 1000)}}}},
                       {{"key", "sp.span.type"}, {"value", {{"stringValue", "extract"}}}}}}});
  json payload = {{"resourceSpans", {{{"scopeSpans", {{{"spans", spans}}}}}}}};
  ExtractResult r = extract_otlp(store, payload.dump(), PayloadFormat::json, PayloadFormat::json);
  CHECK(r.rejected == 40'000);
  CHECK(r.recorded == 0);
  CHECK_THAT(r.message, Catch::StartsWith("40000 extract span(s) rejected: unknown session \"nope-0\""));
  CHECK_THAT(r.message, Catch::EndsWith("(and 990 more)"));
  CHECK(std::count(r.message.begin(), r.message.end(), ',') == 9);
}

TEST_CASE("extracts over a capture's limit are rejected and reported, the rest recorded", "[otlp][capture][limits]") {
  SessionStore store;
  auto s = capture(store, {{"maxSpans", 2}});
  json spans = json::array();
  for (int i = 0; i < 5; ++i)
    spans.push_back({{"traceId", "5b8efff798038103d269b633813fc60c"},
                     {"spanId", "051581bf3cb55c1" + std::to_string(i)},
                     {"attributes",
                      {{{"key", "sp.session.id"}, {"value", {{"stringValue", s->id()}}}},
                       {{"key", "sp.span.type"}, {"value", {{"stringValue", "extract"}}}},
                       {{"key", "url.path"}, {"value", {{"stringValue", "/p"}}}}}}});
  json payload = {{"resourceSpans", {{{"scopeSpans", {{{"spans", spans}}}}}}}};
  ExtractResult r = extract_otlp(store, payload.dump(), PayloadFormat::json, PayloadFormat::json);
  CHECK(r.recorded == 2);
  CHECK(r.rejected == 3);
  CHECK_THAT(r.message, Catch::Contains("raise limits.maxSpans"));
  CHECK_THAT(r.body, Catch::Contains("partialSuccess"));
}
