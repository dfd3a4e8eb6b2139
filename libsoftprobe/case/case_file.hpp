// The case file (contract section 2): parsing the OTLP JSON profile into
// exchanges, and writing one back pretty-printed with a stable key order.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "case/case_limits.hpp"
#include "request/http_exchange.hpp"

namespace softprobe::core {

struct CaseFile {
  std::string version, case_id, suite, mode, created_at;
  std::vector<HttpExchange> exchanges;  // every span, file order
  std::size_t trace_count = 0;
  nlohmann::json rules = nlohmann::json::array();  // case-embedded rules, validated when loaded into a session
  nlohmann::json fixtures = nlohmann::json::array();
  nlohmann::json extra = nlohmann::json::object();  // unknown top-level keys, kept as they were
  // What loading accepted but filled in (a missing version, caseId or span
  // ids, as the reference runtime does); the load response reports them.
  std::vector<std::string> warnings;
};

// Parses case JSON text. The spans are read by walk_traces_json (the same
// walk as the OTLP JSON payloads), under `limits`. version and caseId may be
// missing (defaults, with a warning); span ids too (generated from the caseId
// and the span's place, with a warning). Throws Error with code invalid_json (syntax; the
// message gives the byte offset), invalid_case (structure; the message gives
// the JSON path) or limit_exceeded (names the limit).
CaseFile parse_case(std::string_view json_text, const CaseLimits& limits = {});
CaseFile case_from_json(const nlohmann::json& doc, const CaseLimits& limits = {});

// Pretty-printed case JSON: fixed top-level order (version, caseId, suite,
// mode, createdAt, traces, rules, fixtures, then kept keys); spans in the
// order given, one traces[] entry per run of consecutive spans with the same
// trace_entry (a loaded entry, a captured hop, a /v1/traces upload), one
// resourceSpans per run of one service in it.
std::string serialize_case(const CaseFile& c);

}  // namespace softprobe::core
