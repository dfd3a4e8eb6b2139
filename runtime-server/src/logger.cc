#include "logger.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "softprobe.h"

namespace softprobe::runtime {

namespace {

std::atomic<int> g_level{int(LogLevel::info)};
std::mutex g_write_mu;

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::off: break;
  }
  return "off";
}

// One write per line: stderr is unbuffered, so a line is one syscall.
void write_line(std::string line) {
  line += '\n';
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

// The core filters by its own level (set to ours) before calling this.
void core_sink(int /*level*/, const char* json_line, void* /*user_data*/) { write_line(json_line); }

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

void init_logging(LogLevel level) {
  g_level.store(int(level), std::memory_order_relaxed);
  sp_set_log_level(level_name(level));
  sp_set_log_handler(&core_sink, nullptr);
}

bool log_enabled(LogLevel level) noexcept {
  return level != LogLevel::off && int(level) >= g_level.load(std::memory_order_relaxed);
}

void log(LogLevel level, std::string_view msg, const nlohmann::json& fields) {
  if (!log_enabled(level)) return;
  nlohmann::ordered_json line;
  line["level"] = level_name(level);
  line["msg"] = msg;
  if (fields.is_object())
    for (const auto& [key, value] : fields.items()) line[key] = value;
  write_line(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace softprobe::runtime
