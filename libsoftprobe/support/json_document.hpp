// The one way the core reads JSON text it is given (rules, policy, session
// options, auth fixtures, predicates, cases, OTLP payloads), so that every
// entry point refuses bad text the same way, with the place of the problem:
//  - a NUL byte anywhere (raw NUL is never valid JSON; a C string cut there
//    would silently drop the rest of the document);
//  - nesting deeper than a limit (a recursive walk would overflow the stack);
//  - syntax errors and numbers out of range (1e999999), with line, column and
//    byte offset.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "support/errors.hpp"

namespace softprobe::core {

struct JsonDocumentOptions {
  std::size_t max_depth = 256;                     // arrays/objects
  ErrorCode depth_code = ErrorCode::invalid_json;  // what a too-deep document is reported as
  const char* depth_limit_name = "maxDepth";       // the limit's name in error details
};

// Parses `text`; throws Error(invalid_json) naming `what` and the place:
// "rules document is not valid JSON: syntax error ... at line 1, column 19 (byte 18)"
// with details {"byte","line","column"}.
nlohmann::json parse_json_document(std::string_view text, std::string_view what,
                                   const JsonDocumentOptions& options = {});

// The value of a JSON integer that fits in int64, else nullopt (a float, a
// non-number, or an unsigned value above INT64_MAX, which a plain
// get<int64_t>() would wrap to a negative number).
std::optional<std::int64_t> json_int64(const nlohmann::json& v) noexcept;

// The same, and only when min <= value <= max.
std::optional<std::int64_t> json_int_in(const nlohmann::json& v, std::int64_t min, std::int64_t max) noexcept;

// For request and response bodies (bodyJsonPath, redaction): the parsed body,
// or nullopt when it is not a JSON document under the same rules.
std::optional<nlohmann::json> try_parse_json_body(std::string_view text);

}  // namespace softprobe::core
