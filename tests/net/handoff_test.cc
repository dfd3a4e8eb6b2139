// Exchange::hand_off: a CONNECT tunnel and a WebSocket-style upgrade take the
// socket (and the bytes already buffered) from the server.
#include <catch2/catch.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "raw_client.hpp"
#include "softprobe/net/handoff.hpp"

using namespace softprobe::net;
using nettest::RawSocket;
using nettest::TestServer;
using namespace std::chrono_literals;

namespace {

// Echoes everything back on a taken-over socket until the client closes.
struct Echo : std::enable_shared_from_this<Echo> {
  explicit Echo(HandOff&& h) : ho(std::move(h)) {}
  HandOff ho;
  char buf[4096];
  void start() {
    auto self = shared_from_this();
    if (ho.buffered.empty()) return read();
    boost::asio::async_write(ho.socket, boost::asio::buffer(ho.buffered), [self](auto ec, std::size_t) {
      if (!ec) self->read();
    });
  }
  void read() {
    auto self = shared_from_this();
    ho.socket.async_read_some(boost::asio::buffer(buf), [self](auto ec, std::size_t n) {
      if (ec) return;  // the client went away: the last reference drops, and the slot with it
      boost::asio::async_write(self->ho.socket, boost::asio::buffer(self->buf, n), [self](auto e, std::size_t) {
        if (!e) self->read();
      });
    });
  }
};

Handler tunnel_handler() {
  return [](Exchange ex) {
    const RequestHead& h = ex.head();
    auto take = [](HandOff&& ho) { std::make_shared<Echo>(std::move(ho))->start(); };
    if (h.method == "CONNECT" && h.parsed_target().form == Target::Form::authority) {
      ex.hand_off(take, Response{200, "Connection established", {}, {}, false});
    } else if (h.upgrade) {
      ex.hand_off(take, Response{101, {}, {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}, {}, false});
    } else {
      ex.respond({404, {}, {}, {}, false});
    }
  };
}

}  // namespace

TEST_CASE("a CONNECT tunnel gets the socket and the bytes sent after the head", "[net][net-threads]") {
  TestServer s({}, tunnel_handler());
  RawSocket c(s.port());
  // The head and the first tunnel bytes in one write: they must not be lost.
  REQUIRE(c.send_all("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\nhello"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->head.find("Connection established") != std::string::npos);
  CHECK(r->header("content-length").empty());
  CHECK(r->header("transfer-encoding").empty());
  auto echoed = [&](std::size_t n) {
    std::string got = c.take_buffered();
    for (int i = 0; i < 50 && got.size() < n; ++i) {
      char b[256];
      ssize_t k = ::recv(c.fd(), b, sizeof b, MSG_DONTWAIT);
      if (k > 0) got.append(b, std::size_t(k));
      else std::this_thread::sleep_for(20ms);
    }
    return got;
  };
  CHECK(echoed(5) == "hello");
  REQUIRE(c.send_all("world"));
  CHECK(echoed(5) == "world");
  CHECK(s.server.connections() == 1);  // the tunnel keeps its place
  c.shutdown_write();
  for (int i = 0; i < 100 && s.server.connections() != 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(s.server.connections() == 0);
}

TEST_CASE("an upgrade is handed off after a 101", "[net][net-threads]") {
  TestServer s({}, tunnel_handler());
  RawSocket c(s.port());
  REQUIRE(c.send_all("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 101);
  CHECK(r->header("upgrade") == "websocket");
  REQUIRE(c.send_all("frame"));
  std::string early = c.take_buffered();
  char b[16] = {};
  std::size_t got = early.copy(b, sizeof b);
  for (int i = 0; i < 50 && got < 5; ++i) {
    ssize_t k = ::recv(c.fd(), b + got, sizeof b - got, MSG_DONTWAIT);
    if (k > 0) got += std::size_t(k);
    else std::this_thread::sleep_for(20ms);
  }
  CHECK(std::string(b, got) == "frame");
}

TEST_CASE("hand_off is refused once the body is being read", "[net]") {
  std::promise<bool> result;
  TestServer s({}, [&](Exchange ex) {
    ex.read_body([&](Exchange& e, BodyStatus) {
      result.set_value(e.hand_off([](HandOff&&) {}));
      e.respond({200, {}, {}, "ok", false});
    });
  });
  RawSocket c(s.port());
  REQUIRE(c.send_all("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->body == "ok");
  auto f = result.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(3)) == std::future_status::ready);
  CHECK_FALSE(f.get());
}
