#include "session/session.hpp"

#include <cctype>
#include <ctime>

#include "capture/capture_directory.hpp"
#include "request/fingerprint.hpp"
#include "rules/rule_matcher.hpp"
#include "support/atomic_file.hpp"
#include "support/errors.hpp"
#include "support/json_fields.hpp"
#include "support/log.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

constexpr std::size_t kRecentMisses = 32;
constexpr std::size_t kMaxOptionStringBytes = 1024;  // caseId, suite

std::int64_t steady_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string iso8601_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json empty_rules_document() { return {{"version", 1}, {"rules", nlohmann::json::array()}}; }

}  // namespace

void validate_auth_fixtures(const nlohmann::json& f) {
  auto fail = [](const std::string& field, const std::string& what) {
    throw Error(ErrorCode::invalid_argument, "fixtures." + field + ": " + what, {{"field", field}});
  };
  if (!f.is_object()) fail("", "auth fixtures must be an object with tokens, cookies and metadata");
  for (const auto& [key, v] : f.items()) {
    if (field_absent(v)) continue;  // a null field is absent
    if ((key == "tokens" || key == "cookies") && !v.is_array()) fail(key, "must be an array");
    if (key == "metadata" && !v.is_object()) fail(key, "must be an object");
  }
}

const char* session_mode_name(SessionMode m) noexcept {
  switch (m) {
    case SessionMode::capture: return "capture";
    case SessionMode::replay: return "replay";
    case SessionMode::generate: return "generate";
  }
  return "?";
}

SessionOptions session_options_from_json(const nlohmann::json& j) {
  SessionOptions o;
  if (j.is_null()) return o;
  auto fail = [](const std::string& field, const std::string& what) {
    throw Error(ErrorCode::invalid_argument, field + ": " + what, {{"field", field}});
  };
  if (!j.is_object()) fail("session options", "must be a JSON object");
  for (const auto& [key, v] : j.items()) {
    if (skip_null_field(key, v,
                        {"sessionId", "mode", "policy", "caseId", "suite", "redaction", "limits", "replayCase"}))
      continue;
    if (key == "sessionId") {
      std::string id = v.is_string() ? v.get<std::string>() : "";
      bool ok = !id.empty() && id.size() <= kMaxSessionIdBytes;
      for (char c : id) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
      if (!ok)
        fail("sessionId", "must be 1 to 128 characters of A-Z a-z 0-9 - _ . (it travels in headers and tracestate)");
      o.session_id = id;
    } else if (key == "mode") {
      std::string m = v.is_string() ? v.get<std::string>() : "";
      if (m == "capture") o.mode = SessionMode::capture;
      else if (m == "replay") o.mode = SessionMode::replay;
      else if (m == "generate") o.mode = SessionMode::generate;
      else fail("mode", "must be \"capture\", \"replay\" or \"generate\", got " + v.dump());
    } else if (key == "policy") {
      parse_policy(v);  // validate now, so a bad policy fails session creation
      o.policy = v;
    } else if (key == "caseId" || key == "suite") {
      if (!v.is_string()) fail(key, "must be a string");
      const auto& text = v.get_ref<const std::string&>();
      if (text.size() > kMaxOptionStringBytes)
        fail(key, "is " + std::to_string(text.size()) + " bytes, over the limit of " +
                      std::to_string(kMaxOptionStringBytes));
      (key == "caseId" ? o.case_id : o.suite) = text;
    } else if (key == "redaction") {
      o.redaction = redaction_from_json(v);
    } else if (key == "limits") {
      o.limits = case_limits_from_json(v);
    } else if (key == "replayCase") {
      if (!v.is_boolean()) fail(key, "must be true or false");
      o.replay_case = v.get<bool>();
    } else {
      fail(key,
           "unknown session option (expected sessionId, mode, policy, caseId, suite, redaction, limits, replayCase)");
    }
  }
  return o;
}

std::string default_capture_path() {
  const char* env = std::getenv("SOFTPROBE_CAPTURE_CASE_PATH");
  return env && *env ? env : "./captured.case.json";
}

