// A rule's identity across rule replaces, and the revision each mutation
// reports (issue 8, item 13).
#include <thread>

#include "session/session.hpp"
#include "session/session_store.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;
using sp_test::Req;

namespace {

json once(const std::string& path, int status) {
  return {{"consume", "once"},
          {"when", {{"path", path}}},
          {"then", {{"action", "mock"}, {"response", {{"status", status}}}}}};
}

json doc(const json& list) { return {{"version", 1}, {"rules", list}}; }

json with(json rule, const std::string& key, const std::string& value) {
  rule[key] = value;
  return rule;
}

int status_of(Session& s, const std::string& path) {
  Req r = sp_test::get("api.example.com", path);
  auto v = r.view();
  Decision d = s.decide(v);
  return d.response ? d.response->status : 0;  // 0: no rule answered
}

json hits_of(Session& s) { return s.stats_json()["stats"]["ruleHits"]; }

}  // namespace

TEST_CASE("a consumed consume-once rule stays consumed when the list is resent with more rules",
          "[rules][consume][regression]") {
  SessionStore store;
  auto s = store.create({});
  s->set_rules(doc(json::array({once("/a", 201)})));
  CHECK(status_of(*s, "/a") == 201);
  CHECK(status_of(*s, "/a") == 0);
  // What a mockOutbound helper does: append and resend the whole list.
  s->set_rules(doc(json::array({once("/a", 201), once("/b", 202)})));
  CHECK(status_of(*s, "/a") == 0);  // before the fix: 201 again
  CHECK(status_of(*s, "/b") == 202);
  json hits = hits_of(*s);
  CHECK(hits[0]["hits"] == 1);
  CHECK(hits[0]["consumed"] == true);
  CHECK(hits[1]["hits"] == 1);
}

TEST_CASE("hit counts survive a replace; a new identical rule is a second rule", "[rules][consume]") {
  SessionStore store;
  auto s = store.create({});
  json many = {{"when", {{"path", "/m"}}}, {"then", {{"action", "mock"}}}};
  s->set_rules(doc(json::array({many, once("/a", 201)})));
  status_of(*s, "/m");
  status_of(*s, "/m");
  status_of(*s, "/a");
  // Same rules reordered, plus a second copy of the consumed one: the copy is fresh.
  s->set_rules(doc(json::array({once("/a", 201), many, once("/a", 201)})));
  json hits = hits_of(*s);
  CHECK(hits[0]["hits"] == 1);
  CHECK(hits[0]["consumed"] == true);
  CHECK(hits[1]["hits"] == 2);
  CHECK(hits[2]["hits"] == 0);
  CHECK(status_of(*s, "/a") == 201);  // the fresh copy
  CHECK(status_of(*s, "/a") == 0);
}

TEST_CASE("identity is the rule's id, else its name, else its canonical JSON", "[rules][consume]") {
  SessionStore store;
  auto s = store.create({});
  s->set_rules(doc(json::array({with(once("/a", 201), "name", "stripe"), with(once("/b", 202), "id", "r-7")})));
  CHECK(status_of(*s, "/a") == 201);
  CHECK(status_of(*s, "/b") == 202);
  // Changed content, same name/id: the same rules, still consumed.
  s->set_rules(doc(json::array({with(once("/a", 299), "name", "stripe"), with(once("/b", 298), "id", "r-7")})));
  CHECK(status_of(*s, "/a") == 0);
  CHECK(status_of(*s, "/b") == 0);
  // Key order does not change a rule's canonical JSON.
  s->set_rules(doc(json::array(
      {json::parse(R"({"then":{"response":{"status":203},"action":"mock"},"when":{"path":"/c"},"consume":"once"})")})));
  CHECK(status_of(*s, "/c") == 203);
  s->set_rules(doc(json::array(
      {json::parse(R"({"consume":"once","when":{"path":"/c"},"then":{"action":"mock","response":{"status":203}}})")})));
  CHECK(status_of(*s, "/c") == 0);
}

TEST_CASE("concurrent setters each report the distinct revision they produced", "[concurrency][session][revision]") {
  SessionStore store;
  auto s = store.create({});
  constexpr int kThreads = 4, kEach = 200;
  std::vector<std::vector<std::uint64_t>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        seen[t].push_back(s->set_rules(doc(json::array({once("/t" + std::to_string(t), 200 + t)}))));
    });
  for (auto& th : threads) th.join();
  std::vector<std::uint64_t> all;
  for (auto& v : seen) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  REQUIRE(all.size() == std::size_t(kThreads * kEach));
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i] == i + 1);  // 1..N, each exactly once
  CHECK(s->revision() == std::uint64_t(kThreads * kEach));
}
