// What the compatibility tests (issue 11) share: one real runtime per test
// and calls shaped exactly as a reference client sends them, answered with
// the status and the parsed JSON (null when the body is not JSON).
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "runtime_process.hpp"

namespace compat_test {

struct Answer {
  int status = 0;
  std::string body;
  nlohmann::json json;  // the parsed body; null when it is not JSON
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  httplib::Headers headers;
};

// A runtime started with `args` (after "--port 0") and a client for it.
class Runtime {
 public:
  explicit Runtime(std::vector<std::string> args = {}) : process_(std::move(args)) {
    client_ = std::make_unique<httplib::Client>(process_.host(), process_.port());
    client_->set_read_timeout(10, 0);
    client_->set_connection_timeout(5, 0);
  }
  runtime_test::RuntimeProcess& process() { return process_; }

  // `body` is sent as given (a reference client's exact bytes), with `content_type`.
  Answer send(const std::string& method, const std::string& path, const std::string& body = "",
              const std::string& content_type = "application/json", const httplib::Headers& headers = {}) {
    httplib::Result r = method == "GET"      ? client_->Get(path.c_str(), headers)
                        : method == "DELETE" ? client_->Delete(path.c_str(), headers, body, content_type.c_str())
                        : method == "PUT"    ? client_->Put(path.c_str(), headers, body, content_type.c_str())
                                             : client_->Post(path.c_str(), headers, body, content_type.c_str());
    Answer a;
    if (!r) return a;  // status 0: no answer
    a.status = r->status;
    a.body = r->body;
    a.headers = r->headers;
    a.json = nlohmann::json::parse(r->body, nullptr, false);
    if (a.json.is_discarded()) a.json = nullptr;
    return a;
  }
  Answer post(const std::string& path, const nlohmann::json& doc) { return send("POST", path, doc.dump()); }
  Answer get(const std::string& path) { return send("GET", path); }

  // POST /v1/sessions with `options` (the reference CLI's body); returns the id.
  std::string create_session(const nlohmann::json& options = nlohmann::json::object()) {
    Answer a = post("/v1/sessions", options);
    if (a.status != 200 || !a.json.is_object() || !a.json.contains("sessionId")) return "";
    return a.json["sessionId"].get<std::string>();
  }

 private:
  runtime_test::RuntimeProcess process_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace compat_test
