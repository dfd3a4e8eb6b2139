#include "session/session.hpp"

#include "case/case_lookup.hpp"
#include "request/fingerprint.hpp"
#include "session/session_store.hpp"
#include "support/log.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;
using sp_test::expect_error;
using sp_test::Req;

namespace {

json mock_rule(const json& when, int status, const json& extra = json::object()) {
  json r = {{"when", when},
            {"then", {{"action", "mock"}, {"response", {{"status", status}, {"body", "m" + std::to_string(status)}}}}}};
  r.update(extra);
  return r;
}

json rules_doc(const json& list) { return {{"version", 1}, {"rules", list}}; }

std::shared_ptr<Session> replay_session(SessionStore& store, const json& policy = nullptr) {
  SessionOptions o;
  o.policy = policy;
  return store.create(o);
}

Decision decide(Session& s, Req r) {
  auto v = r.view();
  return s.decide(v);
}

}  // namespace

TEST_CASE("sessions get 128-bit random ids and start at revision 0", "[session]") {
  SessionStore store;
  auto a = store.create({});
  auto b = store.create({});
  CHECK(a->id().size() == 32);
  CHECK(a->id().find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a->id() != b->id());
  CHECK(a->revision() == 0);
  CHECK(store.get(a->id()) == a);
  CHECK(store.list().size() == 2);
}

TEST_CASE("the revision moves only on successful mutations", "[session][revision]") {
  SessionStore store;
  auto s = replay_session(store);
  s->set_rules(rules_doc(json::array({mock_rule({{"host", "a.test"}}, 201)})));
  CHECK(s->revision() == 1);
  s->set_policy({{"externalHttp", "strict"}});
  CHECK(s->revision() == 2);
  s->set_auth_fixtures({{"tokens", json::array({"t"})}, {"cookies", json::array()}, {"metadata", json::object()}});
  CHECK(s->revision() == 3);
  s->load_case(std::make_shared<const CaseFile>(parse_case(sp_test::fixture("fragment-happy-path.case.json"))));
  CHECK(s->revision() == 4);

  // Failed mutations: nothing changes, revision stays.
  expect_error(ErrorCode::invalid_rule, [&] {
    s->set_rules(rules_doc(json::array({{{"then", {{"action", "replay"}}}}})));
  });
  expect_error(ErrorCode::invalid_policy, [&] { s->set_policy({{"externalHttp", "sometimes"}}); });
  expect_error(ErrorCode::invalid_argument, [&] { s->set_auth_fixtures({{"tokens", "x"}}); });
  CaseFile bad_rules = parse_case(sp_test::fixture("minimal.case.json"));
  bad_rules.rules = json::array({{{"then", {{"action", "nope"}}}}});
  expect_error(ErrorCode::invalid_rule, [&] { s->load_case(std::make_shared<const CaseFile>(bad_rules)); });
  CHECK(s->revision() == 4);
  CHECK(s->rules_document()["rules"].size() == 1);
  CHECK(decide(*s, sp_test::get("a.test", "/")).response->status == 201);  // the good rules still answer
  CHECK(s->snapshot()->loaded_case->case_id == "fragment-happy-path");
  CHECK(s->snapshot()->policy.strict());
}

TEST_CASE("rules replace, they do not merge", "[session]") {
  SessionStore store;
  auto s = replay_session(store);
  s->set_rules(rules_doc(json::array({mock_rule({{"host", "a.test"}}, 201)})));
  s->set_rules(rules_doc(json::array({mock_rule({{"host", "b.test"}}, 202)})));
  CHECK(decide(*s, sp_test::get("a.test", "/")).outcome == Action::passthrough);
  CHECK(decide(*s, sp_test::get("b.test", "/")).response->status == 202);
  s->set_rules(rules_doc(json::array()));
  CHECK(decide(*s, sp_test::get("b.test", "/")).outcome == Action::passthrough);
}

