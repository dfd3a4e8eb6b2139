// Writing a file so that a crash never leaves half of it: write a temporary
// file beside the target, flush it to disk, then rename it over the target.
#pragma once

#include <string>
#include <string_view>

namespace softprobe::core {

// Throws Error(io) naming the path and the OS error.
void write_file_atomically(const std::string& path, std::string_view contents);

// Reads a whole file; throws Error(io) naming the path and the OS error.
std::string read_file(const std::string& path);

}  // namespace softprobe::core
