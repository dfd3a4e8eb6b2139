// A session held by a softprobe-runtime, with a local mirror: the one remote
// mode every binding uses (issue 10: no binding keeps its own mirror protocol).
//
// The runtime's session serves what reaches the runtime (its proxies, other
// processes); the mirror, a core session with the same id in this process,
// decides this process's own requests without a network hop. Both always hold
// the same documents:
//  - every document is checked locally first (the setter's own parser), so a
//    bad rule, policy, fixture or case fails before anything is sent, with the
//    same error as embedded mode;
//  - then the runtime takes it; only when it has, the mirror does. A refused
//    or failed call changes neither side.
//  - mutations of one session are serialized (one at a time, in call order).
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "remote/runtime_client.hpp"

namespace softprobe::core {
class Session;
class SessionStore;
}  // namespace softprobe::core

namespace softprobe::core::remote {

class RemoteSession {
 public:
  // POST /v1/sessions with `options_json` (as sp_session_new takes it; "" for
  // a default replay session), then the mirror in `store` with the runtime's id.
  static std::shared_ptr<RemoteSession> create(std::shared_ptr<RuntimeClient> client, SessionStore& store,
                                               std::string_view options_json);
  // A session the runtime already holds (started by another process): its
  // mode, policy, rules and auth fixtures are copied into a new mirror (its
  // loaded case is not: the control API does not serve it back). If `store`
  // already has a session with that id, it is the mirror.
  static std::shared_ptr<RemoteSession> attach(std::shared_ptr<RuntimeClient> client, SessionStore& store,
                                               std::string_view session_id);

  const std::string& id() const noexcept { return id_; }
  Session& mirror() const noexcept { return *mirror_; }
  const std::shared_ptr<Session>& mirror_ptr() const noexcept { return mirror_; }

  // Each returns the mirror's new revision. set_rules gives parse_rules' warnings
  // (deprecated rule forms) to `warnings` when given.
  std::uint64_t set_rules(std::string_view json, std::vector<std::string>* warnings = nullptr);
  // Appends to the session rules (Session::add_rules): the runtime gets only
  // the new rules (POST .../rules/append), so each call is O(appended). A
  // runtime without that route (the reference runtime) is sent the whole
  // list instead (POST .../rules, the mirror's rules and the new ones),
  // O(all rules) per call; which one is learned on the first append.
  std::uint64_t add_rules(std::string_view json, std::vector<std::string>* warnings = nullptr);
  std::uint64_t set_policy(std::string_view json);
  std::uint64_t set_auth_fixtures(std::string_view json);
  // `warnings`: what loading filled in (CaseFile::warnings), when given.
  std::uint64_t load_case(std::string_view json, std::vector<std::string>* warnings = nullptr);

  // The runtime's stats and the mirror's, added: injectedSpans,
  // extractedSpans, strictMisses and each ruleHits entry are sums;
  // lastStrictMiss is this process's when it has one, else the runtime's;
  // "sources": {"runtime": ..., "local": ...} keeps both as they were.
  nlohmann::json stats() const;

  // Closes both. A capture session's mirror is closed first, taking what
  // this process captured (no file written here), which is then handed to
  // the runtime (POST /v1/traces, one call per trace); then the runtime's
  // session is closed with `out` (a path on the runtime's machine, relative
  // to its capture directory; "" for its default) and writes one case with
  // everything. If a call fails, what was not sent is kept and calling close
  // again sends it. Returns {"sessionId", "closed": true, "capturePath"?,
  // "runtime": <its answer>}.
  nlohmann::json close(std::string_view out);

  // Sums two stats documents as stats() does (exposed for tests).
  static nlohmann::json merge_stats(const nlohmann::json& runtime, const nlohmann::json& local);

 private:
  RemoteSession(std::shared_ptr<RuntimeClient> client, SessionStore& store, std::shared_ptr<Session> mirror);

  std::shared_ptr<RuntimeClient> client_;
  SessionStore& store_;
  std::shared_ptr<Session> mirror_;
  std::string id_;
  std::mutex mutate_mu_;
  std::vector<std::string> unsent_traces_;  // captured traces the runtime does not have yet
};

// The RemoteSession objects of one store, by id, so that every handle to a
// session shares one (and one mutation order). Entries of sessions nobody
// holds any more are dropped as they are found.
class RemoteSessions {
 public:
  std::shared_ptr<RemoteSession> create(std::shared_ptr<RuntimeClient> client, SessionStore& store,
                                        std::string_view options_json);
  std::shared_ptr<RemoteSession> attach(std::shared_ptr<RuntimeClient> client, SessionStore& store,
                                        std::string_view session_id);

 private:
  std::shared_ptr<RemoteSession> remember(std::shared_ptr<RemoteSession> s);
  std::mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<RemoteSession>> by_id_;
};

}  // namespace softprobe::core::remote
