// The proxy OTLP client (sp_otlp_encode_inject, sp_otlp_encode_extract,
// sp_otlp_decode_inject_answer): what a proxy deciding through a remote
// runtime sends to /v1/inject and /v1/traces, and how it reads the answer.
// Experimental, like the server side (otlp_api.cc).
#ifndef SOFTPROBE_EXPERIMENTAL
#define SOFTPROBE_EXPERIMENTAL 1
#endif
#include <cstring>
#include <memory>

#include "capture/capture.hpp"
#include "handles.hpp"
#include "otlp/otlp_traces.hpp"
#include "payload_format.hpp"
#include "request_adapter.hpp"
#include "session/session.hpp"
#include "support/text.hpp"

using namespace softprobe::core;
using capi::format_arg;
using capi::guarded;
using capi::require;

namespace {

// Bytes out: a malloc'ed copy (NUL-terminated too) and its length.
void give(char** out, size_t* out_len, const std::string& bytes) {
  *out = capi::dup_string(bytes);
  *out_len = bytes.size();
}

std::string encode_one(const capi::RequestAdapter& req, const ResponseView* response, const char* session_id,
                       size_t session_id_len, const ExchangeTiming& timing, const char* span_type,
                       sp_payload_format format) {
  PayloadFormat fmt = format_arg(format, "format");
  if (session_id_len > kMaxSessionIdBytes)
    capi::invalid("session_id is " + std::to_string(session_id_len) + " bytes, longer than any session id (at most " +
                  std::to_string(kMaxSessionIdBytes) + ")");
  std::string sid = capi::text_arg(session_id, session_id_len, "session_id");
  HttpExchange ex = exchange_from_views(req.v, response, timing, sid);
  ex.span_type = span_type;
  return encode_traces({ex}, fmt);
}

}  // namespace

extern "C" {

sp_status sp_otlp_encode_inject(char** out, size_t* out_len, const sp_request* request, const char* session_id,
                                size_t session_id_len, sp_payload_format format) {
  return guarded([&] {
    require(out, "out");
    require(out_len, "out_len");
    capi::RequestAdapter req(request);
    give(out, out_len, encode_one(req, nullptr, session_id, session_id_len, {}, "inject", format));
  });
}

sp_status sp_otlp_encode_extract(char** out, size_t* out_len, const sp_request* request, const sp_response* response,
                                 const char* session_id, size_t session_id_len, uint64_t start_unix_nano,
                                 uint64_t end_unix_nano, sp_payload_format format) {
  return guarded([&] {
    require(out, "out");
    require(out_len, "out_len");
    require(response, "response");
    capi::RequestAdapter req(request);
    capi::ResponseAdapter resp(response);
    give(out, out_len,
         encode_one(req, resp.get(), session_id, session_id_len, {start_unix_nano, end_unix_nano}, "extract", format));
  });
}

sp_status sp_otlp_decode_inject_answer(sp_decision** out, const char* payload, size_t len, sp_payload_format format) {
  return guarded([&] {
    require(out, "out");
    if (!payload && len) capi::invalid("payload is NULL but len > 0");
    PayloadFormat fmt = format_arg(format, "format");
    std::vector<HttpExchange> spans = decode_traces(payload ? std::string_view(payload, len) : std::string_view(), fmt);
    for (auto& span : spans) {
      if (!span.status) continue;
      auto response = std::make_shared<Response>();
      response->status = *span.status;
      response->headers = std::move(span.response_headers);
      response->body = std::move(span.response_body);
      auto d = std::make_unique<sp_decision>();
      d->decision.outcome = Action::mock;
      for (const auto& [name, value] : response->headers)
        if (text::iequals(name, "x-softprobe-strict-miss") && value == "1") {
          d->decision.outcome = Action::error;
          d->decision.strict_miss = true;
        }
      d->decision.response = std::move(response);
      *out = d.release();
      return;
    }
    throw Error(ErrorCode::invalid_case, spans.empty() ? "inject answer: the payload has no span"
                                                       : "inject answer: no span carries http.response.status_code");
  });
}

}  // extern "C"
