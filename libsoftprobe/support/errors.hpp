// Errors raised inside the core. Every one carries a stable code (mirrored by
// the C ABI's sp_status) and a JSON object of details (rule index, field,
// limit name, candidate spans...) so bindings can build precise exceptions.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace softprobe::core {

// Values are pinned: they are the C ABI's status codes and never change.
enum class ErrorCode : int {
  ok = 0,
  invalid_argument = -1,
  invalid_json = -2,
  invalid_case = -3,
  invalid_rule = -4,
  invalid_policy = -5,
  limit_exceeded = -6,
  unknown_session = -7,
  case_lookup = -8,
  io = -9,
  session_closed = -10,
  wrong_mode = -11,
  out_of_memory = -12,
  runtime = -13,  // a remote runtime could not be reached, or refused a call for a reason the core did not foresee
  internal = -99,
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, nlohmann::json details = nlohmann::json::object())
      : std::runtime_error(message), code_(code), details_(std::move(details)) {}
  ErrorCode code() const noexcept { return code_; }
  const nlohmann::json& details() const noexcept { return details_; }

 private:
  ErrorCode code_;
  nlohmann::json details_;
};

// Short machine name of a code ("invalid_rule"), used in details and logs.
const char* error_code_name(ErrorCode code) noexcept;

// Throws Error(limit_exceeded) "<where>: <what> <actual>, over the limit of
// <max> (raise <limit> to accept it)" with details {path, limit, max, actual}.
[[noreturn]] void limit_error(const std::string& where, const char* limit, std::size_t max, std::size_t actual,
                              const std::string& what);

}  // namespace softprobe::core
