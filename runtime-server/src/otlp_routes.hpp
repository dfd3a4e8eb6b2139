// The proxy OTLP API (contract section 7): POST /v1/inject and /v1/traces.
// The core decodes, decides or records, and encodes; this file picks the
// payload formats from the headers and turns the core's result into HTTP.
#pragma once

#include "http_response.hpp"
#include "runtime.hpp"

namespace softprobe::runtime::otlp {

struct Formats {
  sp_payload_format in, out;
};

// In: Content-Type (…protobuf / …json), else sniffed ('{' is JSON). Out: an
// Accept that names exactly one of the two, else the request's format.
Formats negotiate(const net::RequestHead& req, std::string_view body);

void inject(Runtime& rt, Call& c);
void traces(Runtime& rt, Call& c);

}  // namespace softprobe::runtime::otlp
