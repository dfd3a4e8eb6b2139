#include "request/http_syntax.hpp"

#include <cstdint>

namespace softprobe::core::http {

bool is_token(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char ch : name) {
    unsigned char c = std::uint8_t(ch);
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) continue;
    switch (c) {
      case '!':
      case '#':
      case '$':
      case '%':
      case '&':
      case '\'':
      case '*':
      case '+':
      case '-':
      case '.':
      case '^':
      case '_':
      case '`':
      case '|':
      case '~': continue;
      default: return false;
    }
  }
  return true;
}

std::size_t invalid_field_value_at(std::string_view value) noexcept {
  for (std::size_t i = 0; i < value.size(); ++i) {
    unsigned char c = std::uint8_t(value[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return i;
  }
  return std::string::npos;
}

std::string describe_byte(char ch) {
  static const char* const kHex = "0123456789abcdef";
  unsigned char c = std::uint8_t(ch);
  std::string hex = std::string("0x") + kHex[c >> 4] + kHex[c & 0xf];
  switch (c) {
    case '\r': return "CR (" + hex + ")";
    case '\n': return "LF (" + hex + ")";
    case 0: return "NUL (" + hex + ")";
    default: return hex;
  }
}

}  // namespace softprobe::core::http
