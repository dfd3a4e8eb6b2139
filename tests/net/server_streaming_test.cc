// Exchange::respond_streaming: a body sent piece by piece (chunked, or with
// a declared length), with back-pressure; what happens when it goes wrong.
#include <poll.h>
#include <sys/socket.h>
#include <catch2/catch.hpp>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "raw_client.hpp"
#include "softprobe/net/client.hpp"

using namespace softprobe::net;
using nettest::RawSocket;
using nettest::TestServer;
using namespace std::chrono_literals;

namespace {

// Writes pieces[i..] one after the other, each once the previous is written, then finishes.
void write_from(BodyWriter w, std::shared_ptr<std::vector<std::string>> pieces, std::size_t i, bool finish = true) {
  if (i == pieces->size()) {
    if (finish) w.finish();
    return;
  }
  w.write((*pieces)[i], [w, pieces, i, finish](bool ok) {
    if (ok) write_from(w, pieces, i + 1, finish);
  });
}

Handler streaming_handler() {
  return [](Exchange ex) {
    auto pieces = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"one,", "two,", "three"});
    std::string_view path = ex.head().path();
    std::optional<std::uint64_t> length;
    if (path == "/sized") length = 13;
    if (path == "/short") length = 20;  // declares more than it sends
    bool finish = path != "/dropped";
    ex.respond_streaming({200, {}, {{"Content-Type", "text/plain"}}, "ignored", false}, length,
                         [pieces, finish](std::optional<BodyWriter> w) {
                           if (!w) return;  // the client went away (the tests then see no body)
                           // From another thread, as a proxy relaying an upstream would.
                           std::thread([w = *w, pieces, finish] {
                             std::this_thread::sleep_for(10ms);
                             write_from(w, pieces, 0, finish);
                           }).detach();
                         });
  };
}

}  // namespace

TEST_CASE("a streamed body is sent chunked, then the connection serves the next request", "[net][net-threads]") {
  TestServer s({}, streaming_handler());
  IoThreads io(1);
  Client c(io);
  for (int i = 0; i < 2; ++i) {
    auto p = std::make_shared<std::promise<FetchResult>>();
    ClientRequest req;
    req.host = "127.0.0.1";
    req.port = s.port();
    req.target = "/chunked";
    c.fetch(req, 1024, [p](FetchResult r) { p->set_value(std::move(r)); });
    auto f = p->get_future();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    auto r = f.get();
    REQUIRE(r.error == ClientError::none);
    CHECK(r.head.chunked);
    CHECK(r.body == "one,two,three");
  }
  CHECK(c.stats().connections_opened == 1);
}

