#include "rules/rule.hpp"

#include "rules/rule_matcher.hpp"
#include "rules/rule_set.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;
using sp_test::expect_error;
using sp_test::Req;

namespace {

RuleList rules(const json& list, RuleLayer layer = RuleLayer::session) {
  return parse_rules(json{{"version", 1}, {"rules", list}}, layer);
}

json mock(const json& when, int status = 200) {
  return {{"when", when}, {"then", {{"action", "mock"}, {"response", {{"status", status}}}}}};
}

json with(json base, const json& extra) {
  base.update(extra);
  return base;
}

// The oracle for the index: the winning rule by a plain scan of one layer.
const Rule* linear_best(const RuleList& rules, const MatchRequest& req) {
  const Rule* best = nullptr;
  for (const auto& rule : rules)
    if (rule_matches(*rule, req) &&
        (!best || std::make_pair(rule->priority, rule->position) > std::make_pair(best->priority, best->position)))
      best = rule.get();
  return best;
}

bool matches(const json& when, Req r) {
  auto list = rules(json::array({mock(when)}));
  auto v = r.view();
  return rule_matches(*list[0], MatchRequest(v));
}

}  // namespace

TEST_CASE("a full rule parses", "[rules]") {
  auto list = rules(
      json::array({{{"name", "stripe-mock"},
                    {"priority", 100},
                    {"consume", "once"},
                    {"latencyMs", 25},
                    {"when",
                     {{"direction", "outbound"},
                      {"method", "post"},
                      {"host", "API.stripe.com"},
                      {"pathPrefix", "/v1/payment_intents"}}},
                    {"then",
                     {{"action", "mock"},
                      {"response", {{"status", 201}, {"headers", {{"x-a", "1"}}}, {"body", {{"id", "pi_test"}}}}}}}}}));
  REQUIRE(list.size() == 1);
  const Rule& r = *list[0];
  CHECK(r.name == "stripe-mock");
  CHECK(r.priority == 100);
  CHECK(r.consume_once);
  CHECK(r.latency_ms == 25);
  CHECK(*r.when.method == "POST");
  CHECK(*r.when.host == "api.stripe.com");
  CHECK(r.action == Action::mock);
  CHECK(r.response->status == 201);
  CHECK(r.response->body == "{\"id\":\"pi_test\"}");  // JSON values are serialized
  CHECK(r.response->headers == Headers{{"x-a", "1"}, {"content-type", "application/json"}});
}

TEST_CASE("mock defaults, error, passthrough, capture_only and bodyBase64", "[rules]") {
  auto list = rules(json::array({
      {{"then", {{"action", "mock"}}}},
      {{"then", {{"action", "error"}, {"error", {{"status", 503}, {"body", "down"}}}}}},
      {{"then", {{"action", "passthrough"}}}},
      {{"then", {{"action", "capture_only"}}}},
      {{"then", {{"action", "mock"}, {"response", {{"bodyBase64", "AAEC"}}}}}},
  }));
  CHECK(list[0]->response->status == 200);
  CHECK(list[0]->response->body.empty());
  CHECK(list[1]->action == Action::error);
  CHECK(list[1]->response->status == 503);
  CHECK(list[1]->response->body == "down");
  CHECK(list[2]->action == Action::passthrough);
  CHECK(list[3]->action == Action::capture_only);
  CHECK(list[4]->response->body == std::string("\0\1\2", 3));
}

TEST_CASE("invalid rules name the rule index and the field", "[rules][errors]") {
  auto check = [](const json& rule, const std::string& expected_message, const std::string& field) {
    auto e = expect_error(ErrorCode::invalid_rule, [&] { rules(json::array({mock({}), rule})); });
    CHECK_THAT(e.what(), Catch::Contains(expected_message));
    CHECK(e.details()["ruleIndex"] == 1);
    CHECK(e.details()["field"] == field);
  };
  check({{"when", {}}, {"then", {{"action", "mock"}}}, {"prio", 1}}, "rules[1].prio: unknown key", "prio");
  check({{"when", {{"hostt", "x"}}}, {"then", {{"action", "mock"}}}},
        "rules[1].when.hostt: unknown key (expected one of: direction", "when.hostt");
  check({{"then", {{"action", "mock"}, {"respnse", {}}}}}, "rules[1].then.respnse: unknown key", "then.respnse");
  check({{"when", {}}}, "rules[1].then: is required", "then");
  check({{"then", {{"response", {}}}}}, "rules[1].then.action: is required", "then.action");
  check({{"then", {{"action", "stub"}}}}, "unknown action \"stub\"", "then.action");
  check({{"priority", "high"}, {"then", {{"action", "mock"}}}},
        "rules[1].priority: must be an integer from -2^63 to 2^63-1, got string", "priority");
  check({{"when", {{"method", 5}}}, {"then", {{"action", "mock"}}}},
        "rules[1].when.method: must be a string, got number", "when.method");
  check({{"consume", "twice"}, {"then", {{"action", "mock"}}}}, "must be \"many\" or \"once\"", "consume");
  check({{"then", {{"action", "error"}}}}, "rules[1].then.error: is required", "then.error");
  check({{"then", {{"action", "error"}, {"error", {{"body", "x"}}}}}}, "rules[1].then.error.status: is required",
        "then.error.status");
  check({{"then", {{"action", "mock"}, {"response", {{"status", 42}}}}}},
        "rules[1].then.response.status: must be an integer HTTP status", "then.response.status");
  check({{"when", {{"bodyJsonPath", "amount"}}}, {"then", {{"action", "mock"}}}}, "must start with '$'",
        "when.bodyJsonPath");
  check({{"when", {{"equals", 1}}}, {"then", {{"action", "mock"}}}}, "needs \"bodyJsonPath\"", "when.equals");
  check({{"when", {{"direction", "sideways"}}}, {"then", {{"action", "mock"}}}}, "must be \"outbound\" or \"inbound\"",
        "when.direction");
  check({{"then", {{"action", "passthrough"}, {"response", json::object()}}}},
        "is not allowed with action \"passthrough\"", "then.response");
  check(json::array(), "a rule must be an object", "");
}

