// Test helpers for the net client: a GET to 127.0.0.1, and fetch() as a
// future or as a call that waits (at most 10 s).
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "softprobe/net/client.hpp"

namespace nettest {

inline softprobe::net::ClientRequest get(std::uint16_t port, std::string target) {
  softprobe::net::ClientRequest r;
  r.host = "127.0.0.1";
  r.port = port;
  r.target = std::move(target);
  return r;
}

// Starts c.fetch(req); the future holds its result.
inline std::future<softprobe::net::FetchResult> fetch_later(softprobe::net::Client& c,
                                                            softprobe::net::ClientRequest req,
                                                            std::size_t max_body = 1 << 20) {
  auto p = std::make_shared<std::promise<softprobe::net::FetchResult>>();
  auto f = p->get_future();
  c.fetch(std::move(req), max_body, [p](softprobe::net::FetchResult r) { p->set_value(std::move(r)); });
  return f;
}

// c.fetch(req), waited for (a test failure past 10 s).
inline softprobe::net::FetchResult fetch(softprobe::net::Client& c, softprobe::net::ClientRequest req,
                                         std::size_t max_body = 1 << 20) {
  auto f = fetch_later(c, std::move(req), max_body);
  if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) FAIL("fetch did not end within 10 s");
  return f.get();
}

}  // namespace nettest
