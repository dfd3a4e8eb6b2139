#include "rules/json_path.hpp"

#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;

namespace {
std::vector<json> select(const std::string& path, const json& doc) {
  std::vector<const json*> nodes;
  JsonPath::parse(path).select(doc, nodes);
  std::vector<json> out;
  for (auto* n : nodes) out.push_back(*n);
  return out;
}
}  // namespace

TEST_CASE("JSONPath subset selects as documented", "[jsonpath]") {
  json doc = json::parse(R"({"a":{"b":[10,20,{"c":"x"}]},"list":[{"id":1},{"id":2}],"odd key":true})");
  CHECK(select("$", doc) == std::vector<json>{doc});
  CHECK(select("$.a.b[0]", doc) == std::vector<json>{10});
  CHECK(select("$.a.b[-1].c", doc) == std::vector<json>{"x"});
  CHECK(select("$.list[*].id", doc) == std::vector<json>{1, 2});
  CHECK(select("$['odd key']", doc) == std::vector<json>{true});
  CHECK(select("$..id", doc) == std::vector<json>{1, 2});
  CHECK(select("$..c", doc) == std::vector<json>{"x"});
  CHECK(select("$.a.*", doc).size() == 1);
  CHECK(select("$.missing", doc).empty());
  CHECK(select("$.a.b[7]", doc).empty());
}

TEST_CASE("bad JSONPath expressions are rejected with the position", "[jsonpath][errors]") {
  for (const char* bad : {"a.b", "$.", "$[", "$[?(@.a)]", "$[1:2]", "$.a b", "$['x"}) {
    INFO(bad);
    sp_test::expect_error(ErrorCode::invalid_argument, [&] { JsonPath::parse(bad); });
  }
  try {
    JsonPath::parse("$.a b");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("at position 3"));
  }
}
