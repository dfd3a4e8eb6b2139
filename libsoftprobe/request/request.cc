#include "request/request.hpp"

#include <charconv>

#include "request/http_exchange.hpp"
#include "support/json_document.hpp"
#include "support/text.hpp"

namespace softprobe::core {

MatchRequest::MatchRequest(const RequestView& v) : view(v), outbound(v.direction != "inbound") {
  HostPort hp = split_host_port(v.host);
  host = text::to_lower(hp.host);
  int port = v.port;
  if (port == 0 && !hp.port.empty()) std::from_chars(hp.port.data(), hp.port.data() + hp.port.size(), port);
  int fallback = default_port(v.scheme);
  if (port == 0) port = fallback;
  host_port = host + ':' + std::to_string(port);
  url_host = port == fallback ? host : host_port;
}

const nlohmann::json* MatchRequest::body_json() const {
  if (!body_parsed_) {
    body_parsed_ = true;
    body_json_ = try_parse_json_body(view.body);  // not JSON (or too deep, or with a NUL): no body to match
  }
  return body_json_ ? &*body_json_ : nullptr;
}

}  // namespace softprobe::core
