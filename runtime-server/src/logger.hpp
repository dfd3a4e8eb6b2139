// Structured logs: one JSON object per line on stderr, {"level","msg",...}
// (the shape of the core's own lines, such as the strict-miss line of
// contract section 5). The core's lines are routed through here too, so the
// two never interleave mid-line.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace softprobe::runtime {

enum class LogLevel : int { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

// "debug" | "info" | "warn" | "error" | "off"; false when not a level name.
bool parse_log_level(std::string_view name, LogLevel& out) noexcept;

// Sets the runtime's level and the core's (sp_set_log_level), and routes the
// core's lines through this logger.
void init_logging(LogLevel level);

bool log_enabled(LogLevel level) noexcept;

// Writes {"level":..., "msg": msg, ...fields}. `fields` must be an object (or null).
void log(LogLevel level, std::string_view msg, const nlohmann::json& fields = nullptr);

}  // namespace softprobe::runtime
