// Random identifiers. Session ids come from the OS's random source (getrandom);
// span and trace ids for captured exchanges too, but through a per-thread
// buffer so a capture does not pay a system call per id.
#pragma once

#include <cstddef>
#include <string>

namespace softprobe::core {

// 2*bytes lowercase hex digits from the OS's CSPRNG. Throws Error(internal)
// when the OS source fails.
std::string random_hex(std::size_t bytes);

// 128 random bits as 32 hex digits.
inline std::string new_session_id() { return random_hex(16); }

}  // namespace softprobe::core
