// Session policy (contract section 5): what happens to outbound traffic that
// no explicit rule claimed. It behaves as synthesized rules of priority 0 in
// the lowest layer (see rule_set.hpp for how it is ranked). Inbound traffic
// passes unless the opt-in key "inboundHttp": "strict" asks for the reference
// runtime's behaviour (an inbound request no rule claimed is a strict miss).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "request/request.hpp"
#include "rules/rule.hpp"

namespace softprobe::core {

// An allowlist/blocklist entry: "api.x.com" (exact, any port), ".x.com"
// (suffix), "api.x.com:8443" (that port only).
struct HostPattern {
  std::string value;  // lowercase
  bool suffix = false;
  bool has_port = false;
  bool matches(const MatchRequest& req) const noexcept;
};

struct Policy {
  enum class ExternalHttp { allow, strict };
  enum class InboundHttp { allow, strict };
  enum class OnMiss { passthrough, error, mock };
  ExternalHttp external_http = ExternalHttp::allow;
  InboundHttp inbound_http = InboundHttp::allow;  // "inboundHttp": opt-in, "allow" by default
  OnMiss default_on_miss = OnMiss::passthrough;
  std::vector<HostPattern> allow_hosts;  // externalAllowlist + allowHosts
  std::vector<HostPattern> block_hosts;
  std::shared_ptr<const Response> default_response;    // defaultOnMiss "mock"
  nlohmann::json document = nlohmann::json::object();  // as given, unknown keys kept

  bool strict() const noexcept { return external_http == ExternalHttp::strict || default_on_miss == OnMiss::error; }
};

// Throws Error(invalid_policy) naming the field ("policy.externalHttp: ...").
// Unknown keys are kept in `document` (forward compatibility).
Policy parse_policy(const nlohmann::json& j);

enum class PolicyVerdict { none, passthrough, strict_miss, mock };

// The policy's answer for a request no explicit rule (of priority >= 0) took.
// Inbound traffic gets `none` (it passes), or `strict_miss` under
// "inboundHttp": "strict" (host lists and defaultOnMiss apply to outbound only).
PolicyVerdict evaluate_policy(const Policy& p, const MatchRequest& req) noexcept;

}  // namespace softprobe::core
