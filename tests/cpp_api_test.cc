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
  json rule = {{"when", {{"host", "api.test"}, {"path", "/items"}}},
               {"then", {{"action", "mock"}, {"response", match["response"]}}}};
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

  // add_rules appends after the current rules: the other path is answered now, /items still is.
  std::uint64_t before = replay.revision();
  CHECK(replay.add_rules(R"({"when":{"path":"/other"},"then":{"action":"mock","response":{"status":207}}})") ==
        before + 1);
  CHECK(replay.decide(other).status() == 207);
  CHECK(replay.decide(req).body() == "[1,2]");
  CHECK(json::parse(replay.rules())["rules"].size() == 2);

  try {
    replay.set_rules(R"({"version":1,"rules":[{"when":{"hots":"x"},"then":{"action":"mock"}}]})");
    FAIL("expected softprobe::Error");
  } catch (const softprobe::Error& e) {
    CHECK(e.status() == SP_E_INVALID_RULE);
    CHECK(json::parse(e.details())["field"] == "when.hots");
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("C++ API: export a capture without a file, validate without a session, attach by id", "[cpp-api]") {
  CHECK(softprobe::abi_compatible());
  softprobe::Store store;
  softprobe::Session capture = store.start_session(R"({"mode":"capture","caseId":"exported"})");
  softprobe::Request req;
  req.host = "api.test";
  req.path = "/items";
  capture.record(req, {200, {}, "[1]"});

  std::string id = capture.id();
  std::string longer = id + "-and-more";  // attach takes a view: only the id's bytes are read
  softprobe::Session attached = store.attach(std::string_view(longer).substr(0, id.size()));
  CHECK(attached.id() == id);

  json exported = json::parse(capture.export_capture());
  CHECK(exported["caseId"] == "exported");
  std::string closed = capture.close_export();
  softprobe::validate_case(closed);
  CHECK_THROWS_AS(store.attach(id), softprobe::Error);

  softprobe::Session replay = store.start_session();
  replay.load_case(closed);
  CHECK(json::parse(replay.find_in_case(R"({"path":"/items"})"))["response"]["body"] == "[1]");
  try {
    replay.export_capture();
    FAIL("expected softprobe::Error");
  } catch (const softprobe::Error& e) {
    CHECK(e.status() == SP_E_WRONG_MODE);
  }

  softprobe::validate_rules(R"({"version":1,"rules":[]})");
  softprobe::validate_policy(R"({"externalHttp":"strict"})");
  try {
    softprobe::validate_rules(R"({"version":1,"rules":[{"when":{"hots":"x"},"then":{"action":"mock"}}]})");
    FAIL("expected softprobe::Error");
  } catch (const softprobe::Error& e) {
    CHECK(e.status() == SP_E_INVALID_RULE);
    CHECK(json::parse(e.details())["field"] == "when.hots");
  }
  CHECK(replay.close().empty());
}
