// A session: one test-scoped context (contract section 1). Mutations are
// validated first and published as one new snapshot, so a bad document never
// changes anything and never bumps the revision. Decisions read the current
// snapshot without locking.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <vector>

#include "capture/capture.hpp"
#include "capture/redaction.hpp"
#include "case/case_file.hpp"
#include "request/request.hpp"
#include "session/decision.hpp"
#include "session/session_snapshot.hpp"

namespace softprobe::core {

enum class SessionMode { capture, replay, generate };

// A session id is 1 to this many characters of A-Z a-z 0-9 - _ . (random
// ids are 32 hex digits).
inline constexpr std::size_t kMaxSessionIdBytes = 128;
const char* session_mode_name(SessionMode m) noexcept;

struct SessionOptions {
  std::string session_id;  // empty: a new random id (a binding mirroring a remote runtime session passes its id)
  SessionMode mode = SessionMode::replay;
  nlohmann::json policy;  // null: the default policy (allow)
  std::string case_id;    // id of the case a capture writes
  std::string suite;
  Redaction redaction;
  CaseLimits limits;  // for load-case
  // A loaded case answers the requests it recorded (case/case_replay.hpp):
  // what `softprobe proxy --mode replay --case FILE` asks for.
  bool replay_case = false;
};

// Reads {"sessionId","mode","policy","caseId","suite","redaction","limits","replayCase"}; unknown keys
// and bad values are Error(invalid_argument) naming the field; a null option is its default.
// Checks an auth fixtures document as set_auth_fixtures does; throws Error(invalid_argument).
void validate_auth_fixtures(const nlohmann::json& fixtures);

SessionOptions session_options_from_json(const nlohmann::json& j);

class CaptureDirectory;

// Where Session::close writes a capture (capture_directory.hpp).
struct CaptureTarget {
  // Null: `path` is a file system path the caller owns (the in-process
  // bindings). Set: `path` is relative to this directory and checked.
  std::shared_ptr<const CaptureDirectory> dir;
  std::string path;    // may hold {sessionId}, {ts}, {mode}; "" = default_capture_path() (without dir)
  bool flush = false;  // an idle or shutdown flush: never replaces an existing file
};

class Session {
 public:
  Session(std::string id, SessionOptions options);

  const std::string& id() const noexcept { return id_; }
  SessionMode mode() const noexcept { return options_.mode; }
  std::uint64_t revision() const noexcept { return revision_.load(std::memory_order_acquire); }
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  const CaseLimits& limits() const noexcept { return options_.limits; }

  // Mutations: validate, then publish and bump the revision in one step;
  // each returns the revision it produced. On error nothing changes.
  // set_rules replaces the session rules; a new rule with the identity of a
  // current one (rule_identity) takes over its consumed state and hit count.
  // The document is kept as given (rules_as_posted() echoes it); `warnings`
  // (when given) receives parse_rules' deprecation warnings.
  std::uint64_t set_rules(const nlohmann::json& document, std::vector<std::string>* warnings = nullptr);
  // add_rules appends the rules of `document` (any shape set_rules takes) to
  // the session rules, after the current ones (so, on equal priority, they
  // win over them): the current rules are not reparsed and the index grows
  // in place, amortized O(appended) (rule_set.hpp). Errors are set_rules',
  // with rule indexes relative to `document`; the appended rules start
  // unused. Afterwards rules_as_posted() is rules_document().
  std::uint64_t add_rules(const nlohmann::json& document, std::vector<std::string>* warnings = nullptr);
  std::uint64_t set_policy(const nlohmann::json& policy);
  std::uint64_t load_case(std::shared_ptr<const CaseFile> loaded);  // validates its embedded rules
  std::uint64_t set_auth_fixtures(const nlohmann::json& fixtures);

  std::shared_ptr<const SessionSnapshot> snapshot() const {
    std::shared_lock lock(snapshot_mu_);
    return snapshot_;
  }

  // The decision for one request. Thread-safe; takes no global lock (only
  // this session's reader locks: the snapshot's, for the time it takes to
  // copy the pointer, and the rule index's, for the lookup).
  Decision decide(const RequestView& request);

  // Records an observed exchange (redacted before it is stored) and returns
  // true. A replay session keeps nothing (it writes no case) and returns
  // false. Throws Error(limit_exceeded) naming the limit when the capture
  // would no longer load back with the session's limits (nothing is stored).
  bool record(HttpExchange exchange);
  std::size_t captured_count() const;

  // The captured exchanges as a case document (not yet written).
  CaseFile captured_case() const;

  // Closes the session. For capture and generate sessions, writes the case
  // atomically to `out_path` (or the default capture path) and returns the
  // path written; returns "" otherwise. Throws Error(session_closed) when
  // already closed, Error(io) when the write fails (the session stays open
  // so the capture is not lost).
  std::string close(const std::string& out_path);
  // The same, written where `target` says (SessionStore passes its capture
  // directory). Error(invalid_argument) for a capture path that is refused.
  std::string close(const CaptureTarget& target);
  // Closes a capture or generate session without writing a file and returns
  // what it captured, as close would have written it: no record gets in
  // between. Throws Error(wrong_mode) for a replay session (it keeps no
  // capture) and Error(session_closed) when already closed; nothing changes
  // then.
  CaseFile close_exporting();

  // {"version":1,"rules":[...]}: the session rules as one document, whatever
  // shape was posted (a bare list, one rule on its own), each rule as posted.
  // What a binding appends to (mockOutbound) and attach copies.
  nlohmann::json rules_document() const;
  // The rules document exactly as last posted (GET .../rules: the reference echoes it).
  nlohmann::json rules_as_posted() const;
  nlohmann::json stats_json() const;
  nlohmann::json state_json() const;
  // Recent strict misses (newest last), each explained.
  nlohmann::json strict_misses_json() const;

  std::chrono::steady_clock::time_point last_used() const noexcept;

 private:
  std::uint64_t publish(std::shared_ptr<const SessionSnapshot> next);  // caller holds mutate_mu_
  void ensure_open() const;
  Decision strict_miss(const MatchRequest& req, std::shared_ptr<const SessionSnapshot> snap);
  Decision decide_counted(const RequestView& request);  // decide() without the outcome counters
  void touch() noexcept;
  CaseFile case_from_captures() const;  // caller holds capture_mu_

  const std::string id_;
  const SessionOptions options_;
  std::atomic<std::uint64_t> revision_{0};
  std::atomic<bool> closed_{false};
  std::atomic<std::int64_t> last_used_ns_;

  std::mutex mutate_mu_;  // serializes writers; readers never take it
  // Guards only the pointer copy. (std::atomic<std::shared_ptr> would do, but
  // libstdc++ 12 implements it with a lock bit ThreadSanitizer cannot see.)
  mutable std::shared_mutex snapshot_mu_;
  std::shared_ptr<const SessionSnapshot> snapshot_;

  // stats: decisions = every decide(); injected = answered with a mock or
  // error response (injectedSpans); passthroughs = let through; strict
  // misses = blocked by the policy. decisions = injected + passthroughs + strict misses.
  std::atomic<std::uint64_t> decisions_{0}, injected_{0}, passthroughs_{0}, extracted_{0}, strict_misses_{0};
  mutable std::mutex miss_mu_;  // strict-miss path only
  std::deque<std::shared_ptr<const MissedRequest>> recent_misses_;

  mutable std::mutex capture_mu_;
  std::vector<HttpExchange> captured_;
  CaptureUsage capture_usage_;
};

// SOFTPROBE_CAPTURE_CASE_PATH, else "./captured.case.json".
std::string default_capture_path();

}  // namespace softprobe::core
