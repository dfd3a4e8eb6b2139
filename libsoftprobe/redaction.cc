#include "redaction.hpp"

#include <algorithm>

#include "errors.hpp"
#include "text.hpp"

namespace softprobe {

namespace {

void redact_headers(Headers& headers, const std::vector<std::string>& names) {
  for (auto& header : headers)
    if (std::any_of(names.begin(), names.end(), [&](const std::string& n) { return text::iequals(n, header.first); }))
      header.second = kRedacted;
}

void redact_body(std::string& body, const std::vector<JsonPath>& paths) {
  if (paths.empty() || body.empty() || text::json_depth_exceeded_at(body) != std::string_view::npos) return;
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return;
  std::vector<nlohmann::json*> hits;
  for (const auto& p : paths) p.select(doc, hits);
  if (hits.empty()) return;
  for (auto* node : hits) *node = kRedacted;
  body = doc.dump();
}

[[noreturn]] void fail(const std::string& field, const std::string& what) {
  throw Error(ErrorCode::invalid_argument, "redaction." + field + ": " + what, {{"field", "redaction." + field}});
}

}  // namespace

void Redaction::apply(HttpExchange& ex) const {
  if (!enabled) return;
  redact_headers(ex.request_headers, request_headers);
  redact_headers(ex.response_headers, response_headers);
  redact_body(ex.request_body, body_paths);
  redact_body(ex.response_body, body_paths);
}

Redaction redaction_from_json(const nlohmann::json& j) {
  Redaction r;
  if (j.is_null()) return r;
  if (!j.is_object()) fail("", "must be an object");
  for (const auto& [key, v] : j.items()) {
    if (key == "enabled") {
      if (!v.is_boolean()) fail(key, "must be true or false");
      r.enabled = v.get<bool>();
    } else if (key == "headers") {
      if (!v.is_array()) fail(key, "must be an array of header names");
      for (const auto& h : v) {
        if (!h.is_string()) fail(key, "must be an array of header names");
        r.request_headers.push_back(text::to_lower(h.get<std::string>()));
        r.response_headers.push_back(text::to_lower(h.get<std::string>()));
      }
    } else if (key == "bodyJsonPaths") {
      if (!v.is_array()) fail(key, "must be an array of JSONPath strings");
      for (const auto& p : v) {
        if (!p.is_string()) fail(key, "must be an array of JSONPath strings");
        try {
          r.body_paths.push_back(JsonPath::parse(p.get<std::string>()));
        } catch (const Error& e) {
          fail(key, e.what());
        }
      }
    } else {
      fail(key, "unknown key (expected enabled, headers, bodyJsonPaths)");
    }
  }
  return r;
}

}  // namespace softprobe
