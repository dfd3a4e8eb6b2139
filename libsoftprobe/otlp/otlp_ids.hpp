// Trace and span ids as every decoder of this project reads them (case files,
// OTLP JSON on both decoders, OTLP protobuf): one written form, lowercase hex,
// whichever way the writer spelled the id.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace softprobe::core {

inline constexpr std::size_t kTraceIdBytes = 16;
inline constexpr std::size_t kSpanIdBytes = 8;

// The id `written` (a traceId: id_bytes 16; a spanId or parentSpanId: 8) in
// its canonical form:
//  - hex of exactly 2*id_bytes digits, any case: lowercased (OTLP JSON's form);
//  - standard or URL-safe base64 of exactly id_bytes bytes (24 / 12
//    characters with padding): the same bytes in lowercase hex. Go's protojson
//    and the reference proxy write ids this way ("AAAAAGnpwoMAAAAABctiGA==");
//  - anything else (e.g. "span-1" in hand-written cases): as written, so a
//    case that names its spans keeps its names.
std::string canonical_span_id(std::string_view written, std::size_t id_bytes);

}  // namespace softprobe::core
