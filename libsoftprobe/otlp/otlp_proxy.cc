#include "otlp/otlp_proxy.hpp"

#include <unordered_set>
#include <vector>

#include "otlp/exchange_view.hpp"
#include "support/errors.hpp"

namespace softprobe::core {

namespace {

const HttpExchange& inject_span(const std::vector<HttpExchange>& spans) {
  if (spans.empty()) throw Error(ErrorCode::invalid_case, "$: the inject payload has no span", {{"path", "$"}});
  for (const auto& s : spans)
    if (s.span_type == "inject") return s;
  for (const auto& s : spans)
    if (s.span_type.empty()) return s;
  throw Error(
      ErrorCode::invalid_case,
      "$: the inject payload has no span with sp.span.type \"inject\" (found \"" + spans.front().span_type + "\")",
      {{"path", "$"}});
}

// Why extract spans were rejected, for partialSuccess.errorMessage: each
// distinct reason once, at most kMaxListed of them, whatever the batch size
// (a hash set, so 40k spans for unknown sessions cost 40k lookups, not 40k^2).
class RejectionReasons {
 public:
  void unknown_session(const std::string& id) {
    add(id.empty() ? "span without sp.session.id" : "unknown session \"" + id + "\"");
  }
  void over_limit(const std::string& message) { add(message); }
  std::string text() const {
    std::string out;
    for (const auto& r : listed_) out += (out.empty() ? "" : ", ") + r;
    if (seen_.size() > listed_.size()) out += " (and " + std::to_string(seen_.size() - listed_.size()) + " more)";
    return out;
  }

 private:
  static constexpr std::size_t kMaxListed = 10;
  // `seen_` holds at most one entry per span of one payload, which the
  // front end's body limit bounds.
  void add(std::string reason) {
    if (!seen_.insert(reason).second) return;
    if (listed_.size() < kMaxListed) listed_.push_back(std::move(reason));
  }
  std::unordered_set<std::string> seen_;
  std::vector<std::string> listed_;
};

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
  // One upload, one traces[] entry in the case the capture writes (the seed
  // documents: each entry describes one hop, as its proxy reported it).
  const std::uint64_t entry = new_trace_entry();
  for (auto& span : spans) span.trace_entry = entry;
  ExtractResult result;
  RejectionReasons reasons;
  for (auto& span : spans) {
    if (span.span_type != "extract") {
      ++result.ignored;
      continue;
    }
    std::string id = span.session_id;
    auto session = id.empty() ? nullptr : store.find(id);
    if (!session) {
      ++result.rejected;
      ++(id.empty() ? result.without_session_id : result.unknown_session);
      reasons.unknown_session(id);
      continue;
    }
    try {
      canonicalize_exchange(span);  // recorded in the same canonical form as the bindings' requests
      if (session->record(std::move(span))) ++result.recorded;
      else {
        ++result.ignored;  // a replay session keeps no capture
        ++result.to_replay;
      }
    } catch (const Error& e) {
      ++result.rejected;
      if (e.code() == ErrorCode::session_closed) {
        ++result.unknown_session;
        reasons.unknown_session(id);
      } else if (e.code() == ErrorCode::limit_exceeded || e.code() == ErrorCode::invalid_argument)
        reasons.over_limit(e.what());
      else throw;
    }
  }
  if (result.rejected)
    result.message = std::to_string(result.rejected) + " extract span(s) rejected: " + reasons.text();
  result.body = encode_export_response(result.rejected, result.message, out);
  return result;
}

}  // namespace softprobe::core
