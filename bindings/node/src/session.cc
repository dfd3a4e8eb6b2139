// session.cc: sp_session as a type-tagged external and its control calls.
//
// The same functions serve embedded and remote stores; the core dispatches.
// Every call that may go to a remote runtime (create, attach, the setters,
// stats, close) returns a Promise and, for a remote session, runs on the
// libuv pool (run_core_call); for an embedded session the setters and stats
// run inline (no network, no thread hop). Loading a case (a file, or a large
// document) and closing (writing the case) always run on the pool. The
// getters (rules, state, strict misses, findInCase) read the local session or
// mirror and stay synchronous.
#include <memory>
#include <utility>

#include "native.hpp"

namespace spnode {
namespace {

constexpr napi_type_tag kSessionTag = {0x2b7c91e04d3f5a66ULL, 0xc41d8e7f03a2b915ULL};

// What a session external holds.
struct SessionHandle {
  sp_session* session;
  bool remote;
};

SessionHandle* unwrap_handle(const Napi::Value& v) {
  if (!v.IsExternal() || !v.As<Napi::External<SessionHandle>>().CheckTypeTag(&kSessionTag))
    throw Napi::TypeError::New(v.Env(), "expected a softprobe session handle");
  return v.As<Napi::External<SessionHandle>>().Data();
}

// A session a worker produced, freed unless finish() handed it to JavaScript.
struct MadeSession {
  sp_session* session = nullptr;
  ~MadeSession() { sp_session_free(session); }
};

// A string a worker produced.
struct MadeString {
  std::string text;
};

// Takes a C string result and frees it.
sp_status keep(std::string& out, sp_status st, char* s) {
  if (st == SP_OK) out = s ? s : "";
  sp_string_free(s);
  return st;
}

// A call producing a session: (store, text) -> Promise<session>.
template <sp_status (*Fn)(sp_session**, sp_store*, const char*, size_t, bool)>
Napi::Value make_session(const Napi::CallbackInfo& info) {
  sp_store* store = unwrap_store(info[0]);
  const bool given = !info[1].IsUndefined() && !info[1].IsNull();
  const bool remote = sp_store_is_remote(store) != 0;
  auto text = std::make_shared<std::string>(utf8(info[1]));
  auto made = std::make_shared<MadeSession>();
  return run_core_call(
      info.Env(), info[0], remote,
      {[store, text, made, given] { return Fn(&made->session, store, text->data(), text->size(), given); },
       [made, remote](Napi::Env env) {
         sp_session* s = std::exchange(made->session, nullptr);
         return wrap_session(env, s, remote);
       }});
}

sp_status new_session(sp_session** out, sp_store* store, const char* options, size_t len, bool given) {
  return sp_session_new(out, store, given ? options : nullptr, given ? len : 0);
}
sp_status get_session(sp_session** out, sp_store* store, const char* id, size_t len, bool) {
  return sp_store_get_session(out, store, id, len);
}

Napi::Value session_id(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), sp_session_id(unwrap_session(info[0])));
}
Napi::Value session_mode(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), sp_session_mode(unwrap_session(info[0])));
}
Napi::Value session_revision(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(sp_session_revision(unwrap_session(info[0]))));
}
Napi::Value session_is_remote_fn(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), session_is_remote(info[0]));
}

// A call taking one string argument and producing a string:
// (session, text) -> Promise<string>. Always on the pool when `Always`.
template <sp_status (*Fn)(std::string&, sp_session*, const std::string&), bool Always>
Napi::Value string_call(const Napi::CallbackInfo& info) {
  SessionHandle* h = unwrap_handle(info[0]);
  sp_session* s = h->session;
  auto arg = std::make_shared<std::string>(utf8(info[1]));
  auto out = std::make_shared<MadeString>();
  return run_core_call(info.Env(), info[0], Always || h->remote,
                       {[s, arg, out] { return Fn(out->text, s, *arg); },
                        [out](Napi::Env env) -> Napi::Value { return Napi::String::New(env, out->text); }});
}