TEST_CASE("strict policy: the strict-miss response, stats and log line", "[session][policy]") {
  SessionStore store;
  auto s = replay_session(store, {{"externalHttp", "strict"}});
  s->set_rules(rules_doc(json::array(
      {mock_rule({{"method", "GET"}, {"host", "api.example.com"}, {"path", "/v1/users"}}, 200, {{"name", "users"}})})));
  Req r = sp_test::get("api.example.com", "/v1/user");
  r.method = "POST";
  r.body = "{\"amount\":4200}";
  Decision d = decide(*s, r);
  CHECK(d.strict_miss);
  CHECK(d.outcome == Action::error);
  CHECK(d.response->status == 599);
  CHECK(d.response->headers == Headers{{"content-type", "application/json"}, {"x-softprobe-strict-miss", "1"}});
  json body = json::parse(d.response->body);
  CHECK(body["error"] == "strict policy blocked unmatched outbound");
  CHECK(body["sessionId"] == s->id());
  CHECK(body["requestFingerprint"] == request_fingerprint("POST", "api.example.com", "/v1/user", "{\"amount\":4200}"));

  json stats = s->stats_json();
  CHECK(stats["sessionId"] == s->id());
  CHECK(stats["mode"] == "replay");
  CHECK(stats["stats"]["strictMisses"] == 1);
  CHECK(stats["stats"]["injectedSpans"] == 0);  // a strict miss is not an injected answer (the reference counts it so)
  CHECK(stats["stats"]["decisions"] == 1);
  json last = stats["stats"]["lastStrictMiss"];
  CHECK(last["method"] == "POST");
  CHECK(last["host"] == "api.example.com");
  CHECK(last["path"] == "/v1/user");
  CHECK(last["requestFingerprint"] == body["requestFingerprint"]);
  // Near miss: the closest rule and the predicates that failed.
  CHECK(last["nearMiss"]["rule"] == "users");
  CHECK(last["nearMiss"]["failed"].size() == 2);
  CHECK(last["nearMiss"]["failed"][0]["predicate"] == "method");
  CHECK(last["nearMiss"]["failed"][1]["predicate"] == "path");
  CHECK(last["nearMiss"]["failed"][1]["expected"] == "/v1/users");
  CHECK_THAT(last["explanation"].get<std::string>(),
             Catch::Contains("closest rule \"users\" did not match: method expected GET"));
  CHECK(explain_miss(*d.miss) == last);
}

TEST_CASE("the strict-miss log line: contract order, and bytes that are not UTF-8 do not fail the decision",
          "[session][policy][log]") {
  static std::vector<std::string> lines;
  lines.clear();
  set_log_sink([](int, const char* line, void*) { lines.emplace_back(line); }, nullptr);
  set_log_level(LogLevel::info);
  SessionStore store;
  auto s = replay_session(store, {{"externalHttp", "strict"}});
  // A C caller may pass any bytes as the path; the line must still be written (with U+FFFD) and
  // the request must still get its 599 (the line's dump used to throw, which failed the call).
  Decision d = decide(*s, sp_test::get("api.example.com", "/caf\xe9"));
  set_log_level(LogLevel::warn);
  set_log_sink(nullptr, nullptr);
  CHECK(d.strict_miss);
  CHECK(d.response->status == 599);
  REQUIRE(lines.size() == 1);
  nlohmann::ordered_json line = nlohmann::ordered_json::parse(lines[0]);
  std::vector<std::string> keys;
  for (const auto& [key, value] : line.items()) keys.push_back(key);
  CHECK(keys ==
        std::vector<std::string>{"level", "msg", "sessionId", "method", "host", "path", "policy", "action", "status"});
  CHECK(line["level"] == "info");
  CHECK(line["msg"] == "inject miss");
  CHECK(line["path"] == "/caf\xef\xbf\xbd");
  CHECK(line["status"] == 599);
}

TEST_CASE("the request fingerprint is stable and documented", "[fingerprint]") {
  // Values computed independently from the definition in fingerprint.hpp / docs.
  CHECK(request_fingerprint("POST", "api.stripe.com", "/v1/payment_intents", "{\"amount\":4200}") ==
        "f64b9cd679868545");
  CHECK(request_fingerprint("get", "LOCALHOST:8080", "/x", "") == "54d707d77edca67d");
  CHECK(request_fingerprint("GET", "localhost:8080", "/x", "") == "54d707d77edca67d");
  CHECK(request_fingerprint("GET", "localhost:8080", "/x", "b") != "54d707d77edca67d");
}

