// A C++ program that links the core statically (softprobe_static) and uses
// both the public C++ API (softprobe.hpp) and the core's internal classes in
// one translation unit. Before the internals moved to namespace
// softprobe::core, softprobe::Session, Error, Decision and Response were
// declared twice and this file did not compile; linked from separate files the
// program broke the one-definition rule instead.
#include <softprobe.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "session/session_store.hpp"
#include "support/errors.hpp"

TEST_CASE("static link: softprobe.hpp and the core's internal classes in one program", "[cpp-api][static]") {
  // The public API, over the C ABI of the linked-in core.
  softprobe::Store store;
  softprobe::Session replay = store.start_session(R"({"policy":{"externalHttp":"strict"}})");
  softprobe::Request req;
  req.host = "api.test";
  req.path = "/items";
  softprobe::Decision miss = replay.decide(req);
  CHECK(miss.strict_miss());
  CHECK(miss.status() == 599);
  try {
    replay.set_rules("{");
    FAIL("set_rules accepted broken JSON");
  } catch (const softprobe::Error& e) {
    CHECK(e.status() == SP_E_INVALID_JSON);
  }

  // The internal API, next to it: its own Session, Error and Decision.
  softprobe::core::SessionStore internal_store;
  std::shared_ptr<softprobe::core::Session> internal = internal_store.create({});
  CHECK(internal->id().size() == 32);
  try {
    internal->set_rules(nlohmann::json::parse(R"({"version":1,"rules":[{"when":{},"then":{"action":"dance"}}]})"));
    FAIL("set_rules accepted an unknown action");
  } catch (const softprobe::core::Error& e) {
    CHECK(e.code() == softprobe::core::ErrorCode::invalid_rule);
  }
  CHECK(store.attach(replay.id()).id() == replay.id());
}
