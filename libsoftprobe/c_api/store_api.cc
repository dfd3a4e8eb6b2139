// The store's capture directory and limits (sp_store_set_capture_dir,
// sp_store_set_max_sessions), closing with a length-checked path, and the
// shutdown flush that falls back to the temporary directory.
#include "capture/capture_directory.hpp"
#include "handles.hpp"

using namespace softprobe::core;
using capi::guarded;
using capi::require;

using capi::text_arg;

extern "C" {

sp_status sp_store_set_capture_dir(char** out_json, sp_store* store, const char* dir, size_t dir_len,
                                   const char* default_path, size_t default_len) {
  return guarded([&] {
    require(store, "store");
    if (!dir || dir_len == 0) capi::invalid("dir must name a directory");
    std::string dir_path = text_arg(dir, dir_len, "captureDir");
    std::string def = text_arg(default_path, default_len, "defaultPath");
    if (def.empty()) def = "captured.case.json";
    // Every check before anything is removed: on error nothing changes.
    split_capture_path(expand_capture_placeholders(def, {"session", "capture", std::chrono::system_clock::now()}));
    auto cd = std::make_shared<const CaptureDirectory>(dir_path);
    cd->check_writable();
    std::vector<std::string> removed = cd->remove_stale_temp_files();
    store->store->set_capture_directory(cd, def);
    if (out_json)
      *out_json = capi::dup_string(nlohmann::json{{"captureDir", cd->path()}, {"removedTempFiles", removed}}.dump());
  });
}

sp_status sp_store_set_max_sessions(sp_store* store, size_t max) {
  return guarded([&] { require(store, "store")->store->set_max_sessions(max); });
}

sp_status sp_store_close_all_or_fallback(char** out_json, sp_store* store) {
  return guarded([&] {
    auto closed = require(store, "store")->store->close_all(true);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : closed) {
      nlohmann::json e = {{"sessionId", c.session_id}};
      if (c.capture_path.rfind("error: ", 0) == 0) e["error"] = c.capture_path.substr(7);
      else if (!c.capture_path.empty()) e["capturePath"] = c.capture_path;
      if (!c.fallback_reason.empty()) e["fallbackReason"] = c.fallback_reason;
      list.push_back(std::move(e));
    }
    if (out_json) *out_json = capi::dup_string(nlohmann::json{{"closed", list}}.dump());
  });
}

}  // extern "C"
