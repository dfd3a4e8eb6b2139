// libFuzzer target: what the proxy reads that is not HTTP framing (Beast's):
// a --rules document (JSON passes through; YAML becomes JSON), and the
// tracestate and traceparent lines of an ingress request. Properties: nothing
// crashes or throws anything but softprobe::Error; a converted document is
// JSON; the trace context written is one valid traceparent and one tracestate
// whose first member names the session, with at most 32 members.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "request/traceparent.hpp"
#include "rules_document.hpp"
#include "softprobe.hpp"
#include "trace_context.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void rules_document(const std::string& text) {
  std::string json;
  try {
    json = softprobe::proxy::rules_document_as_json(text, "--rules fuzz");
  } catch (const softprobe::Error& e) {
    check(std::string_view(e.what()).rfind("--rules fuzz: ", 0) == 0);
    return;
  }
  if (json.data() != text.data() && json != text) check(!nlohmann::json::parse(json, nullptr, false).is_discarded());
}

// Lines separated by '\n': the first is the session id, the others are
// request headers "name: value".
void trace_context(std::string_view in) {
  auto next_line = [&in] {
    auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return line;
  };
  std::string session(next_line());
  softprobe::net::Headers headers;
  while (!in.empty() && headers.size() < 64) {
    std::string_view line = next_line();
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    headers.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
  }
  softprobe::proxy::add_trace_context(headers, session);
  int parents = 0;
  for (const auto& h : headers)
    if (softprobe::net::iequals(h.name, "traceparent")) {
      ++parents;
      check(softprobe::core::parse_traceparent(h.value).has_value());
    }
  check(parents == 1);
  if (!softprobe::proxy::valid_tracestate_value(session)) return;
  const std::string* state = softprobe::net::find_header(headers, "tracestate");
  check(state != nullptr);
  std::string first = "x-softprobe-session-id=" + session;
  check(state->rfind(first, 0) == 0 && (state->size() == first.size() || (*state)[first.size()] == ','));
  std::size_t members = 1;
  for (char c : *state) members += c == ',';
  check(members <= softprobe::proxy::kMaxTracestateMembers);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) trace_context(in);
  else rules_document(std::string(in));
  return 0;
}