TEST_CASE("policy: allowlists, suffixes, ports, blockHosts, defaultOnMiss", "[session][policy]") {
  SessionStore store;
  auto s = replay_session(store, {{"externalHttp", "strict"},
                                  {"externalAllowlist", {"localhost", ".svc.cluster.local", "db.test:5432"}},
                                  {"allowHosts", {"extra.test"}}});
  auto outcome = [&](Req r) { return decide(*s, std::move(r)); };
  CHECK(outcome(sp_test::get("localhost:3000", "/")).outcome == Action::passthrough);
  CHECK(outcome(sp_test::get("orders.default.svc.cluster.local", "/")).outcome == Action::passthrough);
  CHECK(outcome(sp_test::get("db.test:5432", "/")).outcome == Action::passthrough);
  CHECK(outcome(sp_test::get("db.test:5433", "/")).strict_miss);
  CHECK(outcome(sp_test::get("extra.test", "/")).outcome == Action::passthrough);
  CHECK(outcome(sp_test::get("svc.cluster.local.evil.test", "/")).strict_miss);
  Req inbound = sp_test::get("unknown.test", "/");
  inbound.direction = "inbound";
  CHECK(outcome(inbound).outcome == Action::passthrough);  // policy applies to outbound only

  s->set_policy({{"blockHosts", {"tracker.test"}}});
  CHECK(outcome(sp_test::get("tracker.test", "/")).strict_miss);                   // blocked whatever the mode
  CHECK(outcome(sp_test::get("other.test", "/")).outcome == Action::passthrough);  // allow is the default

  s->set_policy({{"defaultOnMiss", "error"}});
  CHECK(outcome(sp_test::get("other.test", "/")).strict_miss);

  s->set_policy({{"defaultOnMiss", "mock"}, {"defaultResponse", {{"status", 204}, {"body", ""}}}});
  Decision d = outcome(sp_test::get("other.test", "/"));
  CHECK(d.outcome == Action::mock);
  CHECK(d.response->status == 204);
  CHECK(d.from_policy);

  auto e = expect_error(ErrorCode::invalid_policy, [&] { s->set_policy({{"defaultOnMiss", "mock"}}); });
  CHECK_THAT(e.what(), Catch::Contains("policy.defaultResponse"));
  auto e2 = expect_error(ErrorCode::invalid_policy, [&] { s->set_policy({{"externalAllowlist", {"ok", 3}}}); });
  CHECK_THAT(e2.what(), Catch::Contains("policy.externalAllowlist[1]"));
}

TEST_CASE("policy: inboundHttp strict blocks inbound requests no rule claimed (opt-in)", "[session][policy]") {
  SessionStore store;
  Req inbound = sp_test::get("app.test", "/unknown");
  inbound.direction = "inbound";
  auto s = replay_session(store, {{"externalHttp", "strict"}});
  CHECK(decide(*s, inbound).outcome == Action::passthrough);  // outbound-only stays the default

  s->set_policy({{"inboundHttp", "strict"}});
  Decision d = decide(*s, inbound);
  CHECK(d.strict_miss);
  CHECK(d.response->status == 599);
  CHECK(json::parse(d.response->body)["error"] == "strict policy blocked unmatched inbound");
  CHECK(s->strict_misses_json().size() == 1);
  CHECK(decide(*s, sp_test::get("other.test", "/")).outcome == Action::passthrough);  // outbound: externalHttp decides

  s->set_rules(rules_doc(json::array({mock_rule({{"direction", "inbound"}, {"path", "/hello"}}, 200)})));
  Req hello = inbound;
  hello.path = "/hello";
  CHECK(decide(*s, hello).outcome == Action::mock);  // a rule still answers

  auto e = expect_error(ErrorCode::invalid_policy, [&] { s->set_policy({{"inboundHttp", "block"}}); });
  CHECK_THAT(e.what(), Catch::Contains("policy.inboundHttp"));
  CHECK(decide(*s, inbound).strict_miss);  // the refused policy changed nothing
}

