// The proxy OTLP API (sp_store_inject_otlp, sp_store_extract_otlp) and its
// result accessors: a thin shell over otlp_proxy. Experimental: softprobe.h
// declares it only under SOFTPROBE_EXPERIMENTAL, defined here before any
// include can pull the header in.
#ifndef SOFTPROBE_EXPERIMENTAL
#define SOFTPROBE_EXPERIMENTAL 1
#endif
#include "handles.hpp"
#include "otlp/otlp_proxy.hpp"
#include "payload_format.hpp"

using namespace softprobe::core;
using capi::format_arg;
using capi::guarded;
using capi::require;

struct sp_inject_result {
  InjectResult result;
};

struct sp_extract_result {
  ExtractResult result;
};

namespace {

std::string_view payload_arg(const char* payload, size_t len) {
  if (!payload && len) capi::invalid("payload is NULL but len > 0");
  return payload ? std::string_view(payload, len) : std::string_view();
}

}  // namespace

extern "C" {

sp_status sp_store_inject_otlp(sp_inject_result** out, sp_store* store, const char* payload, size_t len,
                               sp_payload_format in_format, sp_payload_format out_format) {
  return guarded([&] {
    require(out, "out");
    require(store, "store");
    PayloadFormat in = format_arg(in_format, "in_format"), fmt = format_arg(out_format, "out_format");
    *out = new sp_inject_result{inject_otlp(*store->store, payload_arg(payload, len), in, fmt)};
  });
}

void sp_inject_result_free(sp_inject_result* result) { delete result; }

sp_inject_outcome sp_inject_result_outcome(const sp_inject_result* r) {
  return r ? static_cast<sp_inject_outcome>(r->result.outcome) : SP_INJECT_STRICT_MISS;  // never "forward"
}

int sp_inject_result_http_status(const sp_inject_result* r) { return r ? r->result.http_status : 500; }

sp_str sp_inject_result_body(const sp_inject_result* r) {
  if (!r) return sp_str{nullptr, 0};
  return sp_str{r->result.body.data(), r->result.body.size()};
}

uint32_t sp_inject_result_latency_ms(const sp_inject_result* r) { return r ? r->result.latency_ms : 0; }

const char* sp_inject_result_session_id(const sp_inject_result* r) { return r ? r->result.session_id.c_str() : ""; }

const char* sp_inject_result_rule(const sp_inject_result* r) { return r ? r->result.rule.c_str() : ""; }

sp_status sp_store_extract_otlp(sp_extract_result** out, sp_store* store, const char* payload, size_t len,
                                sp_payload_format in_format, sp_payload_format out_format) {
  return guarded([&] {
    require(out, "out");
    require(store, "store");
    PayloadFormat in = format_arg(in_format, "in_format"), fmt = format_arg(out_format, "out_format");
    *out = new sp_extract_result{extract_otlp(*store->store, payload_arg(payload, len), in, fmt)};
  });
}

void sp_extract_result_free(sp_extract_result* result) { delete result; }

size_t sp_extract_result_recorded(const sp_extract_result* r) { return r ? r->result.recorded : 0; }
size_t sp_extract_result_rejected(const sp_extract_result* r) { return r ? r->result.rejected : 0; }
size_t sp_extract_result_ignored(const sp_extract_result* r) { return r ? r->result.ignored : 0; }
size_t sp_extract_result_to_replay(const sp_extract_result* r) { return r ? r->result.to_replay : 0; }
size_t sp_extract_result_without_session_id(const sp_extract_result* r) { return r ? r->result.without_session_id : 0; }
size_t sp_extract_result_unknown_session(const sp_extract_result* r) { return r ? r->result.unknown_session : 0; }
const char* sp_extract_result_message(const sp_extract_result* r) { return r ? r->result.message.c_str() : ""; }

sp_str sp_extract_result_body(const sp_extract_result* r) {
  if (!r) return sp_str{nullptr, 0};
  return sp_str{r->result.body.data(), r->result.body.size()};
}

}  // extern "C"
