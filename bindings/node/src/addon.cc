// addon.cc: module entry. Refuses a core whose ABI does not serve the header
// this addon was compiled against (SOFTPROBE_CHECK_VERSION: before 1.0 the
// major and minor must match), then registers the wrapped types. The addon
// links libsoftprobe.so when built against an existing build
// (SOFTPROBE_CORE_BUILD), so the library found at load may be another
// version than the header's; the error names both and the library's file.
#include <dlfcn.h>

#include <string>

#include "native.hpp"

namespace spnode {
namespace {

Napi::Value version_number(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), sp_version_number());
}
Napi::Value version_string(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), sp_version_string());
}
Napi::Value status_name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), sp_status_name(static_cast<sp_status>(info[0].As<Napi::Number>().Int32Value())));
}
Napi::Value set_log_level(const Napi::CallbackInfo& info) {
  std::string level = utf8(info[0]);
  check(info.Env(), sp_set_log_level(level.data(), level.size()));
  return info.Env().Undefined();
}
Napi::Value request_fingerprint(const Napi::CallbackInfo& info) {
  std::string m = utf8(info[0]), h = utf8(info[1]), p = utf8(info[2]), b = utf8(info[3]);
  char* out = nullptr;
  check(info.Env(), sp_request_fingerprint(&out, {m.data(), m.size()}, {h.data(), h.size()}, {p.data(), p.size()},
                                           {b.data(), b.size()}));
  return take_string(info.Env(), out);
}

// The file the loaded sp_version_string comes from (libsoftprobe.so, or this
// addon when the core is linked in statically).
std::string core_file() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&sp_version_string), &info) != 0 && info.dli_fname != nullptr) {
    return info.dli_fname;
  }
  return "an unknown file";
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  if (!SOFTPROBE_CHECK_VERSION()) {
    throw Napi::Error::New(env, std::string("softprobe: the loaded core is version ") + sp_version_string() + " (" +
                                    core_file() +
                                    ") but this addon was built for " SOFTPROBE_VERSION_STRING
                                    ", whose ABI it does not serve; rebuild the addon (npm rebuild softprobe)");
  }
  exports.Set("versionNumber", Napi::Function::New(env, version_number, "versionNumber"));
  exports.Set("versionString", Napi::Function::New(env, version_string, "versionString"));
  exports.Set("builtForVersionNumber", Napi::Number::New(env, SOFTPROBE_VERSION_NUMBER));
  exports.Set("specVersion", Napi::String::New(env, SOFTPROBE_SPEC_VERSION));
  exports.Set("statusName", Napi::Function::New(env, status_name, "statusName"));
  exports.Set("setLogLevel", Napi::Function::New(env, set_log_level, "setLogLevel"));
  exports.Set("requestFingerprint", Napi::Function::New(env, request_fingerprint, "requestFingerprint"));
  init_store(env, exports);
  init_session(env, exports);
  init_decision(env, exports);
  return exports;
}

}  // namespace spnode

static Napi::Object InitSoftprobe(Napi::Env env, Napi::Object exports) { return spnode::init(env, exports); }

NODE_API_MODULE(softprobe, InitSoftprobe)
