// The main job, end to end, on the embedded core:
//   1. start a real HTTP server on 127.0.0.1 (the "pricing" dependency);
//   2. run a small checkout app against it inside a capture session;
//   3. close the session: the exchanges land in a case file (secrets redacted);
//   4. stop the server;
//   5. replay the app offline in strict mode from the case file
//      (findInCase picks each recorded response, mock rules serve it);
//   6. make one call nobody recorded: it fails loudly with 599 and the core
//      explains which rule came closest.
// Usage: capture_replay_demo [OUTPUT_DIR]
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <softprobe.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "softprobe_http_client.hpp"

using nlohmann::json;

namespace {

// The application under test: prices a cart by calling its dependency.
json checkout(demo::SoftprobeHttpClient& http, const std::string& pricing) {
  auto price = http.request("GET", pricing, "/v1/prices?sku=book-42");
  auto stock = http.request("POST", pricing, "/v1/reservations", R"({"sku":"book-42","qty":2})", "application/json");
  if (price.status != 200 || stock.status != 201)
    return {{"ok", false}, {"priceStatus", price.status}, {"stockStatus", stock.status}};
  double unit = json::parse(price.body)["unitPrice"];
  return {{"ok", true},
          {"total", unit * 2},
          {"reservation", json::parse(stock.body)["id"]},
          {"servedBySoftprobe", price.served_by_softprobe && stock.served_by_softprobe}};
}

void step(const std::string& text) { std::cout << "\n== " << text << "\n"; }

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path out_dir = argc > 1 ? argv[1] : "demo-out";
  std::filesystem::create_directories(out_dir);
  std::string case_path = (out_dir / "checkout.case.json").string();

  step("1. start the real pricing service on 127.0.0.1");
  httplib::Server pricing_server;
  int calls = 0;
  pricing_server.Get("/v1/prices", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    res.set_content(json{{"sku", req.get_param_value("sku")}, {"unitPrice", 12.5}}.dump(), "application/json");
  });
  pricing_server.Post("/v1/reservations", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 201;
    res.set_content(R"({"id":"res_7f3a","status":"held"})", "application/json");
  });
  int port = pricing_server.bind_to_any_port("127.0.0.1");
  std::thread server_thread([&] { pricing_server.listen_after_bind(); });
  std::string pricing = "http://127.0.0.1:" + std::to_string(port);
  std::cout << "pricing service at " << pricing << "\n";

  softprobe::Store store;
  try {
    step("2. capture: run the app against the real service");
    {
      softprobe::Session capture =
          store.start_session(R"({"mode":"capture","caseId":"checkout-happy-path","suite":"demo"})");
      demo::SoftprobeHttpClient http(capture, "checkout");
      json result = checkout(http, pricing);
      std::cout << "app result: " << result.dump() << "  (real calls made: " << calls << ")\n";
      step("3. close the capture session: write the case file");
      std::string written = capture.close(case_path);
      std::cout << "captured " << json::parse(capture.stats())["stats"]["extractedSpans"] << " exchanges into "
                << written << "\n";
    }

    step("4. stop the real service (replay must not need it)");
    pricing_server.stop();
    server_thread.join();
    int calls_before_replay = calls;

    step("5. replay offline in strict mode, from the case file");
    softprobe::Session replay = store.start_session(R"({"mode":"replay","policy":{"externalHttp":"strict"}})");
    replay.load_case_file(case_path);
    // Author time: pick each recorded response with findInCase and mock it.
    json rules = json::array();
    for (const auto& [method, path] : {std::pair{"GET", "/v1/prices"}, std::pair{"POST", "/v1/reservations"}}) {
      json match = json::parse(replay.find_in_case(json{{"method", method}, {"path", path}}.dump()));
      rules.push_back({{"name", std::string(method) + " " + path},
                       {"when", {{"method", method}, {"host", "127.0.0.1"}, {"path", path}}},
                       {"then", {{"action", "mock"}, {"response", match["response"]}}}});
    }
    replay.set_rules(json{{"version", 1}, {"rules", rules}}.dump());
    demo::SoftprobeHttpClient http(replay, "checkout");
    json result = checkout(http, pricing);
    std::cout << "app result: " << result.dump() << "  (real calls during replay: " << calls - calls_before_replay
              << ")\n";

    step("6. a call nobody recorded: strict mode fails it loudly");
    auto miss = http.request("GET", pricing, "/v1/price?sku=book-42");
    std::cout << "status " << miss.status << ", body " << miss.body << "\n";
    json explained = json::parse(replay.stats())["stats"]["lastStrictMiss"];
    std::cout << "why: " << explained["explanation"].get<std::string>() << "\n";

    bool ok = result["ok"] == true && result["servedBySoftprobe"] == true && miss.status == 599 &&
              calls == calls_before_replay;
    std::cout << "\n" << (ok ? "DEMO OK: captured, replayed offline, strict miss reported" : "DEMO FAILED") << "\n";
    return ok ? 0 : 1;
  } catch (const softprobe::Error& e) {
    std::cerr << "softprobe error (" << sp_status_name(e.status()) << "): " << e.what() << "\n";
    if (server_thread.joinable()) {
      pricing_server.stop();
      server_thread.join();
    }
    return 1;
  }
}
