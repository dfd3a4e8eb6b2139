// Replaying a loaded case as recorded (session option "replayCase",
// case/case_replay.hpp): what `softprobe proxy --mode replay --case` serves.
#include "case/case_replay.hpp"
#include "capture/capture.hpp"
#include "session/session_store.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;
using sp_test::Req;

namespace {

// A case captured through a capture session: each (request, status, body) recorded in order.
CaseFile captured(const std::vector<std::pair<Req, std::pair<int, std::string>>>& hops) {
  SessionStore store;
  SessionOptions o;
  o.mode = SessionMode::capture;
  auto s = store.create(o);
  for (auto [req, answer] : hops) {
    auto v = req.view();
    ResponseView resp{answer.first, nullptr, 0, answer.second};
    s->record(exchange_from_views(v, &resp, {}, s->id()));
  }
  return s->captured_case();
}

std::shared_ptr<Session> replaying(SessionStore& store, const CaseFile& c, json policy = nullptr) {
  json options = {{"mode", "replay"}, {"replayCase", true}};
  if (!policy.is_null()) options["policy"] = policy;
  auto s = store.create(session_options_from_json(options));
  s->load_case(std::make_shared<const CaseFile>(c));
  return s;
}

Req request(std::string method, std::string host, std::string path, std::string query = "") {
  Req r = sp_test::get(std::move(host), std::move(path));
  r.method = std::move(method);
  r.query = std::move(query);
  return r;
}

std::string answer(Session& s, Req r) {
  Decision d = s.decide(r.view());
  if (d.strict_miss) return "miss";
  if (d.outcome != Action::mock || !d.response) return "passthrough";
  return std::to_string(d.response->status) + " " + d.response->body;
}

}  // namespace

TEST_CASE("replayCase answers each recorded request with its response", "[replay]") {
  CaseFile c = captured({{request("GET", "api.example.com", "/a", "x=1"), {200, "a1"}},
                         {request("POST", "api.example.com:8080", "/b"), {201, "b"}}});
  SessionStore store;
  auto s = replaying(store, c, {{"externalHttp", "strict"}});
  CHECK(answer(*s, request("GET", "api.example.com", "/a", "x=1")) == "200 a1");
  CHECK(answer(*s, request("get", "API.example.com:80", "/a", "x=1")) == "200 a1");  // method, host case; default port
  CHECK(answer(*s, request("POST", "api.example.com:8080", "/b")) == "201 b");
  // Method, host:port, path and query all count.
  CHECK(answer(*s, request("POST", "api.example.com", "/a", "x=1")) == "miss");
  CHECK(answer(*s, request("POST", "api.example.com", "/b")) == "miss");  // port 80, recorded on 8080
  CHECK(answer(*s, request("GET", "api.example.com", "/a", "x=2")) == "miss");
  CHECK(answer(*s, request("GET", "api.example.com", "/a")) == "miss");
  CHECK(answer(*s, request("GET", "api.example.com", "/a/", "x=1")) == "miss");
}

TEST_CASE("replayCase: bodies are not compared", "[replay]") {
  Req recorded = request("POST", "api.example.com", "/charge");
  recorded.body = R"({"amount":1})";
  SessionStore store;
  auto s = replaying(store, captured({{recorded, {200, "ok"}}}), {{"externalHttp", "strict"}});
  Req other = request("POST", "api.example.com", "/charge");
  other.body = R"({"amount":2})";
  CHECK(answer(*s, other) == "200 ok");
}

TEST_CASE("replayCase: one request recorded several times answers in order, the last repeats", "[replay]") {
  CaseFile c = captured({{request("GET", "api.example.com", "/n"), {200, "first"}},
                         {request("GET", "api.example.com", "/other"), {200, "other"}},
                         {request("GET", "api.example.com", "/n"), {200, "second"}},
                         {request("GET", "api.example.com", "/n"), {500, "third"}}});
  SessionStore store;
  auto s = replaying(store, c);
  CHECK(answer(*s, request("GET", "api.example.com", "/n")) == "200 first");
  CHECK(answer(*s, request("GET", "api.example.com", "/n")) == "200 second");
  CHECK(answer(*s, request("GET", "api.example.com", "/n")) == "500 third");
  CHECK(answer(*s, request("GET", "api.example.com", "/n")) == "500 third");
  CHECK(answer(*s, request("GET", "api.example.com", "/other")) == "200 other");
  CHECK(answer(*s, request("GET", "api.example.com", "/other")) == "200 other");
}

TEST_CASE("replayCase: explicit rules rank above the case, the policy below it", "[replay]") {
  CaseFile c = captured({{request("GET", "api.example.com", "/a"), {200, "recorded"}}});
  SessionStore store;
  auto s = replaying(store, c, {{"externalHttp", "strict"}});
  s->set_rules(json::parse(R"({"version":1,"rules":[{"when":{"path":"/a"},
      "then":{"action":"mock","response":{"status":203,"body":"rule"}}}]})"));
  CHECK(answer(*s, request("GET", "api.example.com", "/a")) == "203 rule");
  // A rules replace keeps the case's answers.
  s->set_rules(json::parse(R"({"version":1,"rules":[]})"));
  CHECK(answer(*s, request("GET", "api.example.com", "/a")) == "200 recorded");
  CHECK(answer(*s, request("GET", "api.example.com", "/b")) == "miss");
}

TEST_CASE("without replayCase a loaded case answers nothing by itself", "[replay]") {
  CaseFile c = captured({{request("GET", "api.example.com", "/a"), {200, "recorded"}}});
  SessionStore store;
  auto s = store.create(session_options_from_json({{"mode", "replay"}, {"policy", {{"externalHttp", "strict"}}}}));
  s->load_case(std::make_shared<const CaseFile>(c));
  CHECK(answer(*s, request("GET", "api.example.com", "/a")) == "miss");
  CHECK_THROWS_WITH(session_options_from_json({{"replayCase", "yes"}}),
                    Catch::Contains("replayCase: must be true or false"));
}
