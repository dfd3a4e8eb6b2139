// Exchange::respond_streaming: a body sent piece by piece (chunked, or with
// a declared length), with back-pressure; what happens when it goes wrong.
#include <catch2/catch.hpp>

#include <future>
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
