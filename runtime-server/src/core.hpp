// RAII over the core's C ABI (softprobe.h) for the runtime.
//
// The runtime links the core statically (softprobe_static), so it must not
// include softprobe.hpp: that header's softprobe::Error, Session, Store,
// Decision and Response share their mangled names with the core's internal
// classes, and linking both into one program breaks the one-definition rule
// (mixed-up destructors and exception types). Hence these few wrappers, in
// this namespace, with their own names.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "softprobe.h"

namespace softprobe::runtime {

// A failed core call: its status, sp_last_error() and sp_last_error_details().
class CoreError : public std::runtime_error {
 public:
  CoreError(sp_status status, const std::string& message, std::string details)
      : std::runtime_error(message), status_(status), details_(std::move(details)) {}
  sp_status status() const noexcept { return status_; }
  const std::string& details() const noexcept { return details_; }

 private:
  sp_status status_;
  std::string details_;
};

inline void check(sp_status st) {
  if (st != SP_OK) throw CoreError(st, sp_last_error(), sp_last_error_details());
}

// Takes ownership of a string the core returned.
inline std::string take(char* s) {
  std::string out = s ? s : "";
  sp_string_free(s);
  return out;
}

class CoreStore {
 public:
  CoreStore() { check(sp_store_new(&s_)); }
  ~CoreStore() { sp_store_free(s_); }
  CoreStore(const CoreStore&) = delete;
  CoreStore& operator=(const CoreStore&) = delete;
  sp_store* handle() const noexcept { return s_; }

 private:
  sp_store* s_ = nullptr;
};

class CoreSession {
 public:
  // options_json: "" for a default replay session.
  static CoreSession create(const CoreStore& store, const std::string& options_json) {
    sp_session* s = nullptr;
    check(sp_session_new(&s, store.handle(), options_json.data(), options_json.size()));
    return CoreSession(s);
  }
  static CoreSession attach(const CoreStore& store, std::string_view id) {
    sp_session* s = nullptr;
    check(sp_store_get_session(&s, store.handle(), id.data(), id.size()));
    return CoreSession(s);
  }
  CoreSession(CoreSession&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  CoreSession& operator=(CoreSession&&) = delete;
  CoreSession(const CoreSession&) = delete;
  ~CoreSession() { sp_session_free(s_); }

  sp_session* handle() const noexcept { return s_; }
  std::string id() const { return sp_session_id(s_); }
  std::string mode() const { return sp_session_mode(s_); }
  std::uint64_t revision() const noexcept { return sp_session_revision(s_); }

 private:
  explicit CoreSession(sp_session* s) noexcept : s_(s) {}
  sp_session* s_;
};

}  // namespace softprobe::runtime
