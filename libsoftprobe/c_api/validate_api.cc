// sp_validate_rules, sp_validate_policy, sp_validate_case: the setters'
// checks without a session. The same parsers as the setters, so the same
// status, message and details.
#include "case/case_file.hpp"
#include "handles.hpp"
#include "policy/policy.hpp"
#include "rules/rule.hpp"

using namespace softprobe::core;
using capi::guarded;
using capi::require;

extern "C" {

sp_status sp_validate_rules(const char* json, size_t len) {
  return guarded([&] {
    std::vector<std::string> warnings;
    (void)parse_rules(capi::parse_json_arg(json, len, "rules document"), RuleLayer::session, &warnings);
    capi::add_last_warnings(warnings);
  });
}

sp_status sp_validate_policy(const char* json, size_t len) {
  return guarded([&] { (void)parse_policy(capi::parse_json_arg(json, len, "policy")); });
}

sp_status sp_validate_case(const char* json, size_t len) {
  return guarded([&] {
    require(json, "json");
    CaseFile c = parse_case(std::string_view(json, len), CaseLimits{});
    (void)parse_rules(c.rules, RuleLayer::case_rules);
    capi::add_last_warnings(c.warnings);  // what loading it would fill in
  });
}

}  // extern "C"
