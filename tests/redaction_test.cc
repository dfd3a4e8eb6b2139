// Body and header redaction before storage (issue 8, item 4: overlapping
// JSONPath selections used to write through freed nodes).
#include "capture/redaction.hpp"

#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;

namespace {

std::string redacted_body(const std::vector<std::string>& paths, const std::string& body) {
  Redaction r = redaction_from_json(json{{"bodyJsonPaths", paths}});
  HttpExchange ex;
  ex.request_body = body;
  ex.response_body = body;
  r.apply(ex);
  CHECK(ex.request_body == ex.response_body);
  return ex.request_body;
}

}  // namespace

TEST_CASE("overlapping body paths redact the outermost node, without touching freed memory",
          "[redaction][regression]") {
  const std::string body = R"({"user":{"token":"t","name":"n","tags":["a",{"token":"u"}]},"keep":1})";
  CHECK(json::parse(redacted_body({"$.user", "$.user.token"}, body)) ==
        json::parse(R"({"user":"[REDACTED]","keep":1})"));
  CHECK(json::parse(redacted_body({"$.user.token", "$.user"}, body)) ==
        json::parse(R"({"user":"[REDACTED]","keep":1})"));
  CHECK(json::parse(redacted_body({"$..*"}, body)) == json::parse(R"({"user":"[REDACTED]","keep":"[REDACTED]"})"));
  CHECK(json::parse(redacted_body({"$..token"}, body)) ==
        json::parse(R"({"user":{"token":"[REDACTED]","name":"n","tags":["a",{"token":"[REDACTED]"}]},"keep":1})"));
  CHECK(json::parse(redacted_body({"$..token", "$.user.tags", "$.user.tags[1]"}, body)) ==
        json::parse(R"({"user":{"token":"[REDACTED]","name":"n","tags":"[REDACTED]"},"keep":1})"));
  CHECK(redacted_body({"$"}, body) == "\"[REDACTED]\"");
}

TEST_CASE("bodies that are not JSON documents are kept as they are", "[redaction]") {
  CHECK(redacted_body({"$.a"}, "not json") == "not json");
  std::string with_nul("{\"a\":1}\0{\"b\":2}", 15);
  CHECK(redacted_body({"$.a"}, with_nul) == with_nul);                  // nothing after the NUL is dropped
  CHECK(redacted_body({"$.missing"}, R"({"a": 1})") == R"({"a": 1})");  // no hit: the text is untouched
}
