// Google Benchmark programs for the core's hot paths. Not part of the tests:
// run with scripts/bench-core.sh; results go to docs/performance.md.
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <softprobe.h>

#include "capture/capture.hpp"
#include "case/case_file.hpp"
#include "case/case_lookup.hpp"
#include "session/session_store.hpp"

using nlohmann::json;

namespace {

sp_str S(const std::string& s) { return sp_str{s.data(), s.size()}; }

// N rules, each for its own host and path, so the winner must be found among
// many; the hit request matches the rule in the middle.
std::string rules_json(int n) {
  json rules = json::array();
  for (int i = 0; i < n; ++i)
    rules.push_back(
        {{"name", "r" + std::to_string(i)},
         {"when",
          {{"method", "GET"},
           {"host", "svc-" + std::to_string(i) + ".example.com"},
           {"path", "/v1/items/" + std::to_string(i)}}},
         {"then",
          {{"action", "mock"},
           {"response",
            {{"status", 200}, {"headers", {{"content-type", "application/json"}}}, {"body", "{\"ok\":true}"}}}}}});
  return json{{"version", 1}, {"rules", rules}}.dump();
}

struct DecideFixture {
  sp_store* store = nullptr;
  sp_session* session = nullptr;
  std::string host, path;
  std::vector<sp_header> headers;
  std::string h1 = "accept", v1 = "application/json", h2 = "user-agent", v2 = "bench/1.0";