TEST_CASE("stats: injectedSpans counts mock and error answers; decisions and passthroughs the rest",
          "[session][stats]") {
  SessionStore store;
  auto s = replay_session(store);
  s->set_rules(rules_doc(
      json::array({mock_rule({{"path", "/hit"}}, 200),
                   {{"when", {{"path", "/down"}}}, {"then", {{"action", "error"}, {"error", {{"status", 503}}}}}},
                   {{"when", {{"path", "/pass"}}}, {"then", {{"action", "passthrough"}}}}})));
  decide(*s, sp_test::get("a.test", "/hit"));
  decide(*s, sp_test::get("a.test", "/down"));
  decide(*s, sp_test::get("a.test", "/pass"));
  decide(*s, sp_test::get("a.test", "/nothing"));
  json st = s->stats_json()["stats"];
  CHECK(st["injectedSpans"] == 2);
  CHECK(st["passthroughs"] == 2);
  CHECK(st["strictMisses"] == 0);
  CHECK(st["decisions"] == 4);
}

TEST_CASE("state: without a case, caseSummary is {\"traceCount\":0}", "[session]") {
  SessionStore store;
  auto s = replay_session(store);
  CHECK(s->state_json()["caseSummary"] == json({{"traceCount", 0}}));
}

TEST_CASE("unknown policy keys are kept and echoed by state", "[session][policy]") {
  SessionStore store;
  auto s = replay_session(store, {{"externalHttp", "allow"}, {"futureKnob", {{"x", 1}}}});
  CHECK(s->state_json()["policy"]["futureKnob"]["x"] == 1);
}

TEST_CASE("policy ranks as priority-0 rules of the lowest layer", "[session][precedence]") {
  SessionStore store;
  auto s = replay_session(store, {{"externalHttp", "strict"}});
  s->set_rules(rules_doc(
      json::array({mock_rule({{"host", "zero.test"}}, 200), mock_rule({{"host", "neg.test"}}, 201, {{"priority", -1}}),
                   mock_rule({{"host", "pass.test"}}, 0, {{"then", {{"action", "passthrough"}}}})})));
  CHECK(decide(*s, sp_test::get("zero.test", "/")).response->status == 200);  // explicit priority 0 beats policy
  CHECK(decide(*s, sp_test::get("neg.test", "/")).strict_miss);               // negative priority loses to strict
  CHECK(decide(*s, sp_test::get("pass.test", "/")).outcome == Action::passthrough);  // passthrough beats strict
  s->set_policy(json::object());
  CHECK(decide(*s, sp_test::get("neg.test", "/")).response->status == 201);  // with no policy opinion, it answers
}

TEST_CASE("case-embedded rules answer, session rules shadow them", "[session][precedence]") {
  SessionStore store;
  auto s = replay_session(store);
  s->load_case(std::make_shared<const CaseFile>(parse_case(sp_test::fixture("all-kinds.case.json"))));
  Req r = sp_test::get("api.stripe.com", "/v1/payment_intents");
  Decision from_case = decide(*s, r);
  CHECK(from_case.response->status == 201);
  CHECK(from_case.rule->label() == "case-stripe");
  s->set_rules(rules_doc(json::array({mock_rule({{"host", "api.stripe.com"}}, 202)})));
  CHECK(decide(*s, r).response->status == 202);
}

TEST_CASE("rule hits, latency and consume-once are reported", "[session][stats]") {
  SessionStore store;
  auto s = replay_session(store);
  s->set_rules(rules_doc(json::array({mock_rule({{"host", "a.test"}}, 200, {{"name", "slow"}, {"latencyMs", 30}}),
                                      mock_rule({{"host", "a.test"}}, 201, {{"id", "once"}, {"consume", "once"}})})));
  Decision first = decide(*s, sp_test::get("a.test", "/"));
  CHECK(first.response->status == 201);
  CHECK(first.rule->label() == "once");
  Decision second = decide(*s, sp_test::get("a.test", "/"));
  CHECK(second.response->status == 200);
  CHECK(second.latency_ms == 30);
  decide(*s, sp_test::get("a.test", "/"));
  json hits = s->stats_json()["stats"]["ruleHits"];
  REQUIRE(hits.size() == 2);
  CHECK(hits[0]["name"] == "slow");
  CHECK(hits[0]["hits"] == 2);
  CHECK(hits[1]["id"] == "once");
  CHECK(hits[1]["hits"] == 1);
  CHECK(hits[1]["consumed"] == true);
  CHECK(s->stats_json()["stats"]["injectedSpans"] == 3);
}

