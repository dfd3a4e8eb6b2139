// store.cc: sp_store as a type-tagged external.
#include "native.hpp"

namespace spnode {
namespace {

// Random tags distinguish the externals this addon hands out.
constexpr napi_type_tag kStoreTag = {0x5f0e1b7a2c9d4e31ULL, 0x8a6b3c2d1e0f9a84ULL};

Napi::Value store_new(const Napi::CallbackInfo& info) {
  sp_store* store = nullptr;
  check(info.Env(), sp_store_new(&store));
  auto ext = Napi::External<sp_store>::New(info.Env(), store, [](Napi::Env, sp_store* s) { sp_store_free(s); });
  ext.TypeTag(&kStoreTag);
  return ext;
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
  exports.Set("storeListSessions", Napi::Function::New(env, store_list_sessions, "storeListSessions"));
}

}  // namespace spnode
