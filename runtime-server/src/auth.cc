#include "auth.hpp"

#include <cctype>

namespace softprobe::runtime {

namespace {

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

AuthResult check_bearer(const std::string* authorization, const std::string& token) {
  if (token.empty()) return AuthResult::ok;
  if (!authorization) return AuthResult::missing;
  std::string_view value = *authorization;
  constexpr std::string_view scheme = "bearer ";
  if (value.size() < scheme.size()) return AuthResult::missing;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i]) return AuthResult::missing;
  value.remove_prefix(scheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return AuthResult::missing;
  return constant_time_equal(value, token) ? AuthResult::ok : AuthResult::invalid;
}

bool requires_auth(std::string_view path) noexcept { return path.substr(0, 4) == "/v1/" || path == "/v1"; }

}  // namespace softprobe::runtime
