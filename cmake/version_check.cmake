# The C ABI's version macros in include/softprobe.h must state the project's
# one version (VERSION, read into PROJECT_VERSION by the top-level
# CMakeLists.txt): a configure that finds them apart fails, naming both.
# scripts/set_version.sh rewrites VERSION, the header's macros and the
# bindings' manifests together.
file(STRINGS "${PROJECT_SOURCE_DIR}/include/softprobe.h" _sp_version_lines
     REGEX "^#define SOFTPROBE_VERSION_(MAJOR|MINOR|PATCH|STRING) ")
set(_sp_header_version "")
foreach(_part MAJOR MINOR PATCH)
  set(_sp_${_part} "")
  foreach(_line IN LISTS _sp_version_lines)
    if(_line MATCHES "^#define SOFTPROBE_VERSION_${_part} ([0-9]+)$")
      set(_sp_${_part} "${CMAKE_MATCH_1}")
    endif()
  endforeach()
endforeach()
set(_sp_STRING "")
foreach(_line IN LISTS _sp_version_lines)
  if(_line MATCHES "^#define SOFTPROBE_VERSION_STRING \"([^\"]*)\"$")
    set(_sp_STRING "${CMAKE_MATCH_1}")
  endif()
endforeach()
set(_sp_header_version "${_sp_MAJOR}.${_sp_MINOR}.${_sp_PATCH}")
if(NOT _sp_header_version STREQUAL PROJECT_VERSION OR NOT _sp_STRING STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "include/softprobe.h states version ${_sp_header_version} (SOFTPROBE_VERSION_MAJOR/MINOR/PATCH) "
                      "and \"${_sp_STRING}\" (SOFTPROBE_VERSION_STRING) but VERSION says ${PROJECT_VERSION}: "
                      "set them together with scripts/set_version.sh ${PROJECT_VERSION}")
endif()
unset(_sp_version_lines)
unset(_sp_header_version)
