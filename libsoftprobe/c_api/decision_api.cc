// sp_session_decide, the sp_decision accessors and sp_session_record: the
// per-request path. Views in, no JSON.
#include <vector>

#include "capture/capture.hpp"
#include "handles.hpp"
#include "request/canonical_request.hpp"
#include "request/fingerprint.hpp"

using namespace softprobe::core;
using capi::checked_view;
using capi::guarded;
using capi::require;

namespace {

// The request as the caller sent it, made canonical once (canonical_request.hpp):
// decide, record and sp_canonical_request all see the same form.
struct RequestAdapter {
  RequestView v;
  CanonicalRequest canonical;
  HeaderView header_buf[32];
  std::vector<HeaderView> header_heap;
  TagView tag_buf[16];
  std::vector<TagView> tag_heap;

  explicit RequestAdapter(const sp_request* r) {
    require(r, "request");
    if (r->version < 1 || r->version > SP_REQUEST_VERSION)
      capi::invalid("request.version is " + std::to_string(r->version) + "; this core understands 1 to " +
                    std::to_string(SP_REQUEST_VERSION) + " (initialize requests with SP_REQUEST_INIT)");
    if (r->header_count && !r->headers) capi::invalid("request.headers is NULL but header_count > 0");
    if (r->tag_count && !r->tags) capi::invalid("request.tags is NULL but tag_count > 0");
    if (r->direction.len) v.direction = checked_view(r->direction, "request.direction");
    v.method = checked_view(r->method, "request.method");
    v.service = checked_view(r->service, "request.service");
    v.body = checked_view(r->body, "request.body");

    // The header lines as sent, viewed for the canonical form (which copies them).
    HeaderView* headers = header_buf;
    if (r->header_count > std::size(header_buf)) {
      header_heap.resize(r->header_count);
      headers = header_heap.data();
    }
    for (std::size_t i = 0; i < r->header_count; ++i)
      headers[i] = {checked_view(r->headers[i].name, "request.headers[].name"),
                    checked_view(r->headers[i].value, "request.headers[].value")};
    RequestInput in;
    if (r->version >= 2) in.url = checked_view(r->url, "request.url");  // a version 1 struct has no url field
    in.scheme = checked_view(r->scheme, "request.scheme");
    in.authority = checked_view(r->host, "request.host");
    in.port = r->port;
    in.path = checked_view(r->path, "request.path");
    in.query = checked_view(r->query, "request.query");
    in.headers = headers;
    in.header_count = r->header_count;
    in.where = "request.";
    canonical = canonical_request(in);

    v.scheme = canonical.scheme;
    v.host = canonical.url_host;  // ":port" only when not the scheme default (RequestView's form)
    v.path = canonical.path;
    v.query = canonical.query;
    if (canonical.headers.size() > std::size(header_buf)) {
      header_heap.resize(canonical.headers.size());
      headers = header_heap.data();
    } else {
      headers = header_buf;
    }
    for (std::size_t i = 0; i < canonical.headers.size(); ++i)
      headers[i] = {canonical.headers[i].first, canonical.headers[i].second};
    v.headers = headers;
    v.header_count = canonical.headers.size();

    TagView* tags = tag_buf;
    if (r->tag_count > std::size(tag_buf)) {
      tag_heap.resize(r->tag_count);
      tags = tag_heap.data();
    }
    for (std::size_t i = 0; i < r->tag_count; ++i)
      tags[i] = {checked_view(r->tags[i].name, "request.tags[].name"),
                 checked_view(r->tags[i].value, "request.tags[].value")};
    v.tags = tags;
    v.tag_count = r->tag_count;
  }
};

}  // namespace

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
    std::vector<HeaderView> headers;
    ResponseView resp;
    if (response) {
      if (response->version != SP_RESPONSE_VERSION)
        capi::invalid("response.version is " + std::to_string(response->version) +
                      "; initialize with SP_RESPONSE_INIT");
      if (response->header_count && !response->headers) capi::invalid("response.headers is NULL but header_count > 0");
      headers.reserve(response->header_count);
      for (std::size_t i = 0; i < response->header_count; ++i)
        headers.push_back({checked_view(response->headers[i].name, "response.headers[].name"),
                           checked_view(response->headers[i].value, "response.headers[].value")});
      resp.status = response->status;
      resp.headers = headers.data();
      resp.header_count = headers.size();
      resp.body = checked_view(response->body, "response.body");
    }
    Session& s = *session->session;
    s.record(exchange_from_views(req.v, response ? &resp : nullptr, {start_unix_nano, end_unix_nano}, s.id()));
  });
}

}  // extern "C"
