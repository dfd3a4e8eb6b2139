// The set of live sessions: create, look up, list, close. Lookups take a
// shared lock on the map only; the decision itself runs on the session.
#pragma once

#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "session/session.hpp"

namespace softprobe::core {

struct ClosedSession {
  std::string session_id;
  std::string capture_path;  // "" when nothing was written; "error: ..." when the write failed
  // Set when the capture could not be written where it should go and was
  // written to the temporary directory instead (close_all with fallback).
  std::string fallback_reason;
};

// Open sessions a store holds by default (sp_store_set_max_sessions changes it).
inline constexpr std::size_t kDefaultMaxSessions = 10'000;

class SessionStore {
 public:
  // Error(limit_exceeded, details {"limit":"maxSessions","max"}) when
  // max_sessions() are open; Error(invalid_argument) for a taken id.
  std::shared_ptr<Session> create(SessionOptions options);

  // At most `max` open sessions (at least 1; the default is kDefaultMaxSessions).
  void set_max_sessions(std::size_t max);
  std::size_t max_sessions() const;

  // From now on captures are written inside `dir` only: a close's path is
  // relative to it and checked (capture_directory.hpp), and `default_path`
  // (relative, may hold placeholders) is used when a close names none.
  // Without a directory (the default) close paths are file system paths the
  // caller owns, and the default is default_capture_path().
  void set_capture_directory(std::shared_ptr<const CaptureDirectory> dir, std::string default_path);
  std::shared_ptr<const CaptureDirectory> capture_directory() const;

  // Throws Error(unknown_session) naming the id.
  std::shared_ptr<Session> get(std::string_view id) const;
  // nullptr when unknown.
  std::shared_ptr<Session> find(std::string_view id) const;
  std::vector<std::shared_ptr<Session>> list() const;
  std::size_t size() const;

  // Closes and forgets the session (writing a capture). On a write error the
  // session stays in the store, open, and the error propagates.
  ClosedSession close(std::string_view id, const std::string& out_path);
  // Closes and forgets a capture or generate session without writing a file
  // and returns its capture (Session::close_exporting). On error the session
  // stays in the store, open.
  CaseFile close_exporting(std::string_view id);

  // Closes sessions unused for longer than `ttl` (captures flushed as in
  // close_all); returns what was closed.
  std::vector<ClosedSession> close_idle(std::chrono::steady_clock::duration ttl);

  // Closes every session (shutdown): captures are flushed to the default
  // path (with the session id inserted when several capture); a flush never
  // replaces an existing file (the capture gets a name of its own). One
  // failure does not stop the others. Errors are returned as {id, "error: ..."}
  // entries; with `fallback_to_temp`, a capture that cannot be written is
  // written to $TMPDIR (else /tmp) as softprobe-<id>.case.json instead, and
  // its entry says why (fallback_reason).
  std::vector<ClosedSession> close_all(bool fallback_to_temp = false);

 private:
  std::vector<ClosedSession> close_sessions(const std::vector<std::shared_ptr<Session>>& sessions,
                                            bool fallback_to_temp);
  CaptureTarget flush_target(const Session& s, std::size_t capturing) const;

  std::shared_ptr<const CaptureDirectory> capture_dir_;  // guarded by mu_
  std::string default_capture_;                          // relative to capture_dir_
  std::size_t max_sessions_ = kDefaultMaxSessions;       // guarded by mu_

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Session>, StringHash, std::equal_to<>> sessions_;
};

}  // namespace softprobe::core
