// An HTTP client for C++ services whose outbound calls go through softprobe:
// each request is decided by the core first; mocks and errors are answered
// in process, everything else goes to the network (and is recorded when the
// session captures). Built on cpp-httplib and the C++ API (softprobe.hpp).
//
// This is the shape the libcurl wrapper will take; it lives in examples/
// because cpp-httplib is the demo's client, not a dependency of the core.
#pragma once

#include <httplib.h>
#include <softprobe.hpp>

#include <chrono>
#include <string>
#include <thread>

namespace demo {

struct HttpResult {
  int status = 0;
  std::string body;
  std::string content_type;
  bool served_by_softprobe = false;
};

class SoftprobeHttpClient {
 public:
  SoftprobeHttpClient(softprobe::Session& session, std::string service)
      : session_(session), service_(std::move(service)) {}

  // `base` is "http://host:port"; `target` is "/path?query".
  HttpResult request(const std::string& method, const std::string& base, const std::string& target,
                     const std::string& body = "", const std::string& content_type = "") {
    // softprobe::Request holds views: every string it points at must outlive the call.
    std::string scheme = base.substr(0, base.find("://"));
    std::string host = base.substr(base.find("://") + 3);
    std::string path = target.substr(0, target.find('?'));
    std::string query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    softprobe::Request req;
    req.method = method;
    req.scheme = scheme;
    req.host = host;
    req.path = path;
    req.query = query;
    req.service = service_;
    req.body = body;
    if (!content_type.empty()) req.headers.push_back({"content-type", content_type});

    softprobe::Decision d = session_.decide(req);
    if (d.answered()) {  // mock, error or strict miss: answered in process
      if (d.latency_ms()) std::this_thread::sleep_for(std::chrono::milliseconds(d.latency_ms()));
      HttpResult r{d.status(), std::string(d.body()), "", true};
      for (const auto& [name, value] : d.headers())
        if (name == "content-type") r.content_type = std::string(value);
      return r;
    }

    // Passthrough / capture_only: the real network.
    auto start = now_ns();
    httplib::Client client(base);
    httplib::Result res = method == "POST" ? client.Post(target, body, content_type.c_str()) : client.Get(target);
    auto end = now_ns();
    if (!res) return HttpResult{0, "network error: " + httplib::to_string(res.error()), "", false};
    HttpResult r{res->status, res->body, res->get_header_value("Content-Type"), false};
    if (session_.mode() != "replay") {
      softprobe::Response observed{res->status, {{"content-type", r.content_type}}, res->body};
      session_.record(req, observed, start, end);
    }
    return r;
  }

 private:
  static std::uint64_t now_ns() {
    return std::uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
  }
  softprobe::Session& session_;
  std::string service_;
};

}  // namespace demo
