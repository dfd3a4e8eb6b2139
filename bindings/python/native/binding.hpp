// Shared declarations of softprobe._core, the thin layer over the C ABI.
//
// Every type here owns exactly one C handle and mirrors the sp_* functions
// that take it. Every call that can reach a remote runtime (creating,
// attaching, the setters, stats, close) runs without the GIL, so other Python
// threads keep running while it waits; decisions never reach the network. Nothing in this folder includes a
// core-internal header: only <softprobe.h>. Status codes become Python exceptions through the factory that the package
// registers (softprobe/_errors.py), so a failing C call raises the package's own exception classes directly.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "softprobe.h"

namespace py = pybind11;

namespace softprobe_py {

// ---- errors.cc ---------------------------------------------------------------

// Registers `factory(status:int, status_name:str, message:str, details_json:str)
// -> BaseException`, called to build the exception for a failed C call.
void set_error_factory(py::object factory);

// Raises the Python exception for `status` with the thread's sp_last_error()
// and sp_last_error_details(). Must run on the thread that made the failing
// call (the C error state is thread-local); the GIL must be held.
[[noreturn]] void raise_status(sp_status status);

inline void check(sp_status status) {
  if (status != SP_OK) raise_status(status);
}

// Takes ownership of a C string returned through `char **out`.
py::str take_string(char* s);

// A core call that hands back a string (`call(&out)` returns its status), made
// without the GIL: in remote mode it may wait on the runtime, and other Python
// threads keep running meanwhile. Then checked and taken as sp_string_free'd text.
template <class Call>
py::str string_without_gil(Call call) {
  char* out = nullptr;
  sp_status st;
  {
    py::gil_scoped_release nogil;
    st = call(&out);
  }
  check(st);
  return take_string(out);
}

// ---- views -----------------------------------------------------------------------

// A borrowed sp_str over a Python str (its cached UTF-8 form) or bytes object.
// The object must stay alive (and, for str, unmodified: str is immutable) while
// the view is used. None gives an empty view. Raises TypeError otherwise.
sp_str view_of(py::handle obj, const char* what);

// Fills `out` with borrowed header views from a sequence of (name, value)
// pairs (str or bytes each), or None. Holds the pairs alive through `keep`.
void headers_of(py::handle seq, std::vector<sp_header>& out, std::vector<py::object>& keep, const char* what);

// ---- handles ---------------------------------------------------------------------

class Decision {
 public:
  explicit Decision(sp_decision* d) noexcept : d_(d) {}
  Decision(const Decision&) = delete;
  Decision& operator=(const Decision&) = delete;
  ~Decision() { sp_decision_free(d_); }
  sp_decision* get() const noexcept { return d_; }

 private:
  sp_decision* d_;
};

class Session {
 public:
  explicit Session(sp_session* s) noexcept : s_(s) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { sp_session_free(s_); }
  sp_session* get() const noexcept { return s_; }

 private:
  sp_session* s_;
};

// Embedded (sp_store_new) when `runtime_url` is empty, else remote
// (sp_store_new_remote): sessions are held by the runtime at that URL, each
// with a local mirror, and the session calls below reach it over the network
// (libcurl, blocking, each call bounded by `timeout_ms`; 0: the core's 10 s).
class Store {
 public:
  Store(const std::string& runtime_url, const std::string& token, uint64_t timeout_ms);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store() { sp_store_free(s_); }
  sp_store* get() const noexcept { return s_; }

 private:
  sp_store* s_ = nullptr;
};

void bind_errors(py::module_& m);
void bind_decision(py::module_& m);
void bind_session(py::module_& m);
void bind_store(py::module_& m);

}  // namespace softprobe_py