sp_status load_case(std::string&, sp_session* s, const std::string& json) {
  return sp_session_load_case(nullptr, s, json.data(), json.size());
}
sp_status load_case_file(std::string&, sp_session* s, const std::string& path) {
  return sp_session_load_case_file(nullptr, s, path.data(), path.size());
}
// Resolves with the capture path ("" when none was written).
sp_status close_session(std::string& out, sp_session* s, const std::string& path) {
  char* written = nullptr;
  const sp_status st = sp_session_close(&written, s, path.data(), path.size());  // before reading `written`
  return keep(out, st, written);
}
// Closes without writing a file and resolves with the capture (embedded only:
// a remote session's capture belongs to the runtime, SP_E_WRONG_MODE).
sp_status close_export(std::string& out, sp_session* s, const std::string&) {
  char* json = nullptr;
  const sp_status st = sp_session_close_export(&json, s);
  return keep(out, st, json);
}
sp_status stats(std::string& out, sp_session* s, const std::string&) {
  char* json = nullptr;
  const sp_status st = sp_session_stats(&json, s);
  return keep(out, st, json);
}

// Setters taking a JSON document: (session, json) -> Promise<revision>.
template <sp_status (*Fn)(uint64_t*, sp_session*, const char*, size_t)>
Napi::Value set_json(const Napi::CallbackInfo& info) {
  SessionHandle* h = unwrap_handle(info[0]);
  sp_session* s = h->session;
  auto json = std::make_shared<std::string>(utf8(info[1]));
  auto revision = std::make_shared<uint64_t>(0);
  return run_core_call(
      info.Env(), info[0], h->remote,
      {[s, json, revision] { return Fn(revision.get(), s, json->data(), json->size()); },
       [revision](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(*revision)); }});
}

// Getters returning a JSON document: (session) -> string.
template <sp_status (*Fn)(char**, const sp_session*)>
Napi::Value get_json(const Napi::CallbackInfo& info) {
  char* out = nullptr;
  check(info.Env(), Fn(&out, unwrap_session(info[0])));
  return take_string(info.Env(), out);
}

// findInCase/findAllInCase: (session, predicateJson) -> string.
template <sp_status (*Fn)(char**, const sp_session*, const char*, size_t)>
Napi::Value find_json(const Napi::CallbackInfo& info) {
  sp_session* s = unwrap_session(info[0]);
  std::string pred = utf8(info[1]);
  char* out = nullptr;
  check(info.Env(), Fn(&out, s, pred.data(), pred.size()));
  return take_string(info.Env(), out);
}

}  // namespace

Napi::Value wrap_session(Napi::Env env, sp_session* s, bool remote) {
  auto ext = Napi::External<SessionHandle>::New(env, new SessionHandle{s, remote}, [](Napi::Env, SessionHandle* h) {
    sp_session_free(h->session);
    delete h;
  });
  ext.TypeTag(&kSessionTag);
  return ext;
}

sp_session* unwrap_session(const Napi::Value& v) { return unwrap_handle(v)->session; }

bool session_is_remote(const Napi::Value& v) { return unwrap_handle(v)->remote; }

void init_session(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Function::Callback cb) {
    exports.Set(name, Napi::Function::New(env, cb, name));
  };
  fn("sessionNew", make_session<new_session>);
  fn("storeGetSession", make_session<get_session>);
  fn("sessionId", session_id);
  fn("sessionMode", session_mode);
  fn("sessionRevision", session_revision);
  fn("sessionIsRemote", session_is_remote_fn);
  fn("sessionLoadCase", string_call<load_case, true>);
  fn("sessionLoadCaseFile", string_call<load_case_file, true>);
  fn("sessionClose", string_call<close_session, true>);
  fn("sessionCloseExport", string_call<close_export, true>);
  fn("sessionStats", string_call<stats, false>);
  fn("sessionExportCapture", get_json<sp_session_export_capture>);
  fn("sessionSetRules", set_json<sp_session_set_rules>);
  fn("sessionAddRules", set_json<sp_session_add_rules>);
  fn("sessionSetPolicy", set_json<sp_session_set_policy>);
  fn("sessionSetAuthFixtures", set_json<sp_session_set_auth_fixtures>);
  fn("sessionGetRules", get_json<sp_session_get_rules>);
  fn("sessionState", get_json<sp_session_state>);
  fn("sessionStrictMisses", get_json<sp_session_strict_misses>);
  fn("sessionFindInCase", find_json<sp_session_find_in_case>);
  fn("sessionFindAllInCase", find_json<sp_session_find_all_in_case>);
}

}  // namespace spnode
