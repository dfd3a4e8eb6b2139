#include "policy/policy.hpp"

#include "support/errors.hpp"
#include "support/json_fields.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& field, const std::string& what) {
  throw Error(ErrorCode::invalid_policy, "policy." + field + ": " + what, {{"field", field}});
}

std::vector<HostPattern> host_list(const json& v, const std::string& field) {
  if (!v.is_array()) fail(field, std::string("must be an array of host names, got ") + v.type_name());
  std::vector<HostPattern> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get_ref<const std::string&>().empty())
      fail(field + "[" + std::to_string(i) + "]", "must be a non-empty host name string");
    HostPattern p;
    p.value = text::to_lower(v[i].get<std::string>());
    p.suffix = p.value.front() == '.';
    p.has_port = !p.suffix && !split_host_port(p.value).port.empty();
    out.push_back(std::move(p));
  }
  return out;
}

std::string enum_value(const json& v, const std::string& field, std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
  if (!v.is_string()) fail(field, "must be one of " + list);
  std::string s = v.get<std::string>();
  for (const char* a : allowed)
    if (s == a) return s;
  fail(field, "must be one of " + list + ", got \"" + s + "\"");
}

}  // namespace

bool HostPattern::matches(const MatchRequest& req) const noexcept {
  if (suffix) return text::ends_with_ci(req.host, value);
  return value == (has_port ? req.host_port : req.host);
}

Policy parse_policy(const json& j) {
  Policy p;
  if (j.is_null()) return p;
  if (!j.is_object())
    throw Error(ErrorCode::invalid_policy, std::string("policy: must be an object, got ") + j.type_name(),
                {{"field", ""}});
  p.document = j;
  for (const auto& [key, v] : j.items()) {
    if (field_absent(v)) continue;  // a null field is the default
    if (key == "externalHttp") {
      p.external_http = enum_value(v, key, {"allow", "strict"}) == "strict" ? Policy::ExternalHttp::strict
                                                                            : Policy::ExternalHttp::allow;
    } else if (key == "inboundHttp") {
      p.inbound_http = enum_value(v, key, {"allow", "strict"}) == "strict" ? Policy::InboundHttp::strict
                                                                           : Policy::InboundHttp::allow;
    } else if (key == "defaultOnMiss") {
      std::string s = enum_value(v, key, {"passthrough", "error", "mock"});
      p.default_on_miss = s == "error"  ? Policy::OnMiss::error
                          : s == "mock" ? Policy::OnMiss::mock
                                        : Policy::OnMiss::passthrough;
    } else if (key == "externalAllowlist" || key == "allowHosts") {
      auto list = host_list(v, key);
      p.allow_hosts.insert(p.allow_hosts.end(), list.begin(), list.end());
    } else if (key == "blockHosts") {
      p.block_hosts = host_list(v, key);
    } else if (key == "defaultResponse") {
      p.default_response =
          parse_response(v, "defaultResponse", false, int(ErrorCode::invalid_policy), {{"prefix", "policy"}});
    }
    // Other keys are kept in `document` and echoed back (forward compatibility).
  }
  if (p.default_on_miss == Policy::OnMiss::mock && !p.default_response)
    fail("defaultResponse", "is required when defaultOnMiss is \"mock\"");
  return p;
}

PolicyVerdict evaluate_policy(const Policy& p, const MatchRequest& req) noexcept {
  if (!req.outbound)
    return p.inbound_http == Policy::InboundHttp::strict ? PolicyVerdict::strict_miss : PolicyVerdict::none;
  for (const auto& h : p.block_hosts)
    if (h.matches(req)) return PolicyVerdict::strict_miss;
  for (const auto& h : p.allow_hosts)
    if (h.matches(req)) return PolicyVerdict::passthrough;
  if (p.strict()) return PolicyVerdict::strict_miss;
  if (p.default_on_miss == Policy::OnMiss::mock) return PolicyVerdict::mock;
  return PolicyVerdict::none;
}

}  // namespace softprobe::core
