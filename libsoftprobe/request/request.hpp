// The request view the decision path takes: borrowed views, no JSON, no
// copies. MatchRequest adds the few normalized forms the matcher needs
// (lowercase host, host:port), built once per decision.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace softprobe::core {

struct HeaderView {
  std::string_view name, value;
};

struct TagView {
  std::string_view key, value;
};

struct RequestView {
  std::string_view direction = "outbound";  // "outbound" | "inbound"
  std::string_view method;
  std::string_view scheme = "http";
  std::string_view host;  // may carry ":port" when `port` is 0
  int port = 0;           // 0: none given (scheme default unless host has one)
  std::string_view path;
  std::string_view query;  // without '?'
  std::string_view service;
  std::string_view body;
  const HeaderView* headers = nullptr;
  std::size_t header_count = 0;
  const TagView* tags = nullptr;
  std::size_t tag_count = 0;
};

class MatchRequest {
 public:
  explicit MatchRequest(const RequestView& view);

  const RequestView& view;
  std::string host;       // lowercase, without port
  std::string host_port;  // lowercase "host:port" with the effective port
  std::string url_host;   // lowercase url.host form: ":port" only when not the scheme default
  bool outbound;

  // The body parsed as JSON, once, on first use; nullptr when it is not JSON.
  const nlohmann::json* body_json() const;

 private:
  mutable bool body_parsed_ = false;
  mutable std::optional<nlohmann::json> body_json_;
};

}  // namespace softprobe::core