TEST_CASE("the deprecated replay action points to findInCase + mockOutbound", "[rules][errors]") {
  auto e = expect_error(ErrorCode::invalid_rule, [] { rules(json::array({{{"then", {{"action", "replay"}}}}})); });
  CHECK_THAT(e.what(), Catch::Contains("deprecated"));
  CHECK_THAT(e.what(), Catch::Contains("findInCase"));
  CHECK_THAT(e.what(), Catch::Contains("mockOutbound"));
}

TEST_CASE("rules documents: version, bare arrays, unknown keys", "[rules][errors]") {
  CHECK(parse_rules(json::array({mock({})}), RuleLayer::session).size() == 1);
  expect_error(ErrorCode::invalid_rule, [] {
    parse_rules(json{{"version", 2}, {"rules", json::array()}}, RuleLayer::session);
  });
  expect_error(ErrorCode::invalid_rule, [] { parse_rules(json{{"version", 1}}, RuleLayer::session); });
  auto e = expect_error(ErrorCode::invalid_rule, [] {
    parse_rules(json{{"version", 1}, {"rules", json::array()}, {"x", 1}}, RuleLayer::session);
  });
  CHECK_THAT(e.what(), Catch::Contains("unknown key \"x\""));
  auto c = expect_error(ErrorCode::invalid_rule, [] {
    parse_rules(json::array({{{"then", 1}}}), RuleLayer::case_rules);
  });
  CHECK_THAT(c.what(), Catch::Contains("case rules[0].then"));
}

TEST_CASE("each predicate matches and fails as specified", "[rules][predicates]") {
  Req r = sp_test::get("API.Example.com", "/v1/items/7");
  r.method = "post";
  r.scheme = "https";
  r.service = "checkout";
  r.query = "a=1";
  r.headers = {{"X-Tenant", "acme"}, {"Accept", "text/plain"}, {"Accept", "application/json"}};
  r.tags = {{"test.name", "pays"}, {"retry", "3"}, {"flag", "true"}};
  r.body = R"({"amount":42,"items":[{"sku":"a"},{"sku":"b"}],"customer":{"email":"x@y"}})";

  CHECK(matches(json::object(), r));  // empty when matches everything
  CHECK(matches({{"direction", "outbound"}}, r));
  CHECK_FALSE(matches({{"direction", "inbound"}}, r));
  CHECK(matches({{"method", "POST"}}, r));
  CHECK_FALSE(matches({{"method", "GET"}}, r));
  CHECK(matches({{"host", "api.example.com"}}, r));
  CHECK(matches({{"host", "api.example.com:443"}}, r));  // effective port of https
  CHECK_FALSE(matches({{"host", "api.example.com:8443"}}, r));
  CHECK_FALSE(matches({{"host", "example.com"}}, r));
  CHECK(matches({{"hostSuffix", ".example.com"}}, r));
  CHECK_FALSE(matches({{"hostSuffix", ".example.org"}}, r));
  CHECK(matches({{"notHostSuffix", {".internal", ".local"}}}, r));
  CHECK_FALSE(matches({{"notHostSuffix", {".internal", "example.com"}}}, r));
  CHECK(matches({{"path", "/v1/items/7"}}, r));
  CHECK_FALSE(matches({{"path", "/v1/items"}}, r));
  CHECK(matches({{"pathPrefix", "/v1/items"}}, r));
  CHECK_FALSE(matches({{"pathPrefix", "/v2"}}, r));
  CHECK(matches({{"service", "checkout"}}, r));
  CHECK_FALSE(matches({{"service", "billing"}}, r));
  CHECK(matches({{"headers", {{"x-tenant", "acme"}}}}, r));                            // names case-insensitive
  CHECK_FALSE(matches({{"headers", {{"x-tenant", "ACME"}}}}, r));                      // values exact
  CHECK(matches({{"headers", {{"accept", {"text/plain", "application/json"}}}}}, r));  // all required
  CHECK(matches({{"headers", {{"accept", "text/plain, application/json"}}}}, r));      // joined form
  CHECK_FALSE(matches({{"headers", {{"accept", {"text/plain", "text/html"}}}}}, r));
  CHECK_FALSE(matches({{"headers", {{"x-missing", "1"}}}}, r));
  CHECK(matches({{"bodyJsonPath", "$.amount"}}, r));
  CHECK(matches({{"bodyJsonPath", "$.amount"}, {"equals", 42}}, r));
  CHECK_FALSE(matches({{"bodyJsonPath", "$.amount"}, {"equals", 43}}, r));
  CHECK(matches({{"bodyJsonPath", "$.items[*].sku"}, {"equals", "b"}}, r));
  CHECK(matches({{"bodyJsonPath", "$..email"}}, r));
  CHECK_FALSE(matches({{"bodyJsonPath", "$.missing"}}, r));
  CHECK(matches({{"traceTags", {{"test.name", "pays"}, {"retry", 3}, {"flag", true}}}}, r));
  CHECK_FALSE(matches({{"traceTags", {{"test.name", "other"}}}}, r));
  CHECK_FALSE(matches({{"traceTags", {{"absent", "x"}}}}, r));
  CHECK(matches(
      {{"method", "POST"}, {"host", "api.example.com"}, {"pathPrefix", "/v1"}, {"headers", {{"x-tenant", "acme"}}}},
      r));

  Req not_json = r;
  not_json.body = "amount=42";
  CHECK_FALSE(matches({{"bodyJsonPath", "$.amount"}}, not_json));
}

