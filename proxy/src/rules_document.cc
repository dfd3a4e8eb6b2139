#include "rules_document.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "softprobe.hpp"

namespace softprobe::proxy {

namespace {

// A YAML node as JSON: scalars that read as numbers or booleans become
// numbers and booleans unless quoted; null is null.
nlohmann::json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : n) a.push_back(yaml_to_json(item));
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n)
        o[kv.first.as<std::string>()] = yaml_to_json(kv.second);  // (throws for a non-scalar key)
      return o;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted: a string
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      if (s == "null" || s == "~") return nullptr;
      auto number = nlohmann::json::parse(s, nullptr, false);
      if (number.is_number()) return number;
      return s;
    }
  }
  return nullptr;
}

[[noreturn]] void invalid_rules(const std::string& message) {
  throw softprobe::Error(SP_E_INVALID_RULE, message, "{}");
}

}  // namespace

std::string rules_document_as_json(const std::string& text, const std::string& where) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) return text;  // JSON as it is
  nlohmann::json doc;
  try {
    doc = yaml_to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    invalid_rules(where + ": not JSON, and not YAML: " + e.what());
  }
  try {
    return doc.dump();
  } catch (const nlohmann::json::exception&) {
    invalid_rules(where + ": a YAML string in it is not valid UTF-8");
  }
}

std::string rules_file_as_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw softprobe::Error(SP_E_IO, "--rules " + path + ": cannot be read", "{}");
  std::stringstream text;
  text << in.rdbuf();
  return rules_document_as_json(text.str(), "--rules " + path);
}

}  // namespace softprobe::proxy
