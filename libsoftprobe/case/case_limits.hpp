// How large a case may be, for loading and for capturing: one set of limits,
// so that a case this project captured always loads back with the same
// settings. Input over a limit is an error naming the limit and how to raise
// it, never a silent truncation.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "request/http_exchange.hpp"
#include "support/errors.hpp"  // limit_error

namespace softprobe::core {

// Defaults sized for real traffic (contract section 2, amended 2026-12).
struct CaseLimits {
  std::size_t max_spans = 10'000;               // spans per case (exchanges per capture)
  std::size_t max_attributes_per_span = 1'024;  // headers and the rest
  std::size_t max_string_bytes = 16u << 20;     // one attribute value (a body, a header)
  std::size_t max_trace_bytes = 256u << 20;     // compact JSON of one traces[] entry
  std::size_t max_case_bytes = 256u << 20;      // the case file's text
};

// Reads {"maxSpans","maxAttributesPerSpan","maxStringBytes","maxTraceBytes",
// "maxCaseBytes"} (positive integers) over the defaults; throws
// Error(invalid_argument) naming a bad field.
CaseLimits case_limits_from_json(const nlohmann::json& j);

// What a capture holds so far, to check the next exchange against the limits.
struct CaptureUsage {
  std::size_t spans = 0;
  std::size_t bytes = 0;  // estimated size of the case file written so far
};

// An upper estimate of the bytes `ex` adds to a written case file (escaped
// strings, base64 bodies, the pretty printer's indentation).
std::size_t estimated_case_bytes(const HttpExchange& ex);

// Throws Error(limit_exceeded) when recording `ex` (of `ex_bytes`, from
// estimated_case_bytes) after `used` would give a case the same limits refuse
// to load; the message names the session, the limit, and the session option
// that raises it.
void check_capture_fits(const HttpExchange& ex, std::size_t ex_bytes, const CaptureUsage& used,
                        const CaseLimits& limits, const std::string& session_id);

}  // namespace softprobe::core