TEST_CASE("host predicates honour explicit ports in the request", "[rules][predicates]") {
  Req r = sp_test::get("localhost:8080", "/x");
  CHECK(matches({{"host", "localhost"}}, r));
  CHECK(matches({{"host", "localhost:8080"}}, r));
  CHECK_FALSE(matches({{"host", "localhost:80"}}, r));
  Req p = sp_test::get("localhost", "/x");
  p.port = 9000;
  CHECK(matches({{"host", "localhost:9000"}}, p));
}

TEST_CASE("precedence: max of (priority, layer, position)", "[rules][precedence]") {
  Req r = sp_test::get("api.example.com", "/v1/a");
  auto v = r.view();
  MatchRequest req(v);
  auto winner = [&](const json& case_list, const json& session_list) {
    RuleSet set(parse_rules(case_list, RuleLayer::case_rules), parse_rules(session_list, RuleLayer::session));
    const Rule* w = set.best_match(req, RuleSet::Band::non_negative);
    return w ? w->response->status : 0;
  };
  // Higher priority wins whatever the layer.
  CHECK(winner(json::array({with(mock({}, 201), {{"priority", 5}})}), json::array({mock({}, 202)})) == 201);
  // Equal priority: the later layer (session) wins.
  CHECK(winner(json::array({mock({}, 201)}), json::array({mock({}, 202)})) == 202);
  // Same layer, same priority: the later entry wins.
  CHECK(winner(json::array(), json::array({mock({}, 201), mock({}, 202), mock({{"host", "other"}}, 203)})) == 202);
  // A specific host+path rule and a catch-all: rank decides, not specificity.
  CHECK(winner(json::array(),
               json::array({mock({{"host", "api.example.com"}, {"path", "/v1/a"}}, 201), mock({}, 202)})) == 202);
  CHECK(winner(json::array(),
               json::array({mock({}, 202), mock({{"host", "api.example.com"}, {"path", "/v1/a"}}, 201)})) == 201);
  CHECK(winner(json::array(), json::array({with(mock({{"host", "api.example.com"}}, 201), {{"priority", 1}}),
                                           mock({{"path", "/v1/a"}}, 202)})) == 201);
}

TEST_CASE("the rule index agrees with a linear scan over many rules", "[rules][index]") {
  json list = json::array();
  for (int i = 0; i < 2000; ++i) {
    json when;
    switch (i % 5) {
      case 0: when = {{"host", "h" + std::to_string(i % 37) + ".test"}}; break;
      case 1: when = {{"host", "h" + std::to_string(i % 37) + ".test"}, {"path", "/p" + std::to_string(i % 11)}}; break;
      case 2: when = {{"path", "/p" + std::to_string(i % 11)}}; break;
      case 3: when = {{"hostSuffix", std::to_string(i % 7) + ".test"}, {"method", i % 2 ? "GET" : "POST"}}; break;
      case 4: when = {{"host", "h" + std::to_string(i % 37) + ".test:8080"}}; break;
    }
    list.push_back(with(mock(when, 200 + i % 300), {{"priority", i % 3}, {"name", "r" + std::to_string(i)}}));
  }
  RuleList session = parse_rules(list, RuleLayer::session);
  RuleSet set(RuleList{}, session);
  int checked = 0;
  for (int h = 0; h < 40; ++h)
    for (int p = 0; p < 12; ++p)
      for (const char* port : {"", ":8080"}) {
        Req r = sp_test::get("h" + std::to_string(h) + ".test" + port, "/p" + std::to_string(p));
        auto v = r.view();
        MatchRequest req(v);
        CHECK(set.best_match(req, RuleSet::Band::non_negative) == linear_best(session, req));
        ++checked;
      }
  CHECK(checked == 960);
}

TEST_CASE("consume-once rules are used once, then the next rule answers", "[rules][consume]") {
  RuleSet set(RuleList{}, rules(json::array({mock({}, 200), with(mock({}, 201), {{"consume", "once"}})})));
  Req r = sp_test::get("a.test", "/");
  auto v = r.view();
  MatchRequest req(v);
  CHECK(set.best_match(req, RuleSet::Band::non_negative)->response->status == 201);
  CHECK(set.best_match(req, RuleSet::Band::non_negative)->response->status == 200);
  CHECK(set.best_match(req, RuleSet::Band::non_negative)->response->status == 200);
}

