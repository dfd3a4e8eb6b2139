// The core's remote mode (libsoftprobe/remote/) against the real runtime
// binary: every control call reaches the runtime and the local mirror, bad
// documents fail before anything is sent, refused calls change neither side,
// stats are added, attach copies what the control API serves, and close hands
// this process's capture to the runtime, which writes one case.
#include <httplib.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "capture/capture.hpp"
#include "remote/remote_session.hpp"
#include "request/request.hpp"
#include "runtime_process.hpp"
#include "session/session.hpp"
#include "session/session_store.hpp"
#include "softprobe.h"
#include "support/errors.hpp"

using namespace softprobe::core;
using namespace softprobe::core::remote;
using nlohmann::json;
using runtime_test::RuntimeProcess;
using runtime_test::TempDir;

namespace {

const char* kRules = R"({"version":1,"rules":[{"name":"users","when":{"host":"api.test","path":"/users"},
  "then":{"action":"mock","response":{"status":200,"body":"[1]"}}}]})";

std::shared_ptr<RuntimeClient> client_for(const std::string& url, std::string token = {}) {
  RuntimeClientOptions o;
  o.base_url = url;
  o.token = std::move(token);
  o.timeout = std::chrono::milliseconds(5000);
  return std::make_shared<RuntimeClient>(o);
}

std::shared_ptr<RuntimeClient> client_for(const RuntimeProcess& rt, std::string token = {}) {
  return client_for(rt.url(), std::move(token));
}

Decision decide(Session& s, const char* host, const char* path) {
  RequestView v;
  v.method = "GET";
  v.host = host;
  v.path = path;
  return s.decide(v);
}

template <typename Fn>
Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no error");
  return Error(ErrorCode::ok, "");
}

// A front for the real runtime (cpp-httplib, test-only): forwards every call
// and keeps what was posted; with `without_append` it answers the rules
// append route as a runtime without it does (the reference's Go mux: 404
// "404 page not found", text).
class RecordingFront {
 public:
  RecordingFront(const RuntimeProcess& rt, bool without_append) : upstream_(rt.host(), rt.port()) {
    auto relay = [this, without_append](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "POST") {
        std::lock_guard<std::mutex> lock(mu_);
        posted_.emplace_back(req.path, req.body);
      }
      if (without_append && req.path.size() > 13 && req.path.substr(req.path.size() - 13) == "/rules/append") {
        res.status = 404;
        res.set_content("404 page not found\n", "text/plain");
        return;
      }
      httplib::Headers h;
      for (const auto& [k, v] : req.headers)
        if (k == "Authorization") h.emplace(k, v);
      auto r = req.method == "GET" ? upstream_.Get(req.path.c_str(), h)
                                   : upstream_.Post(req.path.c_str(), h, req.body, "application/json");
      if (!r) {
        res.status = 502;
        return;
      }
      res.status = r->status;
      res.set_content(r->body, "application/json");
    };
    server_.Get(".*", relay);
    server_.Post(".*", relay);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~RecordingFront() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The (path, body) of every POST with a path ending in `suffix`.
  std::vector<std::pair<std::string, std::string>> posted(const std::string& suffix) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& p : posted_)
      if (p.first.size() >= suffix.size() && p.first.substr(p.first.size() - suffix.size()) == suffix) out.push_back(p);
    return out;
  }

 private:
  httplib::Client upstream_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> posted_;
};

}  // namespace

