// OTLP JSON AnyValue / KeyValue decoding and encoding.
//
// Decoding accepts every AnyValue kind of the OTLP JSON encoding: stringValue,
// intValue (a JSON number or a decimal string, as proto3 JSON encodes int64),
// boolValue, doubleValue, bytesValue (base64), arrayValue and kvlistValue.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace softprobe::core {

enum class AttributeKind {
  string_value,
  int_value,
  bool_value,
  double_value,
  bytes_value,
  array_value,
  kvlist_value,
  empty
};

struct Attribute {
  std::string key;
  AttributeKind kind = AttributeKind::empty;
  // The value as text: the string, the decimal integer, "true"/"false", the
  // double, the decoded bytes, or compact JSON for arrays and kvlists.
  std::string text;
  std::int64_t int_value = 0;
};

// Decodes one AnyValue object. `where` is the JSON location used in errors
// ("traces[0]...attributes[3].value"). Throws Error(invalid_case) on a
// malformed value and Error(limit_exceeded) when a string or bytes value is
// longer than `max_string_bytes`.
void decode_any_value(const nlohmann::json& value, const std::string& where, std::size_t max_string_bytes,
                      Attribute& out);

// Decodes an OTLP `attributes` array.
std::vector<Attribute> decode_attributes(const nlohmann::json& list, const std::string& where,
                                         std::size_t max_string_bytes);

// Encoders used when writing case files. A string that is not valid UTF-8
// is written as base64 bytesValue, so nothing is lost or mangled.
nlohmann::ordered_json string_attribute(const std::string& key, const std::string& value);
nlohmann::ordered_json int_attribute(const std::string& key, std::int64_t value);
// stringValue when `bytes` is valid UTF-8, else base64 bytesValue (contract rule for bodies).
nlohmann::ordered_json body_attribute(const std::string& key, const std::string& bytes);

}  // namespace softprobe::core
