// sp_store_* and sp_session_*: everything but the per-request decision.
#include <chrono>

#include "case/case_file.hpp"
#include "case/case_lookup.hpp"
#include "handles.hpp"
#include "support/atomic_file.hpp"

using namespace softprobe::core;
using capi::guarded;
using capi::require;

namespace {

Session& live(const sp_session* s) { return *require(s, "session")->session; }

// The session's RemoteSession in remote mode, else null.
remote::RemoteSession* remote_of(const sp_session* s) { return require(s, "session")->remote.get(); }

[[noreturn]] void capture_is_the_runtimes(const sp_session* s) {
  throw Error(ErrorCode::wrong_mode,
              "session " + s->session->id() + " is held by a remote runtime: its capture goes there (sp_session_close)",
              {{"sessionId", s->session->id()}});
}

std::shared_ptr<const CaseFile> loaded_case_of(const sp_session* s) {
  auto c = live(s).snapshot()->loaded_case;
  if (!c)
    throw Error(ErrorCode::invalid_argument, "no case is loaded in session " + live(s).id() + ": call load-case first");
  return c;
}

CasePredicate predicate_arg(const char* predicate_json, size_t len) {
  if (!predicate_json || len == 0) return {};
  return case_predicate_from_json(capi::parse_json_arg(predicate_json, len, "predicate"));
}

void give_revision(uint64_t* out_revision, std::uint64_t revision) noexcept {
  if (out_revision) *out_revision = revision;
}

nlohmann::json closed_list(const std::vector<ClosedSession>& closed) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : closed) {
    nlohmann::json e = {{"sessionId", c.session_id}};
    if (c.capture_path.rfind("error: ", 0) == 0) e["error"] = c.capture_path.substr(7);
    else if (!c.capture_path.empty()) e["capturePath"] = c.capture_path;
    list.push_back(std::move(e));
  }
  return {{"closed", list}};
}

// Both load calls: parse (here, or the remote session checks and sends),
// load, and report what loading filled in (sp_last_warnings).
void load_case_text(uint64_t* out_revision, sp_session* session, Session& s, std::string_view text) {
  std::vector<std::string> warnings;
  std::uint64_t revision = 0;
  if (auto* r = remote_of(session)) {
    revision = r->load_case(text, &warnings);
  } else {
    auto loaded = std::make_shared<const CaseFile>(parse_case(text, s.limits()));
    warnings = loaded->warnings;
    revision = s.load_case(std::move(loaded));
  }
  give_revision(out_revision, revision);
  capi::add_last_warnings(warnings);
}

}  // namespace

extern "C" {

sp_status sp_store_new(sp_store** out) {
  return guarded([&] {
    require(out, "out");
    *out = new sp_store{std::make_shared<SessionStore>(), nullptr, nullptr};
  });
}

void sp_store_free(sp_store* store) { delete store; }

sp_status sp_store_list_sessions(char** out_json, const sp_store* store) {
  return guarded([&] {
    require(out_json, "out_json");
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : require(store, "store")->store->list())
      list.push_back(
          {{"sessionId", s->id()}, {"mode", session_mode_name(s->mode())}, {"sessionRevision", s->revision()}});
    *out_json = capi::dup_string(nlohmann::json{{"sessions", list}}.dump());
  });
}

sp_status sp_store_close_idle(char** out_json, sp_store* store, uint64_t idle_ms) {
  return guarded([&] {
    auto closed = require(store, "store")->store->close_idle(std::chrono::milliseconds(idle_ms));
    if (out_json) *out_json = capi::dup_string(closed_list(closed).dump());
  });
}

sp_status sp_store_close_all(char** out_json, sp_store* store) {
  return guarded([&] {
    auto closed = require(store, "store")->store->close_all();
    if (out_json) *out_json = capi::dup_string(closed_list(closed).dump());
  });
}

sp_status sp_session_new(sp_session** out, sp_store* store, const char* options_json, size_t len) {
  return guarded([&] {
    require(out, "out");
    require(store, "store");
    nlohmann::json options;
    if (options_json && len > 0) options = capi::parse_json_arg(options_json, len, "session options");
    if (store->runtime) {
      auto remote = store->remotes->create(store->runtime, *store->store,
                                           options_json ? std::string_view(options_json, len) : std::string_view());
      *out = new sp_session{remote->mirror_ptr(), store->store, remote};
      return;
    }
    auto session = store->store->create(session_options_from_json(options));
    *out = new sp_session{std::move(session), store->store, nullptr};
  });
}