TEST_CASE("remote: rules and policy reach the runtime and the mirror; bad ones reach neither", "[remote]") {
  RuntimeProcess rt;
  auto client = client_for(rt);
  SessionStore store;
  auto s = RemoteSession::create(client, store, R"({"mode":"replay","policy":{"externalHttp":"strict"}})");
  REQUIRE(s->id().size() == 32);
  CHECK(store.find(s->id()) != nullptr);  // the mirror has the runtime's id

  std::uint64_t rev = s->set_rules(kRules);
  CHECK(rev == s->mirror().revision());
  json remote_rules = client->call("GET", RuntimeClient::session_path(s->id(), "rules"));
  CHECK(remote_rules["rules"][0]["name"] == "users");
  CHECK(decide(s->mirror(), "api.test", "/users").outcome == Action::mock);
  CHECK(decide(s->mirror(), "api.test", "/other").strict_miss);

  // A bad document fails locally with the setter's error; the runtime keeps the old rules.
  std::string runtime_state_before = client->call("GET", RuntimeClient::session_path(s->id(), "state")).dump();
  Error bad = error_of([&] { s->set_rules(R"({"version":1,"rules":[{"when":{},"then":{"action":"dance"}}]})"); });
  CHECK(bad.code() == ErrorCode::invalid_rule);
  CHECK(error_of([&] { s->set_policy(R"({"externalHttp":"sometimes"})"); }).code() == ErrorCode::invalid_policy);
  CHECK(error_of([&] { s->set_rules("{"); }).code() == ErrorCode::invalid_json);
  CHECK(error_of([&] { s->set_auth_fixtures(R"({"tokens":"no"})"); }).code() == ErrorCode::invalid_argument);
  CHECK(client->call("GET", RuntimeClient::session_path(s->id(), "state")).dump() == runtime_state_before);
  CHECK(s->mirror().revision() == rev);

  CHECK(s->set_policy(R"({"externalHttp":"allow"})") > rev);
  CHECK(client->call("GET", RuntimeClient::session_path(s->id(), "state"))["policy"]["externalHttp"] == "allow");
  CHECK(decide(s->mirror(), "api.test", "/other").outcome == Action::passthrough);
}

TEST_CASE("remote: a call the runtime refuses changes nothing here either", "[remote]") {
  RuntimeProcess rt;
  auto client = client_for(rt);
  SessionStore store;
  auto s = RemoteSession::create(client, store, "");
  s->set_rules(kRules);
  std::uint64_t rev = s->mirror().revision();
  // The runtime loses the session (closed by another process): the mirror keeps its rules.
  client->call("POST", RuntimeClient::session_path(s->id(), "close"), "{}");
  Error gone = error_of([&] { s->set_rules(R"({"version":1,"rules":[]})"); });
  CHECK(gone.code() == ErrorCode::unknown_session);
  CHECK(s->mirror().revision() == rev);
  CHECK(s->mirror().rules_document()["rules"].size() == 1);
}

TEST_CASE("remote: add_rules appends on both sides, the runtime getting only the new rules", "[remote][append]") {
  RuntimeProcess rt;
  RecordingFront front(rt, false);
  auto client = client_for(front.url());
  SessionStore store;
  auto s = RemoteSession::create(client, store, "");
  s->set_rules(kRules);
  std::uint64_t rev = s->add_rules(R"({"when":{"host":"b.test"},"then":{"action":"mock","response":{"status":207}}})");
  CHECK(rev == s->mirror().revision());
  json remote_rules = client->call("GET", RuntimeClient::session_path(s->id(), "rules"));
  CHECK(remote_rules == s->mirror().rules_document());
  CHECK(remote_rules["rules"].size() == 2);
  CHECK(decide(s->mirror(), "b.test", "/").response->status == 207);
  // Checked here first, indexed in the appended document: neither side changes.
  Error bad =
      error_of([&] { s->add_rules(R"([{"when":{"host":"c.test"},"then":{"action":"mock"}},{"when":{"hostt":1}}])"); });
  CHECK(bad.code() == ErrorCode::invalid_rule);
  CHECK(std::string(bad.what()).find("rules[1].when.hostt") != std::string::npos);
  CHECK(s->mirror().revision() == rev);
  CHECK(client->call("GET", RuntimeClient::session_path(s->id(), "rules"))["rules"].size() == 2);
  // On the wire: the one appended rule, through the append route; the whole list never again.
  CHECK(client->rules_append() == RuntimeClient::Append::supported);
  auto appends = front.posted("/rules/append");
  REQUIRE(appends.size() == 1);
  CHECK(appends[0].second == R"({"when":{"host":"b.test"},"then":{"action":"mock","response":{"status":207}}})");
  CHECK(front.posted("/rules").size() == 1);  // set_rules' own post
  // An unknown session is that runtime's answer, not a missing route.
  auto gone = RemoteSession::create(client, store, "");
  client->call("POST", RuntimeClient::session_path(gone->id(), "close"), "{}");
  CHECK(error_of([&] { gone->add_rules(kRules); }).code() == ErrorCode::unknown_session);
  CHECK(client->rules_append() == RuntimeClient::Append::supported);
}

