// The request fingerprint (contract section 5). Definition, stable across
// platforms, bindings and versions:
//
//   fnv1a64(x)  = 64-bit FNV-1a over the bytes of x
//                 (offset basis 0xcbf29ce484222325, prime 0x100000001b3)
//   hex(v)      = 16 lowercase hex digits, most significant first
//   fingerprint = hex(fnv1a64(UPPER(method) "\n" lower(urlHost) "\n" path "\n" hex(fnv1a64(body))))
//
// urlHost is the url.host form: the host, with ":port" only when the port is
// not the scheme default. `path` excludes the query string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace softprobe::core {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 0xcbf29ce484222325ULL) noexcept;

std::string request_fingerprint(std::string_view method, std::string_view url_host, std::string_view path,
                                std::string_view body);

}  // namespace softprobe::core
