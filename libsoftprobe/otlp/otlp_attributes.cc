#include "otlp/otlp_attributes.hpp"

#include <charconv>

#include "support/errors.hpp"
#include "support/json_document.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::invalid_case, where + ": " + what, {{"path", where}});
}

void check_length(const std::string& where, std::size_t len, std::size_t max) {
  if (len > max)
    throw Error(ErrorCode::limit_exceeded,
                where + ": value is " + std::to_string(len) + " bytes, over the limit of " + std::to_string(max) +
                    " bytes per string attribute (raise maxStringBytes to accept it)",
                {{"path", where}, {"limit", "maxStringBytes"}, {"max", max}, {"actual", len}});
}

std::int64_t parse_int(const nlohmann::json& v, const std::string& where) {
  if (v.is_number_integer()) {
    if (auto i = json_int64(v)) return *i;
    fail(where, "intValue " + v.dump() + " is out of the int64 range");
  }
  if (v.is_number_float()) {
    // Converting a double outside the int64 range is undefined: check first.
    double d = v.get<double>();
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
      fail(where, "intValue " + v.dump() + " is out of the int64 range");
    if (d == double(std::int64_t(d))) return std::int64_t(d);
    fail(where, "intValue is not an integer");
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    std::int64_t out = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc() || ptr != s.data() + s.size() || s.empty())
      fail(where, "intValue \"" + s + "\" is not a decimal integer");
    return out;
  }
  fail(where, "intValue must be a number or a decimal string");
}

}  // namespace

void decode_any_value(const nlohmann::json& value, const std::string& where, std::size_t max_string_bytes,
                      Attribute& out) {
  if (!value.is_object()) fail(where, "an AnyValue must be a JSON object");
  if (value.empty()) {
    out.kind = AttributeKind::empty;
    out.text.clear();
    return;
  }
  if (value.size() != 1)
    fail(where,
         "an AnyValue must have exactly one of stringValue, intValue, boolValue, doubleValue, bytesValue, arrayValue, "
         "kvlistValue");
  auto only = value.begin();  // (a structured binding to items() would dangle)
  const std::string& key = only.key();
  const nlohmann::json& v = only.value();
  if (key == "stringValue") {
    if (!v.is_string()) fail(where + ".stringValue", "must be a string");
    check_length(where + ".stringValue", v.get_ref<const std::string&>().size(), max_string_bytes);
    out.kind = AttributeKind::string_value;
    out.text = v.get<std::string>();
  } else if (key == "intValue") {
    out.kind = AttributeKind::int_value;
    out.int_value = parse_int(v, where + ".intValue");
    out.text = std::to_string(out.int_value);
  } else if (key == "boolValue") {
    if (!v.is_boolean()) fail(where + ".boolValue", "must be true or false");
    out.kind = AttributeKind::bool_value;
    out.text = v.get<bool>() ? "true" : "false";
  } else if (key == "doubleValue") {
    double d;
    if (v.is_number()) d = v.get<double>();
    else if (v.is_string() && (v == "NaN" || v == "Infinity" || v == "-Infinity")) d = 0;  // proto3 JSON specials
    else fail(where + ".doubleValue", "must be a number");
    out.kind = AttributeKind::double_value;
    out.text = v.is_string() ? v.get<std::string>() : nlohmann::json(d).dump();
  } else if (key == "bytesValue") {
    if (!v.is_string()) fail(where + ".bytesValue", "must be a base64 string");
    if (!text::base64_decode(v.get_ref<const std::string&>(), out.text))
      fail(where + ".bytesValue", "is not valid base64");
    check_length(where + ".bytesValue", out.text.size(), max_string_bytes);
    out.kind = AttributeKind::bytes_value;
  } else if (key == "arrayValue") {
    if (!v.is_object() || (v.contains("values") && !v["values"].is_array()))
      fail(where + ".arrayValue", "must be an object with a \"values\" array");
    if (v.contains("values")) {
      Attribute item;
      std::size_t i = 0;
      for (const auto& elem : v["values"])
        decode_any_value(elem, where + ".arrayValue.values[" + std::to_string(i++) + "]", max_string_bytes, item);
    }
    out.kind = AttributeKind::array_value;
    out.text = v.dump();
  } else if (key == "kvlistValue") {
    if (!v.is_object() || (v.contains("values") && !v["values"].is_array()))
      fail(where + ".kvlistValue", "must be an object with a \"values\" array");
    if (v.contains("values")) decode_attributes(v["values"], where + ".kvlistValue.values", max_string_bytes);
    out.kind = AttributeKind::kvlist_value;
    out.text = v.dump();
  } else {
    fail(where, "unknown AnyValue kind \"" + key + "\"");
  }
}

std::vector<Attribute> decode_attributes(const nlohmann::json& list, const std::string& where,
                                         std::size_t max_string_bytes) {
  if (!list.is_array()) fail(where, "attributes must be an array");
  std::vector<Attribute> out;
  out.reserve(list.size());
  std::size_t i = 0;
  for (const auto& kv : list) {
    std::string at = where + "[" + std::to_string(i++) + "]";
    if (!kv.is_object()) fail(at, "an attribute must be an object with \"key\" and \"value\"");
    auto key = kv.find("key");
    if (key == kv.end() || !key->is_string()) fail(at, "attribute is missing a string \"key\"");
    Attribute attr;
    attr.key = key->get<std::string>();
    auto value = kv.find("value");
    if (value != kv.end()) decode_any_value(*value, at + ".value", max_string_bytes, attr);
    out.push_back(std::move(attr));
  }
  return out;
}

nlohmann::ordered_json string_attribute(const std::string& key, const std::string& value) {
  if (!text::is_valid_utf8(value)) return {{"key", key}, {"value", {{"bytesValue", text::base64_encode(value)}}}};
  return {{"key", key}, {"value", {{"stringValue", value}}}};
}

nlohmann::ordered_json int_attribute(const std::string& key, std::int64_t value) {
  return {{"key", key}, {"value", {{"intValue", value}}}};
}

nlohmann::ordered_json body_attribute(const std::string& key, const std::string& bytes) {
  return string_attribute(key, bytes);  // the same rule: text when UTF-8, else bytes
}

}  // namespace softprobe::core
