// core_call.cc: one core call returning a Promise, on the libuv pool or
// inline (run_core_call in native.hpp).
//
// A remote store's calls (sp_session_new, sp_store_get_session, the setters,
// stats, close) wait on the network for up to the store's timeout: on the
// pool they leave the event loop free meanwhile (timers, other requests,
// decisions, which never touch the network). The core is thread-safe, and
// sp_last_error() is per thread, so the failure is read on the thread that
// made the call.
#include <utility>

#include "native.hpp"

namespace spnode {
namespace {

class CoreCallWorker : public Napi::AsyncWorker {
 public:
  CoreCallWorker(Napi::Env env, Napi::Value keep_alive, CoreCall call)
      : Napi::AsyncWorker(env, "softprobe:core"),
        deferred_(Napi::Promise::Deferred::New(env)),
        keep_alive_(Napi::Persistent(keep_alive)),
        call_(std::move(call)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    const sp_status st = call_.work();
    if (st != SP_OK) {
      failure_ = Failure::capture(st);
      SetError(failure_.message);
    }
  }
  void OnOK() override {
    Napi::Value value;
    try {
      value = call_.finish(Env());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
      return;
    }
    deferred_.Resolve(value);
  }
  void OnError(const Napi::Error&) override { deferred_.Reject(make_error(Env(), failure_).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Value> keep_alive_;
  CoreCall call_;
  Failure failure_;
};

}  // namespace

Napi::Value run_core_call(Napi::Env env, Napi::Value keep_alive, bool off_thread, CoreCall call) {
  if (off_thread) {
    auto* w = new CoreCallWorker(env, keep_alive, std::move(call));  // deletes itself when done
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  const sp_status st = call.work();
  if (st != SP_OK) {
    deferred.Reject(make_error(env, Failure::capture(st)).Value());
  } else {
    deferred.Resolve(call.finish(env));
  }
  return deferred.Promise();
}

}  // namespace spnode
