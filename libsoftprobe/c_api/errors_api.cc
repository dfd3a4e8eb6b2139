// sp_last_error, sp_status_name, sp_string_free, versions, logging.
#include <cstdlib>

#include <algorithm>
#include "request/fingerprint.hpp"
#include "support/json_document.hpp"
#include "support/log.hpp"
#include "support/text.hpp"

#include "handles.hpp"

namespace softprobe::core::capi {

namespace {
thread_local std::string t_message;
thread_local std::string t_details = "{}";
thread_local std::string t_warnings = "[]";
thread_local bool t_has_warnings = false;
}  // namespace

void clear_last_warnings() noexcept {
  if (!t_has_warnings) return;  // the common case costs one test
  t_warnings = "[]";
  t_has_warnings = false;
}

void add_last_warnings(const std::vector<std::string>& warnings) {
  if (warnings.empty()) return;
  nlohmann::json list = t_has_warnings ? nlohmann::json::parse(t_warnings) : nlohmann::json::array();
  for (const auto& w : warnings) list.push_back(w);
  t_warnings = list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  t_has_warnings = true;
}

void set_last_error(sp_status, const std::string& message, const std::string& details_json) {
  t_message = message;
  t_details = details_json;
}

void clear_last_error() noexcept {
  t_message.clear();
  t_details = "{}";
}

nlohmann::json parse_json_arg(const char* text, std::size_t len, const char* what) {
  if (!text) invalid(std::string(what) + " must not be NULL");
  return parse_json_document(std::string_view(text, len), what);
}

std::string text_arg(const char* s, std::size_t len, const char* what) {
  if (!s || len == 0) return {};
  std::string_view v(s, len);
  if (auto nul = v.find('\0'); nul != std::string_view::npos)
    throw Error(ErrorCode::invalid_argument,
                std::string(what) + " contains a NUL byte (at byte " + std::to_string(nul) + ")",
                {{"field", what}, {"offset", nul}});
  return std::string(v);
}

}  // namespace softprobe::core::capi

using namespace softprobe::core;

extern "C" {

unsigned sp_version_number(void) { return SOFTPROBE_VERSION_NUMBER; }
const char* sp_version_string(void) { return SOFTPROBE_VERSION_STRING; }

int sp_abi_compatible(unsigned major, unsigned minor) {
  if (major != SOFTPROBE_VERSION_MAJOR) return 0;
  if (major == 0) return minor == SOFTPROBE_VERSION_MINOR ? 1 : 0;  // before 1.0 a minor may break
  return minor <= SOFTPROBE_VERSION_MINOR ? 1 : 0;                  // from 1.0 minors only add
}

const char* sp_status_name(sp_status status) {
  switch (status) {
    case SP_OK: return "SP_OK";
    case SP_E_INVALID_ARGUMENT: return "SP_E_INVALID_ARGUMENT";
    case SP_E_INVALID_JSON: return "SP_E_INVALID_JSON";
    case SP_E_INVALID_CASE: return "SP_E_INVALID_CASE";
    case SP_E_INVALID_RULE: return "SP_E_INVALID_RULE";
    case SP_E_INVALID_POLICY: return "SP_E_INVALID_POLICY";
    case SP_E_LIMIT_EXCEEDED: return "SP_E_LIMIT_EXCEEDED";
    case SP_E_UNKNOWN_SESSION: return "SP_E_UNKNOWN_SESSION";
    case SP_E_CASE_LOOKUP: return "SP_E_CASE_LOOKUP";
    case SP_E_IO: return "SP_E_IO";
    case SP_E_SESSION_CLOSED: return "SP_E_SESSION_CLOSED";
    case SP_E_WRONG_MODE: return "SP_E_WRONG_MODE";
    case SP_E_OUT_OF_MEMORY: return "SP_E_OUT_OF_MEMORY";
    case SP_E_RUNTIME: return "SP_E_RUNTIME";
    case SP_E_INTERNAL: return "SP_E_INTERNAL";
  }
  return "SP_E_UNKNOWN_STATUS";
}

const char* sp_last_error(void) { return capi::t_message.c_str(); }
const char* sp_last_error_details(void) { return capi::t_details.c_str(); }
const char* sp_last_warnings(void) { return capi::t_warnings.c_str(); }

void sp_string_free(char* s) { std::free(s); }

sp_status sp_request_fingerprint(char** out, sp_str method, sp_str host, sp_str path, sp_str body) {
  return capi::guarded([&] {
    capi::require(out, "out");
    *out = capi::dup_string(request_fingerprint(capi::checked_view(method, "method"), capi::checked_view(host, "host"),
                                                capi::checked_view(path, "path"), capi::checked_view(body, "body")));
  });
}

sp_status sp_set_log_level(const char* level, size_t len) {
  return capi::guarded([&] {
    LogLevel parsed;
    if (!level && len) capi::invalid("level is NULL but len is " + std::to_string(len));
    std::string name = capi::text_arg(level, std::min<size_t>(len, 64), "level");
    if (len > 64 || !parse_log_level(name, parsed))
      capi::invalid("log level must be debug, info, warn, error or off, got \"" + name + (len > 64 ? "...\"" : "\""));
    set_log_level(parsed);
  });
}

void sp_set_log_handler(sp_log_handler handler, void* user_data) { set_log_sink(handler, user_data); }

}  // extern "C"
