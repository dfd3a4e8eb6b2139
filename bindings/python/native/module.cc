// softprobe._core: module init, versions and utilities.
#include "binding.hpp"

using namespace softprobe_py;

PYBIND11_MODULE(_core, m) {
  m.doc() = "Private: the thin layer over libsoftprobe's C ABI. Use the softprobe package instead.";

  // The core is linked statically, so the loaded core is the one this module
  // was compiled against; the check still guards against a mismatched header
  // (SOFTPROBE_CHECK_VERSION: before 1.0 the major and minor must match).
  unsigned loaded = sp_version_number();
  if (!SOFTPROBE_CHECK_VERSION()) {
    throw py::import_error("softprobe._core was built for libsoftprobe " SOFTPROBE_VERSION_STRING
                           " but the loaded core is " +
                           std::string(sp_version_string()) + ", whose ABI it does not serve: reinstall the package");
  }
  m.attr("VERSION") = sp_version_string();
  m.attr("VERSION_NUMBER") = loaded;
  m.attr("SPEC_VERSION") = SOFTPROBE_SPEC_VERSION;
  m.attr("SCHEMA_VERSION") = SOFTPROBE_SCHEMA_VERSION;

  bind_errors(m);
  bind_decision(m);
  bind_session(m);
  bind_store(m);

  m.def(
      "fingerprint",
      [](py::handle method, py::handle host, py::handle path, py::handle body) {
        char* out = nullptr;
        check(sp_request_fingerprint(&out, view_of(method, "method"), view_of(host, "host"), view_of(path, "path"),
                                     view_of(body, "body")));
        return take_string(out);
      },
      py::arg("method"), py::arg("host"), py::arg("path"), py::arg("body") = py::bytes(),
      "sp_request_fingerprint: the 16-hex-digit request fingerprint.");
  m.def(
      "set_log_level", [](const std::string& level) { check(sp_set_log_level(level.c_str())); }, py::arg("level"),
      "sp_set_log_level: 'debug', 'info', 'warn', 'error' or 'off'.");
}
