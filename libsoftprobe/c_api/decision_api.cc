// sp_session_decide, the sp_decision accessors and sp_session_record: the
// per-request path. Views in, no JSON.
#include <vector>

#include "capture/capture.hpp"
#include "handles.hpp"
#include "request/fingerprint.hpp"
#include "request_adapter.hpp"

using namespace softprobe::core;
using capi::checked_view;
using capi::guarded;
using capi::RequestAdapter;
using capi::require;
using capi::ResponseAdapter;

extern "C" {

sp_status sp_session_decide(sp_decision** out, sp_session* session, const sp_request* request) {
  return guarded([&] {
    require(out, "out");
    require(session, "session");
    RequestAdapter req(request);
    auto* d = new sp_decision{session->session->decide(req.v), {}};
    if (d->decision.rule) d->rule_label = d->decision.rule->label();
    *out = d;
  });
}

void sp_decision_free(sp_decision* decision) { delete decision; }

// A NULL decision reads as a refusal (softprobe.h): never as passthrough.
constexpr int kNullDecisionStatus = 599;

sp_outcome sp_decision_outcome(const sp_decision* d) {
  return d ? static_cast<sp_outcome>(d->decision.outcome) : SP_OUTCOME_ERROR;
}

int sp_decision_status(const sp_decision* d) {
  if (!d) return kNullDecisionStatus;
  return d->decision.response ? d->decision.response->status : 0;
}

size_t sp_decision_header_count(const sp_decision* d) {
  return d && d->decision.response ? d->decision.response->headers.size() : 0;
}

sp_header sp_decision_header(const sp_decision* d, size_t i) {
  if (!d || !d->decision.response || i >= d->decision.response->headers.size())
    return sp_header{{nullptr, 0}, {nullptr, 0}};
  const auto& [name, value] = d->decision.response->headers[i];
  return sp_header{{name.data(), name.size()}, {value.data(), value.size()}};
}

sp_str sp_decision_body(const sp_decision* d) {
  if (!d || !d->decision.response) return sp_str{nullptr, 0};
  return sp_str{d->decision.response->body.data(), d->decision.response->body.size()};
}

uint32_t sp_decision_latency_ms(const sp_decision* d) { return d ? d->decision.latency_ms : 0; }

int sp_decision_is_strict_miss(const sp_decision* d) { return d && d->decision.strict_miss ? 1 : 0; }

const char* sp_decision_rule(const sp_decision* d) { return d ? d->rule_label.c_str() : ""; }

sp_status sp_decision_explain(char** out_json, const sp_decision* d) {
  return guarded([&] {
    require(out_json, "out_json");
    require(d, "decision");
    nlohmann::json j;
    if (d->decision.miss) {
      j = explain_miss(*d->decision.miss);
    } else {
      j = {{"outcome", action_name(d->decision.outcome)}, {"fromPolicy", d->decision.from_policy}};
      if (d->decision.rule) j["rule"] = d->rule_label;
    }
    *out_json = capi::dup_string(j.dump());
  });
}

sp_status sp_canonical_request(char** out_json, const sp_request* request) {
  return guarded([&] {
    require(out_json, "out_json");
    RequestAdapter req(request);
    auto j = nlohmann::ordered_json::parse(canonical_request_json(req.canonical));
    j["fingerprint"] = request_fingerprint(req.v.method, req.canonical.url_host, req.canonical.path, req.v.body);
    *out_json = capi::dup_string(j.dump());
  });
}

sp_status sp_session_record(sp_session* session, const sp_request* request, const sp_response* response,
                            uint64_t start_unix_nano, uint64_t end_unix_nano) {
  return guarded([&] {
    require(session, "session");
    RequestAdapter req(request);
    ResponseAdapter resp(response);
    Session& s = *session->session;
    s.record(exchange_from_views(req.v, resp.get(), {start_unix_nano, end_unix_nano}, s.id()));
  });
}

}  // extern "C"
