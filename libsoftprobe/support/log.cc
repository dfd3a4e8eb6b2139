#include "support/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace softprobe::core {

namespace {

LogLevel initial_level() {
  LogLevel level = LogLevel::warn;
  if (const char* env = std::getenv("SOFTPROBE_LOG_LEVEL")) parse_log_level(env, level);
  return level;
}

std::atomic<int> g_level{int(initial_level())};
std::mutex g_sink_mu;  // taken only when a line is actually written
LogSink g_sink = nullptr;
void* g_sink_data = nullptr;

}  // namespace

bool parse_log_level(std::string_view name, LogLevel& out) noexcept {
  if (name == "debug") out = LogLevel::debug;
  else if (name == "info") out = LogLevel::info;
  else if (name == "warn" || name == "warning") out = LogLevel::warn;
  else if (name == "error") out = LogLevel::error;
  else if (name == "off" || name == "none") out = LogLevel::off;
  else return false;
  return true;
}

void set_log_sink(LogSink sink, void* user_data) noexcept {
  std::lock_guard<std::mutex> lock(g_sink_mu);
  g_sink = sink;
  g_sink_data = user_data;
}

void set_log_level(LogLevel level) noexcept { g_level.store(int(level), std::memory_order_relaxed); }

bool log_enabled(LogLevel level) noexcept {
  return int(level) >= g_level.load(std::memory_order_relaxed) && level != LogLevel::off;
}

void log_json_line(LogLevel level, const std::string& json_line) noexcept {
  if (!log_enabled(level)) return;
  std::lock_guard<std::mutex> lock(g_sink_mu);
  if (g_sink) {
    g_sink(int(level), json_line.c_str(), g_sink_data);
  } else {
    // One write per line (stderr is unbuffered): lines never interleave.
    std::string line = json_line;
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

const char* log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::off: break;
  }
  return "off";
}

void log(LogLevel level, std::string_view msg, const nlohmann::ordered_json& fields) {
  if (!log_enabled(level)) return;
  nlohmann::ordered_json line;
  line["level"] = log_level_name(level);
  line["msg"] = msg;
  if (fields.is_object())
    for (const auto& [key, value] : fields.items()) line[key] = value;
  log_json_line(level, line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace softprobe::core
