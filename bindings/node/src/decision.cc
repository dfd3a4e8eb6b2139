// decision.cc: the per-request path. sp_session_decide with an sp_request
// view built from positional JS arguments (no JSON, no per-field heap
// allocation for ordinary requests), the decision read out through its
// accessors and freed at once; and sp_session_record for capture.
//
// JS signature shared by decide and record (the request part):
//   (session, direction, method, url: the absolute URL as the client had it,
//    service, body: Buffer|Uint8Array|string|undefined,
//    headers: [name, value, ...] as sent, any case, repeated names repeated)
#include <cstring>
#include <memory>
#include <vector>

#include "native.hpp"

namespace spnode {
namespace {

// Copies JS strings into one reusable per-thread buffer (each JS thread, main
// or worker, has its own); a string that does not fit gets its own heap block.
class Scratch {
 public:
  void reset() {
    used_ = 0;
    overflow_.clear();
  }
  sp_str str(napi_env env, napi_value v) {
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t != napi_string) {
      if (t == napi_undefined || t == napi_null) return {nullptr, 0};
      throw Napi::TypeError::New(env, "softprobe: a request field must be a string");
    }
    size_t room = sizeof(buf_) - used_;
    size_t len = 0;
    if (room > 1) {
      napi_get_value_string_utf8(env, v, buf_ + used_, room, &len);
      // V8 never writes a partial UTF-8 sequence, so only a result that left
      // room for a whole 4-byte character is certainly complete.
      if (len + 5 < room) {
        sp_str s{buf_ + used_, len};
        used_ += len + 1;
        return s;
      }
    }
    napi_get_value_string_utf8(env, v, nullptr, 0, &len);
    overflow_.emplace_back(new char[len + 1]);
    napi_get_value_string_utf8(env, v, overflow_.back().get(), len + 1, &len);
    return {overflow_.back().get(), len};
  }
  // Bytes of a Buffer/TypedArray (borrowed) or a string (copied).
  sp_str bytes(napi_env env, napi_value v) {
    bool is_typed = false;
    napi_is_typedarray(env, v, &is_typed);
    if (is_typed) {
      napi_typedarray_type type;
      size_t length = 0, offset = 0;
      void* data = nullptr;
      napi_value ab;
      napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset);
      size_t elem = type == napi_uint8_array || type == napi_int8_array || type == napi_uint8_clamped_array     ? 1
                    : type == napi_int16_array || type == napi_uint16_array                                     ? 2
                    : type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array ? 8
                                                                                                                : 4;
      return {static_cast<const char*>(data), length * elem};
    }
    return str(env, v);
  }

