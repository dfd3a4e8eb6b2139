#include "http_response.hpp"

#include <nlohmann/json.hpp>

#include "softprobe.h"

namespace softprobe::runtime {

std::optional<std::string> Call::query(std::string_view name) const {
  return net::query_param(req.parsed_target().query, name);
}

void send_json(net::Response& res, int status, std::string body) {
  send_bytes(res, status, std::move(body), "application/json");
}

void send_bytes(net::Response& res, int status, std::string body, const char* content_type) {
  res.status = status;
  res.body = std::move(body);
  net::set_header(res.headers, "Content-Type", content_type);
}

void send_error(net::Response& res, int status, std::string_view code, std::string_view message,
                std::string_view details_json) {
  nlohmann::ordered_json error = {{"code", code}, {"message", message}};
  if (details_json.size() > 2) {
    auto details = nlohmann::ordered_json::parse(details_json, nullptr, false);
    if (details.is_object() && !details.empty()) error["details"] = std::move(details);
  }
  nlohmann::ordered_json envelope = {{"error", std::move(error)}};
  send_json(res, status, envelope.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

int http_status_for(sp_status status) noexcept {
  switch (status) {
    case SP_OK: return 200;
    case SP_E_INVALID_ARGUMENT:
    case SP_E_INVALID_JSON:
    case SP_E_INVALID_CASE:
    case SP_E_INVALID_RULE:
    case SP_E_INVALID_POLICY:
    case SP_E_LIMIT_EXCEEDED:
    case SP_E_CASE_LOOKUP:
    case SP_E_WRONG_MODE: return 400;
    case SP_E_UNKNOWN_SESSION:
    case SP_E_SESSION_CLOSED: return 404;
    case SP_E_IO:
    case SP_E_OUT_OF_MEMORY:
    case SP_E_INTERNAL: return 500;
    case SP_E_RUNTIME: return 502;  // the runtime does not call another runtime today
  }
  return 500;
}

const char* error_code_for(sp_status status) noexcept {
  switch (http_status_for(status)) {
    case 400: return "invalid_request";
    case 404: return "unknown_session";
    default: return "internal_error";
  }
}

void send_core_error(net::Response& res, const softprobe::Error& e) {
  send_error(res, http_status_for(e.status()), error_code_for(e.status()), e.what(), e.details());
}

void send_core_error(net::Response& res, sp_status status) {
  send_error(res, http_status_for(status), error_code_for(status), sp_last_error(), sp_last_error_details());
}

}  // namespace softprobe::runtime
