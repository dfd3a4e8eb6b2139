// The one walk over OTLP JSON traces (a TracesData / ExportTraceServiceRequest
// object): resourceSpans -> scopeSpans -> spans -> one HttpExchange each. Case
// files (each traces[] entry) and the OTLP JSON payloads of /v1/inject and
// /v1/traces both read spans through it, so they agree on every rule:
//  - traceId, spanId and parentSpanId are optional (empty when absent) and
//    read in one canonical form (canonical_span_id: hex lowercased, base64 ids
//    converted to hex, other names kept); the case loader fills in missing ids;
//  - `attributes` is optional; `kind` is an integer, a string or null;
//  - any attribute may be a bytesValue (a header's obs-text, a binary tag):
//    the case writer keeps such values as bytesValue, so they round-trip;
//  - nesting, counted from the TracesData object, is at most kMaxOtlpNesting;
//  - string, attribute and span limits are the caller's (a case's CaseLimits;
//    none per string for a payload, which its byte limit bounds).
// The simdjson decoder (otlp_json_fast) decides the same payloads the same way
// or declines; the differential test and the otlp_json fuzzer hold it to that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "request/http_exchange.hpp"

namespace softprobe::core {

// The deepest nesting a payload may have: JSON objects and arrays, protobuf
// arrayValue / kvlistValue. Deeper input is an Error(limit_exceeded), so a
// hostile payload cannot exhaust the stack.
inline constexpr std::size_t kMaxOtlpNesting = 64;

struct SpanWalkLimits {
  std::size_t max_string_bytes = SIZE_MAX;         // one attribute value (maxStringBytes)
  std::size_t max_attributes_per_span = SIZE_MAX;  // maxAttributesPerSpan
  std::size_t max_spans = SIZE_MAX;                // total in `out`, earlier walks included (maxSpans)
};

// Appends one exchange per span of `traces_data`, in document order, to `out`.
// `where` is the object's JSON path ("$" for a payload, "$.traces[3]" in a
// case); errors name the place below it. Throws Error(invalid_case) for a
// wrong shape ("$.traces[0].resourceSpans[1].scopeSpans[0].spans[2].attributes[4].value: ...")
// and Error(limit_exceeded) for a limit (details {path, limit, max, actual}).
void walk_traces_json(const nlohmann::json& traces_data, const std::string& where, const SpanWalkLimits& limits,
                      std::vector<HttpExchange>& out);

}  // namespace softprobe::core