sp_status sp_store_get_session(sp_session** out, const sp_store* store, const char* id, size_t id_len) {
  return guarded([&] {
    require(out, "out");
    require(store, "store");
    if (!id && id_len) capi::invalid("id is NULL but id_len is " + std::to_string(id_len));
    if (id_len > kMaxSessionIdBytes)  // not echoed: it could be megabytes
      throw Error(ErrorCode::unknown_session,
                  "unknown session: the id is " + std::to_string(id_len) +
                      " bytes, longer than any session id (at most " + std::to_string(kMaxSessionIdBytes) + ")",
                  {{"idBytes", id_len}, {"max", kMaxSessionIdBytes}});
    std::string session_id = capi::text_arg(id, id_len, "session id");
    if (store->runtime) {
      auto remote = store->remotes->attach(store->runtime, *store->store, session_id);
      *out = new sp_session{remote->mirror_ptr(), store->store, remote};
      return;
    }
    auto session = store->store->get(session_id);
    *out = new sp_session{std::move(session), store->store, nullptr};
  });
}

void sp_session_free(sp_session* session) { delete session; }

const char* sp_session_id(const sp_session* session) { return session ? session->session->id().c_str() : ""; }

const char* sp_session_mode(const sp_session* session) {
  return session ? session_mode_name(session->session->mode()) : "";
}

uint64_t sp_session_revision(const sp_session* session) { return session ? session->session->revision() : 0; }

sp_status sp_session_load_case(uint64_t* out_revision, sp_session* session, const char* json, size_t len) {
  return guarded([&] {
    Session& s = live(session);
    require(json, "json");
    load_case_text(out_revision, session, s, std::string_view(json, len));
  });
}

sp_status sp_session_load_case_file(uint64_t* out_revision, sp_session* session, const char* path_data,
                                    size_t path_len) {
  return guarded([&] {
    Session& s = live(session);
    if (!path_data || path_len == 0) capi::invalid("path must name a case file");
    const std::string path = capi::text_arg(path_data, path_len, "path");
    std::string text = read_file(path);
    try {
      load_case_text(out_revision, session, s, text);
    } catch (const Error& e) {
      nlohmann::json details = e.details();
      details["file"] = path;
      throw Error(e.code(), path + ": " + e.what(), details);
    }
  });
}

sp_status sp_session_set_rules(uint64_t* out_revision, sp_session* session, const char* json, size_t len) {
  return guarded([&] {
    std::vector<std::string> warnings;  // deprecated rule forms, for sp_last_warnings
    if (auto* r = remote_of(session))
      give_revision(out_revision, r->set_rules(capi::text_arg(json, len, "rules document"), &warnings));
    else
      give_revision(out_revision,
                    live(session).set_rules(capi::parse_json_arg(json, len, "rules document"), &warnings));
    capi::add_last_warnings(warnings);
  });
}

sp_status sp_session_add_rules(uint64_t* out_revision, sp_session* session, const char* json, size_t len) {
  return guarded([&] {
    std::vector<std::string> warnings;  // deprecated rule forms, for sp_last_warnings
    if (auto* r = remote_of(session))
      give_revision(out_revision, r->add_rules(capi::text_arg(json, len, "rules document"), &warnings));
    else
      give_revision(out_revision,
                    live(session).add_rules(capi::parse_json_arg(json, len, "rules document"), &warnings));
    capi::add_last_warnings(warnings);
  });
}

sp_status sp_session_get_rules(char** out_json, const sp_session* session) {
  return guarded([&] {
    require(out_json, "out_json");
    *out_json = capi::dup_string(live(session).rules_document().dump());
  });
}

sp_status sp_session_get_rules_as_posted(char** out_json, const sp_session* session) {
  return guarded([&] {
    require(out_json, "out_json");
    *out_json = capi::dup_string(live(session).rules_as_posted().dump());
  });
}

sp_status sp_session_set_policy(uint64_t* out_revision, sp_session* session, const char* json, size_t len) {
  return guarded([&] {
    if (auto* r = remote_of(session))
      return give_revision(out_revision, r->set_policy(capi::text_arg(json, len, "policy")));
    give_revision(out_revision, live(session).set_policy(capi::parse_json_arg(json, len, "policy")));
  });
}

