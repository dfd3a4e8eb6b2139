#include "request/fingerprint.hpp"

#include "support/text.hpp"

namespace softprobe::core {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash) noexcept {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string request_fingerprint(std::string_view method, std::string_view url_host, std::string_view path,
                                std::string_view body) {
  std::string input = text::to_upper(method);
  input += '\n';
  input += text::to_lower(url_host);
  input += '\n';
  input += path;
  input += '\n';
  input += text::hex64(fnv1a64(body));
  return text::hex64(fnv1a64(input));
}

}  // namespace softprobe::core
