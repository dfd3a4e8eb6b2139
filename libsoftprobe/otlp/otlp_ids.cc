#include "otlp/otlp_ids.hpp"

#include "support/text.hpp"

namespace softprobe::core {

namespace {

bool is_hex_digit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

std::string canonical_span_id(std::string_view written, std::size_t id_bytes) {
  if (written.size() == 2 * id_bytes) {
    bool hex = true;
    for (char c : written) hex = hex && is_hex_digit(c);
    if (hex) return text::to_lower(written);
  }
  // base64 of id_bytes bytes: ceil(id_bytes / 3) * 4 characters with padding.
  const std::size_t padded = (id_bytes + 2) / 3 * 4;
  if (written.size() == padded || written.size() == (id_bytes * 4 + 2) / 3) {
    std::string bytes;
    if (text::base64_decode(written, bytes) && bytes.size() == id_bytes)
      return text::hex_bytes(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
  return std::string(written);
}

}  // namespace softprobe::core
