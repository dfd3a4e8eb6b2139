// The one JSON entry point of the core: NUL bytes, numbers out of range,
// nesting, and integer ranges (issue 8, items 5-7).
#include "support/json_document.hpp"

#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;
using sp_test::expect_error;

TEST_CASE("a NUL byte anywhere is refused with its place, not taken as the end", "[json][errors][regression]") {
  std::string text("{}\0garbage", 10);
  auto e = expect_error(ErrorCode::invalid_json, [&] { parse_json_document(text, "policy"); });
  CHECK_THAT(e.what(), Catch::Contains("policy contains a NUL byte at line 1, column 3 (byte 2)"));
  CHECK(e.details()["byte"] == 2);
  std::string in_string("{\"a\":\"x\0y\"}", 11);
  expect_error(ErrorCode::invalid_json, [&] { parse_json_document(in_string, "rules document"); });
  CHECK_FALSE(try_parse_json_body(text).has_value());
  CHECK(try_parse_json_body("{\"a\":1}").has_value());
}

TEST_CASE("a number too large for a double is a syntax error with its place", "[json][errors][regression]") {
  auto e = expect_error(ErrorCode::invalid_json,
                        [] { parse_json_document("{\n  \"a\": 1e999999\n}", "OTLP JSON payload"); });
  CHECK_THAT(e.what(), Catch::Contains("OTLP JSON payload is not valid JSON: number overflow parsing '1e999999'"));
  CHECK_THAT(e.what(), Catch::Contains("at line 2"));
  CHECK(e.details()["line"] == 2);
}

TEST_CASE("syntax errors name line, column and byte", "[json][errors]") {
  auto e = expect_error(ErrorCode::invalid_json, [] { parse_json_document("{\"a\":1,\n \"b\" 2}", "rules document"); });
  CHECK_THAT(e.what(), Catch::Contains("rules document is not valid JSON"));
  CHECK_THAT(e.what(), Catch::Contains("at line 2, column 6 (byte 13)"));
  CHECK_THAT(e.what(), Catch::Contains("unexpected number literal"));
  CHECK_THAT(e.what(), !Catch::Contains("[json.exception"));
}

TEST_CASE("nesting deeper than the limit is refused before parsing", "[json][errors]") {
  std::string deep(300, '[');
  deep += std::string(300, ']');
  auto e = expect_error(ErrorCode::invalid_json, [&] { parse_json_document(deep, "case file"); });
  CHECK(e.details()["limit"] == "maxDepth");
  auto o = expect_error(ErrorCode::limit_exceeded, [&] {
    parse_json_document(deep, "OTLP JSON payload", {64, ErrorCode::limit_exceeded, "maxNesting"});
  });
  CHECK(o.details()["max"] == 64);
}

TEST_CASE("integers are range-checked, never wrapped", "[json][regression]") {
  CHECK(json_int64(json::parse("9223372036854775807")) == INT64_MAX);
  CHECK_FALSE(json_int64(json::parse("9223372036854775808")).has_value());  // 2^63: would wrap negative
  CHECK(json_int64(json::parse("-9223372036854775808")) == INT64_MIN);
  CHECK_FALSE(json_int64(json::parse("1.5")).has_value());
  CHECK_FALSE(json_int64(json::parse("\"1\"")).has_value());
  CHECK_FALSE(json_int_in(json::parse("4294967297"), 1, 1).has_value());  // would truncate to 1 as a 32-bit int
  CHECK(json_int_in(json::parse("1"), 1, 1) == 1);
}
