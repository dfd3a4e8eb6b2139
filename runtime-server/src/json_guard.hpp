// A guard at the HTTP edge: JSON documents for the control routes may not
// nest objects and arrays deeper than kMaxJsonNesting. The core walks (and
// re-serializes) documents recursively, so an absurdly deep one would exhaust
// a worker thread's stack; this rejects it with a 400 first. (The OTLP routes
// are guarded inside the core's decoder.)
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace softprobe::runtime {

inline constexpr std::size_t kMaxJsonNesting = 256;

// The byte offset where `text` first nests deeper than `max_depth`, or
// nullopt. Strings are skipped (brackets inside them do not count); `text`
// need not be valid JSON (the core reports syntax errors).
std::optional<std::size_t> json_too_deep(std::string_view text, std::size_t max_depth = kMaxJsonNesting) noexcept;

}  // namespace softprobe::runtime
