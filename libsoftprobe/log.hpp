// Structured logging: one JSON object per line. The core logs through a
// replaceable sink (bindings and the runtime route it); the default sink
// writes to stderr. Default level: SOFTPROBE_LOG_LEVEL, else "warn".
#pragma once

#include <string>

namespace softprobe {

enum class LogLevel : int { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

using LogSink = void (*)(int level, const char* json_line, void* user_data);

void set_log_sink(LogSink sink, void* user_data) noexcept;  // nullptr restores stderr
void set_log_level(LogLevel level) noexcept;
bool log_enabled(LogLevel level) noexcept;
void log_json_line(LogLevel level, const std::string& json_line) noexcept;

// "debug" | "info" | "warn" | "error" | "off"; false when not a level name.
bool parse_log_level(const std::string& name, LogLevel& out) noexcept;

}  // namespace softprobe
