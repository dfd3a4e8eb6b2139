// Who may drive the runtime from a browser: the checks against cross-site
// requests (CSRF) and DNS rebinding, independent of the HTTP library.
//
//  - Host (421 misdirected_request): must name the listen address,
//    localhost, 127.0.0.1 or [::1] (any port), or a --allow-host name. When
//    listening on every interface (0.0.0.0, ::) any IP literal is accepted
//    too: DNS rebinding needs a host name. No Host header (HTTP/1.0) passes.
//  - Origin (403 forbidden_origin): a request carrying one must carry an
//    --allow-origin value. Browsers send it on cross-site requests; other
//    clients do not.
//  - Content-Type (415 unsupported_media_type): a request with a body, and a
//    POST (PUT, ...) carrying a Content-Type even with no body, must say
//    application/json (or any application/...+json) or application/x-protobuf
//    / application/protobuf. A body without Content-Type is refused too. A
//    browser form or text/plain POST therefore never reaches a handler; a
//    POST with no body and no Content-Type needs none.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace softprobe::runtime {

struct GuardConfig {
  std::string listen_host;                 // as configured: "127.0.0.1", "0.0.0.0", "::1", "localhost"...
  std::vector<std::string> allow_origins;  // exact (ASCII case-insensitive) Origin values; "*" any
  std::vector<std::string> allow_hosts;    // host names (no port); "*" any
};

// The header values a request carries; nullopt when the header is absent.
struct GuardRequest {
  std::string_view method;
  std::string_view target;
  std::optional<std::string_view> host, origin, content_type;
  bool has_body = false;  // Content-Length above 0, or chunked Transfer-Encoding
};

struct Refusal {
  int status;
  std::string code;
  std::string message;
};

// The first check the request fails (Host, then Origin, then Content-Type), or nullopt.
std::optional<Refusal> check_request(const GuardConfig& config, const GuardRequest& request);

}  // namespace softprobe::runtime