TEST_CASE("near-miss explanation names the failing predicate", "[rules][explain]") {
  auto list = rules(json::array({mock({{"method", "GET"}, {"host", "api.example.com"}, {"path", "/v1/users"}})}));
  Req r = sp_test::get("api.example.com", "/v1/user");
  auto v = r.view();
  auto results = explain_rule(*list[0], MatchRequest(v));
  REQUIRE(results.size() == 3);
  CHECK(results[0].passed);
  CHECK(results[1].passed);
  CHECK_FALSE(results[2].passed);
  CHECK(results[2].predicate == "path");
  CHECK(results[2].expected == "/v1/users");
  CHECK(results[2].actual == "/v1/user");
}

TEST_CASE("hostSuffix rules are indexed and agree with a linear scan, even with many matching suffixes",
          "[rules][index]") {
  // 20 nested suffixes all match the host below: more candidate lists than the
  // lookup keeps inline, so the overflow path is exercised too.
  std::string host = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.test";
  json list = json::array();
  for (std::size_t i = 0; i < host.size(); ++i)
    if (host[i] == '.')
      list.push_back(with(mock({{"hostSuffix", host.substr(i)}}, 200 + int(i)), {{"priority", int(i % 4)}}));
  list.push_back(mock({{"hostSuffix", "nope.test"}}, 299));
  for (int i = 0; i < 500; ++i) list.push_back(mock({{"hostSuffix", ".other" + std::to_string(i) + ".test"}}, 300));
  RuleList session = parse_rules(list, RuleLayer::session);
  RuleSet set(RuleList{}, session);
  for (const std::string& h : {host, std::string("x.") + host, std::string("t.test"), std::string("z.other7.test"),
                               std::string("unrelated.org")}) {
    Req r = sp_test::get(h, "/");
    auto v = r.view();
    MatchRequest req(v);
    INFO(h);
    CHECK(set.best_match(req, RuleSet::Band::non_negative) == linear_best(session, req));
  }
}

TEST_CASE("a deeply nested request body does not match bodyJsonPath and does not crash",
          "[rules][predicates][regression]") {
  Req r = sp_test::get("a.test", "/");
  r.body = std::string(100000, '[') + std::string(100000, ']');
  CHECK_FALSE(matches({{"bodyJsonPath", "$[0]"}}, r));
}

TEST_CASE("response headers that would inject or split HTTP are refused at load, naming rule and header",
          "[rules][errors][regression]") {
  auto bad = [](const json& headers, const std::string& expected) {
    json rule = {{"then", {{"action", "mock"}, {"response", {{"status", 200}, {"headers", headers}}}}}};
    auto e = expect_error(ErrorCode::invalid_rule, [&] { rules(json::array({mock({}), rule})); });
    CHECK_THAT(e.what(), Catch::Contains(expected));
    CHECK(e.details()["ruleIndex"] == 1);
  };
  bad({{"x-a", "a\r\nSet-Cookie: x=1"}},
      "rules[1].then.response.headers.x-a: the value has a control character (CR (0x0d)) at byte 1");
  bad({{"x-a", "a\nb"}}, "LF (0x0a)");
  bad({{"x-a", std::string("a\0b", 3)}}, "NUL (0x00)");
  bad({{"x-a", {"fine", "b\r"}}}, "rules[1].then.response.headers.x-a");
  bad({{"Bad Name", "v"}}, "rules[1].then.response.headers.\"Bad Name\": is not a valid header name");
  bad({{"x:y", "v"}}, "is not a valid header name");
  bad({{"", "v"}}, "is not a valid header name");
  json error_rule = {{"then", {{"action", "error"}, {"error", {{"status", 503}, {"headers", {{"x-e", "1\r\n"}}}}}}}};
  expect_error(ErrorCode::invalid_rule, [&] { rules(json::array({error_rule})); });
  // Tabs, obs-text and every token character stay allowed.
  auto ok = rules(json::array(
      {{{"then", {{"action", "mock"}, {"response", {{"headers", {{"X-Tok!#$%&'*+-.^_`|~9", "a\tb \xc3\xa9"}}}}}}}}}));
  CHECK(ok[0]->response->headers.size() == 1);
}

TEST_CASE("integers out of range are refused, never wrapped", "[rules][errors][regression]") {
  // 4294967297 used to pass as version 1 (truncated to 32 bits).
  auto v = expect_error(ErrorCode::invalid_rule,
                        [] { parse_rules(json::parse(R"({"version":4294967297,"rules":[]})"), RuleLayer::session); });
  CHECK_THAT(v.what(), Catch::Contains("\"version\" must be 1"));
  // 2^63 used to wrap to INT64_MIN, so a priority-1 rule beat it.
  auto p = expect_error(ErrorCode::invalid_rule, [] {
    parse_rules(json::parse(R"({"version":1,"rules":[{"priority":9223372036854775808,"then":{"action":"mock"}}]})"),
                RuleLayer::session);
  });
  CHECK_THAT(p.what(),
             Catch::Contains("rules[0].priority: must be an integer from -2^63 to 2^63-1, got 9223372036854775808"));
  auto top =
      parse_rules(json::parse(R"({"version":1,"rules":[{"priority":9223372036854775807,"then":{"action":"mock"}}]})"),
                  RuleLayer::session);
  CHECK(top[0]->priority == INT64_MAX);
  expect_error(ErrorCode::invalid_rule, [] {
    parse_rules(json::parse(R"({"version":1,"rules":[{"latencyMs":18446744073709551615,"then":{"action":"mock"}}]})"),
                RuleLayer::session);
  });
  expect_error(ErrorCode::invalid_rule, [] {
    parse_rules(json::parse(R"({"version":1,"rules":[{"then":{"action":"mock","response":{"status":4294967496}}}]})"),
                RuleLayer::session);
  });
}

