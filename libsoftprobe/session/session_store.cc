#include "session/session_store.hpp"

#include <cstdlib>
#include <mutex>

#include "capture/capture_directory.hpp"
#include "support/errors.hpp"
#include "support/random_id.hpp"

namespace softprobe::core {

std::shared_ptr<Session> SessionStore::create(SessionOptions options) {
  std::string id = options.session_id.empty() ? new_session_id() : options.session_id;
  auto session = std::make_shared<Session>(id, std::move(options));
  std::unique_lock lock(mu_);
  if (sessions_.size() >= max_sessions_)
    throw Error(ErrorCode::limit_exceeded,
                "too many sessions: " + std::to_string(sessions_.size()) + " are open, the maximum is " +
                    std::to_string(max_sessions_) +
                    " (close sessions you no longer need, or raise the limit: --max-sessions)",
                {{"limit", "maxSessions"}, {"max", max_sessions_}});
  if (!sessions_.emplace(id, session).second)
    throw Error(ErrorCode::invalid_argument, "sessionId: a session with id \"" + id + "\" already exists",
                {{"field", "sessionId"}});
  return session;
}

void SessionStore::set_max_sessions(std::size_t max) {
  if (max == 0) throw Error(ErrorCode::invalid_argument, "maxSessions: must be at least 1", {{"field", "maxSessions"}});
  std::unique_lock lock(mu_);
  max_sessions_ = max;
}

std::size_t SessionStore::max_sessions() const {
  std::shared_lock lock(mu_);
  return max_sessions_;
}

void SessionStore::set_capture_directory(std::shared_ptr<const CaptureDirectory> dir, std::string default_path) {
  if (dir) {
    // Checked now, so a bad default fails at start-up, not at the first close.
    CapturePlaceholders sample{"session", "capture", std::chrono::system_clock::now()};
    split_capture_path(expand_capture_placeholders(default_path, sample));
  }
  std::unique_lock lock(mu_);
  capture_dir_ = std::move(dir);
  default_capture_ = std::move(default_path);
}

std::shared_ptr<const CaptureDirectory> SessionStore::capture_directory() const {
  std::shared_lock lock(mu_);
  return capture_dir_;
}

std::shared_ptr<Session> SessionStore::find(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

std::shared_ptr<Session> SessionStore::get(std::string_view id) const {
  auto s = find(id);
  if (!s)
    throw Error(ErrorCode::unknown_session,
                "unknown session \"" + std::string(id) + "\" (never created, or already closed)",
                {{"sessionId", std::string(id)}});
  return s;
}

std::vector<std::shared_ptr<Session>> SessionStore::list() const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) out.push_back(s);
  return out;
}

std::size_t SessionStore::size() const {
  std::shared_lock lock(mu_);
  return sessions_.size();
}

ClosedSession SessionStore::close(std::string_view id, const std::string& out_path) {
  auto s = get(id);
  CaptureTarget target;
  {
    std::shared_lock lock(mu_);
    target.dir = capture_dir_;
    target.path = capture_dir_ && out_path.empty() ? default_capture_ : out_path;
  }
  std::string written = s->close(target);  // throws: the session stays
  std::unique_lock lock(mu_);
  sessions_.erase(std::string(id));
  return {s->id(), written, {}};
}

CaseFile SessionStore::close_exporting(std::string_view id) {
  auto s = get(id);
  CaseFile captured = s->close_exporting();  // throws: the session stays
  std::unique_lock lock(mu_);
  sessions_.erase(std::string(id));
  return captured;
}

// Where a flushed capture goes: the default path, with the session id
// inserted when several sessions are flushed at once, never replacing a file.
CaptureTarget SessionStore::flush_target(const Session& s, std::size_t capturing) const {
  CaptureTarget target;
  {
    std::shared_lock lock(mu_);
    target.dir = capture_dir_;
    target.path = capture_dir_ ? default_capture_ : default_capture_path();
  }
  target.flush = true;
  if (capturing > 1) {
    auto dot = target.path.rfind(".case.json");
    if (dot == std::string::npos) target.path += "." + s.id();
    else target.path.insert(dot, "." + s.id());
  }
  return target;
}

namespace {

std::string temp_directory() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

}  // namespace

std::vector<ClosedSession> SessionStore::close_sessions(const std::vector<std::shared_ptr<Session>>& sessions,
                                                        bool fallback_to_temp) {
  std::vector<ClosedSession> out;
  std::size_t capturing = 0;
  for (const auto& s : sessions) capturing += s->mode() != SessionMode::replay;
  auto forget = [&](const Session& s) {
    std::unique_lock lock(mu_);
    sessions_.erase(s.id());
  };
  for (const auto& s : sessions) {
    try {
      std::string written = s->close(flush_target(*s, capturing));
      forget(*s);
      out.push_back({s->id(), written, {}});
    } catch (const Error& e) {
      if (e.code() == ErrorCode::session_closed) {  // closed meanwhile by someone else: nothing to flush
        forget(*s);
        continue;
      }
      std::string reason = e.what();
      if (!fallback_to_temp) {
        out.push_back({s->id(), "error: " + reason, {}});
        continue;
      }
      try {  // the last chance to keep the recording: the temporary directory
        auto tmp = std::make_shared<const CaptureDirectory>(temp_directory());
        std::string written = s->close(CaptureTarget{tmp, "softprobe-" + s->id() + ".case.json", true});
        forget(*s);
        out.push_back({s->id(), written, reason});
      } catch (const std::exception& e2) {
        out.push_back({s->id(), "error: " + reason + "; and in the temporary directory: " + e2.what(), {}});
      }
    } catch (const std::exception& e) {  // one failure must not stop the others
      out.push_back({s->id(), std::string("error: ") + e.what(), {}});
    }
  }
  return out;
}

std::vector<ClosedSession> SessionStore::close_idle(std::chrono::steady_clock::duration ttl) {
  auto cutoff = std::chrono::steady_clock::now() - ttl;
  std::vector<std::shared_ptr<Session>> idle;
  for (const auto& s : list())
    if (s->last_used() < cutoff) idle.push_back(s);
  return close_sessions(idle, false);
}

std::vector<ClosedSession> SessionStore::close_all(bool fallback_to_temp) {
  return close_sessions(list(), fallback_to_temp);
}

}  // namespace softprobe::core
