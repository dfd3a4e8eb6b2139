// OTLP traces on the wire (contract section 7): decoding a TracesData or
// ExportTraceServiceRequest (the same message on the wire), in OTLP JSON or
// protobuf, into one HttpExchange per span; and encoding the two answers of
// the proxy OTLP API: the inject response span and the
// ExportTraceServiceResponse. The attribute mapping itself is span_mapping's;
// this file knows only the OTLP envelope and its two encodings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "otlp/otlp_json_walk.hpp"
#include "request/http_exchange.hpp"
#include "rules/rule.hpp"

namespace softprobe::core {

enum class PayloadFormat { json = 0, protobuf = 1 };

// One exchange per span, in payload order. Span ids are lowercase hex (the
// protobuf bytes converted), times decimal strings; the method, host and
// session come from the attributes (apply_span_attributes). Throws
//   Error(invalid_json)   JSON syntax, with the byte offset;
//   Error(invalid_case)   a wrong JSON shape ("$.resourceSpans[0].scopeSpans[0].spans[2].attributes: ...")
//                         or malformed protobuf ("protobuf: resourceSpans[0].scopeSpans[0].spans[2]:
//                         truncated length-delimited field");
//   Error(limit_exceeded) nesting deeper than kMaxOtlpNesting.
std::vector<HttpExchange> decode_traces(std::string_view payload, PayloadFormat format);
// OTLP JSON: simdjson On-Demand (otlp_json_fast) for every payload it can
// decide, else the reference decoder, which also words every error.
std::vector<HttpExchange> decode_traces_json(std::string_view payload);
// The same on nlohmann::json's DOM: the definition the fast decoder is
// checked against (tests, the otlp_json fuzzer) and its fallback.
std::vector<HttpExchange> decode_traces_json_reference(std::string_view payload);
std::vector<HttpExchange> decode_traces_protobuf(std::string_view payload);

// The inject answer: a TracesData with one span that carries `request`'s
// trace id, span id and name, and response_attributes(response).
std::string encode_inject_response(const HttpExchange& request, const Response& response, PayloadFormat format);

// A TracesData holding `spans` (one resourceSpans, one scopeSpans named
// "softprobe"), each span with the ids, name, kind, times and attributes that
// exchange_to_span writes (span_mapping's for_each_span_attribute): the
// client side of the proxy OTLP API, what a proxy sends to /v1/inject (one
// span, sp.span.type "inject") and to /v1/traces (extract spans).
// decode_traces reads every field back as it was.
std::string encode_traces(const std::vector<HttpExchange>& spans, PayloadFormat format);

// An ExportTraceServiceResponse: empty ("{}" / zero bytes) when nothing was
// rejected, else partialSuccess {rejectedSpans, errorMessage}.
std::string encode_export_response(std::uint64_t rejected_spans, std::string_view error_message, PayloadFormat format);

}  // namespace softprobe::core