Session::Session(std::string id, SessionOptions options)
    : id_(std::move(id)), options_(std::move(options)), last_used_ns_(steady_now_ns()) {
  snapshot_ = std::make_shared<const SessionSnapshot>(parse_policy(options_.policy), RuleSet(RuleList{}, RuleList{}),
                                                      std::make_shared<const nlohmann::json>(empty_rules_document()), 0,
                                                      nullptr, nlohmann::json::object());
}

void Session::touch() noexcept { last_used_ns_.store(steady_now_ns(), std::memory_order_relaxed); }

std::chrono::steady_clock::time_point Session::last_used() const noexcept {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(last_used_ns_.load(std::memory_order_relaxed)));
}

void Session::ensure_open() const {
  if (closed()) throw Error(ErrorCode::session_closed, "session " + id_ + " is closed", {{"sessionId", id_}});
}

std::uint64_t Session::publish(std::shared_ptr<const SessionSnapshot> next) {
  std::uint64_t revision;
  {
    // The swap and the bump are one step: a reader that sees the new
    // snapshot sees its revision, and two writers never report the same one.
    std::unique_lock lock(snapshot_mu_);
    snapshot_.swap(next);
    revision = revision_.fetch_add(1, std::memory_order_acq_rel) + 1;
  }  // the old snapshot is released here, outside the lock
  touch();
  return revision;
}

std::uint64_t Session::set_rules(const nlohmann::json& document, std::vector<std::string>* warnings) {
  ensure_open();
  std::vector<std::string> found;
  RuleList rules = parse_rules(document, RuleLayer::session, &found);  // throws before anything changes
  // GET rules echoes the document as posted, as the reference runtime does
  auto doc = std::make_shared<const nlohmann::json>(document);
  std::lock_guard<std::mutex> lock(mutate_mu_);
  if (warnings) *warnings = std::move(found);
  auto cur = snapshot();
  inherit_rule_usage(rules, cur->rules.session_rules());
  std::size_t posted = rules.size();
  return publish(std::make_shared<const SessionSnapshot>(
      cur->policy, RuleSet(cur->rules.case_rules(), std::move(rules)), std::move(doc), posted, cur->loaded_case,
      cur->auth_fixtures, cur->case_replay));
}

std::uint64_t Session::add_rules(const nlohmann::json& document, std::vector<std::string>* warnings) {
  ensure_open();
  std::vector<std::string> found;
  std::lock_guard<std::mutex> lock(mutate_mu_);  // the new rules' positions follow the current ones
  auto cur = snapshot();
  RuleList rules = parse_rules(document, RuleLayer::session, &found, cur->rules.session_rule_count());  // may throw
  if (warnings) *warnings = std::move(found);
  return publish(std::make_shared<const SessionSnapshot>(cur->policy, cur->rules.with_appended(std::move(rules)),
                                                         cur->session_rules_document, cur->posted_rules,
                                                         cur->loaded_case, cur->auth_fixtures, cur->case_replay));
}

std::uint64_t Session::set_policy(const nlohmann::json& policy) {
  ensure_open();
  Policy parsed = parse_policy(policy);
  std::lock_guard<std::mutex> lock(mutate_mu_);
  auto cur = snapshot();
  return publish(std::make_shared<const SessionSnapshot>(std::move(parsed), cur->rules, cur->session_rules_document,
                                                         cur->posted_rules, cur->loaded_case, cur->auth_fixtures,
                                                         cur->case_replay));
}

std::uint64_t Session::load_case(std::shared_ptr<const CaseFile> loaded) {
  ensure_open();
  RuleList case_rules = parse_rules(loaded->rules, RuleLayer::case_rules);
  auto replay = options_.replay_case ? std::make_shared<const CaseReplay>(*loaded) : nullptr;
  std::lock_guard<std::mutex> lock(mutate_mu_);
  auto cur = snapshot();
  return publish(std::make_shared<const SessionSnapshot>(
      cur->policy, RuleSet(std::move(case_rules), cur->rules.session_rules()), cur->session_rules_document,
      cur->posted_rules, std::move(loaded), cur->auth_fixtures, std::move(replay)));
}

