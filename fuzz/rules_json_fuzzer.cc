// libFuzzer target: rule documents. Property: parsing never crashes; valid
// documents compile into a RuleSet whose lookup agrees with a linear scan.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "rules/rule.hpp"
#include "rules/rule_matcher.hpp"
#include "rules/rule_set.hpp"
#include "support/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  softprobe::core::RuleList rules;
  try {
    std::vector<std::string> warnings;  // the legacy form's deprecation warnings
    rules = softprobe::core::parse_rules(doc, softprobe::core::RuleLayer::session, &warnings);
  } catch (const softprobe::core::Error&) {
    return 0;
  }
  softprobe::core::RuleSet set(softprobe::core::RuleList{}, rules);
  softprobe::core::HeaderView headers[] = {{"content-type", "application/json"}, {"x-tenant", "acme"}};
  for (const char* host : {"api.example.com", "api.example.com:8443", "localhost"}) {
    softprobe::core::RequestView v;
    v.method = "POST";
    v.host = host;
    v.path = "/v1/items";
    v.body = R"({"amount":42,"items":[{"sku":"a"}]})";
    v.headers = headers;
    v.header_count = 2;
    softprobe::core::MatchRequest req(v);
    const softprobe::core::Rule* expected = nullptr;
    for (const auto& r : rules)
      if (r->priority >= 0 && !r->consume_once && softprobe::core::rule_matches(*r, req) &&
          (!expected ||
           std::make_pair(r->priority, r->position) > std::make_pair(expected->priority, expected->position)))
        expected = r.get();
    bool any_once = false;
    for (const auto& r : rules) any_once |= r->consume_once;
    const softprobe::core::Rule* got = set.best_match(req, softprobe::core::RuleSet::Band::non_negative);
    if (!any_once && got != expected) std::abort();
    if (!rules.empty()) (void)softprobe::core::explain_rule(*rules.front(), req);
  }
  return 0;
}
