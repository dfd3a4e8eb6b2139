#include "embedded_decider.hpp"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/log.hpp"

namespace softprobe::proxy {

using core::log;
using core::LogLevel;

std::string session_options_json(const ProxyOptions& o) {
  nlohmann::json j = {{"mode", o.mode == ProxyMode::capture ? "capture" : "replay"}};
  if (!o.session_id.empty()) j["sessionId"] = o.session_id;
  nlohmann::json policy = {{"externalHttp", o.strict ? "strict" : "allow"}};
  if (!o.allow_hosts.empty()) policy["allowHosts"] = o.allow_hosts;
  j["policy"] = policy;
  if (o.mode == ProxyMode::replay && !o.case_path.empty()) j["replayCase"] = true;
  return j.dump();
}

namespace {

// A YAML node as JSON: scalars that read as numbers or booleans become
// numbers and booleans unless quoted; null is null.
nlohmann::json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : n) a.push_back(yaml_to_json(item));
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted: a string
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      if (s == "null" || s == "~") return nullptr;
      auto number = nlohmann::json::parse(s, nullptr, false);
      if (number.is_number()) return number;
      return s;
    }
  }
  return nullptr;
}

[[noreturn]] void invalid_rules(const std::string& message) {
  throw softprobe::Error(SP_E_INVALID_RULE, message, "{}");
}

}  // namespace

std::string rules_file_as_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw softprobe::Error(SP_E_IO, "--rules " + path + ": cannot be read", "{}");
  std::stringstream text;
  text << in.rdbuf();
  std::string doc = text.str();
  std::size_t first = doc.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (doc[first] == '{' || doc[first] == '[')) return doc;  // JSON as it is
  try {
    return yaml_to_json(YAML::Load(doc)).dump();
  } catch (const YAML::Exception& e) {
    invalid_rules("--rules " + path + ": not JSON, and not YAML: " + e.what());
  }
}

EmbeddedDecider::EmbeddedDecider(const ProxyOptions& options)
    : options_(options),
      default_(store_.start_session(session_options_json(options))),
      default_id_(default_.id()),
      capture_(options.mode == ProxyMode::capture) {
  if (!options.case_path.empty()) {
    try {
      default_.load_case_file(options.case_path);
    } catch (const softprobe::Error& e) {
      throw softprobe::Error(e.status(), "--case " + options.case_path + ": " + e.what(), e.details());
    }
  }
  if (!options.rules_path.empty()) {
    std::string rules = rules_file_as_json(options.rules_path);
    try {
      default_.set_rules(rules);
    } catch (const softprobe::Error& e) {
      throw softprobe::Error(e.status(), "--rules " + options.rules_path + ": " + e.what(), e.details());
    }
  }
}

namespace {

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

net::Response answer_of(const softprobe::Decision& d) {
  net::Response out;
  out.status = d.status();
  for (const auto& [name, value] : d.headers()) {
    // The net layer frames the body itself.
    if (net::iequals(name, "content-length") || net::iequals(name, "transfer-encoding") ||
        net::iequals(name, "connection"))
      continue;
    out.headers.push_back({std::string(name), std::string(value)});
  }
  out.body = std::string(d.body());
  return out;
}

// Fail closed (contract EC-008's answer): the request is not let through.
Verdict refusal(const std::string& session_id, const std::string& why) {
  Verdict v;
  v.kind = Verdict::Kind::answer;
  v.response = net::json_error(403, "rule_engine_unavailable", "rule engine unavailable: " + why);
  v.decision = "error";
  v.session_id = session_id;
  log(LogLevel::error, "rule engine unavailable", {{"sessionId", session_id}, {"error", why}});
  return v;
}

}  // namespace

Verdict EmbeddedDecider::decide(const ProxyRequest& request) {
  // In embedded mode the proxy has one session: a request naming another id
  // is decided by it too (docs/proxy.md).
  const std::string& sid = default_id_;
  try {
    softprobe::Request req = core_request(request);
    softprobe::Decision d = default_.decide(req);
    Verdict v;
    v.session_id = sid;
    switch (d.outcome()) {
      case SP_OUTCOME_MOCK:
      case SP_OUTCOME_ERROR:
        v.kind = Verdict::Kind::answer;
        v.response = answer_of(d);
        v.delay = std::chrono::milliseconds(d.latency_ms());
        v.decision = d.strict_miss() ? "strict_miss" : d.outcome() == SP_OUTCOME_MOCK ? "mock" : "error";
        return v;
      case SP_OUTCOME_CAPTURE_ONLY:
        v.kind = Verdict::Kind::forward;
        v.record = true;
        v.decision = "capture";
        return v;
      case SP_OUTCOME_PASSTHROUGH:
        v.kind = Verdict::Kind::forward;
        v.record = capture_;
        v.decision = capture_ ? "capture" : "passthrough";
        return v;
    }
    return refusal(sid, "unknown outcome");
  } catch (const softprobe::Error& e) {
    if (e.status() == SP_E_INVALID_ARGUMENT || e.status() == SP_E_LIMIT_EXCEEDED) {
      // The request itself cannot be decided (a bad URL, too many headers): a 400 naming why.
      Verdict v;
      v.response = net::json_error(400, "invalid_request", e.what());
      v.decision = "error";
      v.session_id = sid;
      return v;
    }
    return refusal(sid, e.what());
  } catch (const std::exception& e) {
    return refusal(sid, e.what());
  }
}

void EmbeddedDecider::record(const Verdict& verdict, const ProxyRequest& request, const UpstreamResponse& response,
                             std::uint64_t start_unix_nano, std::uint64_t end_unix_nano) {
  try {
    softprobe::Request req = core_request(request);
    softprobe::Response resp;
    resp.status = response.status;
    for (const auto& h : response.headers) resp.headers.emplace_back(h.name, h.value);
    resp.body = response.body;
    default_.record(req, resp, start_unix_nano, end_unix_nano);
  } catch (const std::exception& e) {
    log(LogLevel::warn, "exchange not recorded",
        {{"sessionId", verdict.session_id},
         {"method", request.method},
         {"host", request.authority},
         {"path", request.path},
         {"error", e.what()}});
  }
}

bool EmbeddedDecider::finish() {
  std::lock_guard<std::mutex> lock(finish_mu_);
  if (finished_ || !capture_) return true;
  try {
    std::string written = default_.close(options_.out_path);
    finished_ = true;
    log(LogLevel::info, "capture written", {{"sessionId", default_id_}, {"path", written}});
    return true;
  } catch (const std::exception& e) {
    log(LogLevel::error, "capture not written",
        {{"sessionId", default_id_}, {"path", options_.out_path}, {"error", e.what()}});
    return false;
  }
}

}  // namespace softprobe::proxy