// Issue 11, item 1: the reference CLI's `suite run` sends inline mocks with
// "headers": null (softprobe-cli/cmd/softprobe/suite_pipeline.go,
// buildRuleJSON: a Go map[string]string left nil marshals as null).
TEST_CASE("a null optional field of a rule is absent; a null required field is refused as required", "[rules][null]") {
  auto list = parse_rules(
      json::parse(
          R"({"rules":[{"name":"fragment","then":{"action":"mock","response":{"body":"ok","headers":null,"status":200}},
      "when":{"method":"GET","path":"/fragment","host":null}}],"version":1})"),
      RuleLayer::session);
  REQUIRE(list.size() == 1);
  CHECK(list[0]->response->headers.empty());
  CHECK(list[0]->response->body == "ok");
  CHECK(!list[0]->when.host);
  CHECK(*list[0]->when.path == "/fragment");

  // Every optional field of a rule at once.
  auto all = rules(json::array(
      {{{"name", nullptr},
        {"id", nullptr},
        {"priority", nullptr},
        {"consume", nullptr},
        {"latencyMs", nullptr},
        {"when", nullptr},
        {"then", {{"action", "mock"}, {"response", nullptr}, {"error", nullptr}}}},
       {{"when", {{"headers", nullptr}, {"traceTags", nullptr}, {"bodyJsonPath", nullptr}, {"equals", nullptr}}},
        {"then", {{"action", "error"}, {"error", {{"status", 503}, {"body", nullptr}, {"bodyBase64", nullptr}}}}}}}));
  CHECK(all[0]->priority == 0);
  CHECK(!all[0]->consume_once);
  CHECK(all[0]->response->status == 200);
  CHECK(all[0]->identity.rfind("json:", 0) == 0);  // a null id or name is no identity
  CHECK(all[1]->response->status == 503);
  CHECK(all[1]->response->body.empty());
  CHECK(parse_rules(json{{"version", nullptr}, {"rules", json::array()}}, RuleLayer::session).empty());

  auto required = [](const json& rule, const std::string& message, const std::string& field) {
    auto e = expect_error(ErrorCode::invalid_rule, [&] { rules(json::array({rule})); });
    CHECK_THAT(e.what(), Catch::Contains(message));
    CHECK(e.details()["field"] == field);
  };
  required({{"then", nullptr}}, "rules[0].then: is required", "then");
  required({{"then", {{"action", nullptr}}}}, "rules[0].then.action: is required", "then.action");
  required({{"then", {{"action", "error"}, {"error", nullptr}}}}, "rules[0].then.error: is required", "then.error");
  required({{"then", {{"action", "error"}, {"error", {{"status", nullptr}}}}}},
           "rules[0].then.error.status: is required", "then.error.status");
  auto e = expect_error(ErrorCode::invalid_rule, [] {
    parse_rules(json{{"version", 1}, {"rules", nullptr}}, RuleLayer::session);
  });
  CHECK_THAT(e.what(), Catch::Contains("missing \"rules\""));
  // A misspelt key stays an unknown key, null or not.
  required({{"whne", nullptr}, {"then", {{"action", "mock"}}}}, "rules[0].whne: unknown key", "whne");
  required({{"when", {{"hostt", nullptr}}}, {"then", {{"action", "mock"}}}}, "rules[0].when.hostt: unknown key",
           "when.hostt");
  // Values inside maps are not fields: a null header value is still refused.
  required({{"then", {{"action", "mock"}, {"response", {{"headers", {{"x-a", nullptr}}}}}}}},
           "then.response.headers.x-a", "then.response.headers.x-a");
}

// Issue 11, item 4: spec/examples/rules/strict-block.rule.json is one rule
// object, not a {"version","rules"} document.
TEST_CASE("a mock's status 0 is Go's zero value, not set: the default 200; an error's is still refused",
          "[rules][compat]") {
  // The reference CLI's suite runner posts inline mocks without a status as "status": 0.
  auto list = rules(json::array(
      {{{"then", {{"action", "mock"}, {"response", {{"status", 0}, {"body", "ok"}, {"headers", nullptr}}}}}}}));
  REQUIRE(list.size() == 1);
  CHECK(list[0]->response->status == 200);
  expect_error(ErrorCode::invalid_rule, [] {
    rules(json::array({{{"then", {{"action", "error"}, {"error", {{"status", 0}}}}}}}));
  });
  expect_error(ErrorCode::invalid_rule, [] {
    rules(json::array({{{"then", {{"action", "mock"}, {"response", {{"status", 1}}}}}}}));
  });
}

