// The documents the reference clients send (issue 11). Item 1: in every
// document the core reads, an optional field that is null is absent
// (support/json_fields.hpp), a null required field is refused as required,
// and a misspelt key stays an unknown key even when its value is null (the
// rules document's own cases are in rules_test.cc). Items 4, 5 and 9b at the
// session: the rules document is echoed as posted, its warnings reach the
// caller, and a refused document changes nothing.
#include "capture/redaction.hpp"
#include "case/case_limits.hpp"
#include "policy/policy.hpp"
#include "session/session.hpp"
#include "support/json_fields.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;
using sp_test::expect_error;

TEST_CASE("optional_field: absent and null are the same", "[null]") {
  json doc = {{"a", 1}, {"b", nullptr}};
  CHECK(optional_field(doc, "a") == &doc["a"]);
  CHECK(optional_field(doc, "b") == nullptr);
  CHECK(optional_field(doc, "c") == nullptr);
  CHECK(optional_field(json::array(), "a") == nullptr);
  CHECK(has_field(doc, "a"));
  CHECK(!has_field(doc, "b"));
  CHECK(skip_null_field("b", doc["b"], {"a", "b"}));
  CHECK(!skip_null_field("x", nullptr, {"a", "b"}));  // unknown: left to the parser's unknown-key error
  CHECK(!skip_null_field("a", doc["a"], {"a", "b"}));
}

TEST_CASE("policy: null fields are the defaults", "[null][policy]") {
  Policy p = parse_policy(json::parse(
      R"({"externalHttp":null,"defaultOnMiss":null,"externalAllowlist":null,"allowHosts":null,"blockHosts":null,"defaultResponse":null})"));
  CHECK(p.external_http == Policy::ExternalHttp::allow);
  CHECK(p.default_on_miss == Policy::OnMiss::passthrough);
  CHECK(p.allow_hosts.empty());
  CHECK(p.block_hosts.empty());
  CHECK(!p.default_response);
  CHECK(!parse_policy(json::parse(R"({"externalHttp":"strict","defaultResponse":null})")).default_response);
  CHECK(parse_policy(json::parse(R"({"externalHttp":"strict","defaultResponse":null})")).strict());
  // defaultResponse is required for defaultOnMiss "mock": null is not one.
  auto e = expect_error(ErrorCode::invalid_policy,
                        [] { parse_policy(json::parse(R"({"defaultOnMiss":"mock","defaultResponse":null})")); });
  CHECK_THAT(e.what(), Catch::Contains("policy.defaultResponse: is required"));
  // A null inside a default response is absent too; an item of a host list is not a field.
  CHECK(parse_policy(json::parse(R"({"defaultOnMiss":"mock","defaultResponse":{"status":204,"headers":null}})"))
            .default_response->status == 204);
  expect_error(ErrorCode::invalid_policy, [] { parse_policy(json::parse(R"({"blockHosts":[null]})")); });
}

TEST_CASE("session options: null options are the defaults, a misspelt one is refused", "[null][session]") {
  SessionOptions o = session_options_from_json(json::parse(
      R"({"sessionId":null,"mode":null,"policy":null,"caseId":null,"suite":null,"redaction":null,"limits":null})"));
  CHECK(o.session_id.empty());
  CHECK(o.mode == SessionMode::replay);
  CHECK(o.policy.is_null());
  CHECK(o.case_id.empty());
  CHECK(o.redaction.enabled);
  CHECK(o.limits.max_spans == CaseLimits{}.max_spans);
  CHECK(session_options_from_json(json::parse(R"({"mode":"capture","caseId":null})")).mode == SessionMode::capture);
  auto e =
      expect_error(ErrorCode::invalid_argument, [] { session_options_from_json(json::parse(R"({"mdoe":null})")); });
  CHECK_THAT(e.what(), Catch::Contains("mdoe: unknown session option"));

  Redaction r = redaction_from_json(json::parse(R"({"enabled":null,"headers":null,"bodyJsonPaths":null})"));
  CHECK(r.enabled);
  CHECK(r.request_headers == Redaction{}.request_headers);
  expect_error(ErrorCode::invalid_argument, [] { redaction_from_json(json::parse(R"({"enabld":null})")); });

  CaseLimits l = case_limits_from_json(json::parse(R"({"maxSpans":null,"maxCaseBytes":null})"));
  CHECK(l.max_spans == CaseLimits{}.max_spans);
  CHECK(l.max_case_bytes == CaseLimits{}.max_case_bytes);
  expect_error(ErrorCode::invalid_argument, [] { case_limits_from_json(json::parse(R"({"maxSpan":null})")); });
}

