#include "support/errors.hpp"

namespace softprobe::core {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::invalid_json: return "invalid_json";
    case ErrorCode::invalid_case: return "invalid_case";
    case ErrorCode::invalid_rule: return "invalid_rule";
    case ErrorCode::invalid_policy: return "invalid_policy";
    case ErrorCode::limit_exceeded: return "limit_exceeded";
    case ErrorCode::unknown_session: return "unknown_session";
    case ErrorCode::case_lookup: return "case_lookup";
    case ErrorCode::io: return "io";
    case ErrorCode::session_closed: return "session_closed";
    case ErrorCode::wrong_mode: return "wrong_mode";
    case ErrorCode::out_of_memory: return "out_of_memory";
    case ErrorCode::runtime: return "runtime";
    case ErrorCode::internal: return "internal";
  }
  return "unknown";
}

void limit_error(const std::string& where, const char* limit, std::size_t max, std::size_t actual,
                 const std::string& what) {
  throw Error(ErrorCode::limit_exceeded,
              where + ": " + what + " " + std::to_string(actual) + ", over the limit of " + std::to_string(max) +
                  " (raise " + limit + " to accept it)",
              {{"path", where}, {"limit", limit}, {"max", max}, {"actual", actual}});
}

}  // namespace softprobe::core
