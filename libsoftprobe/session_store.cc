#include "session_store.hpp"

#include <mutex>

#include "errors.hpp"
#include "random_id.hpp"

namespace softprobe {

std::shared_ptr<Session> SessionStore::create(SessionOptions options) {
  std::string id = options.session_id.empty() ? new_session_id() : options.session_id;
  auto session = std::make_shared<Session>(id, std::move(options));
  std::unique_lock lock(mu_);
  if (!sessions_.emplace(id, session).second)
    throw Error(ErrorCode::invalid_argument, "sessionId: a session with id \"" + id + "\" already exists", {{"field", "sessionId"}});
  return session;
}

std::shared_ptr<Session> SessionStore::find(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

std::shared_ptr<Session> SessionStore::get(std::string_view id) const {
  auto s = find(id);
  if (!s)
    throw Error(ErrorCode::unknown_session, "unknown session \"" + std::string(id) + "\" (never created, or already closed)",
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
  std::string written = s->close(out_path);  // throws: the session stays
  std::unique_lock lock(mu_);
  sessions_.erase(std::string(id));
  return {s->id(), written};
}

namespace {

// Where a capture goes when several sessions are flushed at once: the
// default path with the session id inserted, so they never overwrite each other.
std::string flush_path(const Session& s, std::size_t capturing) {
  if (capturing <= 1 || s.mode() == SessionMode::replay) return "";
  std::string path = default_capture_path();
  auto dot = path.rfind(".case.json");
  if (dot == std::string::npos) path += "." + s.id();
  else path.insert(dot, "." + s.id());
  return path;
}

}  // namespace

std::vector<ClosedSession> SessionStore::close_sessions(const std::vector<std::shared_ptr<Session>>& sessions) {
  std::vector<ClosedSession> out;
  std::size_t capturing = 0;
  for (const auto& s : sessions) capturing += s->mode() != SessionMode::replay;
  for (const auto& s : sessions) {
    try {
      out.push_back(close(s->id(), flush_path(*s, capturing)));
    } catch (const std::exception& e) {  // one failure must not stop the others
      out.push_back({s->id(), std::string("error: ") + e.what()});
    }
  }
  return out;
}

std::vector<ClosedSession> SessionStore::close_idle(std::chrono::steady_clock::duration ttl) {
  auto cutoff = std::chrono::steady_clock::now() - ttl;
  std::vector<std::shared_ptr<Session>> idle;
  for (const auto& s : list())
    if (s->last_used() < cutoff) idle.push_back(s);
  return close_sessions(idle);
}

std::vector<ClosedSession> SessionStore::close_all() { return close_sessions(list()); }

}  // namespace softprobe
