# The Debian package of the C/C++ SDK: `cpack -G DEB` in a configured and
# built tree (build/) writes libsoftprobe_<version>_<arch>.deb holding what
# `cmake --install` installs, under /usr:
#   lib/libsoftprobe.so.<version> with its SONAME and dev symlinks,
#   include/softprobe.h and softprobe.hpp, lib/cmake/softprobe/ (find_package),
#   lib/pkgconfig/softprobe.pc, bin/softprobe-runtime and bin/softprobe (the CLI:
#   softprobe runtime, softprobe proxy; when built),
#   share/doc/libsoftprobe/copyright (LICENSE).
# Depends comes from dpkg-shlibdeps over the packaged binaries. Tested by
# tests/package/check_deb.sh (docs/c-abi.md#the-debian-package).

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/libsoftprobe RENAME copyright)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME libsoftprobe)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})  # project(VERSION), the one version
set(CPACK_PACKAGE_VENDOR "The libsoftprobe authors")
set(CPACK_PACKAGE_CONTACT "The libsoftprobe authors")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "HTTP capture-and-replay core for backend tests (C ABI, C++ API, runtime)")
set(CPACK_PACKAGE_DESCRIPTION
  "libsoftprobe records the real HTTP traffic of a service into OTLP JSON case files and replays it \
deterministically in tests: outbound calls are answered from rules, and in strict mode a call nobody \
mocked fails. This package holds the shared library, the C header softprobe.h, the C++ header \
softprobe.hpp, the CMake package (find_package(softprobe)), softprobe.pc, the softprobe-runtime \
server (the HTTP control API and the proxy OTLP API) and the softprobe command (softprobe proxy: \
the egress forward proxy for apps in any language).")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # the build's debug info stays in the build tree
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # libsoftprobe_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # DEBIAN/shlibs for packages linking libsoftprobe
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/libsoftprobe)
# postinst/postrm run ldconfig, and only inside DPKG_ROOT when dpkg gives one (the test's scratch root).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/deb/postinst ${PROJECT_SOURCE_DIR}/cmake/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