TEST_CASE("one rule object on its own is a one-rule document", "[rules][shapes]") {
  const char* strict_block = R"({
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
  std::vector<std::string> warnings;
  auto list = parse_rules(json::parse(strict_block), RuleLayer::session, &warnings);
  REQUIRE(list.size() == 1);
  CHECK(warnings.empty());
  CHECK(list[0]->id == "block-unknown-external");
  CHECK(list[0]->priority == 1000);
  CHECK(list[0]->action == Action::error);
  CHECK(list[0]->response->status == 599);
  CHECK(list[0]->when.not_host_suffix == std::vector<std::string>{".internal", "localhost"});
  CHECK(list[0]->source == json::parse(strict_block));
  // Errors inside it name it as the document's first rule; a typo is the rule's own unknown key.
  auto e = expect_error(ErrorCode::invalid_rule, [] {
    parse_rules(json::parse(R"({"then":{"action":"mock"},"whne":{}})"), RuleLayer::session);
  });
  CHECK_THAT(e.what(), Catch::Contains("rules[0].whne: unknown key"));
  // An object that is neither a document nor a rule is still refused, naming the key.
  auto d =
      expect_error(ErrorCode::invalid_rule, [] { parse_rules(json::parse(R"({"rulez":[]})"), RuleLayer::session); });
  CHECK_THAT(d.what(), Catch::Contains("unknown key \"rulez\""));
  auto m = expect_error(ErrorCode::invalid_rule, [] {
    parse_rules(json::parse(R"({"version":1,"then":{"action":"mock"}})"), RuleLayer::session);
  });
  CHECK_THAT(m.what(), Catch::Contains("unknown key \"then\""));
  expect_error(ErrorCode::invalid_rule, [] { parse_rules(json("rules"), RuleLayer::session); });
}

// Issue 11, item 4: the legacy form of the reference CLI's tests
// (softprobe-cli/cmd/softprobe/pd1_test.go: `session rules apply` and
// `capture run --redact-file` with "rules:\n  - match: {method: GET}\n    response: {status: 200}").
TEST_CASE("the legacy {match, response} form is read as when/then with a deprecation warning", "[rules][shapes]") {
  std::vector<std::string> warnings;
  auto list = parse_rules(json::parse(R"({"rules":[{"match":{"host":"api","method":"GET"},"response":{"status":200}},
      {"when":{"path":"/x"},"then":{"action":"passthrough"}},{"name":"late","match":{"path":"/slow"},"latencyMs":5,"response":{"status":201,"body":{"a":1},"extra":true}}]})"),
                          RuleLayer::session, &warnings);
  REQUIRE(list.size() == 3);
  CHECK(list[0]->action == Action::mock);
  CHECK(*list[0]->when.host == "api");
  CHECK(*list[0]->when.method == "GET");
  CHECK(list[0]->response->status == 200);
  CHECK(list[1]->action == Action::passthrough);
  CHECK(list[2]->name == "late");
  CHECK(list[2]->latency_ms == 5);
  CHECK(list[2]->response->body == "{\"a\":1}");
  REQUIRE(warnings.size() == 2);  // one per legacy rule, naming it
  CHECK_THAT(warnings[0], Catch::StartsWith("rules[0]: the legacy {match, response} form is deprecated"));
  CHECK_THAT(warnings[1], Catch::StartsWith("rules[2]: "));
  // The same rule written as when/then decides the same way.
  auto modern = rules(json::array(
      {json::parse(R"({"when":{"host":"api","method":"GET"},"then":{"action":"mock","response":{"status":200}}})")}));
  Req get_api = sp_test::get("api", "/any"), post_api = sp_test::get("api", "/any");
  post_api.method = "POST";
  auto v = get_api.view();
  CHECK(rule_matches(*list[0], MatchRequest(v)));
  CHECK(rule_matches(*modern[0], MatchRequest(v)));
  auto w = post_api.view();
  CHECK(!rule_matches(*list[0], MatchRequest(w)));
  CHECK(!rule_matches(*modern[0], MatchRequest(w)));
  // No sink: no warnings, same rules.
  CHECK(parse_rules(json::array({{{"match", {{"path", "/a"}}}, {"response", {{"status", 204}}}}}), RuleLayer::session)
            .size() == 1);

  auto bad = [](const json& rule, const std::string& message, const std::string& field) {
    auto e = expect_error(ErrorCode::invalid_rule, [&] { rules(json::array({rule})); });
    CHECK_THAT(e.what(), Catch::Contains(message));
    CHECK(e.details()["field"] == field);
  };
  bad({{"match", {{"hostt", "x"}}}, {"response", {{"status", 200}}}}, "rules[0].match.hostt: unknown key",
      "match.hostt");
  bad({{"match", json::object()}, {"when", json::object()}, {"response", {{"status", 200}}}},
      "give \"when\" or the legacy \"match\", not both", "match");
  bad({{"match", {}}, {"response", {{"status", 200}}}, {"then", {{"action", "mock"}}}},
      "give \"then\" or the legacy \"response\", not both", "response");
  bad({{"match", {}}, {"response", {{"status", 1}}}}, "rules[0].response.status: must be an integer HTTP status",
      "response.status");
  bad({{"match", {{"path", "/a"}}}}, "rules[0].then: is required", "then");
}

