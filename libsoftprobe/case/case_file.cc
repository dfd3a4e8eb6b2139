#include "case/case_file.hpp"

#include "otlp/otlp_attributes.hpp"
#include "otlp/otlp_json_walk.hpp"
#include "otlp/span_mapping.hpp"
#include "request/fingerprint.hpp"
#include "support/errors.hpp"
#include "support/json_document.hpp"
#include "support/json_fields.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::invalid_case, where + ": " + what, {{"path", where}});
}

const json& require(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) fail(where, std::string("missing required key \"") + key + "\"");
  return *it;
}

// The ids of spans the writer left without one (the reference SDKs write
// such cases): derived from the case id and the span's place, so loading the
// same case twice gives the same ids.
void fill_missing_ids(CaseFile& c, std::size_t first, std::size_t trace_index, std::size_t& generated,
                      std::string& first_place, const std::string& where) {
  const std::string base = c.case_id + "/" + std::to_string(trace_index);
  const std::string trace_id = text::hex64(fnv1a64(base)) + text::hex64(fnv1a64(base + "/trace"));
  for (std::size_t i = first; i < c.exchanges.size(); ++i) {
    HttpExchange& ex = c.exchanges[i];
    if (!ex.trace_id.empty() && !ex.span_id.empty()) continue;
    if (ex.trace_id.empty()) ex.trace_id = trace_id;
    if (ex.span_id.empty()) ex.span_id = text::hex64(fnv1a64(base + "/" + std::to_string(i - first)));
    if (generated++ == 0) first_place = where;
  }
}

}  // namespace

CaseFile case_from_json(const json& doc, const CaseLimits& limits) {
  if (!doc.is_object()) fail("$", "a case file must be a JSON object");
  CaseFile out;
  const json& traces = require(doc, "traces", "$");
  if (!traces.is_array()) fail("$.traces", "must be an array");
  // version and caseId: the reference loads cases without them; so do we,
  // with defaults and a warning each.
  out.version = optional_string_field(doc, "version", "$", ErrorCode::invalid_case);
  if (out.version.empty()) {
    out.version = "1.0.0";
    out.warnings.push_back("$.version is missing: read as \"1.0.0\"");
  }
  out.case_id = optional_string_field(doc, "caseId", "$", ErrorCode::invalid_case);
  if (out.case_id.empty()) {
    out.case_id = "case-" + text::hex64(fnv1a64(doc.dump(-1, ' ', false, json::error_handler_t::replace)));
    out.warnings.push_back("$.caseId is missing: the case is named \"" + out.case_id + "\" (from its contents)");
  }
  out.suite = optional_string_field(doc, "suite", "$", ErrorCode::invalid_case);
  out.mode = optional_string_field(doc, "mode", "$", ErrorCode::invalid_case);
  out.created_at = optional_string_field(doc, "createdAt", "$", ErrorCode::invalid_case);
  if (const json* rules = optional_array_field(doc, "rules", "$", ErrorCode::invalid_case)) out.rules = *rules;
  if (const json* fixtures = optional_array_field(doc, "fixtures", "$", ErrorCode::invalid_case))
    out.fixtures = *fixtures;
  for (const auto& [key, value] : doc.items()) {
    if (key != "version" && key != "caseId" && key != "suite" && key != "mode" && key != "createdAt" &&
        key != "traces" && key != "rules" && key != "fixtures")
      out.extra[key] = value;
  }
  out.trace_count = traces.size();
  const SpanWalkLimits walk{limits.max_string_bytes, limits.max_attributes_per_span, limits.max_spans};
  std::size_t generated = 0;
  std::string first_place;
  for (std::size_t t = 0; t < traces.size(); ++t) {
    std::string where = "$.traces[" + std::to_string(t) + "]";
    const std::size_t first = out.exchanges.size();
    walk_traces_json(traces[t], where, walk, out.exchanges);
    const std::uint64_t entry = new_trace_entry();
    for (std::size_t i = first; i < out.exchanges.size(); ++i) out.exchanges[i].trace_entry = entry;
    fill_missing_ids(out, first, t, generated, first_place, where);
  }
  if (generated)
    out.warnings.push_back(std::to_string(generated) + " span(s) had no traceId or spanId (the first in " +
                           first_place + "): ids were generated from the caseId and the span's place");
  return out;
}

CaseFile parse_case(std::string_view json_text, const CaseLimits& limits) {
  if (json_text.size() > limits.max_case_bytes)
    limit_error("$", "maxCaseBytes", limits.max_case_bytes, json_text.size(), "the case file has bytes:");
  json doc = parse_json_document(json_text, "case file");
  // The per-trace size limit only needs measuring when the whole input could
  // exceed it (a trace's compact size is never more than the input's size).
  if (json_text.size() > limits.max_trace_bytes && doc.is_object()) {
    auto traces = doc.find("traces");
    if (traces != doc.end() && traces->is_array()) {
      for (std::size_t t = 0; t < traces->size(); ++t) {
        std::size_t size = (*traces)[t].dump().size();
        if (size > limits.max_trace_bytes)
          limit_error("$.traces[" + std::to_string(t) + "]", "maxTraceBytes", limits.max_trace_bytes, size,
                      "trace document size in bytes is");
      }
    }
  }
  return case_from_json(doc, limits);
}

std::string serialize_case(const CaseFile& c) {
  using nlohmann::ordered_json;
  ordered_json doc;
  doc["version"] = c.version.empty() ? "1.0.0" : c.version;
  doc["caseId"] = c.case_id;
  if (!c.suite.empty()) doc["suite"] = c.suite;
  if (!c.mode.empty()) doc["mode"] = c.mode;
  if (!c.created_at.empty()) doc["createdAt"] = c.created_at;

  // File order is capture order (findAllInCase and replays of repeated calls
  // rely on it), so only consecutive spans are grouped: a new trace document
  // when the entry changes (0, unset, is an entry of its own), a new
  // resourceSpans when the service changes.
  ordered_json trace_docs = ordered_json::array();
  const HttpExchange* prev = nullptr;
  for (const auto& ex : c.exchanges) {
    if (!prev || ex.trace_entry == 0 || prev->trace_entry != ex.trace_entry) {
      trace_docs.push_back({{"resourceSpans", ordered_json::array()}});
      prev = nullptr;
    }
    ordered_json& resource_spans = trace_docs.back()["resourceSpans"];
    if (!prev || prev->service != ex.service) {
      ordered_json rs;
      rs["resource"]["attributes"] = ordered_json::array({string_attribute("service.name", ex.service)});
      rs["scopeSpans"] = ordered_json::array({{{"scope", {{"name", "softprobe"}}}, {"spans", ordered_json::array()}}});
      resource_spans.push_back(std::move(rs));
    }
    resource_spans.back()["scopeSpans"][0]["spans"].push_back(exchange_to_span(ex));
    prev = &ex;
  }
  doc["traces"] = std::move(trace_docs);
  doc["rules"] = ordered_json::parse(c.rules.dump());
  doc["fixtures"] = ordered_json::parse(c.fixtures.dump());
  for (const auto& [key, value] : c.extra.items()) doc[key] = ordered_json::parse(value.dump());
  // Span names and trace ids are not bytes-safe in OTLP JSON; replace any
  // invalid UTF-8 there rather than fail the whole write.
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace softprobe::core
