#include "request.hpp"

#include <charconv>

#include "http_exchange.hpp"
#include "text.hpp"

namespace softprobe {

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
    if (text::json_depth_exceeded_at(view.body) != std::string_view::npos) return nullptr;  // treated as not JSON
    auto parsed = nlohmann::json::parse(view.body.begin(), view.body.end(), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) body_json_ = std::move(parsed);
  }
  return body_json_ ? &*body_json_ : nullptr;
}

}  // namespace softprobe
