// libFuzzer target: body redaction with JSONPath. The input is
// "path1\npath2\n...\n\n<body>". Properties: no ASan/UBSan report
// (overlapping selections used to write through freed nodes); when the body
// is a JSON document, the redacted body is one too, and a path that selects
// the root leaves exactly "[REDACTED]".
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "capture/redaction.hpp"
#include "support/errors.hpp"
#include "support/json_document.hpp"
#include "support/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto split = in.find("\n\n");
  if (split == std::string_view::npos || split > 4096) return 0;
  nlohmann::json paths = nlohmann::json::array();
  std::string_view list = in.substr(0, split);
  while (!list.empty() && paths.size() < 16) {
    auto nl = list.find('\n');
    std::string_view p = list.substr(0, nl);
    if (!p.empty() && softprobe::core::text::is_valid_utf8(p)) paths.push_back(std::string(p));
    list = nl == std::string_view::npos ? std::string_view() : list.substr(nl + 1);
  }
  softprobe::core::Redaction redaction;
  try {
    redaction = softprobe::core::redaction_from_json(nlohmann::json{{"bodyJsonPaths", paths}});
  } catch (const softprobe::core::Error&) {
    return 0;  // a bad JSONPath is refused with its position: fine
  }
  softprobe::core::HttpExchange ex;
  ex.response_body = std::string(in.substr(split + 2));
  ex.request_body = ex.response_body;
  const bool was_json = softprobe::core::try_parse_json_body(ex.response_body).has_value();
  redaction.apply(ex);
  if (ex.request_body != ex.response_body) std::abort();  // one rule for both bodies
  if (was_json && !softprobe::core::try_parse_json_body(ex.response_body)) std::abort();
  return 0;
}
