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

std::vector<ClosedSession> SessionStore::close_idle(std::chrono::steady_clock::duration ttl) {
  auto cutoff = std::chrono::steady_clock::now() - ttl;
  std::vector<ClosedSession> out;
  for (const auto& s : list()) {
    if (s->last_used() >= cutoff) continue;
    try {
      out.push_back(close(s->id(), ""));
    } catch (const Error& e) {
      out.push_back({s->id(), std::string("error: ") + e.what()});
    }
  }
  return out;
}

std::vector<ClosedSession> SessionStore::close_all() {
  std::vector<ClosedSession> out;
  auto sessions = list();
  std::size_t capturing = 0;
  for (const auto& s : sessions) capturing += s->mode() != SessionMode::replay;
  for (const auto& s : sessions) {
    // Several captures must not overwrite one default file: each gets its id.
    std::string path;
    if (capturing > 1 && s->mode() != SessionMode::replay) {
      path = default_capture_path();
      auto dot = path.rfind(".case.json");
      if (dot == std::string::npos) path += "." + s->id();
      else path.insert(dot, "." + s->id());
    }
    try {
      out.push_back(close(s->id(), path));
    } catch (const Error& e) {
      out.push_back({s->id(), std::string("error: ") + e.what()});
    }
  }
  return out;
}

}  // namespace softprobe