TEST_CASE("remote: add_rules against a runtime without the append route sends the whole list", "[remote][append]") {
  RuntimeProcess rt;
  RecordingFront front(rt, true);
  auto client = client_for(front.url());
  SessionStore store;
  auto s = RemoteSession::create(client, store, "");
  s->set_rules(kRules);
  s->add_rules(R"({"when":{"host":"b.test"},"then":{"action":"mock","response":{"status":207}}})");
  s->add_rules(R"({"when":{"host":"c.test"},"then":{"action":"mock","response":{"status":208}}})");
  CHECK(client->rules_append() == RuntimeClient::Append::unsupported);
  CHECK(front.posted("/rules/append").size() == 1);  // tried once, then remembered
  auto replaced = front.posted("/rules");
  REQUIRE(replaced.size() == 3);  // set_rules, then the whole list for each append
  CHECK(json::parse(replaced[2].second)["rules"].size() == 3);
  json remote_rules = client->call("GET", RuntimeClient::session_path(s->id(), "rules"));
  CHECK(remote_rules == s->mirror().rules_document());
  CHECK(decide(s->mirror(), "c.test", "/").response->status == 208);
}

TEST_CASE("remote: stats add the runtime's and this process's counters", "[remote]") {
  RuntimeProcess rt;
  auto client = client_for(rt);
  SessionStore store;
  auto s = RemoteSession::create(client, store, R"({"policy":{"externalHttp":"strict"}})");
  s->set_rules(kRules);
  decide(s->mirror(), "api.test", "/users");
  decide(s->mirror(), "api.test", "/nope");
  json st = s->stats();
  CHECK(st["sessionId"] == s->id());
  CHECK(st["stats"]["strictMisses"] == 1);
  CHECK(st["stats"]["lastStrictMiss"]["path"] == "/nope");
  CHECK(st["sources"]["local"]["stats"]["strictMisses"] == 1);
  CHECK(st["sources"]["runtime"]["stats"]["strictMisses"] == 0);

  json runtime_hits = json::array({{{"layer", "session"}, {"index", 0}, {"id", "users"}, {"hits", 3}},
                                   {{"layer", "session"}, {"index", 1}, {"hits", 1}, {"consumed", 1}}});
  // The sessions' own shape: a list of rules (it was read as an object, so remote ruleHits were always empty).
  json local_hits = json::array({{{"layer", "session"}, {"index", 0}, {"id", "users"}, {"hits", 2}}});
  json runtime = {
      {"stats",
       {{"injectedSpans", 5}, {"strictMisses", 2}, {"decisions", 9}, {"passthroughs", 2}, {"ruleHits", runtime_hits}}}};
  json local = {
      {"sessionId", "x"},
      {"stats",
       {{"injectedSpans", 1}, {"strictMisses", 0}, {"decisions", 4}, {"passthroughs", 3}, {"ruleHits", local_hits}}}};
  json merged = RemoteSession::merge_stats(runtime, local);
  CHECK(merged["stats"]["injectedSpans"] == 6);
  CHECK(merged["stats"]["decisions"] == 13);  // issue 11: the new counters are summed too
  CHECK(merged["stats"]["passthroughs"] == 5);
  CHECK(merged["stats"]["strictMisses"] == 2);
  CHECK(merged["stats"]["extractedSpans"] == 0);
  CHECK(merged["stats"]["ruleHits"] ==
        json::array({{{"layer", "session"}, {"index", 0}, {"id", "users"}, {"hits", 5}},
                     {{"layer", "session"}, {"index", 1}, {"hits", 1}, {"consumed", 1}}}));
  CHECK(merged["sessionId"] == "x");
}

TEST_CASE("remote: attach copies mode, policy, rules and fixtures into a new mirror", "[remote]") {
  RuntimeProcess rt;
  auto client = client_for(rt);
  SessionStore other_process;
  auto started =
      RemoteSession::create(client, other_process, R"({"mode":"replay","policy":{"externalHttp":"strict"}})");
  started->set_rules(kRules);
  started->set_auth_fixtures(R"({"tokens":["t1"]})");

  SessionStore here;
  auto attached = RemoteSession::attach(client, here, started->id());
  CHECK(attached->id() == started->id());
  CHECK(attached->mirror().rules_document()["rules"][0]["name"] == "users");
  CHECK(attached->mirror().state_json()["fixtures"]["tokens"][0] == "t1");
  CHECK(decide(attached->mirror(), "api.test", "/nope").strict_miss);
  CHECK(error_of([&] { RemoteSession::attach(client, here, "0123456789abcdef0123456789abcdef"); }).code() ==
        ErrorCode::unknown_session);
}