std::uint64_t Session::set_auth_fixtures(const nlohmann::json& fixtures) {
  ensure_open();
  validate_auth_fixtures(fixtures);
  std::lock_guard<std::mutex> lock(mutate_mu_);
  auto cur = snapshot();
  return publish(std::make_shared<const SessionSnapshot>(cur->policy, cur->rules, cur->session_rules_document,
                                                         cur->posted_rules, cur->loaded_case, fixtures,
                                                         cur->case_replay));
}

Decision Session::decide(const RequestView& view) {
  Decision d = decide_counted(view);
  // injectedSpans counts injected answers only (mock and error, as the
  // reference runtime does); a strict miss is counted in strictMisses.
  if (d.strict_miss) return d;
  if ((d.outcome == Action::mock || d.outcome == Action::error) && d.response)
    injected_.fetch_add(1, std::memory_order_relaxed);
  else passthroughs_.fetch_add(1, std::memory_order_relaxed);
  return d;
}

Decision Session::decide_counted(const RequestView& view) {
  ensure_open();
  decisions_.fetch_add(1, std::memory_order_relaxed);
  touch();
  auto snap = snapshot();
  MatchRequest req(view);
  Decision d;
  auto from_rule = [&](const Rule* rule) {
    rule->usage->hits.fetch_add(1, std::memory_order_relaxed);
    d.outcome = rule->action;
    d.response = rule->response;
    d.latency_ms = rule->latency_ms;
    d.rule = std::shared_ptr<const Rule>(snap, rule);  // aliasing: keeps the snapshot alive
  };
  // Policy ranks as priority-0 rules of the lowest layer: every explicit rule
  // of priority >= 0 beats it, every negative-priority rule loses to it.
  if (const Rule* rule = snap->rules.best_match(req, RuleSet::Band::non_negative)) {
    from_rule(rule);
    return d;
  }
  // The loaded case's own answers (option "replayCase") rank as case rules of priority 0: above the policy.
  if (snap->case_replay) {
    if (auto recorded = snap->case_replay->next(req)) {
      d.outcome = Action::mock;
      d.response = std::move(recorded);
      return d;
    }
  }
  switch (evaluate_policy(snap->policy, req)) {
    case PolicyVerdict::strict_miss: return strict_miss(req, std::move(snap));
    case PolicyVerdict::passthrough: d.from_policy = true; return d;
    case PolicyVerdict::mock:
      d.from_policy = true;
      d.outcome = Action::mock;
      d.response = snap->policy.default_response;
      return d;
    case PolicyVerdict::none: break;
  }
  if (const Rule* rule = snap->rules.best_match(req, RuleSet::Band::negative)) from_rule(rule);
  return d;
}

Decision Session::strict_miss(const MatchRequest& req, std::shared_ptr<const SessionSnapshot> snap) {
  const RequestView& v = req.view;
  auto miss = std::make_shared<MissedRequest>();
  miss->direction = std::string(v.direction);
  miss->method = text::to_upper(v.method);
  miss->scheme = std::string(v.scheme);
  miss->host = req.host;
  miss->port = v.port;
  miss->url_host = req.url_host;
  miss->path = std::string(v.path);
  miss->query = std::string(v.query);
  miss->service = std::string(v.service);
  miss->body = std::string(v.body);
  for (std::size_t i = 0; i < v.header_count; ++i)
    miss->headers.emplace_back(text::to_lower(v.headers[i].name), std::string(v.headers[i].value));
  for (std::size_t i = 0; i < v.tag_count; ++i)
    miss->tags.emplace_back(std::string(v.tags[i].key), std::string(v.tags[i].value));
  miss->fingerprint = request_fingerprint(v.method, req.url_host, v.path, v.body);
  miss->snapshot = std::move(snap);

  auto response = std::make_shared<Response>();
  response->status = 599;
  response->headers = {{"content-type", "application/json"}, {"x-softprobe-strict-miss", "1"}};
  response->body = req.outbound ? "{\"error\":\"strict policy blocked unmatched outbound\",\"sessionId\":"
                                : "{\"error\":\"strict policy blocked unmatched inbound\",\"sessionId\":";
  text::append_json_string(response->body, id_);
  response->body += ",\"requestFingerprint\":";
  text::append_json_string(response->body, miss->fingerprint);
  response->body += "}";

  strict_misses_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(miss_mu_);
    recent_misses_.push_back(miss);
    if (recent_misses_.size() > kRecentMisses) recent_misses_.pop_front();
  }
  if (log_enabled(LogLevel::info))
    log(LogLevel::info, "inject miss",
        {{"sessionId", id_},
         {"method", miss->method},
         {"host", miss->url_host},
         {"path", miss->path},
         {"policy", "strict"},
         {"action", "error"},
         {"status", 599}});  // contract order
  Decision d;
  d.outcome = Action::error;
  d.response = std::move(response);
  d.from_policy = true;
  d.strict_miss = true;
  d.miss = std::move(miss);
  return d;
}

