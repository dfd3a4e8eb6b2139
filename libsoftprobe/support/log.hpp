// Structured logging: one JSON object per line, {"level","msg",...fields}.
// The core and the programs built on it (the runtime, the coming proxy and
// CLI) log through here; the sink is replaceable (bindings route it into
// their language's logging), and the default sink writes each line to stderr
// in one write. Default level: SOFTPROBE_LOG_LEVEL, else "warn".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace softprobe::core {

enum class LogLevel : int { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

using LogSink = void (*)(int level, const char* json_line, void* user_data);

void set_log_sink(LogSink sink, void* user_data) noexcept;  // nullptr restores stderr
void set_log_level(LogLevel level) noexcept;
bool log_enabled(LogLevel level) noexcept;

// Hands one finished JSON line (no newline) to the sink, if `level` is enabled.
void log_json_line(LogLevel level, const std::string& json_line) noexcept;

// Writes {"level": <name>, "msg": msg, ...fields} if `level` is enabled.
// `fields` must be an object (or null); its keys follow "level" and "msg" in
// their order. Invalid UTF-8 in any string is replaced, never thrown.
void log(LogLevel level, std::string_view msg, const nlohmann::ordered_json& fields = nullptr);

// "debug" | "info" | "warn" | "error" | "off" (also "warning", "none"); false
// when `name` is not a level name.
bool parse_log_level(std::string_view name, LogLevel& out) noexcept;

// The name parse_log_level() reads back.
const char* log_level_name(LogLevel level) noexcept;

}  // namespace softprobe::core