TEST_CASE("remote: close hands this process's capture to the runtime, which writes one case", "[remote]") {
  TempDir dir;
  RuntimeProcess rt({"--capture-dir", dir.path()});
  auto client = client_for(rt);
  SessionStore store;
  auto s = RemoteSession::create(client, store, R"({"mode":"capture","caseId":"remote-close"})");
  // Recorded as a binding records what this process's client sent (sp_session_record).
  RequestView req;
  req.method = "GET";
  req.host = "api.test";
  req.path = "/captured-here";
  ResponseView resp;
  resp.status = 200;
  resp.body = "ok";
  REQUIRE(s->mirror().record(exchange_from_views(req, &resp, {}, s->id())));
  json closed = s->close("remote-close.case.json");
  CHECK(closed["closed"] == true);
  REQUIRE(closed.contains("capturePath"));
  CHECK(store.find(s->id()) == nullptr);  // the mirror is closed, and wrote no file of its own
  std::ifstream in(closed["capturePath"].get<std::string>());
  std::stringstream text;
  text << in.rdbuf();
  CHECK_THAT(text.str(), Catch::Contains("/captured-here"));
  CHECK_THAT(text.str(), Catch::Contains("remote-close"));

  // The runtime lost the session (closed by someone else): its refusal of the spans (a 404
  // since issue 11, as the reference runtime answers) is an error that says so, never a silent loss.
  auto lost = RemoteSession::create(client, store, R"({"mode":"capture"})");
  REQUIRE(lost->mirror().record(exchange_from_views(req, &resp, {}, lost->id())));
  client->call("POST", RuntimeClient::session_path(lost->id(), "close"), "{}");
  Error refused = error_of([&] { lost->close(""); });
  CHECK(refused.code() == ErrorCode::runtime);  // not unknown_session: bindings read that on close as "nothing left"
  CHECK(refused.details()["status"] == 404);
  CHECK(refused.details()["unsentTraces"] == 1);
  CHECK_THAT(refused.what(), Catch::Contains("to take 1 captured trace(s)"));
  CHECK_THAT(refused.what(), Catch::Contains("capture is kept"));
  CHECK(error_of([&] { lost->close(""); }).code() == ErrorCode::runtime);  // still kept, still refused
}

TEST_CASE("remote: an unreachable runtime, a bad URL and a bad token say what to fix", "[remote]") {
  auto client_of = [](std::string url, std::string token = {}) {
    RuntimeClientOptions o;
    o.base_url = std::move(url);
    o.token = std::move(token);
    RuntimeClient c(o);
  };
  CHECK(error_of([&] { client_of("ftp://127.0.0.1:1"); }).code() == ErrorCode::invalid_argument);
  CHECK_THAT(error_of([&] { client_of("not a url"); }).what(), Catch::Contains("is not a URL"));
  CHECK_THAT(error_of([&] { client_of("http://127.0.0.1:1/?q=1"); }).what(), Catch::Contains("query"));
  CHECK_THAT(error_of([&] { client_of("http://127.0.0.1:1", "tok\nen"); }).what(), Catch::Contains("LF"));

  RuntimeProcess rt({"--token", "s3cret"});
  SessionStore store;
  Error denied = error_of([&] { RemoteSession::create(client_for(rt, "wrong"), store, ""); });
  CHECK(denied.code() == ErrorCode::runtime);
  CHECK_THAT(denied.what(), Catch::Contains("check the token"));
  CHECK(store.size() == 0);
  auto ok = RemoteSession::create(client_for(rt, "s3cret"), store, "");
  CHECK(store.size() == 1);

  // Nothing listens on the port of a stopped runtime.
  std::string url = rt.url();
  rt.stop(SIGTERM);
  RuntimeClientOptions o;
  o.base_url = url;
  o.timeout = std::chrono::milliseconds(2000);
  Error unreachable = error_of([&] { RemoteSession::create(std::make_shared<RuntimeClient>(o), store, ""); });
  CHECK(unreachable.code() == ErrorCode::runtime);
  CHECK_THAT(unreachable.what(), Catch::Contains("could not be reached"));
  CHECK_THAT(unreachable.what(), Catch::Contains(url));
}

