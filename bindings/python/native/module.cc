// softprobe._core: module init, versions and utilities.
#include <dlfcn.h>

#include "binding.hpp"

using namespace softprobe_py;

namespace {
// The file the loaded sp_version_string comes from (libsoftprobe.so, or this
// module when the core is linked in statically).
std::string core_file() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&sp_version_string), &info) != 0 && info.dli_fname != nullptr) {
    return info.dli_fname;
  }
  return "an unknown file";
}
}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "Private: the thin layer over libsoftprobe's C ABI. Use the softprobe package instead.";

  // Built against an existing build (SOFTPROBE_CORE_BUILD), the module links
  // libsoftprobe.so, and the library found at import may be another version
  // than the header's: refuse one whose ABI does not serve this header
  // (SOFTPROBE_CHECK_VERSION: before 1.0 the major and minor must match).
  // Linked statically, the check guards against a mismatched header.
  unsigned loaded = sp_version_number();
  if (!SOFTPROBE_CHECK_VERSION()) {
    throw py::import_error("softprobe._core was built for libsoftprobe " SOFTPROBE_VERSION_STRING
                           " but the loaded core is " +
                           std::string(sp_version_string()) + " (" + core_file() +
                           "), whose ABI it does not serve: reinstall the package");
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
      "set_log_level", [](const std::string& level) { check(sp_set_log_level(level.data(), level.size())); },
      py::arg("level"), "sp_set_log_level: 'debug', 'info', 'warn', 'error' or 'off'.");
}
