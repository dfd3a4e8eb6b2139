// Decision: one request's answer (sp_decision_*).
#include <Python.h>

#include "binding.hpp"

namespace softprobe_py {

namespace {

PyObject* text(sp_str s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data ? s.data : "", static_cast<Py_ssize_t>(s.len), "surrogateescape");
  if (!o) throw py::error_already_set();
  return o;
}

PyObject* bytes(sp_str s) {
  PyObject* o = PyBytes_FromStringAndSize(s.data ? s.data : "", static_cast<Py_ssize_t>(s.len));
  if (!o) throw py::error_already_set();
  return o;
}

// [(name, value), ...] from the decision's headers, as str (UTF-8) or bytes.
py::list header_list(const Decision& d, bool as_bytes) {
  size_t n = sp_decision_header_count(d.get());
  py::list out(n);
  for (size_t i = 0; i < n; ++i) {
    sp_header h = sp_decision_header(d.get(), i);
    py::object name = py::reinterpret_steal<py::object>(as_bytes ? bytes(h.name) : text(h.name));
    py::object value = py::reinterpret_steal<py::object>(as_bytes ? bytes(h.value) : text(h.value));
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), py::make_tuple(name, value).release().ptr());
  }
  return out;
}

py::bytes body_of(const Decision& d) { return py::reinterpret_steal<py::bytes>(bytes(sp_decision_body(d.get()))); }

}  // namespace

void bind_decision(py::module_& m) {
  m.attr("OUTCOME_MOCK") = static_cast<int>(SP_OUTCOME_MOCK);
  m.attr("OUTCOME_ERROR") = static_cast<int>(SP_OUTCOME_ERROR);
  m.attr("OUTCOME_PASSTHROUGH") = static_cast<int>(SP_OUTCOME_PASSTHROUGH);
  m.attr("OUTCOME_CAPTURE_ONLY") = static_cast<int>(SP_OUTCOME_CAPTURE_ONLY);

  py::class_<Decision>(m, "Decision", "The core's answer for one request (sp_decision). Immutable.")
      .def_property_readonly(
          "outcome", [](const Decision& d) { return static_cast<int>(sp_decision_outcome(d.get())); },
          "OUTCOME_MOCK, OUTCOME_ERROR, OUTCOME_PASSTHROUGH or OUTCOME_CAPTURE_ONLY.")
      .def_property_readonly(
          "status", [](const Decision& d) { return sp_decision_status(d.get()); },
          "Response status for mock/error outcomes; 0 otherwise.")
      .def_property_readonly(
          "latency_ms", [](const Decision& d) { return sp_decision_latency_ms(d.get()); },
          "Delay the rule asks for before answering, in milliseconds.")
      .def_property_readonly(
          "is_strict_miss", [](const Decision& d) { return sp_decision_is_strict_miss(d.get()) != 0; },
          "True when the strict policy blocked an unmatched request (status 599).")
      .def_property_readonly(
          "rule", [](const Decision& d) { return std::string(sp_decision_rule(d.get())); },
          "Name, id or 'session rule #N' of the deciding rule; '' when the policy decided.")
      .def(
          "headers", [](const Decision& d) { return header_list(d, false); },
          "Response headers as [(name, value)] str pairs (UTF-8).")
      .def(
          "raw_headers", [](const Decision& d) { return header_list(d, true); },
          "Response headers as [(name, value)] bytes pairs.")
      .def("body", &body_of, "Response body bytes.")
      .def(
          "response",
          [](const Decision& d) {
            return py::make_tuple(sp_decision_status(d.get()), header_list(d, false), body_of(d));
          },
          "(status, [(name, value)], body) in one call, for the interceptors' hot path.")
      .def(
          "explain",
          [](const Decision& d) {
            char* out = nullptr;
            check(sp_decision_explain(&out, d.get()));
            return take_string(out);
          },
          "JSON: for a strict miss {method, host, path, requestFingerprint, nearMiss, explanation}; "
          "otherwise {outcome, rule?}.");
}

}  // namespace softprobe_py
