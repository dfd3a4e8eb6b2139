// softprobe.hpp: the C++ API of libsoftprobe, header-only, over the C ABI in
// softprobe.h (so a C++ service links the same stable library as every other
// binding). RAII handles, exceptions instead of status codes, std::string
// JSON documents in and out.
//
//   softprobe::Store store;
//   softprobe::Session s = store.start_session(R"({"mode":"replay","policy":{"externalHttp":"strict"}})");
//   s.load_case_file("checkout.case.json");
//   s.set_rules(R"({"version":1,"rules":[...]})");
//   softprobe::Request req; req.method = "GET"; req.host = "api.example.com"; req.path = "/v1/x";
//   softprobe::Decision d = s.decide(req);
//   if (d.outcome() == SP_OUTCOME_MOCK) { ... d.status(), d.body() ... }
#ifndef SOFTPROBE_HPP
#define SOFTPROBE_HPP

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "softprobe.h"

namespace softprobe {

// Every failure of the C API, as an exception: status(), the message from
// sp_last_error(), and details() (JSON text from sp_last_error_details()).
class Error : public std::runtime_error {
 public:
  Error(sp_status status, const std::string& message, std::string details)
      : std::runtime_error(message), status_(status), details_(std::move(details)) {}
  sp_status status() const noexcept { return status_; }
  const std::string& details() const noexcept { return details_; }

