# softprobe_tagged_test_program(NAME FROM TAG [EXTRA_SOURCES src...])
#
# Defines NAME (EXCLUDE_FROM_ALL): a Catch2 program made of only those source
# files of the test program FROM that contain the tag "[TAG]", plus
# EXTRA_SOURCES (helpers without tests), with FROM's libraries, definitions and
# options. The ThreadSanitizer build (scripts/test.sh) runs only the [TAG]
# tests, so it compiles only their files. A source file of FROM is a configure
# dependency: tagging a test in another file reconfigures.
function(softprobe_tagged_test_program name from tag)
  cmake_parse_arguments(ARG "" "" "EXTRA_SOURCES" ${ARGN})
  get_target_property(sources ${from} SOURCES)
  get_target_property(dir ${from} SOURCE_DIR)
  set(tagged)
  foreach(src IN LISTS sources)
    if(NOT IS_ABSOLUTE "${src}")
      set(src "${dir}/${src}")
    endif()
    if(NOT src MATCHES "\\.cc$")
      continue()
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${src}")
    file(STRINGS "${src}" hit REGEX "\\[${tag}\\]" LIMIT_COUNT 1)
    if(hit)
      list(APPEND tagged "${src}")
    endif()
  endforeach()
  if(NOT tagged)
    message(FATAL_ERROR "softprobe_tagged_test_program(${name}): no source of ${from} has a [${tag}] test")
  endif()
  add_executable(${name} EXCLUDE_FROM_ALL ${tagged} ${ARG_EXTRA_SOURCES})
  foreach(property LINK_LIBRARIES COMPILE_DEFINITIONS COMPILE_OPTIONS INCLUDE_DIRECTORIES)
    get_target_property(value ${from} ${property})
    if(value)
      set_property(TARGET ${name} PROPERTY ${property} "${value}")
    endif()
  endforeach()
endfunction()
