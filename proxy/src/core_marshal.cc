#include "core_marshal.hpp"

#include "support/log.hpp"

namespace softprobe::proxy {

softprobe::Request core_request(const ProxyRequest& r) {
  softprobe::Request req;
  req.direction = r.direction;
  req.method = r.method;
  req.scheme = r.scheme;
  req.host = r.authority;
  req.path = r.path.empty() ? std::string_view("/") : std::string_view(r.path);
  req.query = r.query;
  req.body = r.body;
  for (const auto& h : r.headers) req.headers.emplace_back(h.name, h.value);
  return req;
}

softprobe::Response core_response(const UpstreamResponse& r) {
  softprobe::Response resp;
  resp.status = r.status;
  for (const auto& h : r.headers) resp.headers.emplace_back(h.name, h.value);
  resp.body = r.body;
  return resp;
}

Verdict answer_of(const softprobe::Decision& d, const std::string& session_id) {
  Verdict v;
  v.kind = Verdict::Kind::answer;
  v.session_id = session_id;
  v.response.status = d.status();
  for (const auto& [name, value] : d.headers()) {
    if (net::iequals(name, "content-length") || net::iequals(name, "transfer-encoding") ||
        net::iequals(name, "connection"))
      continue;
    v.response.headers.push_back({std::string(name), std::string(value)});
  }
  v.response.body = std::string(d.body());
  v.delay = std::chrono::milliseconds(d.latency_ms());
  v.decision = d.strict_miss() ? "strict_miss" : d.outcome() == SP_OUTCOME_MOCK ? "mock" : "error";
  return v;
}

Verdict refusal(const std::string& session_id, const std::string& why) {
  Verdict v;
  v.kind = Verdict::Kind::answer;
  v.response = net::json_error(403, "rule_engine_unavailable", "rule engine unavailable: " + why);
  v.decision = "error";
  v.session_id = session_id;
  core::log(core::LogLevel::error, "rule engine unavailable", {{"sessionId", session_id}, {"error", why}});
  return v;
}

Verdict invalid_request(const std::string& session_id, const std::string& why) {
  Verdict v;
  v.kind = Verdict::Kind::answer;
  v.response = net::json_error(400, "invalid_request", why);
  v.decision = "error";
  v.session_id = session_id;
  return v;
}

}  // namespace softprobe::proxy
