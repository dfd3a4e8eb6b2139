// Many threads decide against one session at once: stats stay exact,
// consume-once rules fire exactly once, rule replacement is never seen half
// done. Also run under ThreadSanitizer by the test command.
#include <atomic>
#include <thread>

#include "session/session_store.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using nlohmann::json;

namespace {
constexpr int kThreads = 8;
constexpr int kDecisionsPerThread = 10000;
}  // namespace

TEST_CASE("8 threads x 10,000 decisions: exact stats, consume-once exactly once", "[concurrency]") {
  SessionStore store;
  SessionOptions o;
  o.policy = {{"externalHttp", "strict"}};
  auto s = store.create(o);
  json rules = json::array();
  rules.push_back({{"name", "hit"},
                   {"when", {{"host", "hit.test"}}},
                   {"then", {{"action", "mock"}, {"response", {{"status", 200}}}}}});
  for (int i = 0; i < 50; ++i)  // 50 consume-once rules on one path: each must be won by exactly one request
    rules.push_back({{"name", "once-" + std::to_string(i)},
                     {"consume", "once"},
                     {"priority", 10},
                     {"when", {{"host", "once.test"}}},
                     {"then", {{"action", "mock"}, {"response", {{"status", 201}}}}}});
  rules.push_back({{"name", "after-once"},
                   {"when", {{"host", "once.test"}}},
                   {"then", {{"action", "mock"}, {"response", {{"status", 202}}}}}});
  s->set_rules({{"version", 1}, {"rules", rules}});

  std::atomic<int> hits{0}, once_wins{0}, after_once{0}, misses{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      sp_test::Req hit = sp_test::get("hit.test", "/a"), once = sp_test::get("once.test", "/b"),
                   miss = sp_test::get("miss.test", "/c");
      auto hv = hit.view(), ov = once.view(), mv = miss.view();
      for (int i = 0; i < kDecisionsPerThread; ++i) {
        switch ((i + t) % 3) {
          case 0: hits += s->decide(hv).response->status == 200; break;
          case 1: {
            int status = s->decide(ov).response->status;
            once_wins += status == 201;
            after_once += status == 202;
            break;
          }
          case 2: misses += s->decide(mv).strict_miss; break;
        }
      }
    });
  for (auto& th : threads) th.join();

  int total = kThreads * kDecisionsPerThread;
  json stats = s->stats_json()["stats"];
  CHECK(stats["decisions"] == total);
  CHECK(stats["injectedSpans"] == total - misses);  // strict misses are counted apart
  CHECK(once_wins == 50);
  CHECK(hits + once_wins + after_once + misses == total);
  CHECK(stats["strictMisses"] == misses.load());
  int consumed_hits = 0;
  for (const auto& h : stats["ruleHits"]) {
    if (h["name"] == "hit") CHECK(h["hits"] == hits.load());
    if (h["name"] == "after-once") CHECK(h["hits"] == after_once.load());
    if (h["name"].get<std::string>().rfind("once-", 0) == 0) {
      CHECK(h["hits"] == 1);
      consumed_hits += h["hits"].get<int>();
    }
  }
  CHECK(consumed_hits == 50);
}

TEST_CASE("rules replaced while other threads decide: every answer comes from one whole document", "[concurrency]") {
  SessionStore store;
  auto s = store.create({});
  auto doc = [](int status) {
    // Two rules that must agree: a torn update would mix statuses.
    return json{
        {"version", 1},
        {"rules",
         {{{"when", {{"host", "a.test"}}}, {"then", {{"action", "mock"}, {"response", {{"status", status}}}}}},
          {{"when", {{"host", "b.test"}}}, {"then", {{"action", "mock"}, {"response", {{"status", status}}}}}}}}};
  };
  s->set_rules(doc(200));
  std::atomic<bool> stop{false};
  std::atomic<long> decided{0}, wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&] {
      sp_test::Req a = sp_test::get("a.test", "/");
      auto v = a.view();
      while (!stop) {
        int st = s->decide(v).response->status;
        wrong += st < 200 || st > 299;
        ++decided;
      }
    });
  for (int i = 0; i < 200; ++i) s->set_rules(doc(200 + i % 100));
  stop = true;
  for (auto& th : readers) th.join();
  CHECK(wrong == 0);
  CHECK(s->revision() == 201);
  CHECK(s->stats_json()["stats"]["injectedSpans"] == decided.load());
}

TEST_CASE("concurrent capture records every exchange", "[concurrency][capture]") {
  SessionStore store;
  auto s = store.create(session_options_from_json({{"mode", "capture"}}));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      sp_test::Req r = sp_test::get("a.test", "/");
      auto v = r.view();
      ResponseView ok{200, nullptr, 0, "ok"};
      for (int i = 0; i < 500; ++i) s->record(exchange_from_views(v, &ok, {}, s->id()));
    });
  for (auto& th : threads) th.join();
  CHECK(s->captured_count() == kThreads * 500);
  CHECK(s->stats_json()["stats"]["extractedSpans"] == kThreads * 500);
}
