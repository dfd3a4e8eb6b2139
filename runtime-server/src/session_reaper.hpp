// Closes sessions idle for longer than the TTL (writing their captures), on
// a background thread, and reports closings in the logs and metrics.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtime.hpp"

namespace softprobe::runtime {

class SessionReaper {
 public:
  explicit SessionReaper(Runtime& rt);
  ~SessionReaper();  // stops the thread
  SessionReaper(const SessionReaper&) = delete;
  SessionReaper& operator=(const SessionReaper&) = delete;

  void stop();

 private:
  void loop();

  Runtime& rt_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Logs the {"closed":[...]} answer of sp_store_close_idle / sp_store_close_all
// and counts it; returns how many sessions failed to close.
std::size_t report_closed(Runtime& rt, const char* closed_json, CloseReason reason);

}  // namespace softprobe::runtime
