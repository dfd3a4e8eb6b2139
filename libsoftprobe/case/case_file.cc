#include "case/case_file.hpp"


#include "support/errors.hpp"
#include "support/json_document.hpp"
#include "otlp/otlp_attributes.hpp"
#include "otlp/span_mapping.hpp"
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

const json* optional_array(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  if (!it->is_array()) fail(where + "." + key, "must be an array");
  return &*it;
}

std::string optional_string(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) fail(where + "." + key, "must be a string");
  return it->get<std::string>();
}

// proto3 JSON writes int64 as a string; accept both for the time fields.
std::string time_field(const json& span, const char* key, const std::string& where) {
  auto it = span.find(key);
  if (it == span.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned() || it->is_number_integer()) return it->dump();
  fail(where + "." + key, "must be a decimal string or an integer");
}

void parse_span(const json& span, const std::string& where, const std::string& resource_service,
                const CaseLimits& limits, HttpExchange& ex) {
  if (!span.is_object()) fail(where, "a span must be an object");
  const json& trace_id = require(span, "traceId", where);
  const json& span_id = require(span, "spanId", where);
  if (!trace_id.is_string()) fail(where + ".traceId", "must be a string");
  if (!span_id.is_string()) fail(where + ".spanId", "must be a string");
  ex.trace_id = trace_id.get<std::string>();
  ex.span_id = span_id.get<std::string>();
  ex.parent_span_id = optional_string(span, "parentSpanId", where);
  ex.name = optional_string(span, "name", where);
  if (auto kind = span.find("kind"); kind != span.end() && !kind->is_null() && !kind->is_number_integer() && !kind->is_string())
    fail(where + ".kind", "must be an integer or a string");
  ex.start_time_unix_nano = time_field(span, "startTimeUnixNano", where);
  ex.end_time_unix_nano = time_field(span, "endTimeUnixNano", where);
  const json& attrs = require(span, "attributes", where);
  if (attrs.is_array() && attrs.size() > limits.max_attributes_per_span)
    limit_error(where + ".attributes", "maxAttributesPerSpan", limits.max_attributes_per_span, attrs.size(), "span has attributes:");
  apply_span_attributes(decode_attributes(attrs, where + ".attributes", limits.max_string_bytes), resource_service, ex);
}

std::string resource_service_name(const json& resource_spans, const std::string& where, const CaseLimits& limits) {
  auto res = resource_spans.find("resource");
  if (res == resource_spans.end() || res->is_null()) return {};
  if (!res->is_object()) fail(where + ".resource", "must be an object");
  const json* attrs = optional_array(*res, "attributes", where + ".resource");
  if (!attrs) return {};
  for (const auto& a : decode_attributes(*attrs, where + ".resource.attributes", limits.max_string_bytes))
    if (a.key == "service.name") return a.text;
  return {};
}

void parse_trace(const json& trace, const std::string& where, const CaseLimits& limits, CaseFile& out) {
  if (!trace.is_object()) fail(where, "a trace must be an OTLP ExportTraceServiceRequest object");
  const json* rs_list = optional_array(trace, "resourceSpans", where);
  if (!rs_list) return;
  for (std::size_t r = 0; r < rs_list->size(); ++r) {
    const json& rs = (*rs_list)[r];
    std::string rs_where = where + ".resourceSpans[" + std::to_string(r) + "]";
    if (!rs.is_object()) fail(rs_where, "must be an object");
    std::string service = resource_service_name(rs, rs_where, limits);
    const json* ss_list = optional_array(rs, "scopeSpans", rs_where);
    if (!ss_list) continue;
    for (std::size_t s = 0; s < ss_list->size(); ++s) {
      const json& ss = (*ss_list)[s];
      std::string ss_where = rs_where + ".scopeSpans[" + std::to_string(s) + "]";
      if (!ss.is_object()) fail(ss_where, "must be an object");
      const json* spans = optional_array(ss, "spans", ss_where);
      if (!spans) continue;
      for (std::size_t i = 0; i < spans->size(); ++i) {
        std::string span_where = ss_where + ".spans[" + std::to_string(i) + "]";
        if (out.exchanges.size() >= limits.max_spans)
          limit_error(span_where, "maxSpans", limits.max_spans, out.exchanges.size() + 1, "case has more spans than allowed:");
        HttpExchange ex;
        parse_span((*spans)[i], span_where, service, limits, ex);
        out.exchanges.push_back(std::move(ex));
      }
    }
  }
}

}  // namespace

CaseFile case_from_json(const json& doc, const CaseLimits& limits) {
  if (!doc.is_object()) fail("$", "a case file must be a JSON object");
  CaseFile out;
  const json& version = require(doc, "version", "$");
  const json& case_id = require(doc, "caseId", "$");
  const json& traces = require(doc, "traces", "$");
  if (!version.is_string()) fail("$.version", "must be a string");
  if (!case_id.is_string()) fail("$.caseId", "must be a string");
  if (!traces.is_array()) fail("$.traces", "must be an array");
  out.version = version.get<std::string>();
  out.case_id = case_id.get<std::string>();
  out.suite = optional_string(doc, "suite", "$");
  out.mode = optional_string(doc, "mode", "$");
  out.created_at = optional_string(doc, "createdAt", "$");
  if (const json* rules = optional_array(doc, "rules", "$")) out.rules = *rules;
  if (const json* fixtures = optional_array(doc, "fixtures", "$")) out.fixtures = *fixtures;
  for (const auto& [key, value] : doc.items()) {
    if (key != "version" && key != "caseId" && key != "suite" && key != "mode" && key != "createdAt" && key != "traces" &&
        key != "rules" && key != "fixtures")
      out.extra[key] = value;
  }
  out.trace_count = traces.size();
  for (std::size_t t = 0; t < traces.size(); ++t) {
    std::string where = "$.traces[" + std::to_string(t) + "]";
    parse_trace(traces[t], where, limits, out);
  }
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
  // when the traceId changes, a new resourceSpans when the service changes.
  ordered_json trace_docs = ordered_json::array();
  const HttpExchange* prev = nullptr;
  for (const auto& ex : c.exchanges) {
    if (!prev || prev->trace_id != ex.trace_id) {
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
