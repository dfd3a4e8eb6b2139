#include "embedded_decider.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "core_marshal.hpp"
#include "rules_document.hpp"
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

void EmbeddedDecider::decide(const ProxyRequest& request, VerdictHandler done) { done(verdict_for(request)); }

Verdict EmbeddedDecider::verdict_for(const ProxyRequest& request) {
  // In embedded mode the proxy has one session: a request naming another id
  // is decided by it too (docs/proxy.md).
  const std::string& sid = default_id_;
  try {
    softprobe::Decision d = default_.decide(core_request(request));
    Verdict v;
    v.session_id = sid;
    switch (d.outcome()) {
      case SP_OUTCOME_MOCK:
      case SP_OUTCOME_ERROR: return answer_of(d, sid);
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
    if (e.status() == SP_E_INVALID_ARGUMENT || e.status() == SP_E_LIMIT_EXCEEDED) return invalid_request(sid, e.what());
    return refusal(sid, e.what());
  } catch (const std::exception& e) {
    return refusal(sid, e.what());
  }
}

void EmbeddedDecider::record(const Verdict& verdict, const ProxyRequest& request, const UpstreamResponse& response,
                             std::uint64_t start_unix_nano, std::uint64_t end_unix_nano,
                             std::function<void()> recorded) {
  try {
    default_.record(core_request(request), core_response(response), start_unix_nano, end_unix_nano);
  } catch (const std::exception& e) {
    log(LogLevel::warn, "exchange not recorded",
        {{"sessionId", verdict.session_id},
         {"method", request.method},
         {"host", request.authority},
         {"path", request.path},
         {"error", e.what()}});
  }
  if (recorded) recorded();
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