TEST_CASE("capture: record, redact, close writes the case atomically, and it replays", "[session][capture]") {
  sp_test::TempDir dir;
  SessionStore store;
  SessionOptions o =
      session_options_from_json({{"mode", "capture"},
                                 {"caseId", "checkout"},
                                 {"suite", "payments"},
                                 {"redaction", {{"headers", {"x-secret"}}, {"bodyJsonPaths", {"$.card.number"}}}}});
  auto s = store.create(o);
  Req r = sp_test::get("api.stripe.com", "/v1/charges");
  r.method = "POST";
  r.scheme = "https";
  r.query = "expand=x";
  r.service = "checkout";
  r.body = R"({"card":{"number":"4242424242424242","exp":"12/30"}})";
  r.headers = {{"Authorization", "Bearer sk_live"},
               {"Cookie", "a=b"},
               {"X-Api-Key", "k"},
               {"Proxy-Authorization", "p"},
               {"X-Secret", "s"},
               {"Content-Type", "application/json"},
               {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};
  auto v = r.view();
  HeaderView resp_headers[] = {{"Set-Cookie", "sid=1"}, {"Content-Type", "application/json"}};
  ResponseView resp{200, resp_headers, 2, R"({"id":"ch_1"})"};
  s->record(exchange_from_views(v, &resp, {1000, 2000}, s->id()));
  Req g = sp_test::get("localhost:9000", "/health");
  auto gv = g.view();
  ResponseView ok{200, nullptr, 0, "ok"};
  s->record(exchange_from_views(gv, &ok, {}, s->id()));
  CHECK(s->stats_json()["stats"]["extractedSpans"] == 2);

  std::string path = dir.file("out.case.json");
  CHECK(store.close(s->id(), path).capture_path == path);
  CHECK(store.find(s->id()) == nullptr);
  std::string text = read_file(path);
  CHECK(text.find("sk_live") == std::string::npos);
  CHECK(text.find("4242424242424242") == std::string::npos);
  CHECK(text.find("sid=1") == std::string::npos);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path))
    CHECK(entry.path().filename() == "out.case.json");  // no temp file left behind

  CaseFile c = parse_case(text);
  CHECK(c.case_id == "checkout");
  CHECK(c.suite == "payments");
  REQUIRE(c.exchanges.size() == 2);
  const HttpExchange& ex = c.exchanges[0];
  CHECK(ex.trace_id == "0af7651916cd43dd8448eb211c80319c");  // joined the caller's trace
  CHECK(ex.parent_span_id == "b7ad6b7169203331");
  CHECK(ex.span_id.size() == 16);
  CHECK(ex.host == "api.stripe.com");  // default port dropped
  CHECK(ex.url_full == "https://api.stripe.com/v1/charges?expand=x");
  CHECK(ex.start_time_unix_nano == "1000");
  CHECK(ex.service == "checkout");
  auto header = [](const Headers& h, const std::string& n) {
    for (const auto& [k, v] : h)
      if (k == n) return v;
    return std::string("<absent>");
  };
  CHECK(header(ex.request_headers, "authorization") == "[REDACTED]");
  CHECK(header(ex.request_headers, "cookie") == "[REDACTED]");
  CHECK(header(ex.request_headers, "x-api-key") == "[REDACTED]");
  CHECK(header(ex.request_headers, "proxy-authorization") == "[REDACTED]");
  CHECK(header(ex.request_headers, "x-secret") == "[REDACTED]");
  CHECK(header(ex.request_headers, "content-type") == "application/json");
  CHECK(header(ex.response_headers, "set-cookie") == "[REDACTED]");
  CHECK(json::parse(ex.request_body)["card"]["number"] == "[REDACTED]");
  CHECK(json::parse(ex.request_body)["card"]["exp"] == "12/30");
  CHECK(c.exchanges[1].host == "localhost:9000");

  // Replay the capture: findInCase picks the response, a mock rule serves it.
  auto replay = replay_session(store, {{"externalHttp", "strict"}});
  replay->load_case(std::make_shared<const CaseFile>(c));
  json match =
      exchange_match_json(find_in_case(c, case_predicate_from_json({{"method", "POST"}, {"path", "/v1/charges"}})));
  replay->set_rules(
      rules_doc(json::array({{{"when", {{"method", "POST"}, {"host", "api.stripe.com"}, {"path", "/v1/charges"}}},
                              {"then", {{"action", "mock"}, {"response", match["response"]}}}}})));
  Req again = sp_test::get("api.stripe.com", "/v1/charges");
  again.method = "POST";
  again.scheme = "https";
  Decision d = decide(*replay, again);
  CHECK(d.outcome == Action::mock);
  CHECK(d.response->body == R"({"id":"ch_1"})");
  CHECK(decide(*replay, sp_test::get("api.stripe.com", "/v1/other")).strict_miss);
}

