// store.cc: sp_store as a type-tagged external, embedded (sp_store_new) or
// remote (sp_store_new_remote: the core's own runtime client and mirror
// protocol; this file only hands it the URL, token and timeout).
#include <cmath>

#include "native.hpp"

namespace spnode {
namespace {

// Random tags distinguish the externals this addon hands out.
constexpr napi_type_tag kStoreTag = {0x5f0e1b7a2c9d4e31ULL, 0x8a6b3c2d1e0f9a84ULL};

Napi::Value wrap_store(Napi::Env env, sp_store* store) {
  auto ext = Napi::External<sp_store>::New(env, store, [](Napi::Env, sp_store* s) { sp_store_free(s); });
  ext.TypeTag(&kStoreTag);
  return ext;
}

Napi::Value store_new(const Napi::CallbackInfo& info) {
  sp_store* store = nullptr;
  check(info.Env(), sp_store_new(&store));
  return wrap_store(info.Env(), store);
}

// (url, token, timeoutMs) -> store. No network call is made here; a URL or
// token the core refuses throws SP_E_INVALID_ARGUMENT naming the problem.
// timeoutMs: an integer in [0, 2^53) (0: the core's default, 10000).
Napi::Value store_new_remote(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string url = utf8(info[0]);
  std::string token = utf8(info[1]);
  double timeout = info[2].IsUndefined() ? 0 : info[2].ToNumber().DoubleValue();
  if (!std::isfinite(timeout) || timeout < 0 || timeout > 9007199254740991.0 || std::floor(timeout) != timeout)
    throw Napi::RangeError::New(env, "softprobe: timeoutMs must be a non-negative integer number of milliseconds");
  sp_store* store = nullptr;
  check(env, sp_store_new_remote(&store, url.data(), url.size(), token.empty() ? nullptr : token.data(), token.size(),
                                 static_cast<uint64_t>(timeout)));
  return wrap_store(env, store);
}

Napi::Value store_is_remote(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), sp_store_is_remote(unwrap_store(info[0])) != 0);
}

Napi::Value store_list_sessions(const Napi::CallbackInfo& info) {
  char* out = nullptr;
  check(info.Env(), sp_store_list_sessions(&out, unwrap_store(info[0])));
  return take_string(info.Env(), out);
}

}  // namespace

sp_store* unwrap_store(const Napi::Value& v) {
  if (!v.IsExternal() || !v.As<Napi::External<sp_store>>().CheckTypeTag(&kStoreTag))
    throw Napi::TypeError::New(v.Env(), "expected a softprobe store handle");
  return v.As<Napi::External<sp_store>>().Data();
}

void init_store(Napi::Env env, Napi::Object exports) {
  exports.Set("storeNew", Napi::Function::New(env, store_new, "storeNew"));
  exports.Set("storeNewRemote", Napi::Function::New(env, store_new_remote, "storeNewRemote"));
  exports.Set("storeIsRemote", Napi::Function::New(env, store_is_remote, "storeIsRemote"));
  exports.Set("storeListSessions", Napi::Function::New(env, store_list_sessions, "storeListSessions"));
}

}  // namespace spnode
