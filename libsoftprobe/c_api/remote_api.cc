// sp_store_new_remote, sp_store_is_remote: remote mode (libsoftprobe/remote/).
// The session calls dispatch to the RemoteSession in session_api.cc.
#include "handles.hpp"

using namespace softprobe::core;
using capi::guarded;
using capi::require;

extern "C" {

sp_status sp_store_new_remote(sp_store** out, const char* url, size_t url_len, const char* token, size_t token_len,
                              uint64_t timeout_ms) {
  return guarded([&] {
    require(out, "out");
    if (!url || url_len == 0) capi::invalid("url must name the runtime, e.g. http://127.0.0.1:8080");
    remote::RuntimeClientOptions o;
    o.base_url = capi::text_arg(url, url_len, "url");
    o.token = capi::text_arg(token, token_len, "token");
    if (timeout_ms > 0) o.timeout = std::chrono::milliseconds(std::min<uint64_t>(timeout_ms, 24ull * 3600 * 1000));
    auto client = std::make_shared<remote::RuntimeClient>(std::move(o));
    *out =
        new sp_store{std::make_shared<SessionStore>(), std::move(client), std::make_shared<remote::RemoteSessions>()};
  });
}

int sp_store_is_remote(const sp_store* store) { return store && store->runtime ? 1 : 0; }

}  // extern "C"
