#include "otlp_routes.hpp"

#include <cctype>
#include <chrono>
#include <memory>

#include "logger.hpp"

namespace softprobe::runtime::otlp {

namespace {

bool contains_ci(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && std::tolower(static_cast<unsigned char>(haystack[i + j])) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

std::string_view header(const net::RequestHead& req, const char* name) {
  const std::string* value = req.header(name);
  return value ? std::string_view(*value) : std::string_view();
}

const char* content_type(sp_payload_format f) {
  return f == SP_FORMAT_PROTOBUF ? "application/x-protobuf" : "application/json";
}

bool require_payload(Call& c) {
  if (!c.body.empty()) return true;
  send_error(c.res, 400, "invalid_request",
             "the request body is empty: send an OTLP TracesData (application/json or application/x-protobuf)");
  return false;
}

struct InjectDeleter {
  void operator()(sp_inject_result* r) const noexcept { sp_inject_result_free(r); }
};
struct ExtractDeleter {
  void operator()(sp_extract_result* r) const noexcept { sp_extract_result_free(r); }
};

}  // namespace

Formats negotiate(const net::RequestHead& req, std::string_view body) {
  Formats f;
  std::string_view type = header(req, "Content-Type");
  if (type == "application/x-protobuf") f.in = SP_FORMAT_PROTOBUF;  // the usual values, without a scan
  else if (type == "application/json") f.in = SP_FORMAT_JSON;
  else if (contains_ci(type, "protobuf")) f.in = SP_FORMAT_PROTOBUF;
  else if (contains_ci(type, "json")) f.in = SP_FORMAT_JSON;
  else {
    auto first = body.find_first_not_of(" \t\r\n");
    f.in = first != std::string_view::npos && body[first] == '{' ? SP_FORMAT_JSON : SP_FORMAT_PROTOBUF;
  }
  std::string_view accept = header(req, "Accept");
  if (accept.empty() || accept == "*/*") {
    f.out = f.in;
    return f;
  }
  bool pb = contains_ci(accept, "protobuf"), json = contains_ci(accept, "json");
  f.out = pb && !json ? SP_FORMAT_PROTOBUF : json && !pb ? SP_FORMAT_JSON : f.in;
  return f;
}

void inject(Runtime& rt, Call& c) {
  if (!require_payload(c)) {
    rt.metrics.inject(InjectLabel::invalid);
    return;
  }
  Formats f = negotiate(c.req, c.body);
  sp_inject_result* raw = nullptr;
  sp_status st = sp_store_inject_otlp(&raw, rt.store.handle(), c.body.data(), c.body.size(), f.in, f.out);
  if (st != SP_OK) {
    rt.metrics.inject(InjectLabel::invalid);
    send_core_error(c.res, st);
    return;
  }
  std::unique_ptr<sp_inject_result, InjectDeleter> result(raw);
  switch (sp_inject_result_outcome(raw)) {
    case SP_INJECT_HIT: rt.metrics.inject(InjectLabel::hit); break;
    case SP_INJECT_STRICT_MISS: rt.metrics.inject(InjectLabel::strict_miss); break;
    case SP_INJECT_MISS:
      rt.metrics.inject(InjectLabel::miss);
      c.res.status = 404;  // empty body: the proxy forwards
      return;
    case SP_INJECT_UNKNOWN_SESSION: {
      rt.metrics.inject(InjectLabel::unknown_session);
      std::string id = sp_inject_result_session_id(raw);
      send_error(c.res, 404, "unknown_session",
                 id.empty() ? "the inject span has no sp.session.id attribute"
                            : "unknown session \"" + id + "\" (never created, or already closed)");
      return;
    }
  }
  // A rule's latencyMs: the server answers on a timer (capped by --max-latency-ms); no thread waits.
  c.delay = std::chrono::milliseconds(sp_inject_result_latency_ms(raw));
  sp_str body = sp_inject_result_body(raw);
  send_bytes(c.res, sp_inject_result_http_status(raw), std::string(body.data, body.len), content_type(f.out));
}

void traces(Runtime& rt, Call& c) {
  if (!require_payload(c)) return;
  Formats f = negotiate(c.req, c.body);
  sp_extract_result* raw = nullptr;
  sp_status st = sp_store_extract_otlp(&raw, rt.store.handle(), c.body.data(), c.body.size(), f.in, f.out);
  if (st != SP_OK) {
    send_core_error(c.res, st);
    return;
  }
  std::unique_ptr<sp_extract_result, ExtractDeleter> result(raw);
  const std::size_t recorded = sp_extract_result_recorded(raw), rejected = sp_extract_result_rejected(raw),
                    to_replay = sp_extract_result_to_replay(raw);
  const std::size_t extracts = recorded + rejected + to_replay;
  rt.metrics.extract(recorded, rejected, sp_extract_result_ignored(raw), extracts);
  if (rejected)
    log(LogLevel::warn, "extract spans rejected", {{"rejected", rejected}, {"reason", sp_extract_result_message(raw)}});
  // The reference runtime's statuses: 400 without an extract span or without
  // a session id, 404 for an unknown session. Once any extract span reached a
  // session (or a limit refused it), 200 with partialSuccess for the rest.
  if (extracts == 0) {
    send_error(c.res, 400, "invalid_request",
               "the payload has no extract span (sp.span.type \"extract\"); " +
                   std::to_string(sp_extract_result_ignored(raw)) + " span(s) of another type");
    return;
  }
  if (recorded + to_replay == 0) {
    const std::size_t no_id = sp_extract_result_without_session_id(raw),
                      unknown = sp_extract_result_unknown_session(raw);
    if (no_id == rejected) {
      send_error(c.res, 400, "invalid_request", "no extract span has an sp.session.id attribute");
      return;
    }
    if (no_id + unknown == rejected) {
      send_error(c.res, 404, "unknown_session", sp_extract_result_message(raw));
      return;
    }
  }
  sp_str body = sp_extract_result_body(raw);
  send_bytes(c.res, 200, std::string(body.data ? body.data : "", body.len), content_type(f.out));
}

}  // namespace softprobe::runtime::otlp
