// Store: the session registry (sp_store_*), embedded or remote.
#include "binding.hpp"

namespace softprobe_py {

Store::Store(const std::string& runtime_url, const std::string& token, uint64_t timeout_ms) {
  if (runtime_url.empty()) {
    check(sp_store_new(&s_));
  } else {
    // Checks the URL and token; makes no call (the first session does).
    check(sp_store_new_remote(&s_, runtime_url.data(), runtime_url.size(), token.data(), token.size(), timeout_ms));
  }
}

void bind_store(py::module_& m) {
  py::class_<Store>(m, "Store", "A session store (sp_store). Sessions outlive it.")
      .def(py::init<const std::string&, const std::string&, uint64_t>(), py::arg("runtime_url") = "",
           py::arg("token") = "", py::arg("timeout_ms") = 0,
           "sp_store_new, or with runtime_url sp_store_new_remote (token: bearer token, '' for none; timeout_ms "
           "bounds each runtime call, 0: 10 s). SP_E_INVALID_ARGUMENT for a bad URL or token.")
      .def_property_readonly(
          "is_remote", [](const Store& store) { return sp_store_is_remote(store.get()) != 0; },
          "sp_store_is_remote: True for a store whose sessions a runtime holds.")
      .def(
          "new_session",
          [](Store& store, py::object options_json) {
            std::string options;
            bool has = !options_json.is_none();
            if (has) options = options_json.cast<std::string>();
            sp_session* s = nullptr;
            sp_status st;
            {
              py::gil_scoped_release nogil;  // remote: POST /v1/sessions
              st = sp_session_new(&s, store.get(), has ? options.data() : nullptr, has ? options.size() : 0);
            }
            check(st);
            return new Session(s);
          },
          py::arg("options_json") = py::none(),
          "sp_session_new: options JSON {sessionId?, mode?, policy?, caseId?, suite?, redaction?, limits?} "
          "(remote: the runtime chooses the id).")
      .def(
          "get_session",
          [](const Store& store, const std::string& id) {
            sp_session* s = nullptr;
            sp_status st;
            {
              py::gil_scoped_release nogil;  // remote: the runtime's state, copied into a mirror
              st = sp_store_get_session(&s, store.get(), id.data(), id.size());
            }
            check(st);
            return new Session(s);
          },
          py::arg("session_id"),
          "sp_store_get_session: a new handle to an open session (remote: attaches to the runtime's session); "
          "SP_E_UNKNOWN_SESSION.")
      .def(
          "list_sessions",
          [](const Store& store) {
            char* out = nullptr;
            check(sp_store_list_sessions(&out, store.get()));
            return take_string(out);
          },
          "sp_store_list_sessions: JSON {sessions:[{sessionId, mode, sessionRevision}]}.")
      .def(
          "close_all",
          [](Store& store) {
            return string_without_gil([&](char** out) { return sp_store_close_all(out, store.get()); });
          },
          "sp_store_close_all: closes every session; JSON {closed:[...]}.");
}

}  // namespace softprobe_py