bool Session::record(HttpExchange exchange) {
  ensure_open();
  // A replay session writes no case: keeping its exchanges would only grow
  // memory for as long as the session lives.
  if (options_.mode == SessionMode::replay) return false;
  options_.redaction.apply(exchange);
  if (exchange.session_id.empty()) exchange.session_id = id_;
  if (exchange.trace_entry == 0) exchange.trace_entry = new_trace_entry();  // a hop: a traces[] entry of its own
  const std::size_t bytes = estimated_case_bytes(exchange);
  {
    // `closed_` is checked again under the capture lock, which close() holds
    // while it takes the exchanges: an acknowledged record is never lost.
    std::lock_guard<std::mutex> lock(capture_mu_);
    ensure_open();
    // What is captured must load back with the same limits: refuse, loudly,
    // what would make the case unloadable.
    check_capture_fits(exchange, bytes, capture_usage_, options_.limits, id_);
    captured_.push_back(std::move(exchange));
    ++capture_usage_.spans;
    capture_usage_.bytes += bytes;
  }
  extracted_.fetch_add(1, std::memory_order_relaxed);
  touch();
  return true;
}

std::size_t Session::captured_count() const {
  std::lock_guard<std::mutex> lock(capture_mu_);
  return captured_.size();
}

CaseFile Session::captured_case() const {
  std::lock_guard<std::mutex> lock(capture_mu_);
  return case_from_captures();
}

CaseFile Session::case_from_captures() const {
  CaseFile c;
  c.version = "1.0.0";
  c.case_id = options_.case_id.empty() ? id_ : options_.case_id;  // the reference names a capture by its session
  c.suite = options_.suite;
  c.mode = "capture";
  c.created_at = iso8601_now();
  c.exchanges = captured_;
  c.trace_count = 0;
  for (std::size_t i = 0; i < c.exchanges.size(); ++i)
    if (i == 0 || c.exchanges[i].trace_entry != c.exchanges[i - 1].trace_entry) ++c.trace_count;
  return c;
}

namespace {

// Writes a closed session's case where `target` says; returns the path written.
std::string write_capture(const CaptureTarget& target, const std::string& id, SessionMode mode,
                          std::string_view contents) {
  CapturePlaceholders values{id, session_mode_name(mode), std::chrono::system_clock::now()};
  if (target.dir) {
    std::string relative = expand_capture_placeholders(target.path, values);
    auto replace = target.flush ? CaptureDirectory::Replace::never : CaptureDirectory::Replace::case_files;
    return target.dir->write(relative, contents, replace, id);
  }
  std::string path = expand_capture_placeholders(target.path.empty() ? default_capture_path() : target.path, values);
  if (path.find('\0') != std::string::npos)
    throw Error(ErrorCode::invalid_argument, "capture path contains a NUL byte", {{"field", "out"}});
  if (!target.flush) {  // the caller owns the path: replaced as it asked
    write_file_atomically(path, contents);
    return path;
  }
  // A flush never replaces an earlier capture: the file gets a name of its own.
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string written = CaptureDirectory(dir).write(name, contents, CaptureDirectory::Replace::never, id);
  return slash == std::string::npos && written.rfind("./", 0) == 0 && path.rfind("./", 0) != 0 ? written.substr(2)
                                                                                               : written;
}

}  // namespace

