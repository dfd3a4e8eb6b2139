// The differential property of the fast OTLP JSON decoder, shared by its
// unit test (tests/otlp_json_fast_test.cc) and the otlp_json fuzzer: when
// decode_traces_json_fast accepts a payload, the reference decoder
// (nlohmann) accepts it too and gives the same exchanges, field by field; and
// decode_traces_json (fast, else reference) always ends as the reference
// does: the same exchanges, or the same error code and message.
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "otlp/otlp_json_fast.hpp"
#include "otlp/otlp_traces.hpp"
#include "support/errors.hpp"

namespace sp_differential {

// Every field of the exchanges, as text (bytes kept as they are).
inline std::string exchanges_text(const std::vector<softprobe::core::HttpExchange>& list) {
  std::string out;
  auto field = [&](const char* name, const std::string& v) {
    out += name;
    out += '=';
    out += std::to_string(v.size());
    out += ':';
    out += v;
    out += '\n';
  };
  auto pairs = [&](const char* name, const std::vector<std::pair<std::string, std::string>>& v) {
    out += name;
    out += '#' + std::to_string(v.size()) + '\n';
    for (const auto& [a, b] : v) {
      field("  name", a);
      field("  value", b);
    }
  };
  for (const auto& ex : list) {
    out += "--- exchange\n";
    field("trace_id", ex.trace_id);
    field("span_id", ex.span_id);
    field("parent_span_id", ex.parent_span_id);
    field("name", ex.name);
    field("session_id", ex.session_id);
    field("direction", ex.direction);
    field("span_type", ex.span_type);
    field("service", ex.service);
    field("scheme", ex.scheme);
    field("method", ex.method);
    field("host", ex.host);
    field("path", ex.path);
    field("query", ex.query);
    field("url_full", ex.url_full);
    pairs("request_headers", ex.request_headers);
    field("request_body", ex.request_body);
    field("status", ex.status ? std::to_string(*ex.status) : std::string("none"));
    pairs("response_headers", ex.response_headers);
    field("response_body", ex.response_body);
    field("start", ex.start_time_unix_nano);
    field("end", ex.end_time_unix_nano);
    pairs("tags", ex.tags);
  }
  return out;
}

// How one decoder ended on a payload.
struct Outcome {
  bool ok = false;
  softprobe::core::ErrorCode code = softprobe::core::ErrorCode::ok;
  std::string message;  // the error's, or the exchanges' text
};

template <class Decode>
Outcome outcome_of(Decode&& decode) {
  Outcome o;
  try {
    o.message = exchanges_text(decode());
    o.ok = true;
  } catch (const softprobe::core::Error& e) {
    o.code = e.code();
    o.message = e.what();
  } catch (const std::exception& e) {
    o.code = softprobe::core::ErrorCode::internal;
    o.message = std::string("not a softprobe::core::Error: ") + e.what();
  }
  return o;
}

inline std::string describe(const Outcome& o) {
  if (o.ok) return "accepted:\n" + o.message;
  return std::string("refused (") + softprobe::core::error_code_name(o.code) + "): " + o.message;
}

// "" when the property holds for `payload`, else what differs. `accepted`
// (optional) says whether the fast decoder decided the payload itself.
inline std::string fast_json_disagreement(std::string_view payload, bool* accepted = nullptr) {
  std::vector<softprobe::core::HttpExchange> fast;
  const bool fast_ok = softprobe::core::decode_traces_json_fast(payload, fast);
  if (accepted) *accepted = fast_ok;
  const Outcome reference = outcome_of([&] { return softprobe::core::decode_traces_json_reference(payload); });
  if (reference.code == softprobe::core::ErrorCode::internal)
    return "the reference decoder failed: " + reference.message;
  if (fast_ok) {
    if (!reference.ok) return "the fast decoder accepted what the reference " + describe(reference);
    std::string text = exchanges_text(fast);
    if (text != reference.message)
      return "the decoders give different exchanges\nfast:\n" + text + "reference:\n" + reference.message;
  }
  const Outcome wired = outcome_of([&] { return softprobe::core::decode_traces_json(payload); });
  if (wired.ok != reference.ok || wired.code != reference.code || wired.message != reference.message)
    return "decode_traces_json " + describe(wired) + "\nbut the reference " + describe(reference);
  return {};
}

}  // namespace sp_differential
