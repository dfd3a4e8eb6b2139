// errors.cc: sp_status + sp_last_error() -> JS Error, and handle unwrapping.
#include "native.hpp"

namespace spnode {

Failure Failure::capture(sp_status st) {
  Failure f;
  f.status = st;
  f.message = sp_last_error();
  f.details = sp_last_error_details();
  if (f.message.empty()) f.message = sp_status_name(st);
  return f;
}

Napi::Error make_error(Napi::Env env, const Failure& f) {
  Napi::Error e = Napi::Error::New(env, f.message);
  e.Set("code", Napi::String::New(env, sp_status_name(f.status)));
  e.Set("status", Napi::Number::New(env, static_cast<int>(f.status)));
  e.Set("details", Napi::String::New(env, f.details.empty() ? "{}" : f.details));
  return e;
}

void check(Napi::Env env, sp_status st) {
  if (st != SP_OK) throw make_error(env, Failure::capture(st));
}

Napi::Value take_string(Napi::Env env, char* s) {
  Napi::String out = Napi::String::New(env, s ? s : "");
  sp_string_free(s);
  return out;
}

std::string utf8(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return {};
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), "expected a string");
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace spnode