TEST_CASE("redaction can be switched off explicitly", "[session][capture]") {
  sp_test::TempDir dir;
  SessionStore store;
  auto s = store.create(session_options_from_json({{"mode", "capture"}, {"redaction", {{"enabled", false}}}}));
  Req r = sp_test::get("a.test", "/");
  r.headers = {{"Authorization", "Bearer visible"}};
  auto v = r.view();
  ResponseView ok{200, nullptr, 0, ""};
  s->record(exchange_from_views(v, &ok, {}, s->id()));
  std::string path = dir.file("c.case.json");
  s->close(path);
  CHECK(read_file(path).find("Bearer visible") != std::string::npos);
}

TEST_CASE("closing: write errors keep the capture, closed sessions refuse work", "[session][capture][errors]") {
  sp_test::TempDir dir;
  SessionStore store;
  auto s = store.create(session_options_from_json({{"mode", "capture"}}));
  Req r = sp_test::get("a.test", "/");
  auto v = r.view();
  ResponseView ok{200, nullptr, 0, "x"};
  s->record(exchange_from_views(v, &ok, {}, s->id()));
  auto e = expect_error(ErrorCode::io, [&] { store.close(s->id(), dir.file("missing-dir/x.case.json")); });
  CHECK_THAT(e.what(), Catch::Contains("missing-dir/x.case.json"));
  CHECK(store.find(s->id()) == s);  // still there, still open
  CHECK_FALSE(s->closed());
  CHECK(store.close(s->id(), dir.file("x.case.json")).capture_path == dir.file("x.case.json"));
  CHECK(parse_case(read_file(dir.file("x.case.json"))).exchanges.size() == 1);
  expect_error(ErrorCode::session_closed, [&] { decide(*s, sp_test::get("a.test", "/")); });
  expect_error(ErrorCode::session_closed, [&] { s->set_rules(rules_doc(json::array())); });
  expect_error(ErrorCode::unknown_session, [&] { store.get(s->id()); });
  auto unknown = expect_error(ErrorCode::unknown_session, [&] { store.close("nope", ""); });
  CHECK_THAT(unknown.what(), Catch::Contains("unknown session \"nope\""));
}

TEST_CASE("close_all flushes every capture, each to its own file", "[session][capture]") {
  sp_test::TempDir dir;
  ::setenv("SOFTPROBE_CAPTURE_CASE_PATH", dir.file("all.case.json").c_str(), 1);
  SessionStore store;
  auto a = store.create(session_options_from_json({{"mode", "capture"}}));
  auto b = store.create(session_options_from_json({{"mode", "capture"}}));
  store.create({});
  auto closed = store.close_all();
  ::unsetenv("SOFTPROBE_CAPTURE_CASE_PATH");
  CHECK(closed.size() == 3);
  CHECK(store.size() == 0);
  CHECK(std::filesystem::exists(dir.file("all." + a->id() + ".case.json")));
  CHECK(std::filesystem::exists(dir.file("all." + b->id() + ".case.json")));
}

