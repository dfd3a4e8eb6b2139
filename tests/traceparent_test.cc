// The W3C traceparent, read in one place for the capture and the proxy.
#include <catch2/catch.hpp>

#include "capture/capture.hpp"
#include "request/traceparent.hpp"
#include "test_support.hpp"

using namespace softprobe::core;
using sp_test::Req;

namespace {
bool valid(std::string_view v) { return parse_traceparent(v).has_value(); }
}  // namespace

TEST_CASE("traceparent: the ids of a valid one, nothing for anything else", "[traceparent]") {
  const std::string good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto tp = parse_traceparent(good);
  REQUIRE(tp);
  CHECK(tp->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(tp->parent_id == "00f067aa0ba902b7");
  CHECK_FALSE(valid("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));  // trace id all 0
  CHECK_FALSE(valid("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));  // parent id all 0
  CHECK_FALSE(valid("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));  // upper case
  CHECK_FALSE(valid("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));  // version ff
  CHECK_FALSE(valid("0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  CHECK_FALSE(valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"));
  CHECK_FALSE(valid(good + "-extra"));  // version 00 ends at the flags
  CHECK_FALSE(valid(good.substr(0, 54)));
  CHECK_FALSE(valid(""));
  CHECK(valid("01" + good.substr(2) + "-extra"));  // a later version may go on
  CHECK_FALSE(valid("01" + good.substr(2) + "extra"));
  CHECK(valid(new_traceparent()));
  CHECK(new_traceparent() != new_traceparent());
}

TEST_CASE("traceparent: a capture joins the caller's trace only when its traceparent is valid", "[traceparent]") {
  auto captured = [](std::string traceparent) {
    Req r = sp_test::get("api.example.com", "/x");
    r.headers = {{"traceparent", std::move(traceparent)}};
    auto v = r.view();
    ResponseView ok{200, nullptr, 0, "ok"};
    return exchange_from_views(v, &ok, {}, "s1");
  };
  HttpExchange joined = captured("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  CHECK(joined.trace_id == "0af7651916cd43dd8448eb211c80319c");
  CHECK(joined.parent_span_id == "b7ad6b7169203331");
  // A parent id of all zeros is invalid (W3C): the capture starts its own trace.
  HttpExchange zero_parent = captured("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01");
  CHECK(zero_parent.trace_id != "0af7651916cd43dd8448eb211c80319c");
  CHECK(zero_parent.trace_id.size() == 32);
  CHECK(zero_parent.parent_span_id.empty());
  HttpExchange bad_version = captured("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  CHECK(bad_version.trace_id != "0af7651916cd43dd8448eb211c80319c");
}
