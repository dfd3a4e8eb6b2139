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

#include "session.hpp"

namespace softprobe {

struct ClosedSession {
  std::string session_id;
  std::string capture_path;  // "" when nothing was written
};

class SessionStore {
 public:
  std::shared_ptr<Session> create(SessionOptions options);

  // Throws Error(unknown_session) naming the id.
  std::shared_ptr<Session> get(std::string_view id) const;
  // nullptr when unknown.
  std::shared_ptr<Session> find(std::string_view id) const;
  std::vector<std::shared_ptr<Session>> list() const;
  std::size_t size() const;

  // Closes and forgets the session (writing a capture). On a write error the
  // session stays in the store, open, and the error propagates.
  ClosedSession close(std::string_view id, const std::string& out_path);

  // Closes sessions unused for longer than `ttl` (captures flushed as in
  // close_all); returns what was closed.
  std::vector<ClosedSession> close_idle(std::chrono::steady_clock::duration ttl);

  // Closes every session (shutdown): captures are flushed to the default
  // path (with the session id inserted when several capture); one failure does not stop the others. Errors are returned as
  // {id, "error: ..."} entries.
  std::vector<ClosedSession> close_all();

 private:
  std::vector<ClosedSession> close_sessions(const std::vector<std::shared_ptr<Session>>& sessions);

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Session>, StringHash, std::equal_to<>> sessions_;
};

}  // namespace softprobe
