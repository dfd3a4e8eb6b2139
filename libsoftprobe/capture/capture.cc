#include "capture/capture.hpp"

#include <chrono>

#include "request/traceparent.hpp"
#include "support/random_id.hpp"
#include "support/text.hpp"

namespace softprobe::core {

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
      if (auto tp = parse_traceparent(h.value)) {  // joins the caller's trace
        ex.trace_id = std::string(tp->trace_id);
        ex.parent_span_id = std::string(tp->parent_id);
      }
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
