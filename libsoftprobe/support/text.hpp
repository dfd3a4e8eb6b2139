// Small string helpers shared by the core: ASCII case folding, hex, base64,
// JSON string escaping. ASCII only on purpose: HTTP methods, header names and
// host names are ASCII on the wire.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace softprobe::core::text {

std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b) noexcept;
bool ends_with_ci(std::string_view s, std::string_view suffix) noexcept;
bool starts_with(std::string_view s, std::string_view prefix) noexcept;

// Lowercase 16-digit hex of a 64-bit value.
std::string hex64(std::uint64_t v);
std::string hex_bytes(const unsigned char* data, std::size_t len);

std::string base64_encode(std::string_view bytes);
// Returns false on characters outside the standard alphabet or bad padding.
bool base64_decode(std::string_view text, std::string& out);

// True when `s` is well-formed UTF-8 (the case format stores such bodies as
// stringValue, anything else as bytesValue).
bool is_valid_utf8(std::string_view s) noexcept;

// Nesting limit for JSON the core parses: deeper documents are refused
// before parsing (a recursive walk of such a document would overflow the stack).
inline constexpr std::size_t kMaxJsonDepth = 256;

// The byte offset where JSON text first nests deeper than `max_depth`
// arrays/objects, or npos. Strings (and escapes in them) are skipped.
std::size_t json_depth_exceeded_at(std::string_view json, std::size_t max_depth = kMaxJsonDepth) noexcept;

// Appends `s` as a quoted JSON string literal.
void append_json_string(std::string& out, std::string_view s);

}  // namespace softprobe::core::text
