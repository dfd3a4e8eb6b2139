// Bearer-token authentication of the /v1/... routes (contract section 6).
#pragma once

#include <string>
#include <string_view>

namespace softprobe::runtime {

enum class AuthResult { ok, missing, invalid };

// ok when no token is configured or `authorization` (the request's
// Authorization header, nullptr when absent) is "Bearer <token>"; missing
// (401) without a bearer token; invalid (403) with a wrong one. Compares in
// constant time.
AuthResult check_bearer(const std::string* authorization, const std::string& token);

// Every /v1/... path needs the token; /health and /metrics do not.
bool requires_auth(std::string_view path) noexcept;

}  // namespace softprobe::runtime
