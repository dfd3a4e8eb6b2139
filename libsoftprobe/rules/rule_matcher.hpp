// Evaluating one rule's `when` against a request. The same walk serves the
// fast path (stop at the first failed predicate) and the near-miss
// explanation (which predicates held, which failed and why).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "request/request.hpp"
#include "rules/rule.hpp"

namespace softprobe::core {

bool rule_matches(const Rule& rule, const MatchRequest& req);

struct PredicateResult {
  std::string predicate;  // "host", "headers.x-tenant", ...
  bool passed;
  std::string expected, actual;
};

// Every predicate of the rule with its outcome, in a fixed order.
std::vector<PredicateResult> explain_rule(const Rule& rule, const MatchRequest& req);

}  // namespace softprobe::core
