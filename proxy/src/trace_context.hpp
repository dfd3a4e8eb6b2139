// The W3C trace context (https://www.w3.org/TR/trace-context/) an ingress
// request carries to the app (contract section 8): a `traceparent`, kept when
// the client sent a valid one, else a new one; and a `tracestate` whose member
// x-softprobe-session-id=<id> names the session, first in the list, beside the
// members already there.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "softprobe/net/http.hpp"

namespace softprobe::proxy {

// W3C: a tracestate list holds at most 32 members; past it, members are dropped from the right.
inline constexpr std::size_t kMaxTracestateMembers = 32;
// W3C: a member's value is at most 256 printable characters, without ',' and '='.
inline constexpr std::size_t kMaxTracestateValue = 256;

// (The traceparent itself is read and made by the core: request/traceparent.hpp.)

// True when `value` can be a tracestate member's value (W3C: 1..256
// characters 0x20..0x7E except ',' and '=', not ending in a space).
bool valid_tracestate_value(std::string_view value);

// The tracestate list of `lines` (the header's lines, joined as one list)
// with member `key`=`value` first and every other member of `key` removed;
// empty members are dropped, and so are members past the 32nd.
std::string tracestate_with_member(const std::vector<std::string_view>& lines, std::string_view key,
                                   std::string_view value);

// `headers` with the trace context for session `session_id`: one traceparent
// (the client's when it sent exactly one valid line, else a new one) and one
// tracestate line (tracestate_with_member). When `session_id` cannot be a
// tracestate value the tracestate lines are left as they came.
void add_trace_context(net::Headers& headers, std::string_view session_id);

}  // namespace softprobe::proxy
