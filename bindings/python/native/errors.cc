// Status codes -> Python exceptions, and the borrowed-view helpers.
#include "binding.hpp"

#include <Python.h>

namespace softprobe_py {

namespace {
// The factory lives as long as the module (it is a plain function of the
// package); it is leaked on purpose so no Python object is touched at exit.
PyObject* g_factory = nullptr;
}  // namespace

void set_error_factory(py::object factory) {
  Py_XDECREF(g_factory);
  g_factory = factory.is_none() ? nullptr : factory.release().ptr();
}

void raise_status(sp_status status) {
  // Copy the thread-local C error state before any Python code runs.
  std::string message = sp_last_error();
  std::string details = sp_last_error_details();
  const char* name = sp_status_name(status);
  if (g_factory) {
    py::object exc = py::reinterpret_borrow<py::object>(g_factory)(static_cast<int>(status), name, message, details);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  } else {
    PyErr_Format(PyExc_RuntimeError, "%s: %s", name, message.c_str());
  }
  throw py::error_already_set();
}

py::str take_string(char* s) {
  if (!s) return py::str("");
  PyObject* out =
      PyUnicode_DecodeUTF8(s, static_cast<Py_ssize_t>(std::char_traits<char>::length(s)), "surrogateescape");
  sp_string_free(s);
  if (!out) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(out);
}

sp_str view_of(py::handle obj, const char* what) {
  PyObject* o = obj.ptr();
  if (PyUnicode_Check(o)) {
    Py_ssize_t n = 0;
    const char* p = PyUnicode_AsUTF8AndSize(o, &n);
    if (!p) throw py::error_already_set();
    return sp_str{p, static_cast<size_t>(n)};
  }
  if (PyBytes_Check(o)) return sp_str{PyBytes_AS_STRING(o), static_cast<size_t>(PyBytes_GET_SIZE(o))};
  if (o == Py_None) return sp_str{nullptr, 0};
  PyErr_Format(PyExc_TypeError, "%s must be str or bytes, not %s", what, Py_TYPE(o)->tp_name);
  throw py::error_already_set();
}

void headers_of(py::handle seq, std::vector<sp_header>& out, std::vector<py::object>& keep, const char* what) {
  if (seq.is_none()) return;
  PyObject* fast = PySequence_Fast(seq.ptr(), what);
  if (!fast) throw py::error_already_set();
  keep.push_back(py::reinterpret_steal<py::object>(fast));
  Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  PyObject** items = PySequence_Fast_ITEMS(fast);
  out.reserve(static_cast<size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* pair = items[i];
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
      PyErr_Format(PyExc_TypeError, "%s must be a sequence of (name, value) tuples", what);
      throw py::error_already_set();
    }
    out.push_back(sp_header{view_of(PyTuple_GET_ITEM(pair, 0), what), view_of(PyTuple_GET_ITEM(pair, 1), what)});
  }
}

void bind_errors(py::module_& m) {
  m.def("set_error_factory", &set_error_factory, py::arg("factory"),
        "Registers factory(status, status_name, message, details_json) -> exception for failed C calls.");
  m.def(
      "status_name", [](int status) { return std::string(sp_status_name(static_cast<sp_status>(status))); },
      py::arg("status"), "sp_status_name: 'SP_OK', 'SP_E_INVALID_RULE', ...");
  m.def(
      "last_error", [] { return std::string(sp_last_error()); }, "sp_last_error() of this thread.");
  m.def(
      "last_error_details", [] { return std::string(sp_last_error_details()); },
      "sp_last_error_details() of this thread (JSON text).");
}

}  // namespace softprobe_py
