// The header-only C++ API (include/softprobe.hpp) over the shared library.
#include <softprobe.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

using nlohmann::json;

TEST_CASE("C++ API: capture, close, reload, replay with a strict miss", "[cpp-api]") {
  softprobe::Store store;
  auto dir = std::filesystem::temp_directory_path() / ("sp-cpp-api-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "capture.case.json").string();

  softprobe::Session capture = store.start_session(R"({"mode":"capture","caseId":"cpp"})");
  softprobe::Request req;
  req.host = "api.test";
  req.path = "/items";
  req.headers = {{"authorization", "Bearer secret"}};
  capture.record(req, {200, {{"content-type", "application/json"}}, R"([1,2])"});
  CHECK(capture.close(path) == path);

  softprobe::Session replay = store.start_session(R"({"policy":{"externalHttp":"strict"}})");
  replay.load_case_file(path);
  json match = json::parse(replay.find_in_case(R"({"path":"/items"})"));
  CHECK(match["response"]["body"] == "[1,2]");
  json rule = {{"when", {{"host", "api.test"}, {"path", "/items"}}}, {"then", {{"action", "mock"}, {"response", match["response"]}}}};
  replay.set_rules(json{{"version", 1}, {"rules", {rule}}}.dump());

  softprobe::Decision hit = replay.decide(req);
  CHECK(hit.outcome() == SP_OUTCOME_MOCK);
  CHECK(hit.body() == "[1,2]");
  softprobe::Request other = req;
  other.path = "/other";
  softprobe::Decision miss = replay.decide(other);
  CHECK(miss.strict_miss());
  CHECK(miss.status() == 599);
  CHECK(json::parse(miss.explain())["nearMiss"]["failed"][0]["predicate"] == "path");

  try {
    replay.set_rules(R"({"version":1,"rules":[{"when":{"hots":"x"},"then":{"action":"mock"}}]})");
    FAIL("expected softprobe::Error");
  } catch (const softprobe::Error& e) {
    CHECK(e.status() == SP_E_INVALID_RULE);
    CHECK(json::parse(e.details())["field"] == "when.hots");
  }
  std::filesystem::remove_all(dir);
}
