#include "capture/redaction.hpp"

#include <algorithm>
#include <unordered_set>

#include "support/errors.hpp"
#include "support/json_document.hpp"
#include "support/json_fields.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

void redact_headers(Headers& headers, const std::vector<std::string>& names) {
  for (auto& header : headers)
    if (std::any_of(names.begin(), names.end(), [&](const std::string& n) { return text::iequals(n, header.first); }))
      header.second = kRedacted;
}

// Replaces every selected node, outermost first, without descending into a
// replaced one. Selections overlap ($.user with $.user.token, or $..*):
// assigning to a node frees its children, so a child selected too must never
// be written after its parent (that was a use-after-free).
void replace_selected(nlohmann::json& node, const std::unordered_set<const nlohmann::json*>& selected) {
  if (selected.count(&node)) {
    node = kRedacted;
    return;
  }
  if (node.is_structured())
    for (auto& child : node) replace_selected(child, selected);
}

void redact_body(std::string& body, const std::vector<JsonPath>& paths) {
  if (paths.empty() || body.empty()) return;
  auto doc = try_parse_json_body(body);
  if (!doc) return;
  std::vector<nlohmann::json*> hits;
  for (const auto& p : paths) p.select(*doc, hits);
  if (hits.empty()) return;
  replace_selected(*doc, std::unordered_set<const nlohmann::json*>(hits.begin(), hits.end()));
  body = doc->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
    if (skip_null_field(key, v, {"enabled", "headers", "bodyJsonPaths"})) continue;  // null: the default
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

}  // namespace softprobe::core