// Issue 11, item 5: the published rule schema (spec/schemas/rule.schema.json)
// leaves then.response and then.error open ("additionalProperties": true), and
// the Python and TS SDKs pass the caller's response object through.
TEST_CASE("extra keys inside then.response and then.error are ignored; everywhere else stays strict",
          "[rules][shapes]") {
  auto list = rules(json::array(
      {json::parse(
           R"({"when":{"path":"/a"},"then":{"action":"mock","response":{"status":201,"body":"x","statusText":"Created","delayMs":3}}})"),
       json::parse(
           R"({"when":{"path":"/b"},"then":{"action":"error","error":{"status":503,"message":"down","retryable":true}}})")}));
  CHECK(list[0]->response->status == 201);
  CHECK(list[0]->response->body == "x");
  CHECK(list[0]->response->headers.empty());
  CHECK(list[0]->source["then"]["response"]["statusText"] == "Created");  // kept in the echo
  CHECK(list[1]->response->status == 503);
  CHECK(list[1]->response->body.empty());
  // Known keys inside them are still checked.
  auto e = expect_error(ErrorCode::invalid_rule, [] {
    rules(json::array({json::parse(R"({"then":{"action":"mock","response":{"status":"201","statusText":"x"}}})")}));
  });
  CHECK_THAT(e.what(), Catch::Contains("rules[0].then.response.status"));
  // The policy's defaultResponse is not a rule response: it stays strict.
  auto p = expect_error(ErrorCode::invalid_policy, [] {
    parse_response(json{{"status", 200}, {"statusText", "OK"}}, "defaultResponse", false,
                   int(ErrorCode::invalid_policy), {{"prefix", "policy"}});
  });
  CHECK_THAT(p.what(), Catch::Contains("policy.defaultResponse.statusText: unknown key"));
}

namespace {

// The oracle across layers: the max of (priority, layer, position) among the
// rules that match, by a plain scan.
const Rule* linear_best_of(const std::vector<const RuleList*>& layers, const MatchRequest& req) {
  const Rule* best = nullptr;
  auto key = [](const Rule* r) { return std::make_tuple(r->priority, int(r->layer), r->position); };
  for (const RuleList* list : layers)
    for (const auto& rule : *list)
      if (rule->priority >= 0 && rule_matches(*rule, req) && (!best || key(rule.get()) > key(best))) best = rule.get();
  return best;
}

// Rules of every indexed kind and the scanned kind, on two hosts and nested
// paths, with mixed priorities, so the winner often sits in a list other
// than the one that holds the first candidate: a merge that did not follow
// the rank would pick a wrong one.
json mixed_rules(int n, int seed) {
  const char* paths[] = {"/", "/v1", "/v1/", "/v1/users", "/v1/users/7", "/v2/x"};
  json list = json::array();
  for (int i = 0; i < n; ++i) {
    int k = (i * 7 + seed) % 11;
    std::string host = (i + seed) % 3 ? "api.test" : "db.test";
    std::string p = paths[(i * 5 + seed) % 6];
    json when;
    switch (k) {
      case 0: when = {{"host", host}}; break;
      case 1: when = {{"host", host}, {"path", p}}; break;
      case 2: when = {{"host", host}, {"pathPrefix", p}}; break;
      case 3: when = {{"host", host}, {"pathPrefix", p}, {"method", i % 2 ? "GET" : "POST"}}; break;
      case 4: when = {{"pathPrefix", p}}; break;
      case 5: when = {{"path", p}}; break;
      case 6: when = {{"hostSuffix", ".test"}, {"pathPrefix", p}}; break;
      case 7: when = {{"method", i % 2 ? "GET" : "DELETE"}}; break;
      case 8: when = {{"pathPrefix", ""}}; break;  // an empty prefix matches every path
      case 9: when = {{"host", host + ":8080"}, {"pathPrefix", p}}; break;
      case 10: when = {{"headers", {{"x-k", std::to_string(i % 2)}}}}; break;
    }
    list.push_back(
        with(mock(when, 200 + i % 300), {{"priority", (i * 3 + seed) % 4}, {"name", "r" + std::to_string(i)}}));
  }
  return list;
}

}  // namespace

TEST_CASE("pathPrefix rules are indexed and agree with a ranked linear scan across layers", "[rules][index]") {
  const char* paths[] = {"/", "/v1", "/v1/users", "/v1/users/7", "/v1/users/77/x", "/v2/x", "/other", ""};
  for (int seed = 0; seed < 6; ++seed) {
    RuleList case_rules = parse_rules(mixed_rules(40, seed + 100), RuleLayer::case_rules);
    RuleList session = parse_rules(mixed_rules(120, seed), RuleLayer::session);
    RuleSet set(case_rules, session);
    for (const char* host : {"api.test", "db.test", "api.test:8080", "x.test", "none.org"})
      for (const char* path : paths)
        for (const char* method : {"GET", "POST"})
          for (const char* header : {"0", "1"}) {
            Req r = sp_test::get(host, path);
            if (std::string(host).find(':') != std::string::npos) {
              r.host = "api.test";
              r.port = 8080;
            }
            r.method = method;
            r.headers = {{"x-k", header}};
            auto v = r.view();
            MatchRequest req(v);
            INFO("seed " << seed << " " << host << " " << path << " " << method << " " << header);
            CHECK(set.best_match(req, RuleSet::Band::non_negative) == linear_best_of({&case_rules, &session}, req));
          }
  }
}

