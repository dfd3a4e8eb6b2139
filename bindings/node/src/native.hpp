// native.hpp: shared pieces of the Node-API layer over include/softprobe.h.
//
// The layer mirrors the C ABI almost one to one (one source file per wrapped
// type: store.cc, session.cc, decision.cc). Handles cross into JavaScript as
// type-tagged externals, so a session can never be passed where a store is
// expected; a failed call throws (or rejects with) a JS Error carrying the
// sp_status name (`code`), its value (`status`) and sp_last_error_details()
// (`details`, JSON text). Calls that may block (a remote store's network
// calls, files, large documents) run on the libuv pool and return Promises
// (core_call.cc). The idiomatic API lives in ../lib.
#ifndef SOFTPROBE_NODE_NATIVE_HPP
#define SOFTPROBE_NODE_NATIVE_HPP

#include <napi.h>

#include <functional>
#include <string>

#include "softprobe.h"

namespace spnode {

// What a failed C call left in sp_last_error()/sp_last_error_details(),
// copied on the failing thread (both are thread-local).
struct Failure {
  sp_status status = SP_OK;
  std::string message;
  std::string details;
  static Failure capture(sp_status st);
};

// A JS Error for a failure: message, code ("SP_E_..."), status, details.
Napi::Error make_error(Napi::Env env, const Failure& f);
// Throws make_error(...) when st != SP_OK.
void check(Napi::Env env, sp_status st);

// Takes ownership of a string from the C API and returns it as a JS string.
Napi::Value take_string(Napi::Env env, char* s);

// Unwraps a type-tagged external; throws a TypeError naming `what` otherwise.
sp_store* unwrap_store(const Napi::Value& v);
sp_session* unwrap_session(const Napi::Value& v);
// Whether the session handle came from a remote store (sp_store_new_remote):
// its control calls then do network I/O and must leave the main thread.
bool session_is_remote(const Napi::Value& v);
// A session handle for JavaScript; it owns `s` (sp_session_free when collected).
Napi::Value wrap_session(Napi::Env env, sp_session* s, bool remote);

// One core call for JavaScript, returning a Promise (core_call.cc).
//  - work: the C call; it runs on the libuv pool when `off_thread`, else
//    inline (an embedded store's setter: no thread hop). It must not touch
//    JavaScript values.
//  - finish: on the main thread after a successful work, the resolved value.
// `keep_alive` (the store or session handle the call uses) stays referenced
// until the call ends, so it is not collected while the pool uses it. A
// failure rejects with make_error(...) of what the work's thread saw.
struct CoreCall {
  std::function<sp_status()> work;
  std::function<Napi::Value(Napi::Env)> finish;
};
Napi::Value run_core_call(Napi::Env env, Napi::Value keep_alive, bool off_thread, CoreCall call);

// A UTF-8 copy of a JS string (empty for undefined/null).
std::string utf8(const Napi::Value& v);

void init_store(Napi::Env env, Napi::Object exports);
void init_session(Napi::Env env, Napi::Object exports);
void init_decision(Napi::Env env, Napi::Object exports);

}  // namespace spnode

#endif
