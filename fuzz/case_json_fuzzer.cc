// libFuzzer target: case-file JSON. Property: parsing never crashes or leaks;
// it either succeeds or throws softprobe::core::Error; a parsed case written back
// out parses again to the same exchanges.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "case/case_file.hpp"
#include "support/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  softprobe::core::CaseFile parsed;
  try {
    parsed = softprobe::core::parse_case(text);
  } catch (const softprobe::core::Error&) {
    return 0;  // rejected with a precise error: fine
  }
  softprobe::core::CaseLimits unlimited{1u << 20, 1u << 20, 1u << 30, 1u << 30};
  softprobe::core::CaseFile again = softprobe::core::parse_case(softprobe::core::serialize_case(parsed), unlimited);
  if (again.exchanges.size() != parsed.exchanges.size()) std::abort();
  for (std::size_t i = 0; i < parsed.exchanges.size(); ++i) {
    const auto& a = parsed.exchanges[i];
    const auto& b = again.exchanges[i];
    if (a.span_id != b.span_id || a.host != b.host || a.path != b.path || a.status != b.status ||
        a.response_body != b.response_body) {
      std::fprintf(
          stderr,
          "round trip changed span %zu: span_id '%s'/'%s' host '%s'/'%s' path '%s'/'%s' status %d/%d body %zu/%zu\n", i,
          a.span_id.c_str(), b.span_id.c_str(), a.host.c_str(), b.host.c_str(), a.path.c_str(), b.path.c_str(),
          a.status.value_or(-1), b.status.value_or(-1), a.response_body.size(), b.response_body.size());
      std::abort();
    }
  }
  return 0;
}
