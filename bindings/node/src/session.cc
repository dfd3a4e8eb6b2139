// session.cc: sp_session as a type-tagged external, its JSON-document calls,
// and the calls that may block on files or large documents (load-case,
// load-case-file, close, close-export) run on the libuv pool as AsyncWorkers returning
// Promises.
#include <functional>
#include <utility>

#include "native.hpp"

namespace spnode {
namespace {

constexpr napi_type_tag kSessionTag = {0x2b7c91e04d3f5a66ULL, 0xc41d8e7f03a2b915ULL};

Napi::Value wrap_session(Napi::Env env, sp_session* s) {
  auto ext = Napi::External<sp_session>::New(env, s, [](Napi::Env, sp_session* p) { sp_session_free(p); });
  ext.TypeTag(&kSessionTag);
  return ext;
}

// Runs `work` off the main thread; resolves with the string it produced (or
// undefined), rejects with the core's error. Keeps the handle alive meanwhile.
class SessionWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<sp_status(std::string& out)>;
  SessionWorker(Napi::Env env, Napi::Value handle, Work work)
      : Napi::AsyncWorker(env, "softprobe:session"), deferred_(Napi::Promise::Deferred::New(env)),
        handle_(Napi::Persistent(handle)), work_(std::move(work)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    sp_status st = work_(out_);
    if (st != SP_OK) {
      failure_ = Failure::capture(st);
      SetError(failure_.message);
    }
  }
  void OnOK() override { deferred_.Resolve(Napi::String::New(Env(), out_)); }
  void OnError(const Napi::Error&) override { deferred_.Reject(make_error(Env(), failure_).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Value> handle_;
  Work work_;
  std::string out_;
  Failure failure_;
};

Napi::Value run_async(const Napi::CallbackInfo& info, SessionWorker::Work work) {
  auto* w = new SessionWorker(info.Env(), info[0], std::move(work));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// Takes a C string result and frees it.
sp_status keep(std::string& out, sp_status st, char* s) {
  if (st == SP_OK) out = s ? s : "";
  sp_string_free(s);
  return st;
}

Napi::Value session_new(const Napi::CallbackInfo& info) {
  sp_store* store = unwrap_store(info[0]);
  const bool has_options = !info[1].IsUndefined() && !info[1].IsNull();
  std::string options = utf8(info[1]);
  sp_session* s = nullptr;
  check(info.Env(), sp_session_new(&s, store, has_options ? options.data() : nullptr, has_options ? options.size() : 0));
  return wrap_session(info.Env(), s);
}

Napi::Value store_get_session(const Napi::CallbackInfo& info) {
  sp_store* store = unwrap_store(info[0]);
  std::string id = utf8(info[1]);
  sp_session* s = nullptr;
  check(info.Env(), sp_store_get_session(&s, store, id.data(), id.size()));
  return wrap_session(info.Env(), s);
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

// (session, json) -> Promise<void>
Napi::Value session_load_case(const Napi::CallbackInfo& info) {
  sp_session* s = unwrap_session(info[0]);
  std::string json = utf8(info[1]);
  return run_async(info, [s, json = std::move(json)](std::string&) {
    return sp_session_load_case(nullptr, s, json.data(), json.size());
  });
}

// (session, path) -> Promise<void>
Napi::Value session_load_case_file(const Napi::CallbackInfo& info) {
  sp_session* s = unwrap_session(info[0]);
  std::string path = utf8(info[1]);
  return run_async(info, [s, path = std::move(path)](std::string&) { return sp_session_load_case_file(nullptr, s, path.data(), path.size()); });
}

// (session, outPath) -> Promise<capturePath>
Napi::Value session_close(const Napi::CallbackInfo& info) {
  sp_session* s = unwrap_session(info[0]);
  std::string path = utf8(info[1]);
  return run_async(info, [s, path = std::move(path)](std::string& out) {
    char* written = nullptr;
    const sp_status st = sp_session_close(&written, s, path.data(), path.size());  // before reading `written`
    return keep(out, st, written);
  });
}

// (session) -> Promise<caseJson>: closes without writing a file and resolves
// with the capture (sp_session_close_export).
Napi::Value session_close_export(const Napi::CallbackInfo& info) {
  sp_session* s = unwrap_session(info[0]);
  return run_async(info, [s](std::string& out) {
    char* json = nullptr;
    const sp_status st = sp_session_close_export(&json, s);
    return keep(out, st, json);
  });
}

// Setters taking a JSON document: (session, json) -> undefined.
template <sp_status (*Fn)(uint64_t*, sp_session*, const char*, size_t)>
Napi::Value set_json(const Napi::CallbackInfo& info) {
  sp_session* s = unwrap_session(info[0]);
  std::string json = utf8(info[1]);
  check(info.Env(), Fn(nullptr, s, json.data(), json.size()));
  return info.Env().Undefined();
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

sp_session* unwrap_session(const Napi::Value& v) {
  if (!v.IsExternal() || !v.As<Napi::External<sp_session>>().CheckTypeTag(&kSessionTag))
    throw Napi::TypeError::New(v.Env(), "expected a softprobe session handle");
  return v.As<Napi::External<sp_session>>().Data();
}

void init_session(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Function::Callback cb) { exports.Set(name, Napi::Function::New(env, cb, name)); };
  fn("sessionNew", session_new);
  fn("storeGetSession", store_get_session);
  fn("sessionId", session_id);
  fn("sessionMode", session_mode);
  fn("sessionRevision", session_revision);
  fn("sessionLoadCase", session_load_case);
  fn("sessionLoadCaseFile", session_load_case_file);
  fn("sessionClose", session_close);
  fn("sessionCloseExport", session_close_export);
  fn("sessionExportCapture", get_json<sp_session_export_capture>);
  fn("sessionSetRules", set_json<sp_session_set_rules>);
  fn("sessionSetPolicy", set_json<sp_session_set_policy>);
  fn("sessionSetAuthFixtures", set_json<sp_session_set_auth_fixtures>);
  fn("sessionGetRules", get_json<sp_session_get_rules>);
  fn("sessionStats", get_json<sp_session_stats>);
  fn("sessionState", get_json<sp_session_state>);
  fn("sessionStrictMisses", get_json<sp_session_strict_misses>);
  fn("sessionFindInCase", find_json<sp_session_find_in_case>);
  fn("sessionFindAllInCase", find_json<sp_session_find_all_in_case>);
}

}  // namespace spnode
