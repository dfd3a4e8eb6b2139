// The runtime logs through the core's structured logger (libsoftprobe/log.hpp):
// one JSON object per line on stderr, {"level","msg",...}, the shape of the
// core's own lines (such as the strict-miss line of contract section 5), with
// one level and one writer for both, so lines never interleave mid-line.
#pragma once

#include "support/log.hpp"  // the core's logger (its internal C++ API)

namespace softprobe::runtime {

using core::log;
using core::log_enabled;
using core::LogLevel;
using core::parse_log_level;

// Sets the level of every line the runtime and the core write.
inline void init_logging(LogLevel level) { core::set_log_level(level); }

}  // namespace softprobe::runtime
