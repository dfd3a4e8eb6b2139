// The OpenAPI 3 document of the runtime's HTTP API, served at GET
// /openapi.yaml: runtime-server/openapi.yaml, embedded at build time.
#pragma once

#include <string_view>

namespace softprobe::runtime {

// The document's bytes (YAML), as checked in.
std::string_view openapi_document() noexcept;

}  // namespace softprobe::runtime
