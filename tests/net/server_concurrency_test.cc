// Many connections at once on the server's threads: slow and idle clients do
// not starve others, delayed responses run concurrently on timers, graceful
// shutdown, responses completed from other threads. Tagged [net-threads]
// (these run under ThreadSanitizer).
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <atomic>
#include <future>
#include <thread>

#include "raw_client.hpp"

using namespace softprobe::net;
using nettest::RawSocket;
using nettest::TestServer;
using namespace std::chrono_literals;

namespace {

ServerOptions conc_options() {
  ServerOptions o;
  o.head_timeout = 500ms;
  o.idle_timeout = 10'000ms;
  o.linger_timeout = 300ms;
  o.max_connections = 4096;
  return o;
}

// One GET /hello on a new connection; its latency in ms, or -1.
long long hello_ms(std::uint16_t port) {
  auto t0 = std::chrono::steady_clock::now();
  RawSocket c(port);
  if (!c.send_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")) return -1;
  auto r = c.read_response(3000);
  if (!r || r->status != 200) return -1;
  return nettest::ms_since(t0);
}

}  // namespace

TEST_CASE("slow header senders neither block other clients nor outlive the head deadline", "[net][net-threads]") {
  TestServer s(conc_options(), nettest::demo_handler());
  constexpr int kSlow = 40;  // more than the old 32-thread pool
  std::vector<RawSocket> slow;
  for (int i = 0; i < kSlow; ++i) slow.emplace_back(s.port());
  const std::string head = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  auto t0 = std::chrono::steady_clock::now();
  std::vector<long long> cut_ms(kSlow, -1);
  int fast_done = 0;
  // One byte every 200 ms on each slow connection, for up to 3 s; a fast
  // request in between each round must be answered promptly.
  for (std::size_t round = 0; round < 15 && nettest::ms_since(t0) < 3000; ++round) {
    for (int i = 0; i < kSlow; ++i) {
      if (cut_ms[i] >= 0) continue;
      if (!slow[i].send_all(head.substr(round % head.size(), 1), 100)) cut_ms[i] = nettest::ms_since(t0);
    }
    long long ms = hello_ms(s.port());
    CHECK(ms >= 0);
    CHECK(ms < 1000);
    ++fast_done;
    std::this_thread::sleep_for(200ms);
  }
  CHECK(fast_done >= 5);
  // Each slow sender was answered 408 and closed at about 500 ms.
  for (int i = 0; i < kSlow; ++i) {
    INFO("slow sender " << i);
    auto r = slow[i].read_response(2000);
    REQUIRE(r);
    CHECK(r->status == 408);
    CHECK(slow[i].wait_closed(2000));
  }
}

TEST_CASE("200 idle keep-alive connections do not delay a request", "[net][net-threads]") {
  TestServer s(conc_options(), nettest::demo_handler());
  std::vector<RawSocket> idle;
  for (int i = 0; i < 200; ++i) {
    idle.emplace_back(s.port());
    REQUIRE(idle.back().send_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(idle.back().read_response());
  }
  CHECK(s.server.connections() == 200);
  for (int i = 0; i < 5; ++i) {
    long long ms = hello_ms(s.port());
    CHECK(ms >= 0);
    CHECK(ms < 1000);
  }
  // They are still open and usable.
  REQUIRE(idle.front().send_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = idle.front().read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("1,000 simultaneous connects are all served", "[net][net-threads]") {
  TestServer s(conc_options(), nettest::demo_handler());
  constexpr int kThreads = 4, kEach = 250;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::vector<RawSocket> socks;
      socks.reserve(kEach);
      try {
        for (int i = 0; i < kEach; ++i) socks.emplace_back(s.port(), 5000);
      } catch (...) {
        return;
      }
      for (auto& c : socks) c.send_all("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5000);
      for (auto& c : socks) {
        auto r = c.read_response(10000);
        if (r && r->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == kThreads * kEach);
  CHECK(nettest::ms_since(t0) < 20000);
}

TEST_CASE("64 delayed responses of 300 ms are answered concurrently, in their delay and not later",
          "[net][net-threads]") {
  TestServer s(conc_options(), nettest::demo_handler());
  std::vector<RawSocket> socks;
  for (int i = 0; i < 64; ++i) socks.emplace_back(s.port());
  auto t0 = std::chrono::steady_clock::now();
  for (auto& c : socks) REQUIRE(c.send_all("GET /delay?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (auto& c : socks) {
    auto r = c.read_response(5000);
    REQUIRE(r);
    CHECK(r->body == "delayed 300");
    CHECK(nettest::ms_since(t0) >= 290);  // not early
  }
  CHECK(nettest::ms_since(t0) < 3000);  // concurrently: 64 x 300 ms in sequence would be 19 s
}

TEST_CASE("delays are capped at max_delay", "[net][net-threads]") {
  auto o = conc_options();
  o.max_delay = 100ms;
  TestServer s(o, nettest::demo_handler());
  RawSocket c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(c.send_all("GET /delay?ms=60000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response(5000);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(nettest::ms_since(t0) < 2000);
}

TEST_CASE("responses completed from other threads", "[net][net-threads]") {
  std::mutex mu;
  std::vector<std::thread> workers;
  std::atomic<int> second_accepted{0};  // (Catch assertions belong to the test's thread)
  TestServer s(conc_options(), [&](Exchange ex) {
    std::lock_guard lock(mu);
    workers.emplace_back([ex, &second_accepted]() mutable {
      std::this_thread::sleep_for(20ms);  // a worker thread of the test, not of the server
      ex.respond({200, {}, {}, std::string(ex.head().path()), false});
      if (ex.respond({500, {}, {}, "twice", false})) ++second_accepted;  // once only
    });
  });
  std::vector<RawSocket> socks;
  for (int i = 0; i < 32; ++i) socks.emplace_back(s.port());
  for (int i = 0; i < 32; ++i)
    REQUIRE(socks[i].send_all("GET /w" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 32; ++i) {
    auto r = socks[i].read_response(5000);
    REQUIRE(r);
    CHECK(r->body == "/w" + std::to_string(i));
  }
  std::lock_guard lock(mu);
  for (auto& w : workers) w.join();
  CHECK(second_accepted == 0);
}

TEST_CASE("graceful shutdown finishes an in-flight delayed response, then reports", "[net][net-threads]") {
  TestServer s(conc_options(), nettest::demo_handler());
  RawSocket busy(s.port()), idle(s.port());
  REQUIRE(idle.send_all("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(idle.read_response());
  REQUIRE(busy.send_all("GET /delay?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(50ms);
  std::promise<ShutdownReport> done;
  auto t0 = std::chrono::steady_clock::now();
  s.server.shutdown(5000ms, [&](const ShutdownReport& r) { done.set_value(r); });
  CHECK(idle.wait_closed(1000));  // idle keep-alive: closed at once
  auto r = busy.read_response(3000);
  REQUIRE(r);
  CHECK(r->body == "delayed 300");
  CHECK(r->close);  // and no further request on it
  auto f = done.get_future();
  REQUIRE(f.wait_for(3s) == std::future_status::ready);
  auto report = f.get();
  CHECK(report.clean());
  CHECK(report.finished == 2);
  CHECK(nettest::ms_since(t0) < 2000);      // did not wait out the grace period
  CHECK_THROWS(RawSocket(s.port(), 1000));  // no longer accepting
  CHECK(s.server.wait().clean());
}

TEST_CASE("graceful shutdown closes what is left when the grace period ends", "[net][net-threads]") {
  TestServer s(conc_options(), nettest::demo_handler());
  RawSocket busy(s.port());
  REQUIRE(busy.send_all("GET /delay?ms=10000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(50ms);
  auto t0 = std::chrono::steady_clock::now();
  s.server.shutdown(200ms);
  auto report = s.server.wait();
  CHECK(nettest::ms_since(t0) < 2000);
  CHECK(report.forced == 1);
  CHECK_FALSE(report.clean());
  CHECK(busy.wait_closed(1000));
}
