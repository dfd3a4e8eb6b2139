#include "session_reaper.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "logger.hpp"

namespace softprobe::runtime {

std::size_t report_closed(Runtime& rt, const char* closed_json, CloseReason reason) {
  auto doc = nlohmann::json::parse(closed_json ? closed_json : "", nullptr, false);
  if (!doc.is_object() || !doc["closed"].is_array()) return 0;
  static const char* reasons[] = {"api", "idle", "shutdown"};
  std::size_t closed = 0, failed = 0;
  for (const auto& entry : doc["closed"]) {
    nlohmann::json fields = entry;
    fields["reason"] = reasons[int(reason)];
    if (entry.contains("error")) {
      ++failed;
      log(LogLevel::error, "session close failed; it stays open", fields);
    } else if (entry.contains("fallbackReason")) {  // kept, but not where it should be: the exit code says so
      ++closed;
      ++failed;
      log(LogLevel::warn, "capture written to the temporary directory instead", fields);
    } else {
      ++closed;
      log(LogLevel::info, "session closed", fields);
    }
  }
  rt.metrics.sessions_closed(reason, closed);
  return failed;
}

SessionReaper::SessionReaper(Runtime& rt) : rt_(rt) {
  if (rt_.config.session_ttl.count() > 0) thread_ = std::thread([this] { loop(); });
}

SessionReaper::~SessionReaper() { stop(); }

void SessionReaper::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SessionReaper::loop() {
  using namespace std::chrono;
  const milliseconds ttl = rt_.config.session_ttl;
  // Check a few times per TTL, so a session outlives it by at most ~25%.
  const milliseconds interval = std::clamp(ttl / 4, milliseconds(50), milliseconds(60'000));
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    char* closed = nullptr;
    if (sp_store_close_idle(&closed, rt_.store.handle(), std::uint64_t(ttl.count())) == SP_OK) {
      report_closed(rt_, closed, CloseReason::idle);
      sp_string_free(closed);
    } else {
      log(LogLevel::error, "idle session sweep failed", {{"error", sp_last_error()}});
    }
    lock.lock();
  }
}

}  // namespace softprobe::runtime