 private:
  char buf_[16384];
  size_t used_ = 0;
  std::vector<std::unique_ptr<char[]>> overflow_;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Reads a flat [name, value, ...] array into views.
void read_headers(napi_env env, napi_value arr, std::vector<sp_header>& out) {
  out.clear();
  napi_valuetype t;
  napi_typeof(env, arr, &t);
  if (t == napi_undefined || t == napi_null) return;
  bool is_array = false;
  napi_is_array(env, arr, &is_array);
  if (!is_array) throw Napi::TypeError::New(env, "softprobe: headers must be a flat [name, value, ...] array");
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  out.reserve(n / 2);
  for (uint32_t i = 0; i + 1 < n; i += 2) {
    napi_value name, value;
    napi_get_element(env, arr, i, &name);
    napi_get_element(env, arr, i + 1, &value);
    out.push_back({scratch().str(env, name), scratch().str(env, value)});
  }
}

struct RequestArgs {
  sp_request req = SP_REQUEST_INIT;
  std::vector<sp_header> headers;
  // info[first..first+5]: direction, method, url, service, body, headers.
  // The URL and the header lines go to the core as the client had them: the
  // core makes the request canonical (docs/requests.md).
  RequestArgs(const Napi::CallbackInfo& info, size_t first) {
    napi_env env = info.Env();
    Scratch& s = scratch();
    req.direction = s.str(env, info[first]);
    req.method = s.str(env, info[first + 1]);
    req.url = s.str(env, info[first + 2]);
    req.service = s.str(env, info[first + 3]);
    req.body = s.bytes(env, info[first + 4]);
    read_headers(env, info[first + 5], headers);
    req.headers = headers.data();
    req.header_count = headers.size();
  }
};

std::vector<sp_header>& header_buffer() {
  thread_local std::vector<sp_header> v;
  return v;
}

// -> outcome number for passthrough/capture_only; for mock/error an array
// [outcome, status, [name, value, ...], body: Buffer, latencyMs, strictMiss,
//  rule, explainJson (strict misses only, else undefined)].
Napi::Value session_decide(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sp_session* session = unwrap_session(info[0]);
  scratch().reset();
  RequestArgs args(info, 1);
  sp_decision* d = nullptr;
  check(env, sp_session_decide(&d, session, &args.req));
  std::unique_ptr<sp_decision, void (*)(sp_decision*)> guard(d, sp_decision_free);
  const sp_outcome outcome = sp_decision_outcome(d);
  if (outcome == SP_OUTCOME_PASSTHROUGH || outcome == SP_OUTCOME_CAPTURE_ONLY) return Napi::Number::New(env, outcome);

  const size_t n = sp_decision_header_count(d);
  Napi::Array headers = Napi::Array::New(env, n * 2);
  for (size_t i = 0; i < n; ++i) {
    sp_header h = sp_decision_header(d, i);
    headers.Set(static_cast<uint32_t>(2 * i), Napi::String::New(env, h.name.data ? h.name.data : "", h.name.len));
    headers.Set(static_cast<uint32_t>(2 * i + 1),
                Napi::String::New(env, h.value.data ? h.value.data : "", h.value.len));
  }
  sp_str body = sp_decision_body(d);
  const bool strict = sp_decision_is_strict_miss(d) != 0;
  Napi::Array out = Napi::Array::New(env, 8);
  out.Set(0u, Napi::Number::New(env, outcome));
  out.Set(1u, Napi::Number::New(env, sp_decision_status(d)));
  out.Set(2u, headers);
  out.Set(3u, Napi::Buffer<char>::Copy(env, body.data ? body.data : "", body.len));
  out.Set(4u, Napi::Number::New(env, sp_decision_latency_ms(d)));
  out.Set(5u, Napi::Boolean::New(env, strict));
  out.Set(6u, Napi::String::New(env, sp_decision_rule(d)));
  if (strict) {
    char* explain = nullptr;
    check(env, sp_decision_explain(&explain, d));
    out.Set(7u, take_string(env, explain));
  }
  return out;
}

// (session, <request part>, status (<= 0: no response), respHeaders, respBody,
//  startUnixMs, endUnixMs) -> undefined
Napi::Value session_record(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sp_session* session = unwrap_session(info[0]);
  scratch().reset();
  RequestArgs args(info, 1);
  const int status = info[7].IsNumber() ? info[7].As<Napi::Number>().Int32Value() : 0;
  std::vector<sp_header>& rh = header_buffer();
  read_headers(env, info[8], rh);
  sp_response resp = SP_RESPONSE_INIT;
  resp.status = status;
  resp.headers = rh.data();
  resp.header_count = rh.size();
  resp.body = scratch().bytes(env, info[9]);
  auto unix_ns = [](const Napi::Value& v) -> uint64_t {
    if (!v.IsNumber()) return 0;
    double ms = v.As<Napi::Number>().DoubleValue();
    return ms > 0 ? static_cast<uint64_t>(ms * 1e6) : 0;
  };
  check(env, sp_session_record(session, &args.req, status > 0 ? &resp : nullptr, unix_ns(info[10]), unix_ns(info[11])));
  return env.Undefined();
}

}  // namespace

void init_decision(Napi::Env env, Napi::Object exports) {
  exports.Set("sessionDecide", Napi::Function::New(env, session_decide, "sessionDecide"));
  exports.Set("sessionRecord", Napi::Function::New(env, session_record, "sessionRecord"));
}

}  // namespace spnode
