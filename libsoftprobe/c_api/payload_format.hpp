// The sp_payload_format argument of the experimental OTLP calls (otlp_api.cc,
// otlp_client_api.cc), checked: SP_E_INVALID_ARGUMENT naming `name` for any
// other value.
#pragma once

#ifndef SOFTPROBE_EXPERIMENTAL
#define SOFTPROBE_EXPERIMENTAL 1
#endif
#include <string>

#include "handles.hpp"
#include "otlp/otlp_traces.hpp"

namespace softprobe::core::capi {

inline PayloadFormat format_arg(sp_payload_format f, const char* name) {
  switch (f) {
    case SP_FORMAT_JSON: return PayloadFormat::json;
    case SP_FORMAT_PROTOBUF: return PayloadFormat::protobuf;
    default: break;
  }
  invalid(std::string(name) + " must be SP_FORMAT_JSON or SP_FORMAT_PROTOBUF, got " + std::to_string(int(f)));
}

}  // namespace softprobe::core::capi
