// HTTP field syntax (RFC 9110 section 5): what may appear in a header name
// and value that the core hands to real HTTP clients and proxies.
#pragma once

#include <string>
#include <string_view>

namespace softprobe::core::http {

// A field name: a non-empty RFC 9110 token (letters, digits, !#$%&'*+-.^_`|~).
bool is_token(std::string_view name) noexcept;

// The offset of the first byte not allowed in a field value (CR, LF, NUL and
// every other control but HTAB), or std::string::npos when the value is valid.
std::size_t invalid_field_value_at(std::string_view value) noexcept;

// "CR (0x0d)", "NUL (0x00)", "0x7f": for error messages.
std::string describe_byte(char c);

}  // namespace softprobe::core::http