 private:
  sp_status status_;
  std::string details_;
};

namespace detail {

inline void check(sp_status st) {
  if (st != SP_OK) throw Error(st, sp_last_error(), sp_last_error_details());
}

// Takes ownership of a string returned by the C API.
inline std::string take(char* s) {
  std::string out = s ? s : "";
  sp_string_free(s);
  return out;
}

inline sp_str str(std::string_view s) noexcept { return sp_str{s.data(), s.size()}; }

}  // namespace detail

// For a call into softprobe.h made next to these wrappers: check() throws the
// call's Error unless it returned SP_OK; take_string() copies and frees a
// string the C API returned (NULL gives "").
inline void check(sp_status status) { detail::check(status); }
inline std::string take_string(char* s) { return detail::take(s); }

// Library version actually loaded.
inline std::string version() { return sp_version_string(); }
// Whether the loaded library serves this header (SOFTPROBE_CHECK_VERSION).
inline bool abi_compatible() noexcept { return SOFTPROBE_CHECK_VERSION() != 0; }

// Checks a document as the matching setter would, without a session; throws
// the setter's Error (SP_E_INVALID_JSON/_RULE/_POLICY/_CASE...).
inline void validate_rules(std::string_view json) { detail::check(sp_validate_rules(json.data(), json.size())); }
inline void validate_policy(std::string_view json) { detail::check(sp_validate_policy(json.data(), json.size())); }
inline void validate_case(std::string_view json) { detail::check(sp_validate_case(json.data(), json.size())); }

// A request to decide or record. Views must outlive the call only.
struct Request {
  std::string_view direction = "outbound", method = "GET", scheme = "http", host, path = "/", query, service, body;
  int port = 0;
  std::vector<std::pair<std::string_view, std::string_view>> headers, tags;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
};

namespace detail {

struct RequestBuffers {
  sp_request req = SP_REQUEST_INIT;
  std::vector<sp_header> headers, tags;
  explicit RequestBuffers(const Request& r) {
    req.direction = str(r.direction);
    req.method = str(r.method);
    req.scheme = str(r.scheme);
    req.host = str(r.host);
    req.port = r.port;
    req.path = str(r.path);
    req.query = str(r.query);
    req.service = str(r.service);
    req.body = str(r.body);
    for (const auto& [n, v] : r.headers) headers.push_back({str(n), str(v)});
    for (const auto& [k, v] : r.tags) tags.push_back({str(k), str(v)});
    req.headers = headers.data();
    req.header_count = headers.size();
    req.tags = tags.data();
    req.tag_count = tags.size();
  }
};

}  // namespace detail

// The answer for one request. Move-only; views it returns live as long as it.
class Decision {
 public:
  explicit Decision(sp_decision* d) noexcept : d_(d) {}
  Decision(Decision&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  Decision& operator=(Decision&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  Decision(const Decision&) = delete;
  Decision& operator=(const Decision&) = delete;
  ~Decision() { sp_decision_free(d_); }

  sp_outcome outcome() const noexcept { return sp_decision_outcome(d_); }
  bool answered() const noexcept { return outcome() == SP_OUTCOME_MOCK || outcome() == SP_OUTCOME_ERROR; }
  int status() const noexcept { return sp_decision_status(d_); }
  std::string_view body() const noexcept {
    sp_str b = sp_decision_body(d_);
    return b.data ? std::string_view(b.data, b.len) : std::string_view();
  }
  std::vector<std::pair<std::string_view, std::string_view>> headers() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    for (std::size_t i = 0, n = sp_decision_header_count(d_); i < n; ++i) {
      sp_header h = sp_decision_header(d_, i);
      out.emplace_back(std::string_view(h.name.data, h.name.len), std::string_view(h.value.data, h.value.len));
    }
    return out;
  }
  std::uint32_t latency_ms() const noexcept { return sp_decision_latency_ms(d_); }
  bool strict_miss() const noexcept { return sp_decision_is_strict_miss(d_) != 0; }
  std::string rule() const { return sp_decision_rule(d_); }
  // JSON: for a strict miss, the near-miss explanation.
  std::string explain() const {
    char* out = nullptr;
    detail::check(sp_decision_explain(&out, d_));
    return detail::take(out);
  }

 private:
  sp_decision* d_;
};

class Session {
 public:
  explicit Session(sp_session* s) noexcept : s_(s) {}
  Session(Session&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Session& operator=(Session&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { sp_session_free(s_); }

  std::string id() const { return sp_session_id(s_); }
  std::string mode() const { return sp_session_mode(s_); }
  std::uint64_t revision() const noexcept { return sp_session_revision(s_); }

  // Each mutation returns the revision it produced.
  std::uint64_t load_case(std::string_view json) { return set(sp_session_load_case, json); }
  std::uint64_t load_case_file(const std::string& path) {
    std::uint64_t revision = 0;
    detail::check(sp_session_load_case_file(&revision, s_, path.data(), path.size()));
    return revision;
  }
  std::uint64_t set_rules(std::string_view json) { return set(sp_session_set_rules, json); }
  // Appends rules after the current ones (sp_session_add_rules).
  std::uint64_t add_rules(std::string_view json) { return set(sp_session_add_rules, json); }
  std::string rules() const { return get(sp_session_get_rules); }
  std::uint64_t set_policy(std::string_view json) { return set(sp_session_set_policy, json); }
  std::uint64_t set_auth_fixtures(std::string_view json) { return set(sp_session_set_auth_fixtures, json); }
  std::string stats() const { return get(sp_session_stats); }
  std::string state() const { return get(sp_session_state); }
  std::string strict_misses() const { return get(sp_session_strict_misses); }

  // JSON {"response":{...},"span":{...}}; throws Error(SP_E_CASE_LOOKUP)
  // with details {"matches":[...]} unless exactly one span matches.
  std::string find_in_case(std::string_view predicate_json) const {
    char* out = nullptr;
    detail::check(sp_session_find_in_case(&out, s_, predicate_json.data(), predicate_json.size()));
    return detail::take(out);
  }
  std::string find_all_in_case(std::string_view predicate_json) const {
    char* out = nullptr;
    detail::check(sp_session_find_all_in_case(&out, s_, predicate_json.data(), predicate_json.size()));
    return detail::take(out);
  }

  Decision decide(const Request& r) {
    detail::RequestBuffers b(r);
    sp_decision* d = nullptr;
    detail::check(sp_session_decide(&d, s_, &b.req));
    return Decision(d);
  }

  void record(const Request& r, const Response& resp, std::uint64_t start_unix_nano = 0,
              std::uint64_t end_unix_nano = 0) {
    detail::RequestBuffers b(r);
    std::vector<sp_header> headers;
    for (const auto& [n, v] : resp.headers) headers.push_back({detail::str(n), detail::str(v)});
    sp_response out = SP_RESPONSE_INIT;
    out.status = resp.status;
    out.headers = headers.data();
    out.header_count = headers.size();
    out.body = detail::str(resp.body);
    detail::check(sp_session_record(s_, &b.req, &out, start_unix_nano, end_unix_nano));
  }

  // Closes the session; returns the capture path written ("" for replay).
  std::string close(std::string_view out_path = {}) {
    char* out = nullptr;
    detail::check(sp_session_close(&out, s_, out_path.data(), out_path.size()));
    return detail::take(out);
  }
  // The capture so far as case JSON; the session stays open.
  std::string export_capture() const { return get(sp_session_export_capture); }
  // Closes the session and returns its capture as case JSON (no file).
  std::string close_export() {
    char* out = nullptr;
    detail::check(sp_session_close_export(&out, s_));
    return detail::take(out);
  }

  sp_session* handle() const noexcept { return s_; }

 private:
  std::string get(sp_status (*fn)(char**, const sp_session*)) const {
    char* out = nullptr;
    detail::check(fn(&out, s_));
    return detail::take(out);
  }
  std::uint64_t set(sp_status (*fn)(std::uint64_t*, sp_session*, const char*, size_t), std::string_view json) {
    std::uint64_t revision = 0;
    detail::check(fn(&revision, s_, json.data(), json.size()));
    return revision;
  }
  sp_session* s_;
};

class Store {
 public:
  Store() { detail::check(sp_store_new(&s_)); }
  Store(Store&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Store& operator=(Store&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store() { sp_store_free(s_); }

  // options_json: see sp_session_new ("" for a default replay session).
  Session start_session(std::string_view options_json = {}) {
    sp_session* s = nullptr;
    detail::check(sp_session_new(&s, s_, options_json.data(), options_json.size()));
    return Session(s);
  }
  Session attach(std::string_view id) const {
    sp_session* s = nullptr;
    detail::check(sp_store_get_session(&s, s_, id.data(), id.size()));
    return Session(s);
  }
  std::string list_sessions() const {
    char* out = nullptr;
    detail::check(sp_store_list_sessions(&out, s_));
    return detail::take(out);
  }
  sp_store* handle() const noexcept { return s_; }

 private:
  sp_store* s_ = nullptr;
};

#ifdef SOFTPROBE_EXPERIMENTAL
// The proxy OTLP client (softprobe.h, experimental): the payloads a proxy
// sends a remote runtime, and its inject answer read as a Decision.
namespace otlp {

namespace detail {
inline std::string take_bytes(char* s, std::size_t len) {
  std::string out(s, len);
  sp_string_free(s);
  return out;
}
}  // namespace detail

inline std::string encode_inject(const Request& r, std::string_view session_id, sp_payload_format format) {
  softprobe::detail::RequestBuffers b(r);
  char* out = nullptr;
  std::size_t len = 0;
  softprobe::detail::check(sp_otlp_encode_inject(&out, &len, &b.req, session_id.data(), session_id.size(), format));
  return detail::take_bytes(out, len);
}

inline std::string encode_extract(const Request& r, const Response& resp, std::string_view session_id,
                                  std::uint64_t start_unix_nano, std::uint64_t end_unix_nano,
                                  sp_payload_format format) {
  softprobe::detail::RequestBuffers b(r);
  std::vector<sp_header> headers;
  for (const auto& [n, v] : resp.headers) headers.push_back({softprobe::detail::str(n), softprobe::detail::str(v)});
  sp_response out_resp = SP_RESPONSE_INIT;
  out_resp.status = resp.status;
  out_resp.headers = headers.data();
  out_resp.header_count = headers.size();
  out_resp.body = softprobe::detail::str(resp.body);
  char* out = nullptr;
  std::size_t len = 0;
  softprobe::detail::check(sp_otlp_encode_extract(&out, &len, &b.req, &out_resp, session_id.data(), session_id.size(),
                                                  start_unix_nano, end_unix_nano, format));
  return detail::take_bytes(out, len);
}

inline Decision decode_inject_answer(std::string_view payload, sp_payload_format format) {
  sp_decision* d = nullptr;
  softprobe::detail::check(sp_otlp_decode_inject_answer(&d, payload.data(), payload.size(), format));
  return Decision(d);
}

}  // namespace otlp
#endif  // SOFTPROBE_EXPERIMENTAL

}  // namespace softprobe

#endif  // SOFTPROBE_HPP
