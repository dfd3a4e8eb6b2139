#include "case/case_lookup.hpp"

#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;
using sp_test::expect_error;

namespace {
CaseFile kinds() { return parse_case(sp_test::fixture("all-kinds.case.json")); }
CasePredicate pred(const json& j) { return case_predicate_from_json(j); }
}  // namespace

TEST_CASE("findInCase selects exactly one span by the contract's predicates", "[findInCase]") {
  CaseFile c = kinds();
  CHECK(find_in_case(c, pred({{"method", "post"}, {"host", "API.stripe.com"}})).span_id == "b7ad6b7169203331");
  CHECK(find_in_case(c, pred({{"direction", "inbound"}})).span_id == "d7ad6b7169203333");
  CHECK(find_in_case(c, pred({{"pathPrefix", "/logo"}})).span_id == "c7ad6b7169203332");
  CHECK(find_in_case(c, pred({{"hostSuffix", "example.com"}})).span_id == "c7ad6b7169203332");
  CHECK(find_in_case(c, pred({{"service", "gateway"}})).span_id == "d7ad6b7169203333");
  CHECK(find_in_case(c, pred({{"path", "/v1/payment_intents"}})).span_id == "b7ad6b7169203331");
}

TEST_CASE("findInCase host compares with the port only when the predicate has one", "[findInCase]") {
  CaseFile c = kinds();
  CHECK(find_in_case(c, pred({{"host", "cdn.example.com"}})).span_id == "c7ad6b7169203332");
  CHECK(find_in_case(c, pred({{"host", "cdn.example.com:8443"}})).span_id == "c7ad6b7169203332");
  CHECK(find_all_in_case(c, pred({{"host", "cdn.example.com:443"}})).empty());
  CaseFile golden = parse_case(sp_test::fixture("fragment-happy-path.case.json"));
  CHECK(find_in_case(golden, pred({{"host", "softprobe-proxy"}, {"path", "/fragment"}})).status == 200);
}

TEST_CASE("only spans with a response are candidates", "[findInCase]") {
  CaseFile c = kinds();
  // The span at /v1/customers/cus_1 has no status code.
  CHECK(find_all_in_case(c, pred({{"pathPrefix", "/v1/customers"}})).empty());
}

TEST_CASE("zero or several matches raise CaseLookupError with the candidates", "[findInCase][errors]") {
  CaseFile c = kinds();
  SECTION("several") {
    auto e = expect_error(ErrorCode::case_lookup, [&] { find_in_case(c, pred({{"direction", "outbound"}})); });
    const json& matches = e.details()["matches"];
    REQUIRE(matches.size() == 2);
    CHECK(matches[0]["spanId"] == "b7ad6b7169203331");
    CHECK(matches[0]["method"] == "POST");
    CHECK(matches[0]["host"] == "api.stripe.com");
    CHECK(matches[0]["path"] == "/v1/payment_intents");
    CHECK(matches[1]["spanId"] == "c7ad6b7169203332");
    CHECK_THAT(e.what(), Catch::Contains("narrow the predicate"));
    CHECK_THAT(e.what(), Catch::Contains("span c7ad6b7169203332: GET cdn.example.com:8443/logo.png"));
  }
  SECTION("none") {
    auto e = expect_error(ErrorCode::case_lookup, [&] { find_in_case(c, pred({{"host", "nowhere.test"}})); });
    CHECK(e.details()["matches"].empty());
    CHECK_THAT(e.what(), Catch::Contains("no span with a response matching {\"host\":\"nowhere.test\"}"));
  }
}

TEST_CASE("findAllInCase returns matches in file order", "[findInCase]") {
  CaseFile c = kinds();
  auto all = find_all_in_case(c, {});
  REQUIRE(all.size() == 3);
  CHECK(all[0]->span_id == "b7ad6b7169203331");
  CHECK(all[1]->span_id == "c7ad6b7169203332");
  CHECK(all[2]->span_id == "d7ad6b7169203333");
}

TEST_CASE("bad findInCase predicates name the key", "[findInCase][errors]") {
  auto e = expect_error(ErrorCode::invalid_argument, [] { pred({{"hots", "x"}}); });
  CHECK_THAT(e.what(), Catch::Contains("unknown key \"hots\""));
  expect_error(ErrorCode::invalid_argument, [] { pred({{"method", 1}}); });
  expect_error(ErrorCode::invalid_argument, [] { pred(json::array()); });
}

TEST_CASE("match JSON carries the response for mockOutbound", "[findInCase]") {
  CaseFile c = kinds();
  json m = exchange_match_json(find_in_case(c, pred({{"path", "/v1/payment_intents"}})));
  CHECK(m["response"]["status"] == 201);
  CHECK(m["response"]["headers"]["content-type"] == "application/json");
  CHECK(m["response"]["body"] == "{\"id\":\"pi_123\"}");
  CHECK(m["span"]["spanId"] == "b7ad6b7169203331");
  json png = exchange_match_json(find_in_case(c, pred({{"path", "/logo.png"}})));
  CHECK(png["response"]["bodyBase64"] == "iVBORwD/");
  CHECK_FALSE(png["response"].contains("body"));
}
