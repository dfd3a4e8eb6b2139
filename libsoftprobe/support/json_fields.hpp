// Optional fields of the JSON documents the core reads (rules, policy,
// session options, auth fixtures, cases): a key that is absent and a key whose
// value is null mean the same thing, "not given". The reference clients send
// nulls for fields they have no value for (the CLI's `suite run` posts inline
// mocks with "headers": null), so every parser asks these functions, never
// `contains` or `is_null` on its own. A null for a required field is still an
// error, which the parser words as "is required" naming the field.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "support/errors.hpp"

namespace softprobe::core {

// True when a member's value stands for "not given" (JSON null).
inline bool field_absent(const nlohmann::json& value) noexcept { return value.is_null(); }

// The value of the optional field `key` of `object`: nullptr when the key is
// absent, its value is null, or `object` is not an object.
inline const nlohmann::json* optional_field(const nlohmann::json& object, const std::string& key) noexcept {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || field_absent(*it)) return nullptr;
  return &*it;
}

// True when `object` has the field `key` with a value other than null.
inline bool has_field(const nlohmann::json& object, const std::string& key) noexcept {
  return optional_field(object, key) != nullptr;
}

// For a parser that walks an object's members: true when the member `key` is
// null and `key` is one of `known`, an optional field left out, which the walk
// skips. A null under an unknown key is not skipped, so the parser's
// unknown-key error still names a misspelt field.
inline bool skip_null_field(const std::string& key, const nlohmann::json& value,
                            std::initializer_list<const char*> known) noexcept {
  if (!field_absent(value)) return false;
  for (const char* k : known)
    if (key == k) return true;
  return false;
}

// The optional field `key` as an array / a string: nullptr / "" when not
// given; a value of another type throws Error(code) "<where>.<key>: must be
// an array" (or "a string") with details {path}.
inline const nlohmann::json* optional_array_field(const nlohmann::json& object, const char* key,
                                                  const std::string& where, ErrorCode code) {
  const nlohmann::json* v = optional_field(object, key);
  if (v && !v->is_array()) throw Error(code, where + "." + key + ": must be an array", {{"path", where + "." + key}});
  return v;
}
inline std::string optional_string_field(const nlohmann::json& object, const char* key, const std::string& where,
                                         ErrorCode code) {
  const nlohmann::json* v = optional_field(object, key);
  if (!v) return {};
  if (!v->is_string()) throw Error(code, where + "." + key + ": must be a string", {{"path", where + "." + key}});
  return v->get<std::string>();
}

}  // namespace softprobe::core
