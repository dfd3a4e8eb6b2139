#include "capture/capture.hpp"

#include <chrono>

#include "support/random_id.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>
bool parse_traceparent(std::string_view v, std::string& trace_id, std::string& parent_id) {
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  auto t = v.substr(3, 32), p = v.substr(36, 16);
  if (!is_hex(t) || !is_hex(p) || t == std::string(32, '0')) return false;
  trace_id = std::string(t);
  parent_id = std::string(p);
  return true;
}

}  // namespace

std::uint64_t now_unix_nano() noexcept {
  return std::uint64_t(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

HttpExchange exchange_from_views(const RequestView& req, const ResponseView* resp, const ExchangeTiming& timing,
                                 std::string_view session_id) {
  MatchRequest m(req);
  HttpExchange ex;
  ex.session_id = std::string(session_id);
  ex.direction = req.direction.empty() ? "outbound" : std::string(req.direction);
  ex.span_type = "extract";
  ex.service = std::string(req.service);
  ex.scheme = req.scheme.empty() ? "http" : text::to_lower(req.scheme);
  ex.method = text::to_upper(req.method);
  ex.host = m.url_host;
  ex.path = req.path.empty() ? "/" : std::string(req.path);
  ex.query = std::string(req.query);
  ex.url_full = ex.scheme + "://" + ex.host + ex.path + (ex.query.empty() ? "" : "?" + ex.query);
  for (std::size_t i = 0; i < req.header_count; ++i) {
    const HeaderView& h = req.headers[i];
    ex.request_headers.emplace_back(text::to_lower(h.name), std::string(h.value));
    if (ex.trace_id.empty() && text::iequals(h.name, "traceparent"))
      parse_traceparent(h.value, ex.trace_id, ex.parent_span_id);
  }
  ex.request_body = std::string(req.body);
  for (std::size_t i = 0; i < req.tag_count; ++i)
    ex.tags.emplace_back(std::string(req.tags[i].key), std::string(req.tags[i].value));
  if (resp) {
    ex.status = resp->status;
    for (std::size_t i = 0; i < resp->header_count; ++i)
      ex.response_headers.emplace_back(text::to_lower(resp->headers[i].name), std::string(resp->headers[i].value));
    ex.response_body = std::string(resp->body);
  }
  if (ex.trace_id.empty()) ex.trace_id = random_hex(16);
  ex.span_id = random_hex(8);
  ex.name = "HTTP " + ex.method;
  if (timing.start_unix_nano) ex.start_time_unix_nano = std::to_string(timing.start_unix_nano);
  if (timing.end_unix_nano) ex.end_time_unix_nano = std::to_string(timing.end_unix_nano);
  return ex;
}

}  // namespace softprobe::core