sp_status sp_session_set_auth_fixtures(uint64_t* out_revision, sp_session* session, const char* json, size_t len) {
  return guarded([&] {
    if (auto* r = remote_of(session))
      return give_revision(out_revision, r->set_auth_fixtures(capi::text_arg(json, len, "auth fixtures")));
    give_revision(out_revision, live(session).set_auth_fixtures(capi::parse_json_arg(json, len, "auth fixtures")));
  });
}

sp_status sp_session_stats(char** out_json, const sp_session* session) {
  return guarded([&] {
    require(out_json, "out_json");
    if (auto* r = remote_of(session)) {
      *out_json = capi::dup_string(r->stats().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return;
    }
    *out_json = capi::dup_string(live(session).stats_json().dump());
  });
}

sp_status sp_session_state(char** out_json, const sp_session* session) {
  return guarded([&] {
    require(out_json, "out_json");
    *out_json = capi::dup_string(live(session).state_json().dump());
  });
}

sp_status sp_session_strict_misses(char** out_json, const sp_session* session) {
  return guarded([&] {
    require(out_json, "out_json");
    *out_json = capi::dup_string(nlohmann::json{{"strictMisses", live(session).strict_misses_json()}}.dump());
  });
}

sp_status sp_session_find_in_case(char** out_json, const sp_session* session, const char* predicate_json, size_t len) {
  return guarded([&] {
    require(out_json, "out_json");
    auto c = loaded_case_of(session);
    *out_json = capi::dup_string(exchange_match_json(find_in_case(*c, predicate_arg(predicate_json, len))).dump());
  });
}

sp_status sp_session_find_all_in_case(char** out_json, const sp_session* session, const char* predicate_json,
                                      size_t len) {
  return guarded([&] {
    require(out_json, "out_json");
    auto c = loaded_case_of(session);
    nlohmann::json matches = nlohmann::json::array();
    for (const HttpExchange* ex : find_all_in_case(*c, predicate_arg(predicate_json, len)))
      matches.push_back(exchange_match_json(*ex));
    *out_json = capi::dup_string(nlohmann::json{{"matches", matches}}.dump());
  });
}

sp_status sp_session_close(char** out_capture_path, sp_session* session, const char* out_path, size_t len) {
  return guarded([&] {
    require(session, "session");
    if (!out_path && len) capi::invalid("out_path is NULL but len is " + std::to_string(len));
    std::string path = capi::text_arg(out_path, len, "out");
    if (auto* r = remote_of(session)) {
      nlohmann::json result = r->close(path);
      if (out_capture_path)
        *out_capture_path = capi::dup_string(result.contains("capturePath") && result["capturePath"].is_string()
                                                 ? result["capturePath"].get<std::string>()
                                                 : std::string());
      return;
    }
    ClosedSession closed = session->store->close(session->session->id(), path);
    if (out_capture_path) *out_capture_path = capi::dup_string(closed.capture_path);
  });
}

sp_status sp_session_export_capture(char** out_json, const sp_session* session) {
  return guarded([&] {
    require(out_json, "out_json");
    const Session& s = live(session);
    if (remote_of(session)) capture_is_the_runtimes(session);
    if (s.mode() == SessionMode::replay)
      throw Error(ErrorCode::wrong_mode, "session " + s.id() + " is a replay session: it captures nothing to export",
                  {{"sessionId", s.id()}, {"mode", "replay"}});
    if (s.closed()) throw Error(ErrorCode::session_closed, "session " + s.id() + " is closed", {{"sessionId", s.id()}});
    *out_json = capi::dup_string(serialize_case(s.captured_case()));
  });
}

sp_status sp_session_close_export(char** out_json, sp_session* session) {
  return guarded([&] {
    require(out_json, "out_json");
    require(session, "session");
    if (remote_of(session)) capture_is_the_runtimes(session);
    const Session& s = *session->session;
    if (s.closed()) throw Error(ErrorCode::session_closed, "session " + s.id() + " is closed", {{"sessionId", s.id()}});
    // The capture is taken and the session closed in one step, then serialized.
    CaseFile captured = session->store->close_exporting(session->session->id());
    *out_json = capi::dup_string(serialize_case(captured));
  });
}

}  // extern "C"
