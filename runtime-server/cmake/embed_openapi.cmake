# Writes OUT, a C++ source defining softprobe::runtime::openapi_document()
# with the bytes of IN (runtime-server/openapi.yaml) in a raw string literal.
# Run by the build (add_custom_command) whenever IN changes.
file(READ "${IN}" content)
string(FIND "${content}" ")openapi\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string's end marker )openapi\" and cannot be embedded")
endif()
file(WRITE "${OUT}.tmp" "// Generated from runtime-server/openapi.yaml by cmake/embed_openapi.cmake: do not edit.\n#include \"openapi.hpp\"\n\nnamespace softprobe::runtime {\n\nstd::string_view openapi_document() noexcept {\n  static constexpr char kDocument[] = R\"openapi(${content})openapi\";\n  return {kDocument, sizeof kDocument - 1};\n}\n\n}  // namespace softprobe::runtime\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
