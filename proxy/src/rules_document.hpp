// A --rules document, JSON or YAML, as the JSON rules text the core reads
// (docs/proxy.md, "Rules"). Depends on yaml-cpp and nlohmann only, so that the
// fuzz build (which has no net layer) can fuzz it.
#pragma once

#include <string>

namespace softprobe::proxy {

// `text` when it is JSON (its first non-blank character is '{' or '['), else
// `text` read as YAML and written as JSON: scalars that read as numbers or
// booleans become numbers and booleans unless quoted; null is null. Throws
// softprobe::Error(SP_E_INVALID_RULE) starting with `where` ("--rules FILE")
// when it is neither, naming YAML's line and column, or when a YAML key is
// not a scalar or a string is not valid UTF-8. (The core checks the rules
// themselves afterwards.)
std::string rules_document_as_json(const std::string& text, const std::string& where);

// rules_document_as_json of the file at `path`, with where = "--rules PATH";
// SP_E_IO when the file cannot be read.
std::string rules_file_as_json(const std::string& path);

}  // namespace softprobe::proxy
