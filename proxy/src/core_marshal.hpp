// The proxy's requests in the core's C++ API types (softprobe.hpp), and the
// core's decisions as the proxy's verdicts: the marshalling both deciders
// share (embedded_decider, remote_decider). No decision is made here.
#pragma once

#include <string>

#include "decider.hpp"
#include "softprobe.hpp"

namespace softprobe::proxy {

// Views into `r` (valid while it lives): the request as it was sent, for the
// core's canonical request to normalize.
softprobe::Request core_request(const ProxyRequest& r);
softprobe::Response core_response(const UpstreamResponse& r);

// A mock, error or strict-miss decision as the proxy's answer. Content-Length,
// Transfer-Encoding and Connection are left out: the net layer frames the body.
Verdict answer_of(const softprobe::Decision& d, const std::string& session_id);

// Fail closed (contract EC-008): 403 with reason "rule engine unavailable:
// <why>", logged at error. The request is not let through.
Verdict refusal(const std::string& session_id, const std::string& why);

// The request itself cannot be decided (a bad URL, too many headers): a 400
// naming why.
Verdict invalid_request(const std::string& session_id, const std::string& why);

}  // namespace softprobe::proxy
