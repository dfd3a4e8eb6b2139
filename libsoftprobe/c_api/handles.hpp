// The structs behind the C ABI's opaque handles, and the guard that turns
// every C++ exception into an sp_status plus the thread-local error.
#pragma once

#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "remote/remote_session.hpp"
#include "session/decision.hpp"
#include "session/session_store.hpp"
#include "softprobe.h"
#include "support/errors.hpp"

struct sp_store {
  std::shared_ptr<softprobe::core::SessionStore> store;
  // Remote mode (sp_store_new_remote): the runtime's client, and one
  // RemoteSession per session id, shared by every handle to it (so its
  // mutations stay serialized).
  std::shared_ptr<softprobe::core::remote::RuntimeClient> runtime;
  std::shared_ptr<softprobe::core::remote::RemoteSessions> remotes;
};

struct sp_session {
  std::shared_ptr<softprobe::core::Session> session;  // the local session (in remote mode: the mirror)
  std::shared_ptr<softprobe::core::SessionStore> store;
  std::shared_ptr<softprobe::core::remote::RemoteSession> remote;  // null in embedded mode
};

struct sp_decision {
  softprobe::core::Decision decision;
  std::string rule_label;
};

namespace softprobe::core::capi {

void set_last_error(sp_status status, const std::string& message, const std::string& details_json);
void clear_last_error() noexcept;
// sp_last_warnings(): cleared when every fallible call starts; a call adds
// what it accepted but filled in (CaseFile::warnings...).
void clear_last_warnings() noexcept;
void add_last_warnings(const std::vector<std::string>& warnings);

// Runs `fn` and maps what it throws to a status; sp_last_error() then says why.
template <class Fn>
sp_status guarded(Fn&& fn) noexcept {
  clear_last_warnings();
  try {
    fn();
    return SP_OK;
  } catch (const Error& e) {
    try {
      set_last_error(static_cast<sp_status>(e.code()), e.what(), e.details().dump());
    } catch (...) {
    }
    return static_cast<sp_status>(e.code());
  } catch (const std::bad_alloc&) {
    set_last_error(SP_E_OUT_OF_MEMORY, "out of memory", "{}");
    return SP_E_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    try {
      set_last_error(SP_E_INTERNAL, std::string("internal error: ") + e.what(), "{}");
    } catch (...) {
    }
    return SP_E_INTERNAL;
  } catch (...) {
    set_last_error(SP_E_INTERNAL, "internal error: unknown exception", "{}");
    return SP_E_INTERNAL;
  }
}

[[noreturn]] inline void invalid(const std::string& what) { throw Error(ErrorCode::invalid_argument, what); }

template <class T>
T* require(T* p, const char* name) {
  if (!p) invalid(std::string(name) + " must not be NULL");
  return p;
}

// A malloc'ed copy the caller frees with sp_string_free.
inline char* dup_string(std::string_view s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return out;
}

inline std::string_view view(sp_str s) noexcept {
  return s.data ? std::string_view(s.data, s.len) : std::string_view();
}

// A view crossing the ABI, checked: {NULL, 0} is empty, {NULL, n > 0} is
// SP_E_INVALID_ARGUMENT naming `field` (never silently empty).
inline std::string_view checked_view(sp_str s, const char* field) {
  if (!s.data && s.len) invalid(std::string(field) + ".data is NULL but " + field + ".len is " + std::to_string(s.len));
  return view(s);
}

// A (pointer, length) string argument: NULL or 0 is "". A NUL byte inside is
// SP_E_INVALID_ARGUMENT naming `what` and the byte (details {field, offset}),
// so a string is never cut short at a C string's end.
std::string text_arg(const char* s, std::size_t len, const char* what);

// Parses JSON text crossing the ABI; `what` names it in the error.
nlohmann::json parse_json_arg(const char* text, std::size_t len, const char* what);

}  // namespace softprobe::core::capi