TEST_CASE("a streamed body with a declared length", "[net][net-threads]") {
  TestServer s({}, streaming_handler());
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET /sized HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->header("content-length") == "13");
  CHECK(r->header("transfer-encoding").empty());
  CHECK(r->body == "one,two,three");
  REQUIRE(c.send_all("HEAD /sized HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response(3000, true);
  REQUIRE(r);
  CHECK(r->header("content-length") == "13");
  REQUIRE(c.send_all("GET /sized HTTP/1.1\r\nHost: x\r\n\r\n"));  // still in step after the HEAD
  r = c.read_response();
  REQUIRE(r);
  CHECK(r->body == "one,two,three");
}

TEST_CASE("a streamed body shorter than declared, or abandoned, ends by closing", "[net][net-threads]") {
  TestServer s({}, streaming_handler());
  for (const char* path : {"/short", "/dropped"}) {
    INFO(path);
    RawSocket c(s.port());
    REQUIRE(c.send_all(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(c.wait_closed(3000));
  }
}

TEST_CASE("a streamed 204 or 304 is a head without a body, and the connection stays in step", "[net][net-threads]") {
  // A proxy relays an upstream's 204 or 304 with respond_streaming: the head goes out without
  // framing (a 304 keeps the length given), pieces are dropped, finish() ends it.
  TestServer s({}, [](Exchange ex) {
    std::string_view path = ex.head().path();
    int status = path == "/304" ? 304 : 204;
    std::optional<std::uint64_t> length;
    if (path == "/304") length = 13;
    if (path == "/204-sized") length = 5;
    ex.respond_streaming({status, {}, {{"ETag", "\"v1\""}}, "", false}, length, [](std::optional<BodyWriter> w) {
      if (!w) return;
      w->write("dropped", [w = *w](bool ok) mutable {
        if (ok) w.finish();
      });
    });
  });
  RawSocket c(s.port());
  for (int i = 0; i < 2; ++i) {
    REQUIRE(c.send_all("GET /204 HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 204);
    CHECK(r->header("content-length").empty());
    CHECK(r->header("transfer-encoding").empty());
    CHECK(r->header("etag") == "\"v1\"");
    CHECK_FALSE(r->close);
    REQUIRE(c.send_all("GET /304 HTTP/1.1\r\nHost: x\r\n\r\n"));
    r = c.read_response(3000, true);  // no body follows its Content-Length
    REQUIRE(r);
    CHECK(r->status == 304);
    CHECK(r->header("content-length") == "13");
    CHECK(r->header("transfer-encoding").empty());
    CHECK_FALSE(r->close);
  }
  CHECK(c.take_buffered().empty());  // nothing was sent after the heads
  REQUIRE(c.send_all("GET /204-sized HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(r->body.find("status 204 cannot have a body") != std::string::npos);

  IoThreads io(1);  // and the client reads it as a whole response
  Client client(io);
  auto p = std::make_shared<std::promise<FetchResult>>();
  ClientRequest req;
  req.host = "127.0.0.1";
  req.port = s.port();
  req.target = "/204";
  client.fetch(req, 1024, [p](FetchResult fr) { p->set_value(std::move(fr)); });
  auto f = p->get_future();
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto fr = f.get();
  CHECK(fr.error == ClientError::none);
  CHECK(fr.head.status == 204);
  CHECK(fr.body.empty());
}

namespace {

// Collects a streamed request body; answers with it. Every third `more` comes
// from another thread; with `stall`, `more` is never called.
Handler streamed_echo(bool stall = false) {
  return [stall](Exchange ex) {
    auto got = std::make_shared<std::string>();
    auto pieces = std::make_shared<int>(0);
    ex.read_body_stream(
        [got, pieces, stall](std::string_view piece, std::function<void()> more) {
          got->append(piece);
          if (stall) return;
          if (++*pieces % 3 == 0) std::thread([more] { more(); }).detach();
          else more();
        },
        [got, pieces](Exchange& e, BodyStatus s) {
          if (s != BodyStatus::ok)
            return (void)e.respond(json_error(s == BodyStatus::too_large ? 413 : 400, body_status_name(s), "streamed"));
          e.respond({200,
                     {},
                     {{"X-Pieces", std::to_string(*pieces)}, {"X-Body-Empty", e.body().empty() ? "yes" : "no"}},
                     std::move(*got),
                     false});
        });
  };
}

std::string sample_text(std::size_t n) {
  std::string s;
  s.reserve(n);
  for (std::size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i * 7919 % 100003) + "\n";
  s.resize(n);
  return s;
}

}  // namespace

TEST_CASE("a request body streamed to the handler piece by piece, decoded", "[net][net-threads]") {
  ServerOptions o;
  o.max_body_bytes = 1 << 20;
  TestServer s(o, streamed_echo());
  std::string text = sample_text(300 * 1024);
  for (bool gzip : {false, true}) {
    INFO("gzip " << gzip);
    std::string body = gzip ? nettest::compress(text, true) : text;
    RawSocket c(s.port());
    REQUIRE(c.send_all("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                       (gzip ? "Content-Encoding: gzip\r\n" : "") + "\r\n" + body));
    auto r = c.read_response(5000);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == text);
    CHECK(std::stoi(r->header("x-pieces")) > 1);
    CHECK(r->header("x-body-empty") == "yes");  // streamed: body() is not filled
    CHECK_FALSE(r->close);
  }
}

TEST_CASE("a streamed request body still stops at the body limit", "[net][net-threads]") {
  ServerOptions o;
  o.max_body_bytes = 100 * 1024;
  TestServer s(o, streamed_echo());
  std::string gz = nettest::compress(sample_text(300 * 1024), true);  // small on the wire, 300 KiB decoded
  RawSocket c(s.port());
  REQUIRE(c.send_all("POST /up HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: " +
                     std::to_string(gz.size()) + "\r\n\r\n" + gz));
  auto r = c.read_response(5000);
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(r->close);
}

TEST_CASE("a consumer that stops taking pieces is cut at the body timeout", "[net][net-threads]") {
  ServerOptions o;
  o.body_timeout = std::chrono::milliseconds(300);
  TestServer s(o, streamed_echo(true));
  std::string text = sample_text(200 * 1024);
  RawSocket c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.send_reading("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(text.size()) + "\r\n\r\n",
                          text.size() + 100, 'z', 5000);
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("failed") != std::string::npos);
  CHECK(nettest::ms_since(t0) < 3000);
}

TEST_CASE("a consumer that holds `more` without calling it is cut at the body timeout", "[net][net-threads]") {
  ServerOptions o;
  o.body_timeout = std::chrono::milliseconds(300);
  std::mutex mu;
  std::vector<std::function<void()>> held;  // kept, never called
  TestServer s(o, [&](Exchange ex) {
    ex.read_body_stream(
        [&](std::string_view, std::function<void()> more) {
          std::lock_guard lock(mu);
          held.push_back(std::move(more));
        },
        [](Exchange& e, BodyStatus st) { e.respond(json_error(400, body_status_name(st), "streamed")); });
  });
  std::string text = sample_text(200 * 1024);
  RawSocket c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.send_reading("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(text.size()) + "\r\n\r\n",
                          text.size() + 100, 'z', 5000);
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("failed") != std::string::npos);
  auto ms = nettest::ms_since(t0);
  CHECK(ms >= 250);
  CHECK(ms < 3000);
  std::lock_guard lock(mu);
  held.clear();  // (before the server goes: these hold its connection)
}

// ---- the streamed head held for the first piece (ServerOptions::stream_head_hold) ----

namespace {

// The writers of streamed responses, handed from the handler to the test's thread.
struct WriterBox {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::optional<BodyWriter>> q;
  void put(std::optional<BodyWriter> w) {
    std::lock_guard lock(mu);
    q.push_back(std::move(w));
    cv.notify_all();
  }
  std::optional<BodyWriter> take() {  // nullopt: none came within 3 s, or the handler got none
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 3s, [&] { return !q.empty(); })) return std::nullopt;
    auto w = std::move(q.front());
    q.pop_front();
    return w;
  }
  void clear() {  // (before the server goes: a writer holds its connection)
    std::lock_guard lock(mu);
    q.clear();
  }
};

// /sized: Content-Length 5; /empty: Content-Length 0; anything else: chunked (close-delimited for HTTP/1.0).
std::optional<std::uint64_t> length_of(std::string_view path) {
  if (path == "/sized") return 5;
  if (path == "/empty") return 0;
  return std::nullopt;
}

Handler parking_handler(std::shared_ptr<WriterBox> box) {
  return [box](Exchange ex) {
    ex.respond_streaming({200, {}, {{"X-Streamed", "yes"}}, "", false}, length_of(ex.head().path()),
                         [box](std::optional<BodyWriter> w) { box->put(std::move(w)); });
  };
}

// write() / finish() from the test's thread, waiting for the callback (false: refused, failed or none in 5 s).
bool write_wait(BodyWriter w, std::string piece) {
  auto p = std::make_shared<std::promise<bool>>();
  auto f = p->get_future();
  if (!w.write(std::move(piece), [p](bool ok) { p->set_value(ok); })) return false;
  return f.wait_for(5s) == std::future_status::ready && f.get();
}

bool finish_wait(BodyWriter w) {
  auto p = std::make_shared<std::promise<bool>>();
  auto f = p->get_future();
  if (!w.finish([p](bool ok) { p->set_value(ok); })) return false;
  return f.wait_for(5s) == std::future_status::ready && f.get();
}

bool nothing_to_read_for(RawSocket& c, int ms) {
  pollfd p{c.fd(), POLLIN, 0};
  return ::poll(&p, 1, ms) == 0;
}

ServerOptions holding(Millis hold) {
  ServerOptions o;
  o.stream_head_hold = hold;
  return o;
}

}  // namespace

TEST_CASE("a streamed head waits for the first piece and goes out with it", "[net][net-threads]") {
  auto box = std::make_shared<WriterBox>();
  TestServer s(holding(Millis(10'000)), parking_handler(box));
  RawSocket c(s.port());
  for (std::string path : {"/sized", "/chunked", "/sized"}) {
    INFO(path);
    REQUIRE(c.send_all("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto w = box->take();
    REQUIRE(w);
    // Only the test writes, and not yet: a head written on its own would be here by now.
    CHECK(nothing_to_read_for(c, 200));
    REQUIRE(write_wait(*w, "hello"));
    auto head = c.read_until("\r\n\r\n");
    REQUIRE(head);
    CHECK(head->rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(head->find("X-Streamed: yes") != std::string::npos);
    if (path == "/sized") {
      CHECK(head->find("Content-Length: 5\r\n") != std::string::npos);
      CHECK(c.read_until("hello") == "hello");
      REQUIRE(finish_wait(*w));
    } else {
      CHECK(head->find("Transfer-Encoding: chunked\r\n") != std::string::npos);
      CHECK(c.read_until("hello\r\n") == "5\r\nhello\r\n");
      REQUIRE(write_wait(*w, "more"));  // after the first piece, pieces go out as they come
      CHECK(c.read_until("more\r\n") == "4\r\nmore\r\n");
      REQUIRE(finish_wait(*w));
      CHECK(c.read_until("\r\n\r\n") == "0\r\n\r\n");
    }
  }
  CHECK(nothing_to_read_for(c, 50));  // nothing more than the three responses
  box->clear();
}

TEST_CASE("finish right after a held head sends the head and the end, and the connection stays in step",
          "[net][net-threads]") {
  // The hold is long: only finish() can have sent these heads within the read timeouts.
  TestServer s(holding(Millis(10'000)), [](Exchange ex) {
    ex.respond_streaming({200, {}, {}, "", false}, length_of(ex.head().path()), [](std::optional<BodyWriter> w) {
      if (w) w->finish();
    });
  });
  RawSocket c(s.port());
  for (int i = 0; i < 2; ++i) {
    REQUIRE(c.send_all("GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto head = c.read_until("\r\n\r\n");
    REQUIRE(head);
    CHECK(head->find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(c.read_until("\r\n\r\n") == "0\r\n\r\n");  // the last chunk, and nothing else
    REQUIRE(c.send_all("GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->header("content-length") == "0");
    CHECK(r->body.empty());
    CHECK_FALSE(r->close);
  }
  CHECK(nothing_to_read_for(c, 50));

  // HTTP/1.0 without a length: the end of the body is the close.
  RawSocket old(s.port());
  REQUIRE(old.send_all("GET /chunked HTTP/1.0\r\n\r\n"));
  auto head = old.read_until("\r\n\r\n");
  REQUIRE(head);
  CHECK(head->find("Transfer-Encoding") == std::string::npos);
  CHECK(head->find("Connection: close") != std::string::npos);
  CHECK(old.wait_closed(3000));
  CHECK(old.take_buffered().empty());

  IoThreads io(1);  // and the client reads the chunked one as an empty body
  Client client(io);
  auto p = std::make_shared<std::promise<FetchResult>>();
  ClientRequest req;
  req.host = "127.0.0.1";
  req.port = s.port();
  req.target = "/chunked";
  client.fetch(req, 1024, [p](FetchResult fr) { p->set_value(std::move(fr)); });
  auto f = p->get_future();
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto fr = f.get();
  CHECK(fr.error == ClientError::none);
  CHECK(fr.head.chunked);
  CHECK(fr.body.empty());
}

TEST_CASE("a client gone before the first piece: the write reports written(false)", "[net][net-threads]") {
  auto box = std::make_shared<WriterBox>();
  std::mutex mu;
  std::vector<bool> written;  // Completed::written of each response
  ServerOptions o = holding(Millis(10'000));
  o.on_complete = [&](const Completed& done) {
    std::lock_guard lock(mu);
    written.push_back(done.written);
  };
  TestServer s(o, parking_handler(box));
  for (std::string path : {"/chunked", "/sized"}) {
    INFO(path);
    std::optional<BodyWriter> w;
    {
      RawSocket c(s.port());
      REQUIRE(c.send_all("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
      w = box->take();
      REQUIRE(w);
      linger reset{1, 0};  // close with a reset: the server's next send fails
      ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    // The first send may still go out (if the reset has not come in yet); a later one fails.
    bool ok = true;
    for (int i = 0; i < 20 && ok; ++i) {
      ok = write_wait(*w, "piece");
      if (ok) std::this_thread::sleep_for(20ms);
    }
    CHECK_FALSE(ok);
    CHECK_FALSE(finish_wait(*w));
  }
  auto deadline = std::chrono::steady_clock::now() + 3s;  // on_complete runs on an io thread
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (written.size() >= 2 || std::chrono::steady_clock::now() > deadline) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  std::lock_guard lock(mu);
  CHECK(written == std::vector<bool>{false, false});
  box->clear();
}

TEST_CASE("a streamed head is not held for HEAD, nor when no piece comes within the hold", "[net][net-threads]") {
  for (Millis hold : {Millis(0), Millis(50), Millis(10'000)}) {
    INFO("hold " << hold.count() << " ms");
    auto box = std::make_shared<WriterBox>();
    TestServer s(holding(hold), parking_handler(box));
    RawSocket c(s.port());
    // HEAD: the head is all there is; it goes out at once, whatever the hold.
    REQUIRE(c.send_all("HEAD /chunked HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto head = c.read_until("\r\n\r\n");  // before the test writes or finishes anything
    REQUIRE(head);
    CHECK(head->rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    auto w = box->take();
    REQUIRE(w);
    REQUIRE(write_wait(*w, "dropped"));
    REQUIRE(finish_wait(*w));
    if (hold == Millis(10'000)) {
      CHECK(nothing_to_read_for(c, 50));
      continue;  // (a GET's head is held past the test's timeouts: the first test case)
    }
    // GET, nothing written: the head goes out alone once the hold runs out, and the pieces follow it.
    for (std::string path : {"/chunked", "/sized"}) {
      INFO(path);
      REQUIRE(c.send_all("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
      w = box->take();
      REQUIRE(w);
      head = c.read_until("\r\n\r\n");
      REQUIRE(head);
      CHECK(head->rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
      REQUIRE(write_wait(*w, "hello"));
      REQUIRE(finish_wait(*w));
      if (path == "/sized") {
        CHECK(c.read_until("hello") == "hello");
      } else {
        CHECK(c.read_until("hello\r\n") == "5\r\nhello\r\n");
        CHECK(c.read_until("\r\n\r\n") == "0\r\n\r\n");
      }
    }
    CHECK(nothing_to_read_for(c, 50));
    box->clear();
  }
}

TEST_CASE("first pieces coming around the end of the hold, from another thread, all arrive whole",
          "[net][net-threads]") {
  // Whether the head went out alone (the hold ran out) or with the piece, and
  // whether the piece came while the lone head was being written, the body
  // is the same.
  TestServer s(holding(Millis(1)), [](Exchange ex) {
    const std::string& t = ex.head().target;  // "/path?MICROSECONDS"
    auto delay = std::chrono::microseconds(std::stoi(t.substr(t.find('?') + 1)));
    auto pieces = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"one,", "two,", "three"});
    std::optional<std::uint64_t> length;
    if (ex.head().path() == "/sized") length = 13;
    ex.respond_streaming({200, {}, {}, "", false}, length, [pieces, delay](std::optional<BodyWriter> w) {
      if (!w) return;
      std::thread([w = *w, pieces, delay] {
        std::this_thread::sleep_for(delay);
        write_from(w, pieces, 0);
      }).detach();
    });
  });
  IoThreads io(1);
  Client client(io);
  for (int i = 0; i < 60; ++i) {
    auto p = std::make_shared<std::promise<FetchResult>>();
    ClientRequest req;
    req.host = "127.0.0.1";
    req.port = s.port();
    req.target = std::string(i % 2 ? "/sized" : "/chunked") + "?" + std::to_string(i * 2000 / 60);
    client.fetch(req, 1024, [p](FetchResult fr) { p->set_value(std::move(fr)); });
    auto f = p->get_future();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    auto fr = f.get();
    INFO(req.target);
    REQUIRE(fr.error == ClientError::none);
    CHECK(fr.body == "one,two,three");
  }
  CHECK(client.stats().connections_opened == 1);
}
