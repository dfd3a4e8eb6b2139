// The proxy OTLP API (contract section 7) against a session store: what
// /v1/inject and /v1/traces do, for every host (the runtime server, an egress
// proxy, a binding). Decoding and encoding are otlp_traces'; the decision is
// the session's (Session::decide); this file only connects them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "otlp/otlp_traces.hpp"
#include "session/session_store.hpp"

namespace softprobe::core {

enum class InjectOutcome : int {
  hit = 0,              // a rule (or the policy's defaultResponse) answered: 200 + response span
  miss = 1,             // passthrough / capture_only: 404, empty body (the proxy forwards)
  unknown_session = 2,  // no open session with the span's sp.session.id (or none given): 404
  strict_miss = 3,      // the strict policy answered 599: 200 + response span
};

struct InjectResult {
  InjectOutcome outcome = InjectOutcome::miss;
  int http_status = 404;
  std::string body;  // the response TracesData for 200, else empty
  std::uint32_t latency_ms = 0;
  std::string session_id;
  std::string rule;  // label of the deciding rule, "" when the policy or no rule decided
};

// Decides the payload's inject span: the first span with sp.span.type
// "inject", else the first span without a type. Throws what decode_traces
// throws, and Error(invalid_case) when the payload has no such span.
InjectResult inject_otlp(const SessionStore& store, std::string_view payload, PayloadFormat in, PayloadFormat out);

struct ExtractResult {
  std::size_t recorded = 0;  // extract spans appended to their session
  std::size_t rejected = 0;  // extract spans for an unknown or closed session, or over the capture's limits
  std::size_t ignored = 0;   // spans that are not sp.span.type=extract, and extracts sent to a replay session
  // Of those: the extracts sent to a replay session (neither recorded nor
  // counted), and of the rejected ones, those without sp.session.id and those
  // naming an unknown or closed session (the front end picks its status from these).
  std::size_t to_replay = 0, without_session_id = 0, unknown_session = 0;
  std::string message;  // the reasons (at most 10, each once); "" when none was rejected
  std::string body;     // ExportTraceServiceResponse (partialSuccess when spans were rejected)
};

// Records every extract span in its session (Session::record, which
// redacts). The whole payload is decoded before anything is recorded, so a
// malformed payload records nothing.
ExtractResult extract_otlp(const SessionStore& store, std::string_view payload, PayloadFormat in, PayloadFormat out);

}  // namespace softprobe::core
