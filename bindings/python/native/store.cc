// Store: the session registry (sp_store_*).
#include "binding.hpp"

namespace softprobe_py {

Store::Store() { check(sp_store_new(&s_)); }

void bind_store(py::module_& m) {
  py::class_<Store>(m, "Store", "A session store (sp_store). Sessions outlive it.")
      .def(py::init<>())
      .def(
          "new_session",
          [](Store& store, py::object options_json) {
            std::string options;
            bool has = !options_json.is_none();
            if (has) options = options_json.cast<std::string>();
            sp_session* s = nullptr;
            check(sp_session_new(&s, store.get(), has ? options.data() : nullptr, has ? options.size() : 0));
            return new Session(s);
          },
          py::arg("options_json") = py::none(),
          "sp_session_new: options JSON {sessionId?, mode?, policy?, caseId?, suite?, redaction?, limits?}.")
      .def(
          "get_session",
          [](const Store& store, const std::string& id) {
            sp_session* s = nullptr;
            check(sp_store_get_session(&s, store.get(), id.data(), id.size()));
            return new Session(s);
          },
          py::arg("session_id"), "sp_store_get_session: a new handle to an open session (SP_E_UNKNOWN_SESSION).")
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
            char* out = nullptr;
            sp_status st;
            {
              py::gil_scoped_release nogil;
              st = sp_store_close_all(&out, store.get());
            }
            check(st);
            return take_string(out);
          },
          "sp_store_close_all: closes every session; JSON {closed:[...]}.");
}

}  // namespace softprobe_py