  DecideFixture(int rules, bool hit, const char* policy) {
    sp_store_new(&store);
    std::string options = std::string(R"({"policy":)") + policy + "}";
    sp_session_new(&session, store, options.data(), options.size());
    std::string doc = rules_json(rules);
    if (sp_session_set_rules(nullptr, session, doc.data(), doc.size()) != SP_OK) std::abort();
    int target = rules / 2;
    host = hit ? "svc-" + std::to_string(target) + ".example.com" : "unknown.example.org";
    path = "/v1/items/" + std::to_string(target);
    headers = {{S(h1), S(v1)}, {S(h2), S(v2)}};
  }
  ~DecideFixture() {
    sp_session_free(session);
    sp_store_free(store);
  }
  sp_request request() const {
    sp_request r = SP_REQUEST_INIT;
    r.method = sp_str{"GET", 3};
    r.scheme = sp_str{"https", 5};
    r.host = S(host);
    r.path = S(path);
    r.headers = headers.data();
    r.header_count = headers.size();
    return r;
  }
};

// One decision through the C ABI, as every binding makes it (includes the
// sp_decision allocation and free).
void run_decide(benchmark::State& state, bool hit, const char* policy, sp_outcome expected) {
  DecideFixture f(int(state.range(0)), hit, policy);
  sp_request req = f.request();
  for (auto _ : state) {
    sp_decision* d = nullptr;
    sp_session_decide(&d, f.session, &req);
    if (sp_decision_outcome(d) != expected) state.SkipWithError("unexpected outcome");
    benchmark::DoNotOptimize(sp_decision_body(d));
    sp_decision_free(d);
  }
}

void BM_DecideHit(benchmark::State& state) { run_decide(state, true, "{}", SP_OUTCOME_MOCK); }
void BM_DecideMiss(benchmark::State& state) { run_decide(state, false, "{}", SP_OUTCOME_PASSTHROUGH); }
void BM_DecideStrictMiss(benchmark::State& state) {
  run_decide(state, false, R"({"externalHttp":"strict"})", SP_OUTCOME_ERROR);
}
BENCHMARK(BM_DecideHit)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(BM_DecideMiss)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(BM_DecideStrictMiss)->Arg(100)->Arg(10000);

// Decides GET host+path on a fresh session holding the rules document `doc`,
// once per iteration; each decision must be a mock.
void decide_mock_loop(benchmark::State& state, const std::string& doc, const std::string& host,
                      const std::string& path) {
  sp_store* store = nullptr;
  sp_session* session = nullptr;
  sp_store_new(&store);
  sp_session_new(&session, store, nullptr, 0);
  if (sp_session_set_rules(nullptr, session, doc.data(), doc.size()) != SP_OK) std::abort();
  sp_request req = SP_REQUEST_INIT;
  req.method = sp_str{"GET", 3};
  req.host = S(host);
  req.path = S(path);
  for (auto _ : state) {
    sp_decision* d = nullptr;
    sp_session_decide(&d, session, &req);
    if (sp_decision_outcome(d) != SP_OUTCOME_MOCK) state.SkipWithError("unexpected outcome");
    sp_decision_free(d);
  }
  sp_session_free(session);
  sp_store_free(store);
}

// hostSuffix-only rules: found through the reversed-suffix trie, not a scan;
// the hit is the lowest-ranked rule.
void BM_DecideSuffixHit(benchmark::State& state) {
  json rules = json::array();
  int n = int(state.range(0));
  for (int i = 0; i < n; ++i)
    rules.push_back({{"when", {{"hostSuffix", i == 0 ? ".target.test" : ".other-" + std::to_string(i) + ".test"}}},
                     {"then", {{"action", "mock"}}}});
  decide_mock_loop(state, json{{"version", 1}, {"rules", rules}}.dump(), "api.target.test", "/");
}
BENCHMARK(BM_DecideSuffixHit)->Arg(100)->Arg(1000);

// N rules on one host, each with its own pathPrefix (issue 15: a scan cost
// 48x one rule at 10,000): found through the host's path-prefix trie. The
// hit is the rule in the middle.
std::string prefix_rule(int i) {
  return json{{"when", {{"host", "api.test"}, {"pathPrefix", "/items/" + std::to_string(i) + "/"}}},
              {"then", {{"action", "mock"}, {"response", {{"status", 200}, {"body", "{\"ok\":true}"}}}}}}
      .dump();
}

void BM_DecidePrefixHit(benchmark::State& state) {
  int n = int(state.range(0));
  std::string doc = "[";
  for (int i = 0; i < n; ++i) doc += (i ? "," : "") + prefix_rule(i);
  doc += "]";
  decide_mock_loop(state, doc, "api.test", "/items/" + std::to_string(n / 2) + "/detail");
}
BENCHMARK(BM_DecidePrefixHit)->Arg(1)->Arg(10000);

// N sp_session_add_rules calls of one rule each (what N mockOutbound calls
// do in process), on a fresh session: the whole setup per iteration.
void BM_AppendRules(benchmark::State& state) {
  int n = int(state.range(0));
  std::vector<std::string> docs;
  for (int i = 0; i < n; ++i) docs.push_back(prefix_rule(i));
  for (auto _ : state) {
    sp_store* store = nullptr;
    sp_session* session = nullptr;
    sp_store_new(&store);
    sp_session_new(&session, store, nullptr, 0);
    for (const std::string& d : docs)
      if (sp_session_add_rules(nullptr, session, d.data(), d.size()) != SP_OK) std::abort();
    sp_session_free(session);
    sp_store_free(store);
  }
}
BENCHMARK(BM_AppendRules)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

// A realistic case: `spans` outbound exchanges with ~1 KiB JSON bodies.
std::string make_case(int spans) {
  softprobe::core::CaseFile c;
  c.case_id = "bench";
  std::string body = "{\"items\":[";
  for (int i = 0; i < 20; ++i)
    body += (i ? "," : "") + std::string("{\"id\":\"item-") + std::to_string(i) +
            "\",\"price\":12.5,\"tags\":[\"a\",\"b\"]}";
  body += "]}";
  for (int i = 0; i < spans; ++i) {
    softprobe::core::HttpExchange ex;
    ex.trace_id = "5b8efff798038103d269b633813fc60c";
    ex.span_id = "051581bf3cb5" + std::to_string(1000 + i);
    ex.direction = "outbound";
    ex.span_type = "extract";
    ex.service = "checkout";
    ex.scheme = "https";
    ex.method = i % 2 ? "POST" : "GET";
    ex.host = "svc-" + std::to_string(i % 10) + ".example.com";
    ex.path = "/v1/items/" + std::to_string(i);
    ex.request_headers = {
        {"accept", "application/json"}, {"content-type", "application/json"}, {"user-agent", "bench/1.0"}};
    ex.request_body = i % 2 ? "{\"q\":\"x\"}" : "";
    ex.status = 200;
    ex.response_headers = {{"content-type", "application/json"}, {"date", "Sun, 22 Nov 2026 05:00:00 GMT"}};
    ex.response_body = body;
    c.exchanges.push_back(ex);
  }
  return softprobe::core::serialize_case(c);
}

void BM_ParseCase(benchmark::State& state) {
  std::string text = make_case(int(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(softprobe::core::parse_case(text));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["case_bytes"] = double(text.size());
}
BENCHMARK(BM_ParseCase)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_FindInCase(benchmark::State& state) {
  softprobe::core::CaseFile c = softprobe::core::parse_case(make_case(100));
  auto pred = softprobe::core::case_predicate_from_json(
      {{"method", "POST"}, {"host", "svc-7.example.com"}, {"path", "/v1/items/97"}});
  for (auto _ : state) benchmark::DoNotOptimize(&softprobe::core::find_in_case(c, pred));
}
BENCHMARK(BM_FindInCase);

// One captured exchange through the C ABI: view -> exchange, redaction, append.
void BM_CaptureExchange(benchmark::State& state) {
  sp_store* store = nullptr;
  sp_session* session = nullptr;
  sp_store_new(&store);
  // Millions of iterations: raise the capture's limits so that every one records.
  const std::string options =
      R"({"mode":"capture","limits":{"maxSpans":1000000000000,"maxCaseBytes":1000000000000000}})";
  if (sp_session_new(&session, store, options.data(), options.size()) != SP_OK) std::abort();
  std::string host = "api.example.com", path = "/v1/items/7", query = "expand=1", body = "{\"q\":\"x\"}",
              resp_body = make_case(1).substr(0, 1024);
  std::vector<std::pair<std::string, std::string>> hs = {
      {"accept", "application/json"},
      {"authorization", "Bearer secret"},
      {"content-type", "application/json"},
      {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};
  std::vector<sp_header> headers;
  for (auto& [n, v] : hs) headers.push_back({S(n), S(v)});
  std::string rn = "content-type", rv = "application/json";
  sp_header resp_headers[] = {{S(rn), S(rv)}};
  sp_request req = SP_REQUEST_INIT;
  req.method = sp_str{"POST", 4};
  req.scheme = sp_str{"https", 5};
  req.host = S(host);
  req.path = S(path);
  req.query = S(query);
  req.body = S(body);
  req.headers = headers.data();
  req.header_count = headers.size();
  sp_response resp = SP_RESPONSE_INIT;
  resp.status = 200;
  resp.headers = resp_headers;
  resp.header_count = 1;
  resp.body = S(resp_body);
  for (auto _ : state)
    if (sp_session_record(session, &req, &resp, 1, 2) != SP_OK) std::abort();  // a refused record is not a capture
  sp_session_free(session);
  sp_store_free(store);
}
BENCHMARK(BM_CaptureExchange);

}  // namespace

BENCHMARK_MAIN();
