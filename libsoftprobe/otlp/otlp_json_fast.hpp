// The fast OTLP JSON decoder: a TracesData (the /v1/inject and /v1/traces
// body) read with simdjson's On-Demand API, straight into HttpExchanges,
// without building a JSON DOM.
//
// It is an accelerator for decode_traces_json (otlp_traces), not a second
// definition of the format: it either gives exactly the exchanges the
// reference decoder (nlohmann, decode_traces_json_reference) gives for the
// same payload, or it declines, and the reference decoder then decides (and
// words the error). It declines
//  - every document the reference refuses: any JSON syntax error (also in
//    fields it otherwise ignores: every value is read and checked, nothing is
//    skipped unread), invalid UTF-8, a NUL byte, an unpaired surrogate,
//    nesting deeper than kMaxOtlpNesting, a wrong OTLP shape;
//  - documents the reference accepts but that it does not decide itself: a
//    repeated key where the reference's choice (the last value) matters, an
//    integer beyond 64 bits (nlohmann turns it into a double), a byte order
//    mark, text after the root object's end.
// A declined document costs one fast attempt plus the reference decode;
// well-formed payloads, the hot path, are decided here.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "request/http_exchange.hpp"

namespace softprobe::core {

// Documents up to this size reuse one parser and one padded copy per thread;
// a larger one gets its own, freed when decoding ends (so one large payload
// does not keep its buffers alive in every thread that saw it).
inline constexpr std::size_t kFastJsonReusableBytes = std::size_t(1) << 20;

// True and `out` holds one exchange per span, in payload order, exactly as
// decode_traces_json_reference would return them; false ("declined") when
// the reference decoder must decide (see above). `out` is cleared first and
// is unspecified after a decline. Never throws for any input (only
// std::bad_alloc).
bool decode_traces_json_fast(std::string_view payload, std::vector<HttpExchange>& out);

}  // namespace softprobe::core
