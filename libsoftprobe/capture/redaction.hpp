// Redaction before storage: secrets never reach a case file unless the user
// switches redaction off explicitly.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "request/http_exchange.hpp"
#include "rules/json_path.hpp"

namespace softprobe::core {

inline constexpr const char* kRedacted = "[REDACTED]";

struct Redaction {
  bool enabled = true;
  std::vector<std::string> request_headers{"authorization", "proxy-authorization", "cookie", "x-api-key"};
  std::vector<std::string> response_headers{"set-cookie"};
  std::vector<JsonPath> body_paths;  // applied to JSON request and response bodies

  // Replaces redacted header values and JSON body values in place.
  void apply(HttpExchange& ex) const;
};

// Reads {"enabled": bool, "headers": [names], "bodyJsonPaths": [paths]}:
// extra header names apply to requests and responses. Throws
// Error(invalid_argument) naming the field.
Redaction redaction_from_json(const nlohmann::json& j);

}  // namespace softprobe::core
