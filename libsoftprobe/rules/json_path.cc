#include "rules/json_path.hpp"

#include <charconv>

#include "support/errors.hpp"

namespace softprobe::core {

namespace {

[[noreturn]] void fail(std::string_view expr, std::size_t pos, const std::string& what) {
  throw Error(ErrorCode::invalid_argument,
              "JSONPath \"" + std::string(expr) + "\" at position " + std::to_string(pos) + ": " + what,
              {{"position", pos}});
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

}  // namespace

JsonPath JsonPath::parse(std::string_view expr) {
  JsonPath path;
  path.expression_ = std::string(expr);
  if (expr.empty() || expr[0] != '$') fail(expr, 0, "must start with '$'");
  std::size_t i = 1;
  while (i < expr.size()) {
    char c = expr[i];
    if (c == '.') {
      bool deep = i + 1 < expr.size() && expr[i + 1] == '.';
      i += deep ? 2 : 1;
      if (i < expr.size() && expr[i] == '*') {
        path.steps_.push_back({deep ? Step::descend_wildcard : Step::wildcard, {}, 0});
        ++i;
        continue;
      }
      std::size_t start = i;
      while (i < expr.size() && is_name_char(expr[i])) ++i;
      if (i == start) fail(expr, start, "expected a member name after '.'");
      path.steps_.push_back({deep ? Step::descend_key : Step::key, std::string(expr.substr(start, i - start)), 0});
    } else if (c == '[') {
      ++i;
      if (i >= expr.size()) fail(expr, i, "unterminated '['");
      if (expr[i] == '*') {
        path.steps_.push_back({Step::wildcard, {}, 0});
        ++i;
      } else if (expr[i] == '\'' || expr[i] == '"') {
        char quote = expr[i++];
        std::string name;
        while (i < expr.size() && expr[i] != quote) {
          if (expr[i] == '\\' && i + 1 < expr.size()) ++i;
          name.push_back(expr[i++]);
        }
        if (i >= expr.size()) fail(expr, i, "unterminated quoted name");
        ++i;
        path.steps_.push_back({Step::key, std::move(name), 0});
      } else {
        long long n = 0;
        auto [ptr, ec] = std::from_chars(expr.data() + i, expr.data() + expr.size(), n);
        if (ec != std::errc())
          fail(expr, i, "expected an index, a quoted name or '*' (filters and slices are not supported)");
        i = std::size_t(ptr - expr.data());
        path.steps_.push_back({Step::index, {}, n});
      }
      if (i >= expr.size() || expr[i] != ']') fail(expr, i, "expected ']'");
      ++i;
    } else {
      fail(expr, i, std::string("unexpected character '") + c + "'");
    }
  }
  return path;
}

template <class Json>
void JsonPath::descend(Json& node, const std::vector<Step>& steps, std::size_t i, std::vector<Json*>& out) {
  const Step& step = steps[i];
  if (step.kind == Step::descend_wildcard) {
    if (node.is_structured())
      for (auto& child : node) walk(child, steps, i + 1, out);
  } else if (node.is_object()) {
    auto it = node.find(step.name);
    if (it != node.end()) walk(*it, steps, i + 1, out);
  }
  if (node.is_structured())
    for (auto& child : node) descend(child, steps, i, out);
}

template <class Json>
void JsonPath::walk(Json& node, const std::vector<Step>& steps, std::size_t i, std::vector<Json*>& out) {
  if (i == steps.size()) {
    out.push_back(&node);
    return;
  }
  const Step& step = steps[i];
  switch (step.kind) {
    case Step::key:
      if (node.is_object()) {
        auto it = node.find(step.name);
        if (it != node.end()) walk(*it, steps, i + 1, out);
      }
      break;
    case Step::index:
      if (node.is_array()) {
        long long n = step.position < 0 ? (long long)node.size() + step.position : step.position;
        if (n >= 0 && n < (long long)node.size()) walk(node[std::size_t(n)], steps, i + 1, out);
      }
      break;
    case Step::wildcard:
      if (node.is_structured())
        for (auto& child : node) walk(child, steps, i + 1, out);
      break;
    case Step::descend_key:
    case Step::descend_wildcard: descend(node, steps, i, out); break;
  }
}

void JsonPath::select(const nlohmann::json& root, std::vector<const nlohmann::json*>& out) const {
  walk(root, steps_, 0, out);
}

void JsonPath::select(nlohmann::json& root, std::vector<nlohmann::json*>& out) const { walk(root, steps_, 0, out); }

}  // namespace softprobe::core
