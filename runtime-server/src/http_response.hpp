// One HTTP call as handlers see it, and the response helpers: JSON bodies
// and the contract's error envelope {"error":{"code","message"}}.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "softprobe.hpp"
#include "softprobe/net/http.hpp"

namespace softprobe::runtime {

struct Call {
  const net::RequestHead& req;
  net::Response& res;
  std::string_view session_id;  // the {id} path segment, when the route has one
  std::string body;             // the request body, read and decoded within the body limit
  // Set by a handler whose answer is due later (a rule's latencyMs): the
  // server writes `res` after this delay, on a timer.
  std::chrono::milliseconds delay{0};

  // A query parameter of the request target, decoded (see net::query_param).
  std::optional<std::string> query(std::string_view name) const;
};

void send_json(net::Response& res, int status, std::string body);
void send_bytes(net::Response& res, int status, std::string body, const char* content_type);

// {"error":{"code","message"[,"details"]}}; `details_json` is added when it
// is a non-empty JSON object.
void send_error(net::Response& res, int status, std::string_view code, std::string_view message,
                std::string_view details_json = {});

// The HTTP status and error code for a core status (contract section 6):
// 400 invalid_request, 404 unknown_session, 500 internal_error.
int http_status_for(sp_status status) noexcept;
const char* error_code_for(sp_status status) noexcept;

// A core failure as an error response, with the core's message and details.
void send_core_error(net::Response& res, const softprobe::Error& e);
void send_core_error(net::Response& res, sp_status status);  // reads sp_last_error() on this thread

}  // namespace softprobe::runtime