CaseFile Session::close_exporting() {
  std::lock_guard<std::mutex> lock(mutate_mu_);
  ensure_open();
  if (options_.mode == SessionMode::replay)
    throw Error(ErrorCode::wrong_mode, "session " + id_ + " is a replay session: it captures nothing to export",
                {{"sessionId", id_}, {"mode", "replay"}});
  std::lock_guard<std::mutex> capture_lock(capture_mu_);
  closed_.store(true, std::memory_order_release);  // no record() gets in after this
  return case_from_captures();
}

std::string Session::close(const std::string& out_path) { return close(CaptureTarget{nullptr, out_path, false}); }

std::string Session::close(const CaptureTarget& target) {
  std::lock_guard<std::mutex> lock(mutate_mu_);
  ensure_open();
  std::string written;
  CaseFile captured;
  {
    std::lock_guard<std::mutex> lock(capture_mu_);
    closed_.store(true, std::memory_order_release);  // no record() gets in after this
    captured = case_from_captures();
  }
  if (options_.mode != SessionMode::replay) {
    try {
      written = write_capture(target, id_, options_.mode, serialize_case(captured));
    } catch (...) {
      closed_.store(false, std::memory_order_release);  // the session stays open: nothing recorded is lost
      throw;
    }
  }
  return written;
}

namespace {

// The posted document as {"version":1,"rules":[...]}, then each rule
// appended after it (add_rules) as it was given.
nlohmann::json rules_document_of(const SessionSnapshot& snap) {
  const nlohmann::json& posted = *snap.session_rules_document;
  nlohmann::json doc;
  if (posted.is_array()) {
    doc = {{"version", 1}, {"rules", posted}};  // a bare list
  } else if (posted.is_object() && posted.contains("rules")) {
    doc = posted;
    if (doc["rules"].is_null()) doc["rules"] = nlohmann::json::array();  // null is "not given"
  } else {
    doc = {{"version", 1}, {"rules", nlohmann::json::array({posted})}};  // one rule on its own
  }
  if (snap.rules.session_rule_count() > snap.posted_rules) {
    RuleList all = snap.rules.session_rules();
    nlohmann::json& list = doc["rules"];
    for (std::size_t i = snap.posted_rules; i < all.size(); ++i) list.push_back(all[i]->source);
  }
  return doc;
}

// As posted when nothing was appended since; else the whole list as one document.
nlohmann::json rules_as_posted_of(const SessionSnapshot& snap) {
  if (snap.rules.session_rule_count() == snap.posted_rules) return *snap.session_rules_document;
  return rules_document_of(snap);
}

}  // namespace

nlohmann::json Session::rules_document() const { return rules_document_of(*snapshot()); }

nlohmann::json Session::rules_as_posted() const { return rules_as_posted_of(*snapshot()); }

nlohmann::json Session::stats_json() const {
  auto snap = snapshot();
  // Read strict misses and passthroughs before decisions: a decide() that
  // runs meanwhile may then show in decisions only, never the other way.
  std::uint64_t strict = strict_misses_.load(), injected = injected_.load(), passed = passthroughs_.load();
  nlohmann::json stats = {{"injectedSpans", injected},
                          {"extractedSpans", extracted_.load()},
                          {"strictMisses", strict},
                          {"decisions", decisions_.load()},
                          {"passthroughs", passed}};
  std::shared_ptr<const MissedRequest> last;
  {
    std::lock_guard<std::mutex> lock(miss_mu_);
    if (!recent_misses_.empty()) last = recent_misses_.back();
  }
  if (last) stats["lastStrictMiss"] = explain_miss(*last);
  nlohmann::json hits = nlohmann::json::array();
  const RuleList session_rules = snap->rules.session_rules();
  for (const RuleList* list : {&snap->rules.case_rules(), &session_rules})
    for (const auto& r : *list) {
      nlohmann::json h = {
          {"layer", rule_layer_name(r->layer)}, {"index", r->position}, {"hits", r->usage->hits.load()}};
      if (!r->name.empty()) h["name"] = r->name;
      if (!r->id.empty()) h["id"] = r->id;
      if (r->consume_once) h["consumed"] = r->usage->retired.load();
      hits.push_back(std::move(h));
    }
  stats["ruleHits"] = std::move(hits);
  return {{"sessionId", id_},
          {"sessionRevision", revision()},
          {"mode", session_mode_name(mode())},
          {"stats", std::move(stats)}};
}

