// findInCase / findAllInCase (contract section 3): author-time selection of a
// captured response. The request-time matcher never walks a case.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "case/case_file.hpp"

namespace softprobe::core {

struct CasePredicate {
  std::optional<std::string> direction, method, host, host_suffix, path, path_prefix, service;
};

// Reads the predicate object; unknown keys and non-string values are an
// Error(invalid_argument) that names the key.
CasePredicate case_predicate_from_json(const nlohmann::json& j);

bool case_predicate_matches(const CasePredicate& p, const HttpExchange& ex);

// Every exchange that matches and carries a response, in file order.
std::vector<const HttpExchange*> find_all_in_case(const CaseFile& c, const CasePredicate& p);

// Exactly one match, or Error(case_lookup) whose details.matches lists the
// candidates (spanId, traceId, method, host, path, status).
const HttpExchange& find_in_case(const CaseFile& c, const CasePredicate& p);

// {"response":{"status","headers","body"[,"bodyBase64"]},"span":{...}}: the
// shape bindings hand to users (body as text when UTF-8, else bodyBase64).
nlohmann::json exchange_match_json(const HttpExchange& ex);
// {"spanId","traceId","method","host","path","status"}
nlohmann::json exchange_summary_json(const HttpExchange& ex);

}  // namespace softprobe::core
