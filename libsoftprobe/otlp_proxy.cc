#include "otlp_proxy.hpp"

#include <algorithm>
#include <vector>

#include "errors.hpp"
#include "exchange_view.hpp"

namespace softprobe {

namespace {

const HttpExchange& inject_span(const std::vector<HttpExchange>& spans) {
  if (spans.empty()) throw Error(ErrorCode::invalid_case, "$: the inject payload has no span", {{"path", "$"}});
  for (const auto& s : spans)
    if (s.span_type == "inject") return s;
  for (const auto& s : spans)
    if (s.span_type.empty()) return s;
  throw Error(ErrorCode::invalid_case,
              "$: the inject payload has no span with sp.span.type \"inject\" (found \"" + spans.front().span_type + "\")",
              {{"path", "$"}});
}

}  // namespace

InjectResult inject_otlp(const SessionStore& store, std::string_view payload, PayloadFormat in, PayloadFormat out) {
  std::vector<HttpExchange> spans = decode_traces(payload, in);
  const HttpExchange& span = inject_span(spans);
  InjectResult result;
  result.session_id = span.session_id;
  auto session = span.session_id.empty() ? nullptr : store.find(span.session_id);
  if (!session) {
    result.outcome = InjectOutcome::unknown_session;
    return result;
  }
  ExchangeRequestView request(span);
  Decision d;
  try {
    d = session->decide(request.view());
  } catch (const Error& e) {
    if (e.code() != ErrorCode::session_closed) throw;
    result.outcome = InjectOutcome::unknown_session;  // closed while we looked it up
    return result;
  }
  if (d.rule) result.rule = d.rule->label();
  if ((d.outcome != Action::mock && d.outcome != Action::error) || !d.response) {
    result.outcome = InjectOutcome::miss;
    return result;
  }
  result.outcome = d.strict_miss ? InjectOutcome::strict_miss : InjectOutcome::hit;
  result.http_status = 200;
  result.latency_ms = d.latency_ms;
  result.body = encode_inject_response(span, *d.response, out);
  return result;
}

ExtractResult extract_otlp(const SessionStore& store, std::string_view payload, PayloadFormat in, PayloadFormat out) {
  std::vector<HttpExchange> spans = decode_traces(payload, in);  // throws before anything is recorded
  ExtractResult result;
  std::vector<std::string> unknown;
  for (auto& span : spans) {
    if (span.span_type != "extract") {
      ++result.ignored;
      continue;
    }
    std::string id = span.session_id;
    auto session = id.empty() ? nullptr : store.find(id);
    bool recorded = false;
    if (session) {
      try {
        session->record(std::move(span));
        recorded = true;
      } catch (const Error& e) {
        if (e.code() != ErrorCode::session_closed) throw;
      }
    }
    if (recorded) {
      ++result.recorded;
    } else {
      ++result.rejected;
      if (std::find(unknown.begin(), unknown.end(), id) == unknown.end()) unknown.push_back(id);
    }
  }
  if (result.rejected) {
    result.message = std::to_string(result.rejected) + " extract span(s) rejected: ";
    for (std::size_t i = 0; i < unknown.size(); ++i) {
      if (i) result.message += ", ";
      result.message += unknown[i].empty() ? "span without sp.session.id" : "unknown session \"" + unknown[i] + "\"";
    }
  }
  result.body = encode_export_response(result.rejected, result.message, out);
  return result;
}

}  // namespace softprobe
