#include "otlp/otlp_json_walk.hpp"

#include "otlp/otlp_attributes.hpp"
#include "otlp/otlp_ids.hpp"
#include "otlp/span_mapping.hpp"
#include "support/errors.hpp"
#include "support/json_fields.hpp"

namespace softprobe::core {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::invalid_case, where + ": " + what, {{"path", where}});
}

// proto3 JSON writes fixed64 as a decimal string; accept an integer too.
std::string time_field(const json& span, const char* key, const std::string& where) {
  auto it = span.find(key);
  if (it == span.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_unsigned() || it->is_number_integer()) return it->dump();
  fail(where + "." + key, "must be a decimal string or an integer");
}

// The deepest array/object nesting of `v`, counting `v` itself as 1; stops
// counting once past `max` (the document's own parse limit bounds recursion).
std::size_t nesting(const json& v, std::size_t max) {
  if (!v.is_structured()) return 0;
  std::size_t deepest = 0;
  for (const auto& child : v) {
    deepest = std::max(deepest, nesting(child, max));
    if (deepest > max) break;
  }
  return deepest + 1;
}

std::string resource_service(const json& rs, const std::string& where, const SpanWalkLimits& limits) {
  auto res = rs.find("resource");
  if (res == rs.end() || res->is_null()) return {};
  if (!res->is_object()) fail(where + ".resource", "must be an object");
  const json* attrs = optional_array_field(*res, "attributes", where + ".resource", ErrorCode::invalid_case);
  if (!attrs) return {};
  for (const auto& a : decode_attributes(*attrs, where + ".resource.attributes", limits.max_string_bytes))
    if (a.key == "service.name") return a.text;
  return {};
}

HttpExchange span_exchange(const json& span, const std::string& where, const std::string& service,
                           const SpanWalkLimits& limits) {
  if (!span.is_object()) fail(where, "a span must be an object");
  HttpExchange ex;
  ex.trace_id =
      canonical_span_id(optional_string_field(span, "traceId", where, ErrorCode::invalid_case), kTraceIdBytes);
  ex.span_id = canonical_span_id(optional_string_field(span, "spanId", where, ErrorCode::invalid_case), kSpanIdBytes);
  ex.parent_span_id =
      canonical_span_id(optional_string_field(span, "parentSpanId", where, ErrorCode::invalid_case), kSpanIdBytes);
  ex.name = optional_string_field(span, "name", where, ErrorCode::invalid_case);
  if (auto kind = span.find("kind");
      kind != span.end() && !kind->is_null() && !kind->is_number_integer() && !kind->is_string())
    fail(where + ".kind", "must be an integer or a string");
  ex.start_time_unix_nano = time_field(span, "startTimeUnixNano", where);
  ex.end_time_unix_nano = time_field(span, "endTimeUnixNano", where);
  std::vector<Attribute> attrs;
  if (const json* list = optional_array_field(span, "attributes", where, ErrorCode::invalid_case)) {
    if (list->size() > limits.max_attributes_per_span)
      limit_error(where + ".attributes", "maxAttributesPerSpan", limits.max_attributes_per_span, list->size(),
                  "span has attributes:");
    attrs = decode_attributes(*list, where + ".attributes", limits.max_string_bytes);
  }
  apply_span_attributes(attrs, service, ex);  // reads ex.name for the "HTTP GET" method fallback
  return ex;
}

}  // namespace

void walk_traces_json(const json& traces_data, const std::string& where, const SpanWalkLimits& limits,
                      std::vector<HttpExchange>& out) {
  if (!traces_data.is_object())
    fail(where, "must be an OTLP TracesData object (an ExportTraceServiceRequest: {\"resourceSpans\": [...]})");
  if (std::size_t depth = nesting(traces_data, kMaxOtlpNesting); depth > kMaxOtlpNesting)
    throw Error(ErrorCode::limit_exceeded,
                where + ": nested deeper than " + std::to_string(kMaxOtlpNesting) + " levels (arrays and objects)",
                {{"path", where}, {"limit", "maxNesting"}, {"max", kMaxOtlpNesting}});
  const json* rs_list = optional_array_field(traces_data, "resourceSpans", where, ErrorCode::invalid_case);
  if (!rs_list) return;
  for (std::size_t r = 0; r < rs_list->size(); ++r) {
    const json& rs = (*rs_list)[r];
    std::string rs_where = where + ".resourceSpans[" + std::to_string(r) + "]";
    if (!rs.is_object()) fail(rs_where, "must be an object");
    std::string service = resource_service(rs, rs_where, limits);
    const json* ss_list = optional_array_field(rs, "scopeSpans", rs_where, ErrorCode::invalid_case);
    if (!ss_list) continue;
    for (std::size_t s = 0; s < ss_list->size(); ++s) {
      const json& ss = (*ss_list)[s];
      std::string ss_where = rs_where + ".scopeSpans[" + std::to_string(s) + "]";
      if (!ss.is_object()) fail(ss_where, "must be an object");
      const json* spans = optional_array_field(ss, "spans", ss_where, ErrorCode::invalid_case);
      if (!spans) continue;
      for (std::size_t i = 0; i < spans->size(); ++i) {
        std::string span_where = ss_where + ".spans[" + std::to_string(i) + "]";
        if (out.size() >= limits.max_spans)
          limit_error(span_where, "maxSpans", limits.max_spans, out.size() + 1, "case has more spans than allowed:");
        out.push_back(span_exchange((*spans)[i], span_where, service, limits));
      }
    }
  }
}

}  // namespace softprobe::core