TEST_CASE("the rank decides between a path prefix, an exact path and a scanned rule", "[rules][index][precedence]") {
  Req r = sp_test::get("api.test", "/v1/users/7");
  r.method = "GET";
  auto v = r.view();
  MatchRequest req(v);
  auto winner = [&](const json& list) {
    RuleSet set(RuleList{}, rules(list));
    const Rule* w = set.best_match(req, RuleSet::Band::non_negative);
    return w ? w->response->status : 0;
  };
  json longer = with(mock({{"host", "api.test"}, {"pathPrefix", "/v1/users"}}, 201), {{"priority", 1}});
  json shorter = with(mock({{"host", "api.test"}, {"pathPrefix", "/v1"}}, 202), {{"priority", 2}});
  json exact = with(mock({{"host", "api.test"}, {"path", "/v1/users/7"}}, 203), {{"priority", 1}});
  json scanned = with(mock({{"method", "GET"}}, 204), {{"priority", 1}});
  json no_host = with(mock({{"pathPrefix", "/v1/u"}}, 205), {{"priority", 1}});
  // The shorter prefix outranks the longer one: rank, not specificity.
  CHECK(winner(json::array({longer, shorter, exact, scanned, no_host})) == 202);
  // Equal priority 1: the later entry wins, whichever list holds it.
  CHECK(winner(json::array({longer, exact, scanned, no_host})) == 205);
  CHECK(winner(json::array({no_host, longer, scanned, exact})) == 203);
  CHECK(winner(json::array({no_host, exact, scanned, longer})) == 201);
  CHECK(winner(json::array({no_host, exact, longer, scanned})) == 204);
  // A prefix that the path does not start with, and one of another host, never match.
  CHECK(winner(json::array({mock({{"host", "api.test"}, {"pathPrefix", "/v1/usersX"}}, 206),
                            mock({{"host", "db.test"}, {"pathPrefix", "/v1"}}, 207)})) == 0);
}

TEST_CASE("appended rules join the index in rank order; older views do not see them", "[rules][index][append]") {
  RuleList case_rules = parse_rules(mixed_rules(30, 7), RuleLayer::case_rules);
  RuleSet set(case_rules, RuleList{});
  std::vector<RuleSet> views{set};
  // Append the same rules a few at a time; each view must agree with a scan
  // over the rules it was made with.
  json all = mixed_rules(90, 3);
  RuleList appended;
  for (std::size_t i = 0; i < all.size(); i += 1 + i % 4) {
    json part = json::array();
    for (std::size_t j = i; j < std::min(all.size(), i + 1 + i % 4); ++j) part.push_back(all[j]);
    RuleList more = parse_rules(part, RuleLayer::session, nullptr, views.back().session_rule_count());
    views.push_back(views.back().with_appended(more));
  }
  CHECK(views.back().session_rule_count() == 90);
  RuleList session = views.back().session_rules();
  for (const char* host : {"api.test", "db.test", "x.test"})
    for (const char* path : {"/", "/v1", "/v1/users/7", "/v2/x", "/zzz"}) {
      Req r = sp_test::get(host, path);
      r.headers = {{"x-k", "1"}};
      auto v = r.view();
      MatchRequest req(v);
      for (const RuleSet& view : views) {
        RuleList seen(session.begin(), session.begin() + std::ptrdiff_t(view.session_rule_count()));
        INFO(host << path << " view of " << view.session_rule_count());
        CHECK(view.best_match(req, RuleSet::Band::non_negative) == linear_best_of({&case_rules, &seen}, req));
      }
    }
  // Appending to an older view builds its own store: the newer views are untouched.
  RuleList extra = parse_rules(json::array({with(mock({}, 299), {{"priority", 9}})}), RuleLayer::session, nullptr, 1);
  RuleSet branch = views[1].with_appended(extra);
  Req r = sp_test::get("api.test", "/");
  auto v = r.view();
  MatchRequest req(v);
  CHECK(branch.best_match(req, RuleSet::Band::non_negative)->response->status == 299);
  CHECK(views.back().best_match(req, RuleSet::Band::non_negative)->response->status != 299);
  // Positions must continue the view's numbering.
  CHECK_THROWS_AS(views.back().with_appended(extra), std::logic_error);
}

TEST_CASE("a consume-once rule appended is used once, then the earlier rules answer", "[rules][consume][append]") {
  RuleSet set(RuleList{}, rules(json::array({mock({{"host", "a.test"}, {"pathPrefix", "/p"}}, 200)})));
  RuleSet next = set.with_appended(
      parse_rules(json::array({with(mock({{"host", "a.test"}, {"pathPrefix", "/p/q"}}, 201), {{"consume", "once"}})}),
                  RuleLayer::session, nullptr, 1));
  Req r = sp_test::get("a.test", "/p/q/r");
  auto v = r.view();
  MatchRequest req(v);
  CHECK(set.best_match(req, RuleSet::Band::non_negative)->response->status == 200);  // the old view
  CHECK(next.best_match(req, RuleSet::Band::non_negative)->response->status == 201);
  CHECK(next.best_match(req, RuleSet::Band::non_negative)->response->status == 200);
  CHECK(next.best_match(req, RuleSet::Band::non_negative)->response->status == 200);
}
