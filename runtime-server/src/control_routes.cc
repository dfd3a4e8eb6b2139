#include "control_routes.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "logger.hpp"
#include "openapi.hpp"
#include "support/json_document.hpp"  // the core's one JSON entry point (its internal C++ API)

namespace softprobe::runtime::control {

namespace {

using nlohmann::ordered_json;

std::string dump(const ordered_json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// Routes that take a document refuse an empty body with a message that says so.
bool require_body(Call& c, const char* what) {
  for (char ch : c.body)
    if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') return true;
  send_error(c.res, 400, "invalid_request", std::string("the request body is empty: send ") + what);
  return false;
}

softprobe::Session session_of(Runtime& rt, const Call& c) { return rt.store.attach(c.session_id); }

void send_revision(Call& c, const softprobe::Session& s, std::uint64_t revision) {
  send_json(c.res, 200, dump({{"sessionId", s.id()}, {"sessionRevision", revision}}));
}

using Setter = sp_status (*)(std::uint64_t*, sp_session*, const char*, size_t);
using Getter = sp_status (*)(char**, const sp_session*);

// The mutating routes: one document in, {"sessionId","sessionRevision"} out.
void set_document(Runtime& rt, Call& c, Setter setter, const char* what) {
  if (!require_body(c, what)) return;
  softprobe::Session s = session_of(rt, c);
  std::uint64_t revision = 0;  // the revision this call produced, even with concurrent writers
  softprobe::check(setter(&revision, s.handle(), c.body.data(), c.body.size()));
  // What the core accepted but filled in (a case without span ids...): said
  // in the answer as the reference runtime does, "warnings": [...].
  const std::string_view warnings = sp_last_warnings();
  if (warnings == "[]") return send_revision(c, s, revision);
  ordered_json answer = {{"sessionId", s.id()}, {"sessionRevision", revision}};
  answer["warnings"] = ordered_json::parse(warnings);
  send_json(c.res, 200, dump(answer));
}

// The reading routes: the core's JSON document, as it is.
void get_document(Runtime& rt, Call& c, Getter getter) {
  softprobe::Session s = session_of(rt, c);
  char* out = nullptr;
  softprobe::check(getter(&out, s.handle()));
  send_json(c.res, 200, softprobe::take_string(out));
}

}  // namespace

void health(Runtime&, Call& c) {
  send_json(c.res, 200,
            R"({"status":"ok","specVersion":")" SOFTPROBE_SPEC_VERSION R"(","schemaVersion":")" SOFTPROBE_SCHEMA_VERSION
            R"("})");
}

void meta(Runtime&, Call& c) {
  send_json(c.res, 200,
            dump({{"runtimeVersion", sp_version_string()},
                  {"specVersion", SOFTPROBE_SPEC_VERSION},
                  {"schemaVersion", SOFTPROBE_SCHEMA_VERSION},
                  {"runtime", "softprobe-runtime"}}));
}

void metrics(Runtime& rt, Call& c) {
  send_bytes(c.res, 200, rt.metrics.render(rt.store.handle()), "text/plain; version=0.0.4; charset=utf-8");
}

void openapi(Runtime&, Call& c) {
  std::string_view doc = openapi_document();
  send_bytes(c.res, 200, std::string(doc), "application/yaml");
}

void create_session(Runtime& rt, Call& c) {
  // An empty body is a replay session with the default policy.
  bool empty = c.body.find_first_not_of(" \t\r\n") == std::string::npos;
  std::optional<softprobe::Session> created;
  try {
    created.emplace(rt.store.start_session(empty ? std::string() : c.body));
  } catch (const softprobe::Error& e) {
    if (e.status() == SP_E_LIMIT_EXCEEDED && e.details().find("\"maxSessions\"") != std::string::npos)
      return send_error(c.res, 429, "too_many_sessions", e.what(), e.details());
    // The reference runtime's message, which its clients match on, then ours (what and where).
    if (http_status_for(e.status()) == 400)
      return send_error(c.res, 400, "invalid_request", std::string("invalid create session request: ") + e.what(),
                        e.details());
    throw;
  }
  softprobe::Session& s = *created;
  rt.metrics.session_created(session_mode_label(s.mode()));
  log(LogLevel::info, "session created", {{"sessionId", s.id()}, {"mode", s.mode()}});
  send_revision(c, s, s.revision());
}

void list_sessions(Runtime& rt, Call& c) {
  char* out = nullptr;
  softprobe::check(sp_store_list_sessions(&out, rt.store.handle()));
  send_json(c.res, 200, softprobe::take_string(out));
}

void load_case(Runtime& rt, Call& c) {
  set_document(rt, c, sp_session_load_case, "a case document ({\"version\",\"caseId\",\"traces\":[...]})");
}

void set_rules(Runtime& rt, Call& c) {
  set_document(rt, c, sp_session_set_rules, "a rules document ({\"version\":1,\"rules\":[...]})");
}

// Not in the reference: appends to the session rules (sp_session_add_rules),
// so a client adding rules one call at a time sends each rule once instead of
// the whole list every time. POST .../rules keeps its replace meaning.
void append_rules(Runtime& rt, Call& c) {
  set_document(rt, c, sp_session_add_rules, "a rules document ({\"version\":1,\"rules\":[...]}) to append");
}

void get_rules(Runtime& rt, Call& c) { get_document(rt, c, sp_session_get_rules_as_posted); }

void set_policy(Runtime& rt, Call& c) {
  set_document(rt, c, sp_session_set_policy, "a policy object ({\"externalHttp\":\"strict\",...})");
}

void set_auth_fixtures(Runtime& rt, Call& c) {
  set_document(rt, c, sp_session_set_auth_fixtures, "auth fixtures ({\"tokens\":[],\"cookies\":[],\"metadata\":{}})");
}

void stats(Runtime& rt, Call& c) { get_document(rt, c, sp_session_stats); }

void state(Runtime& rt, Call& c) { get_document(rt, c, sp_session_state); }

void strict_misses(Runtime& rt, Call& c) { get_document(rt, c, sp_session_strict_misses); }

void close(Runtime& rt, Call& c) {
  // The body is {} or empty; anything else must at least be a JSON object,
  // read by the core's one JSON entry point (NUL bytes, nesting and syntax
  // errors refused with their place).
  if (c.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    nlohmann::json body;
    try {
      body = core::parse_json_document(c.body, "the close body");
    } catch (const core::Error& e) {
      send_error(c.res, 400, "invalid_request", std::string(e.what()) + ": send {} or nothing");
      return;
    }
    if (!body.is_object()) {
      send_error(c.res, 400, "invalid_request", "the close body must be empty or a JSON object ({})");
      return;
    }
  }
  softprobe::Session s = session_of(rt, c);
  std::string out_path = c.query("out").value_or(std::string());
  std::string path = s.close(out_path);
  rt.metrics.sessions_closed(CloseReason::api, 1);
  ordered_json out = {{"sessionId", s.id()}, {"closed", true}};
  if (!path.empty()) out["capturePath"] = path;
  log(LogLevel::info, "session closed", {{"sessionId", s.id()}, {"mode", s.mode()}, {"capturePath", path}});
  send_json(c.res, 200, dump(out));
}

}  // namespace softprobe::runtime::control