TEST_CASE("remote through the C ABI: sp_store_new_remote, then the usual session calls", "[remote][c-abi]") {
  RuntimeProcess rt({"--token", "t0k"});
  sp_store* store = nullptr;
  REQUIRE(sp_store_new_remote(&store, rt.url().data(), rt.url().size(), "t0k", 3, 5000) == SP_OK);
  const std::string options = R"({"policy":{"externalHttp":"strict"}})";
  sp_session* s = nullptr;
  REQUIRE(sp_session_new(&s, store, options.data(), options.size()) == SP_OK);
  std::string id = sp_session_id(s);
  std::uint64_t rev = 0;
  CHECK(sp_session_set_rules(&rev, s, kRules, std::strlen(kRules)) == SP_OK);
  CHECK(rev == sp_session_revision(s));
  const char* bad = R"({"externalHttp":1})";
  CHECK(sp_session_set_policy(nullptr, s, bad, std::strlen(bad)) == SP_E_INVALID_POLICY);

  // The decision is the mirror's: no network call.
  sp_request req = SP_REQUEST_INIT;
  req.method = {"GET", 3};
  req.host = {"api.test", 8};
  req.path = {"/users", 6};
  sp_decision* d = nullptr;
  REQUIRE(sp_session_decide(&d, s, &req) == SP_OK);
  CHECK(sp_decision_outcome(d) == SP_OUTCOME_MOCK);
  sp_decision_free(d);

  // Another handle (as another binding object) attaches to the same session.
  sp_session* again = nullptr;
  REQUIRE(sp_store_get_session(&again, store, id.data(), id.size()) == SP_OK);
  CHECK(sp_session_revision(again) == rev);
  char* out = nullptr;
  REQUIRE(sp_session_stats(&out, again) == SP_OK);
  json st = json::parse(out);
  sp_string_free(out);
  CHECK(st["sources"]["runtime"]["sessionId"] == id);
  CHECK(sp_session_close_export(&out, s) == SP_E_WRONG_MODE);

  CHECK(sp_session_close(&out, s, nullptr, 0) == SP_OK);
  sp_string_free(out);
  // The runtime's session is gone too.
  sp_session* gone = nullptr;
  sp_store* other = nullptr;
  REQUIRE(sp_store_new_remote(&other, rt.url().data(), rt.url().size(), "t0k", 3, 5000) == SP_OK);
  CHECK(sp_store_get_session(&gone, other, id.data(), id.size()) == SP_E_UNKNOWN_SESSION);
  sp_session_free(again);
  sp_session_free(s);
  sp_store_free(other);
  sp_store_free(store);
}

TEST_CASE("remote: one session mutated and decided from several threads at once", "[remote][concurrency]") {
  RuntimeProcess rt;
  auto client = client_for(rt);
  SessionStore store;
  auto s = RemoteSession::create(client, store, R"({"policy":{"externalHttp":"strict"}})");
  constexpr int kWriters = 4, kRounds = 10;
  std::atomic<bool> done{false};
  std::atomic<int> decided{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < kRounds; ++i) {
        json doc = {{"version", 1},
                    {"rules",
                     {{{"name", "w" + std::to_string(w)},
                       {"when", {{"host", "api.test"}, {"path", "/users"}}},
                       {"then", {{"action", "mock"}, {"response", {{"status", 200 + w}}}}}}}}};
        s->set_rules(doc.dump());
      }
    });
  std::thread reader([&] {
    while (!done.load()) {
      Decision d = decide(s->mirror(), "api.test", "/users");
      if (d.outcome == Action::mock || d.strict_miss) decided.fetch_add(1);
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  CHECK(decided.load() > 0);
  // Serialized: the runtime and the mirror end with the same last document.
  json remote_rules = client->call("GET", RuntimeClient::session_path(s->id(), "rules"));
  CHECK(remote_rules == s->mirror().rules_document());
  CHECK(s->mirror().revision() == std::uint64_t(kWriters * kRounds));
}
