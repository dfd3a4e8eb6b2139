// The W3C trace context's traceparent header
// (https://www.w3.org/TR/trace-context/#traceparent-header), read and made in
// one place: the capture joins the caller's trace with it, and the proxy
// keeps or replaces the one an ingress request carries.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace softprobe::core {

// The ids of a valid traceparent (views into the value given).
struct TraceParent {
  std::string_view trace_id;   // 32 lower-case hex digits, not all 0
  std::string_view parent_id;  // 16 lower-case hex digits, not all 0
};

// The ids of "<version>-<trace id>-<parent id>-<flags>", all lower-case hex
// (version 2 digits, not "ff"; flags 2 digits). Version 00 ends at the flags;
// a later version may go on after a '-'. Anything else: nullopt (W3C: the
// header is then ignored).
std::optional<TraceParent> parse_traceparent(std::string_view value) noexcept;

// A new traceparent: version 00, a random trace id and parent id, sampled (01).
std::string new_traceparent();

}  // namespace softprobe::core
