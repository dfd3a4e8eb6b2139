// native.hpp: shared pieces of the Node-API layer over include/softprobe.h.
//
// The layer mirrors the C ABI almost one to one (one source file per wrapped
// type: store.cc, session.cc, decision.cc). Handles cross into JavaScript as
// type-tagged externals, so a session can never be passed where a store is
// expected; a failed call throws a JS Error carrying the sp_status name
// (`code`), its value (`status`) and sp_last_error_details() (`details`, JSON
// text). The idiomatic API lives in ../lib.
#ifndef SOFTPROBE_NODE_NATIVE_HPP
#define SOFTPROBE_NODE_NATIVE_HPP

#include <napi.h>

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

// A UTF-8 copy of a JS string (empty for undefined/null).
std::string utf8(const Napi::Value& v);

void init_store(Napi::Env env, Napi::Object exports);
void init_session(Napi::Env env, Napi::Object exports);
void init_decision(Napi::Env env, Napi::Object exports);

}  // namespace spnode

#endif
