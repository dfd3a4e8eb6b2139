#include "support/json_document.hpp"

#include <cstring>
#include <limits>
#include <string>

#include "support/text.hpp"

namespace softprobe::core {

namespace {

using nlohmann::json;

struct Place {
  std::size_t byte = 0, line = 1, column = 1;
};

Place place_of(std::string_view text, std::size_t byte) {
  Place p;
  p.byte = byte < text.size() ? byte : text.size();
  for (std::size_t i = 0; i < p.byte; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

std::string at(const Place& p) {
  return "at line " + std::to_string(p.line) + ", column " + std::to_string(p.column) + " (byte " +
         std::to_string(p.byte) + ")";
}

json place_details(const Place& p) { return {{"byte", p.byte}, {"line", p.line}, {"column", p.column}}; }

// The DOM builder nlohmann::json::parse uses, which also keeps the position
// of the first error: out_of_range errors (a number too large for a double)
// carry none of their own.
class LocatingSax : public nlohmann::detail::json_sax_dom_parser<json> {
 public:
  using nlohmann::detail::json_sax_dom_parser<json>::json_sax_dom_parser;
  template <class Exception>
  bool parse_error(std::size_t position, const std::string&, const Exception& ex) {
    error_byte = position;
    message = ex.what();
    return false;
  }
  std::size_t error_byte = 0;
  std::string message;
};

// nlohmann prefixes messages with "[json.exception.parse_error.101] parse
// error at line 1, column 3: "; the place is reported our way instead.
std::string reason_of(const std::string& message) {
  std::string_view m = message;
  if (auto close = m.find("] "); close != std::string_view::npos && m.rfind("[json.exception.", 0) == 0)
    m.remove_prefix(close + 2);
  if (auto colon = m.find(": "); colon != std::string_view::npos && m.rfind("parse error", 0) == 0)
    m.remove_prefix(colon + 2);
  return std::string(m);
}

}  // namespace

json parse_json_document(std::string_view text, std::string_view what, const JsonDocumentOptions& options) {
  const std::string name(what);
  if (const void* nul = std::memchr(text.data(), 0, text.size())) {
    Place p = place_of(text, std::size_t(static_cast<const char*>(nul) - text.data()));
    throw Error(ErrorCode::invalid_json,
                name + " contains a NUL byte " + at(p) + ": JSON text never has one (was it cut at a C string?)",
                place_details(p));
  }
  if (auto deep = text::json_depth_exceeded_at(text, options.max_depth); deep != std::string_view::npos) {
    Place p = place_of(text, deep);
    json details = place_details(p);
    details["limit"] = options.depth_limit_name;
    details["max"] = options.max_depth;
    throw Error(options.depth_code,
                name + " nests arrays/objects deeper than " + std::to_string(options.max_depth) + " levels " + at(p),
                details);
  }
  json doc;
  LocatingSax sax(doc, /*allow_exceptions=*/false);
  bool ok;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json, /*strict=*/true);
  } catch (const json::exception& e) {  // defensive: the SAX above does not throw
    throw Error(ErrorCode::invalid_json, name + " is not valid JSON: " + reason_of(e.what()));
  }
  if (!ok || sax.is_errored()) {
    // nlohmann reports the position one past the offending character.
    Place p = place_of(text, sax.error_byte > 0 ? sax.error_byte - 1 : 0);
    throw Error(ErrorCode::invalid_json, name + " is not valid JSON: " + reason_of(sax.message) + " " + at(p),
                place_details(p));
  }
  return doc;
}

std::optional<std::int64_t> json_int64(const json& v) noexcept {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > std::uint64_t(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return std::int64_t(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

std::optional<std::int64_t> json_int_in(const json& v, std::int64_t min, std::int64_t max) noexcept {
  auto i = json_int64(v);
  if (!i || *i < min || *i > max) return std::nullopt;
  return i;
}

std::optional<json> try_parse_json_body(std::string_view text) {
  if (text.empty() || std::memchr(text.data(), 0, text.size()) ||
      text::json_depth_exceeded_at(text) != std::string_view::npos)
    return std::nullopt;
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::nullopt;
  return doc;
}

}  // namespace softprobe::core
