// A JSONPath subset for rule predicates (bodyJsonPath) and body redaction:
// $  .name  ['name']  ["name"]  [0]  [-1]  [*]  .*  ..name  ..*
// Filters and slices are not supported and are rejected when parsed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace softprobe::core {

class JsonPath {
 public:
  // Throws Error(invalid_argument) with the offending character position.
  static JsonPath parse(std::string_view expression);

  const std::string& expression() const noexcept { return expression_; }

  // Appends every node the path selects.
  void select(const nlohmann::json& root, std::vector<const nlohmann::json*>& out) const;
  void select(nlohmann::json& root, std::vector<nlohmann::json*>& out) const;

 private:
  struct Step {
    enum Kind { key, index, wildcard, descend_key, descend_wildcard } kind;
    std::string name;
    long long position = 0;
  };
  template <class Json>
  static void walk(Json& node, const std::vector<Step>& steps, std::size_t i, std::vector<Json*>& out);
  template <class Json>
  static void descend(Json& node, const std::vector<Step>& steps, std::size_t i, std::vector<Json*>& out);

  std::string expression_;
  std::vector<Step> steps_;
};

}  // namespace softprobe::core