TEST_CASE("auth fixtures: null fields are absent", "[null][session]") {
  validate_auth_fixtures(json::parse(R"({"tokens":null,"cookies":null,"metadata":null})"));
  validate_auth_fixtures(json::parse(R"({"tokens":["t"],"cookies":null})"));
  auto e = expect_error(ErrorCode::invalid_argument, [] { validate_auth_fixtures(json::parse(R"({"tokens":"t"})")); });
  CHECK_THAT(e.what(), Catch::Contains("fixtures.tokens: must be an array"));
  Session s("fixtures-null", SessionOptions{});
  CHECK(s.set_auth_fixtures(json::parse(R"({"tokens":["t"],"cookies":null,"metadata":null})")) == 1);
}

TEST_CASE("a session echoes the rules document as posted and returns its warnings", "[rules][session][shapes]") {
  Session s("echo", SessionOptions{});
  CHECK(s.rules_document() == json::parse(R"({"version":1,"rules":[]})"));  // before any set
  for (
      const char* doc :
      {R"({"rules":[{"when":{"path":"/a"},"then":{"action":"mock"}}]})",
       R"([{"when":{"path":"/a"},"then":{"action":"mock"}}])",
       R"({"id":"one","when":{"path":"/a"},"then":{"action":"mock","response":{"status":201,"headers":null,"x":1}}})"}) {
    std::vector<std::string> warnings{"stale"};
    s.set_rules(json::parse(doc), &warnings);
    CHECK(s.rules_as_posted() == json::parse(doc));
    CHECK(s.state_json()["rules"] == json::parse(doc));
    CHECK(warnings.empty());
    // What a binding appends to (mockOutbound) is one document whatever was posted: before, a
    // bare list or one rule posted by another client (the CLI) read as no rules, and the
    // binding's next mockOutbound replaced them with its own.
    json as_document = s.rules_document();
    REQUIRE(as_document["rules"].is_array());
    CHECK(as_document["rules"].size() == 1);
    CHECK(as_document["rules"][0]["when"]["path"] == "/a");
  }
  std::vector<std::string> warnings;
  s.set_rules(json::parse(R"({"rules":[{"match":{"path":"/a"},"response":{"status":200}}]})"), &warnings);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("rules[0]: the legacy {match, response} form is deprecated"));
  CHECK(s.rules_as_posted() == json::parse(R"({"rules":[{"match":{"path":"/a"},"response":{"status":200}}]})"));
  CHECK(s.rules_document() == s.rules_as_posted());  // a document already
}

// Issue 11, item 5: the SDKs keep a local list and resend all of it on each
// mockOutbound; a refused document must leave the session as it was, so the
// next, valid, document is taken.
TEST_CASE("a refused rules document leaves the rules, the echo and the revision untouched",
          "[rules][session][shapes]") {
  Session s("untouched", SessionOptions{});
  json a = json::parse(
      R"({"version":1,"rules":[{"name":"a","when":{"path":"/a"},"then":{"action":"mock","response":{"status":201}}}]})");
  REQUIRE(s.set_rules(a) == 1);
  json bad = a;
  bad["rules"].push_back(json::parse(R"({"name":"b","when":{"pathh":"/b"},"then":{"action":"mock"}})"));
  std::vector<std::string> warnings{"kept?"};
  expect_error(ErrorCode::invalid_rule, [&] { s.set_rules(bad, &warnings); });
  CHECK(s.revision() == 1);
  CHECK(s.rules_document() == a);
  CHECK(warnings == std::vector<std::string>{"kept?"});  // not written on failure
  sp_test::Req r = sp_test::get("api.example.com", "/a");
  CHECK(s.decide(r.view()).response->status == 201);
  json next = a;
  next["rules"].push_back(
      json::parse(R"({"name":"c","when":{"path":"/c"},"then":{"action":"mock","response":{"status":202}}})"));
  CHECK(s.set_rules(next) == 2);
  sp_test::Req c = sp_test::get("api.example.com", "/c");
  CHECK(s.decide(c.view()).response->status == 202);
}
