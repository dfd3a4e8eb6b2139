// Session::add_rules: appending rules after the current ones without
// reparsing them (issue 15), beside set_rules' replace.
#include <atomic>
#include <thread>

#include "session/session_store.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;
using sp_test::expect_error;

namespace {

json mock_rule(const json& when, int status, const json& extra = json::object()) {
  json r = {{"when", when}, {"then", {{"action", "mock"}, {"response", {{"status", status}}}}}};
  r.update(extra);
  return r;
}

int status_for(Session& s, const std::string& host, const std::string& path) {
  sp_test::Req r = sp_test::get(host, path);
  auto v = r.view();
  Decision d = s.decide(v);
  return d.response ? d.response->status : 0;
}

}  // namespace

TEST_CASE("add_rules appends after the current rules, one revision per call", "[session][append]") {
  SessionStore store;
  auto s = store.create({});
  s->set_rules(json::array({mock_rule({{"host", "a.test"}}, 201)}));  // a bare list
  CHECK(s->revision() == 1);
  CHECK(s->add_rules(mock_rule({{"host", "a.test"}, {"pathPrefix", "/x"}}, 202)) == 2);  // one rule on its own
  CHECK(s->add_rules(
            {{"version", 1},
             {"rules", json::array({mock_rule({{"host", "b.test"}}, 203), mock_rule({{"path", "/y"}}, 204)})}}) == 3);
  CHECK(status_for(*s, "a.test", "/x/1") == 202);  // equal priority: the later rule wins
  CHECK(status_for(*s, "a.test", "/z") == 201);
  CHECK(status_for(*s, "b.test", "/") == 203);
  CHECK(status_for(*s, "a.test", "/y") == 204);
  json doc = s->rules_document();
  REQUIRE(doc["rules"].size() == 4);
  CHECK(doc["rules"][0] == mock_rule({{"host", "a.test"}}, 201));
  CHECK(doc["rules"][3] == mock_rule({{"path", "/y"}}, 204));
  CHECK(s->rules_as_posted() == doc);  // after an append: the whole list as one document
  CHECK(s->state_json()["rules"] == doc);
  json stats = s->stats_json()["stats"]["ruleHits"];
  REQUIRE(stats.size() == 4);
  CHECK(stats[3]["index"] == 3);  // positions continue the layer's numbering
}

TEST_CASE("a bad appended document names its own rule index and changes nothing", "[session][append][errors]") {
  SessionStore store;
  auto s = store.create({});
  s->set_rules({{"version", 1}, {"rules", json::array({mock_rule({}, 201), mock_rule({}, 202)})}});
  auto e = expect_error(ErrorCode::invalid_rule, [&] {
    s->add_rules(json::array({mock_rule({{"host", "c.test"}}, 203), {{"when", {{"hostt", "x"}}}}}));
  });
  CHECK(std::string(e.what()).rfind("rules[1].when", 0) == 0);
  CHECK(e.details()["ruleIndex"] == 1);
  CHECK(s->revision() == 1);
  CHECK(s->rules_document()["rules"].size() == 2);  // not even the good rule of the bad document
  CHECK(status_for(*s, "c.test", "/") == 202);
  expect_error(ErrorCode::invalid_rule, [&] {
    s->add_rules(json::object({{"version", 2}, {"rules", json::array()}}));
  });
  CHECK(s->revision() == 1);
}

TEST_CASE("add_rules reports deprecated rule forms as set_rules does", "[session][append]") {
  SessionStore store;
  auto s = store.create({});
  std::vector<std::string> warnings;
  s->add_rules(json::array({{{"match", {{"host", "l.test"}}}, {"response", {{"status", 209}}}}}), &warnings);
  CHECK(warnings.size() == 1);
  CHECK(status_for(*s, "l.test", "/") == 209);
}

TEST_CASE("set_rules still replaces everything, appended rules included", "[session][append]") {
  SessionStore store;
  auto s = store.create({});
  s->set_rules(json::array({mock_rule({{"host", "a.test"}}, 201)}));
  s->add_rules(mock_rule({{"host", "a.test"}}, 202, {{"name", "once"}, {"consume", "once"}}));
  CHECK(status_for(*s, "a.test", "/") == 202);  // consumed
  CHECK(status_for(*s, "a.test", "/") == 201);
  // Resending the whole list keeps the consumed state, as before appends existed.
  s->set_rules(s->rules_document());
  CHECK(s->rules_document()["rules"].size() == 2);
  CHECK(status_for(*s, "a.test", "/") == 201);
  s->set_rules(json::array({mock_rule({{"host", "b.test"}}, 203)}));
  CHECK(s->rules_document()["rules"].size() == 1);
  CHECK(status_for(*s, "a.test", "/") == 0);
  CHECK(s->rules_as_posted() == json::array({mock_rule({{"host", "b.test"}}, 203)}));  // as posted again
}

TEST_CASE("appended rules survive policy, fixtures and case changes, and appending goes on after them",
          "[session][append]") {
  SessionStore store;
  auto s = store.create({});
  s->add_rules(mock_rule({{"host", "a.test"}}, 201));
  auto before = s->snapshot();
  s->set_policy({{"externalHttp", "strict"}});
  s->set_auth_fixtures({{"tokens", json::array()}, {"cookies", json::array()}, {"metadata", json::object()}});
  s->add_rules(mock_rule({{"host", "b.test"}}, 202));
  s->load_case(std::make_shared<const CaseFile>(parse_case(sp_test::fixture("minimal.case.json"))));
  s->add_rules(mock_rule({{"host", "c.test"}}, 203));
  CHECK(status_for(*s, "a.test", "/") == 201);
  CHECK(status_for(*s, "b.test", "/") == 202);
  CHECK(status_for(*s, "c.test", "/") == 203);
  CHECK(s->rules_document()["rules"].size() == 3);
  // A snapshot taken earlier still decides with the rules it had.
  CHECK(before->rules.session_rule_count() == 1);
  sp_test::Req r = sp_test::get("b.test", "/");
  auto v = r.view();
  MatchRequest req(v);
  CHECK(before->rules.best_match(req, RuleSet::Band::non_negative) == nullptr);
}

TEST_CASE("a closed session refuses add_rules", "[session][append]") {
  SessionStore store;
  auto s = store.create({});
  s->close("");
  expect_error(ErrorCode::session_closed, [&] { s->add_rules(mock_rule({}, 200)); });
}

TEST_CASE("deciding while another thread appends: every answer is a rule the session had", "[concurrency][append]") {
  SessionStore store;
  auto s = store.create({});
  s->set_rules(json::array({mock_rule({{"host", "a.test"}, {"pathPrefix", "/"}}, 200)}));
  constexpr int kAppends = 400;
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0}, decisions{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      sp_test::Req r = sp_test::get("a.test", "/p/1");
      auto v = r.view();
      int last = 200;
      while (!done.load()) {
        Decision d = s->decide(v);
        int status = d.response ? d.response->status : 0;
        // Each appended rule outranks the ones before it, so answers only move forward.
        if (status < last || status > 200 + kAppends) ++wrong;
        last = status;
        ++decisions;
      }
    });
  for (int i = 1; i <= kAppends; ++i) s->add_rules(mock_rule({{"host", "a.test"}, {"pathPrefix", "/p/"}}, 200 + i));
  done = true;
  for (auto& th : readers) th.join();
  CHECK(wrong == 0);
  CHECK(status_for(*s, "a.test", "/p/1") == 200 + kAppends);
  CHECK(s->revision() == 1 + kAppends);
}
