#include "case/case_limits.hpp"

#include <algorithm>
#include <vector>

#include "support/errors.hpp"
#include "support/json_document.hpp"
#include "support/json_fields.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

using nlohmann::json;

std::size_t positive_size(const json& v, const std::string& field) {
  auto n = json_int_in(v, 1, std::numeric_limits<std::int64_t>::max());
  if (!n)
    throw Error(ErrorCode::invalid_argument, field + ": must be a positive integer, got " + v.dump(),
                {{"path", field}});
  return std::size_t(*n);
}

// The size of `s` as a JSON string literal in the file: escaped when it is
// UTF-8 text, base64 (bytesValue) otherwise.
std::size_t written_size(std::string_view s) {
  if (!text::is_valid_utf8(s)) return (s.size() + 2) / 3 * 4 + 2;
  // Branch-free, so the compiler vectorizes it: every byte counts 1, a quote
  // or backslash 2, a control character up to 6 ("\u0001").
  std::size_t n = 2 + s.size();
  for (char ch : s) {
    unsigned char c = std::uint8_t(ch);
    n += std::size_t(c < 0x20) * 5 + std::size_t(c == '"' || c == '\\');
  }
  return n;
}

// Per attribute and per span, what the pretty printer adds around the values
// (keys, braces, indentation): measured on written cases, rounded up.
constexpr std::size_t kAttributeOverhead = 160;
constexpr std::size_t kSpanOverhead = 1024;

// One attribute per header name; the size of its values together (a few
// headers: a linear scan beats a map's allocations on this per-record path).
std::vector<std::pair<std::string_view, std::size_t>> joined_sizes(const Headers& headers) {
  std::vector<std::pair<std::string_view, std::size_t>> sizes;
  sizes.reserve(headers.size());
  for (const auto& header : headers) {  // (no structured binding: clang 14 cannot capture one)
    std::string_view name = header.first;
    auto it = std::find_if(sizes.begin(), sizes.end(), [name](const auto& p) { return p.first == name; });
    if (it == sizes.end()) sizes.emplace_back(name, header.second.size());
    else it->second += 2 + header.second.size();
  }
  return sizes;
}

}  // namespace

CaseLimits case_limits_from_json(const json& j) {
  CaseLimits l;
  if (j.is_null()) return l;
  if (!j.is_object()) throw Error(ErrorCode::invalid_argument, "limits: must be an object", {{"path", "limits"}});
  for (const auto& [key, value] : j.items()) {
    if (skip_null_field(key, value,
                        {"maxSpans", "maxAttributesPerSpan", "maxStringBytes", "maxTraceBytes", "maxCaseBytes"}))
      continue;  // null: the default
    std::string field = "limits." + key;
    if (key == "maxSpans") l.max_spans = positive_size(value, field);
    else if (key == "maxAttributesPerSpan") l.max_attributes_per_span = positive_size(value, field);
    else if (key == "maxStringBytes") l.max_string_bytes = positive_size(value, field);
    else if (key == "maxTraceBytes") l.max_trace_bytes = positive_size(value, field);
    else if (key == "maxCaseBytes") l.max_case_bytes = positive_size(value, field);
    else
      throw Error(
          ErrorCode::invalid_argument,
          field +
              ": unknown limit (expected maxSpans, maxAttributesPerSpan, maxStringBytes, maxTraceBytes, maxCaseBytes)",
          {{"path", field}});
  }
  return l;
}

std::size_t estimated_case_bytes(const HttpExchange& ex) {
  std::size_t n = kSpanOverhead;
  auto add = [&](std::string_view s) { n += written_size(s) + kAttributeOverhead; };
  for (const std::string* s :
       {&ex.trace_id, &ex.span_id, &ex.parent_span_id, &ex.name, &ex.session_id, &ex.direction, &ex.span_type,
        &ex.service, &ex.scheme, &ex.method, &ex.host, &ex.path, &ex.query, &ex.url_full, &ex.request_body,
        &ex.response_body, &ex.start_time_unix_nano, &ex.end_time_unix_nano})
    add(*s);
  for (const Headers* headers : {&ex.request_headers, &ex.response_headers})
    for (const auto& [name, value] : *headers) add(name), n += written_size(value);
  for (const auto& [key, value] : ex.tags) add(key), n += written_size(value);
  return n;
}

void check_capture_fits(const HttpExchange& ex, std::size_t ex_bytes, const CaptureUsage& used,
                        const CaseLimits& limits, const std::string& session_id) {
  auto over = [&](const char* limit, std::size_t max, std::size_t actual, const std::string& what) {
    throw Error(ErrorCode::limit_exceeded,
                "capture of session " + session_id + ": " + what + " " + std::to_string(actual) +
                    ", over the limit of " + std::to_string(max) + " (raise limits." + limit +
                    " in the session options to capture it; the case must load back with the same limits)",
                {{"sessionId", session_id}, {"limit", limit}, {"max", max}, {"actual", actual}});
  };
  if (used.spans + 1 > limits.max_spans)
    over("maxSpans", limits.max_spans, used.spans + 1, "the capture would hold spans:");
  if (ex.request_body.size() > limits.max_string_bytes)
    over("maxStringBytes", limits.max_string_bytes, ex.request_body.size(), "the request body has bytes:");
  if (ex.response_body.size() > limits.max_string_bytes)
    over("maxStringBytes", limits.max_string_bytes, ex.response_body.size(), "the response body has bytes:");
  std::size_t attributes = 16 + ex.tags.size();  // the fixed attributes, at most
  for (const Headers* headers : {&ex.request_headers, &ex.response_headers}) {
    auto sizes = joined_sizes(*headers);
    attributes += sizes.size();
    for (const auto& [name, size] : sizes)
      if (size > limits.max_string_bytes)
        over("maxStringBytes", limits.max_string_bytes, size, "the header \"" + std::string(name) + "\" has bytes:");
  }
  if (attributes > limits.max_attributes_per_span)
    over("maxAttributesPerSpan", limits.max_attributes_per_span, attributes, "the span would have attributes:");
  if (used.bytes + ex_bytes > limits.max_case_bytes)
    over("maxCaseBytes", limits.max_case_bytes, used.bytes + ex_bytes, "the case file would have about bytes:");
}

}  // namespace softprobe::core
