// Which session a request belongs to (contract section 8): the
// x-softprobe-session-id header, else the tracestate member
// x-softprobe-session-id=<id>, else none (the proxy's default session).
#pragma once

#include <string>

#include "softprobe/net/http.hpp"

namespace softprobe::proxy {

// The session id the request carries, or "" when it carries none.
std::string session_id_of(const net::Headers& headers);

// The value of member `key` in a tracestate list ("a=1,x-softprobe-session-id=s1"), or "".
std::string tracestate_member(std::string_view tracestate, std::string_view key);

}  // namespace softprobe::proxy
