#include "remote/remote_session.hpp"

#include <algorithm>

#include "case/case_file.hpp"
#include "policy/policy.hpp"
#include "rules/rule.hpp"
#include "session/session.hpp"
#include "session/session_store.hpp"
#include "support/errors.hpp"
#include "support/json_document.hpp"

namespace softprobe::core::remote {

namespace {

nlohmann::json parse(std::string_view text, const char* what) { return parse_json_document(text, what); }

std::int64_t count(const nlohmann::json& stats, const char* key) {
  auto it = stats.find(key);
  return it != stats.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

}  // namespace

RemoteSession::RemoteSession(std::shared_ptr<RuntimeClient> client, SessionStore& store,
                             std::shared_ptr<Session> mirror)
    : client_(std::move(client)), store_(store), mirror_(std::move(mirror)), id_(mirror_->id()) {}

std::shared_ptr<RemoteSession> RemoteSession::create(std::shared_ptr<RuntimeClient> client, SessionStore& store,
                                                     std::string_view options_json) {
  // Checked here first: a bad option fails before the runtime holds a session.
  nlohmann::json options = options_json.empty() ? nlohmann::json::object() : parse(options_json, "session options");
  SessionOptions checked = session_options_from_json(options);
  if (!checked.session_id.empty())
    throw Error(ErrorCode::invalid_argument, "sessionId: the runtime chooses a remote session's id (attach to use one)",
                {{"field", "sessionId"}});
  nlohmann::json created = client->call("POST", "/v1/sessions", options.dump(), CallKind::session_options);
  if (!created.contains("sessionId") || !created["sessionId"].is_string())
    throw Error(ErrorCode::runtime, "the runtime's answer to POST /v1/sessions has no sessionId: " + created.dump());
  checked.session_id = created["sessionId"].get<std::string>();
  std::shared_ptr<Session> mirror;
  try {
    mirror = store.create(checked);
  } catch (...) {
    // The mirror could not be made (a local session limit): do not leave the runtime's behind.
    try {
      client->call("POST", RuntimeClient::session_path(checked.session_id, "close"), "{}");
    } catch (const Error&) {
    }
    throw;
  }
  return std::shared_ptr<RemoteSession>(new RemoteSession(std::move(client), store, std::move(mirror)));
}

std::shared_ptr<RemoteSession> RemoteSession::attach(std::shared_ptr<RuntimeClient> client, SessionStore& store,
                                                     std::string_view session_id) {
  nlohmann::json state = client->call("GET", RuntimeClient::session_path(session_id, "state"));
  if (auto existing = store.find(session_id))
    return std::shared_ptr<RemoteSession>(new RemoteSession(std::move(client), store, std::move(existing)));
  nlohmann::json options = {{"sessionId", std::string(session_id)}};
  if (state.contains("mode") && state["mode"].is_string()) options["mode"] = state["mode"];
  if (state.contains("policy") && state["policy"].is_object()) options["policy"] = state["policy"];
  std::shared_ptr<Session> mirror = store.create(session_options_from_json(options));
  // The rules document as it was posted: an object, or a bare array of rules.
  if (state.contains("rules") && (state["rules"].is_object() || state["rules"].is_array()))
    mirror->set_rules(state["rules"]);
  if (state.contains("fixtures") && state["fixtures"].is_object() && !state["fixtures"].empty())
    mirror->set_auth_fixtures(state["fixtures"]);
  return std::shared_ptr<RemoteSession>(new RemoteSession(std::move(client), store, std::move(mirror)));
}

std::uint64_t RemoteSession::set_rules(std::string_view json, std::vector<std::string>* warnings) {
  std::lock_guard<std::mutex> lock(mutate_mu_);
  nlohmann::json doc = parse(json, "rules document");
  (void)parse_rules(doc, RuleLayer::session, warnings);  // the setter's own check, before anything is sent
  client_->call("POST", RuntimeClient::session_path(id_, "rules"), json, CallKind::rules);
  return mirror_->set_rules(doc);
}

std::uint64_t RemoteSession::add_rules(std::string_view json, std::vector<std::string>* warnings) {
  std::lock_guard<std::mutex> lock(mutate_mu_);
  nlohmann::json doc = parse(json, "rules document");
  // The setter's own check, before anything is sent: indexes are the appended document's.
  RuleList added = parse_rules(doc, RuleLayer::session, warnings);
  // A softprobe runtime appends (POST .../rules/append): only these rules go over the wire.
  if (client_->rules_append() != RuntimeClient::Append::unsupported) {
    try {
      client_->call("POST", RuntimeClient::session_path(id_, "rules/append"), json, CallKind::rules);
      client_->set_rules_append(RuntimeClient::Append::supported);
      return mirror_->add_rules(doc);
    } catch (const Error& e) {
      // No such route (the reference runtime, an older softprobe one): 404
      // that is not unknown_session, or 405. Anything else is the answer.
      const auto& d = e.details();
      int status =
          d.is_object() && d.contains("status") && d["status"].is_number_integer() ? d["status"].get<int>() : 0;
      if (e.code() != ErrorCode::runtime || (status != 404 && status != 405) ||
          client_->rules_append() == RuntimeClient::Append::supported)
        throw;
      client_->set_rules_append(RuntimeClient::Append::unsupported);
    }
  }
  // A runtime that only replaces gets the whole list, the mirror's rules and
  // then these, each as given. (It keeps the consumed state and hits of the
  // rules it has, by identity.)
  nlohmann::json whole = mirror_->rules_document();
  nlohmann::json& list = whole["rules"];
  for (const auto& rule : added) list.push_back(rule->source);
  client_->call("POST", RuntimeClient::session_path(id_, "rules"), whole.dump(), CallKind::rules);
  return mirror_->add_rules(doc);
}

std::uint64_t RemoteSession::set_policy(std::string_view json) {
  std::lock_guard<std::mutex> lock(mutate_mu_);
  nlohmann::json doc = parse(json, "policy");
  (void)parse_policy(doc);
  client_->call("POST", RuntimeClient::session_path(id_, "policy"), json, CallKind::policy);
  return mirror_->set_policy(doc);
}

std::uint64_t RemoteSession::set_auth_fixtures(std::string_view json) {
  std::lock_guard<std::mutex> lock(mutate_mu_);
  nlohmann::json doc = parse(json, "auth fixtures");
  validate_auth_fixtures(doc);
  client_->call("POST", RuntimeClient::session_path(id_, "fixtures/auth"), json, CallKind::fixtures);
  return mirror_->set_auth_fixtures(doc);
}

std::uint64_t RemoteSession::load_case(std::string_view json, std::vector<std::string>* warnings) {
  std::lock_guard<std::mutex> lock(mutate_mu_);
  auto loaded = std::make_shared<const CaseFile>(parse_case(json, mirror_->limits()));
  if (warnings) *warnings = loaded->warnings;
  (void)parse_rules(loaded->rules, RuleLayer::case_rules);
  client_->call("POST", RuntimeClient::session_path(id_, "load-case"), json, CallKind::case_file);
  return mirror_->load_case(std::move(loaded));
}

nlohmann::json RemoteSession::merge_stats(const nlohmann::json& runtime, const nlohmann::json& local) {
  nlohmann::json merged = local;
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& rs = runtime.contains("stats") && runtime["stats"].is_object() ? runtime["stats"] : empty;
  const nlohmann::json& ls = local.contains("stats") && local["stats"].is_object() ? local["stats"] : empty;
  nlohmann::json stats = ls;
  for (const char* key : {"injectedSpans", "extractedSpans", "strictMisses", "decisions", "passthroughs"})
    stats[key] = count(rs, key) + count(ls, key);
  if (!ls.contains("lastStrictMiss") && rs.contains("lastStrictMiss")) stats["lastStrictMiss"] = rs["lastStrictMiss"];
  // ruleHits is a list, one entry per rule ({layer, index, hits, id?, name?,
  // consumed?}); both sides hold the same rules, so entries of one rule
  // (same layer and index) are added; a rule only one side has is kept.
  nlohmann::json hits = ls.contains("ruleHits") && ls["ruleHits"].is_array() ? ls["ruleHits"] : nlohmann::json::array();
  if (rs.contains("ruleHits") && rs["ruleHits"].is_array())
    for (const auto& remote_hit : rs["ruleHits"]) {
      if (!remote_hit.is_object()) continue;
      auto same_rule = [&](const nlohmann::json& h) {
        return h.is_object() && h.value("layer", std::string()) == remote_hit.value("layer", std::string()) &&
               h.value("index", std::int64_t(-1)) == remote_hit.value("index", std::int64_t(-1));
      };
      auto it = std::find_if(hits.begin(), hits.end(), same_rule);
      if (it == hits.end()) {
        hits.push_back(remote_hit);
        continue;
      }
      for (const char* key : {"hits", "consumed"})
        if (remote_hit.contains(key) || it->contains(key)) (*it)[key] = count(*it, key) + count(remote_hit, key);
    }
  stats["ruleHits"] = hits;
  merged["stats"] = stats;
  merged["sources"] = {{"runtime", runtime}, {"local", local}};
  return merged;
}

nlohmann::json RemoteSession::stats() const {
  nlohmann::json local = mirror_->stats_json();
  nlohmann::json runtime = client_->call("GET", RuntimeClient::session_path(id_, "stats"));
  return merge_stats(runtime, local);
}

nlohmann::json RemoteSession::close(std::string_view out) {
  std::lock_guard<std::mutex> lock(mutate_mu_);
  if (!mirror_->closed()) {
    if (mirror_->mode() == SessionMode::replay) {
      (void)store_.close(id_, "");
    } else {
      // Taken and closed in one step (no record gets in between), then sent. What could not be
      // sent stays here, so calling close again sends the rest: nothing captured is lost.
      nlohmann::json captured = parse(serialize_case(store_.close_exporting(id_)), "the mirror's capture");
      for (auto& trace : captured["traces"]) unsent_traces_.push_back(trace.dump());
    }
  }
  while (!unsent_traces_.empty()) {
    nlohmann::json answer;
    try {
      answer = client_->call("POST", "/v1/traces", unsent_traces_.front());
    } catch (const Error& e) {
      if (e.code() != ErrorCode::unknown_session) throw;
      // The runtime no longer has the session (closed by someone else): a 404
      // for the whole upload. Said as such, never a silent loss. A runtime
      // error, not unknown_session: a binding reads unknown_session on close
      // as "closed elsewhere, nothing left here", which is not so.
      nlohmann::json details = e.details();
      details["sessionId"] = id_;
      details["unsentTraces"] = unsent_traces_.size();
      throw Error(ErrorCode::runtime,
                  "the runtime has no session " + id_ + " to take " + std::to_string(unsent_traces_.size()) +
                      " captured trace(s): " + e.what() +
                      " (this process's capture is kept: close again once the runtime can take it)",
                  details);
    }
    // OTLP partial success: spans the runtime did not take are an error, not a silent loss.
    if (answer.contains("partialSuccess") && answer["partialSuccess"].is_object()) {
      const nlohmann::json& partial = answer["partialSuccess"];
      const nlohmann::json count = partial.contains("rejectedSpans") ? partial["rejectedSpans"] : nlohmann::json("?");
      std::string rejected =
          count.is_string() ? count.get<std::string>() : count.dump();  // int64 is a string in OTLP JSON
      std::string why = partial.contains("errorMessage") && partial["errorMessage"].is_string()
                            ? partial["errorMessage"].get<std::string>()
                            : "";
      throw Error(ErrorCode::runtime,
                  "the runtime did not take " + rejected + " captured span(s) of session " + id_ + ": " + why +
                      " (this process's capture is kept: close again once the runtime can take it)",
                  {{"sessionId", id_}, {"partialSuccess", partial}});
    }
    unsent_traces_.erase(unsent_traces_.begin());
  }
  std::string route = "close";
  if (!out.empty()) route += "?out=" + RuntimeClient::query_escape(out);
  nlohmann::json answer = client_->call("POST", RuntimeClient::session_path(id_, route), "{}");
  nlohmann::json result = {{"sessionId", id_}, {"closed", true}};
  if (answer.contains("capturePath")) result["capturePath"] = answer["capturePath"];
  result["runtime"] = answer;
  return result;
}

std::shared_ptr<RemoteSession> RemoteSessions::remember(std::shared_ptr<RemoteSession> s) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = by_id_.begin(); it != by_id_.end();) it = it->second.expired() ? by_id_.erase(it) : std::next(it);
  by_id_[s->id()] = s;
  return s;
}

std::shared_ptr<RemoteSession> RemoteSessions::create(std::shared_ptr<RuntimeClient> client, SessionStore& store,
                                                      std::string_view options_json) {
  return remember(RemoteSession::create(std::move(client), store, options_json));
}

std::shared_ptr<RemoteSession> RemoteSessions::attach(std::shared_ptr<RuntimeClient> client, SessionStore& store,
                                                      std::string_view session_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_id_.find(std::string(session_id));
    if (it != by_id_.end())
      if (auto held = it->second.lock(); held && !held->mirror().closed()) return held;
  }
  return remember(RemoteSession::attach(std::move(client), store, session_id));
}

}  // namespace softprobe::core::remote