nlohmann::json Session::state_json() const {
  auto snap = snapshot();
  nlohmann::json s = stats_json();
  s["policy"] = snap->policy.document;
  s["rules"] = rules_as_posted_of(*snap);
  s["fixtures"] = snap->auth_fixtures;
  if (snap->loaded_case)
    s["caseSummary"] = {{"caseId", snap->loaded_case->case_id},
                        {"traceCount", snap->loaded_case->trace_count},
                        {"spanCount", snap->loaded_case->exchanges.size()}};
  else s["caseSummary"] = {{"traceCount", 0}};  // as the reference runtime answers without a case
  s["closed"] = closed();
  s["capturedExchanges"] = captured_count();
  return s;
}

nlohmann::json Session::strict_misses_json() const {
  std::vector<std::shared_ptr<const MissedRequest>> copy;
  {
    std::lock_guard<std::mutex> lock(miss_mu_);
    copy.assign(recent_misses_.begin(), recent_misses_.end());
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : copy) out.push_back(explain_miss(*m));
  return out;
}

nlohmann::json explain_miss(const MissedRequest& miss) {
  nlohmann::json j = {
      {"method", miss.method}, {"host", miss.url_host}, {"path", miss.path}, {"requestFingerprint", miss.fingerprint}};
  if (!miss.query.empty()) j["query"] = miss.query;
  // Rebuild a view over the owned copy and ask which rule came closest.
  std::vector<HeaderView> headers;
  for (const auto& [n, v] : miss.headers) headers.push_back({n, v});
  std::vector<TagView> tags;
  for (const auto& [k, v] : miss.tags) tags.push_back({k, v});
  RequestView v;
  v.direction = miss.direction;
  v.method = miss.method;
  v.scheme = miss.scheme;
  v.host = miss.url_host;
  v.path = miss.path;
  v.query = miss.query;
  v.service = miss.service;
  v.body = miss.body;
  v.headers = headers.data();
  v.header_count = headers.size();
  v.tags = tags.data();
  v.tag_count = tags.size();
  MatchRequest req(v);
  const Rule* closest = miss.snapshot ? miss.snapshot->rules.closest_rule(req) : nullptr;
  if (!closest) {
    j["nearMiss"] = nullptr;
    j["explanation"] = "no rule is loaded; mock this request with mockOutbound or allow its host in the policy";
    return j;
  }
  nlohmann::json failed = nlohmann::json::array(), matched = nlohmann::json::array();
  std::string first_failure;
  for (const auto& r : explain_rule(*closest, req)) {
    if (r.passed) {
      matched.push_back(r.predicate);
    } else {
      failed.push_back({{"predicate", r.predicate}, {"expected", r.expected}, {"actual", r.actual}});
      if (first_failure.empty())
        first_failure = r.predicate + " expected " + r.expected + " but the request has " + r.actual;
    }
  }
  if (failed.empty() && closest->consume_once && closest->usage->retired.load()) {
    failed.push_back(
        {{"predicate", "consume"}, {"expected", "an unused consume-once rule"}, {"actual", "already used"}});
    first_failure = "it is consume-once and was already used";
  } else if (failed.empty()) {
    first_failure = "it has a negative priority, so the strict policy outranks it";
  }
  j["nearMiss"] = {{"rule", closest->label()},
                   {"layer", rule_layer_name(closest->layer)},
                   {"index", closest->position},
                   {"matched", matched},
                   {"failed", failed}};
  j["explanation"] = "closest rule \"" + closest->label() + "\" did not match: " + first_failure;
  return j;
}

}  // namespace softprobe::core