TEST_CASE("session options are validated", "[session][errors]") {
  auto e = expect_error(ErrorCode::invalid_argument, [] { session_options_from_json({{"mode", "record"}}); });
  CHECK_THAT(e.what(), Catch::Contains("mode: must be \"capture\", \"replay\" or \"generate\""));
  expect_error(ErrorCode::invalid_argument, [] { session_options_from_json({{"modes", "capture"}}); });
  expect_error(ErrorCode::invalid_policy, [] { session_options_from_json({{"policy", {{"externalHttp", 1}}}}); });
  expect_error(ErrorCode::invalid_argument, [] {
    session_options_from_json({{"redaction", {{"bodyJsonPaths", {"card"}}}}});
  });
}

TEST_CASE("a session can take a given id (bindings mirroring a remote runtime)", "[session]") {
  SessionStore store;
  auto s = store.create(session_options_from_json({{"sessionId", "runtime-abc_1.2"}}));
  CHECK(s->id() == "runtime-abc_1.2");
  CHECK(store.get("runtime-abc_1.2") == s);
  auto dup = expect_error(ErrorCode::invalid_argument, [&] {
    store.create(session_options_from_json({{"sessionId", "runtime-abc_1.2"}}));
  });
  CHECK_THAT(dup.what(), Catch::Contains("already exists"));
  expect_error(ErrorCode::invalid_argument, [] { session_options_from_json({{"sessionId", "has space"}}); });
  expect_error(ErrorCode::invalid_argument, [] { session_options_from_json({{"sessionId", ""}}); });
}

TEST_CASE("close_idle flushes several captures to distinct files", "[session][capture][regression]") {
  sp_test::TempDir dir;
  ::setenv("SOFTPROBE_CAPTURE_CASE_PATH", dir.file("idle.case.json").c_str(), 1);
  SessionStore store;
  auto a = store.create(session_options_from_json({{"mode", "capture"}}));
  auto b = store.create(session_options_from_json({{"mode", "capture"}}));
  auto closed = store.close_idle(std::chrono::seconds(0));
  ::unsetenv("SOFTPROBE_CAPTURE_CASE_PATH");
  CHECK(closed.size() == 2);
  CHECK(std::filesystem::exists(dir.file("idle." + a->id() + ".case.json")));
  CHECK(std::filesystem::exists(dir.file("idle." + b->id() + ".case.json")));
}

TEST_CASE("a closed capture session refuses records instead of dropping them", "[session][capture][regression]") {
  sp_test::TempDir dir;
  SessionStore store;
  auto s = store.create(session_options_from_json({{"mode", "capture"}}));
  s->close(dir.file("c.case.json"));
  Req r = sp_test::get("a.test", "/");
  auto v = r.view();
  ResponseView ok{200, nullptr, 0, ""};
  expect_error(ErrorCode::session_closed, [&] { s->record(exchange_from_views(v, &ok, {}, s->id())); });
}

TEST_CASE("the strict-miss log line has the contract's fields in its order", "[session][policy]") {
  static std::vector<std::string> lines;
  lines.clear();
  set_log_sink([](int, const char* line, void*) { lines.push_back(line); }, nullptr);
  set_log_level(LogLevel::info);
  SessionStore store;
  SessionOptions o;
  o.policy = {{"externalHttp", "strict"}};
  auto s = store.create(o);
  decide(*s, sp_test::get("api.example.com", "/v1/x"));
  set_log_level(LogLevel::warn);
  set_log_sink(nullptr, nullptr);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "{\"level\":\"info\",\"msg\":\"inject miss\",\"sessionId\":\"" + s->id() +
                        "\",\"method\":\"GET\",\"host\":\"api.example.com\",\"path\":\"/v1/x\",\"policy\":\"strict\","
                        "\"action\":\"error\",\"status\":599}");
}
