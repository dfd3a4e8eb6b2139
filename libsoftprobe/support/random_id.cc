#include "support/random_id.hpp"

#include <sys/random.h>
#include <cerrno>

#include "support/errors.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

// Fills `out` from a per-thread buffer refilled by getrandom(2).
void fill_random(unsigned char* out, std::size_t len) {
  thread_local unsigned char pool[256];
  thread_local std::size_t used = sizeof pool;
  while (len > 0) {
    if (used == sizeof pool) {
      std::size_t got = 0;
      while (got < sizeof pool) {
        ssize_t n = ::getrandom(pool + got, sizeof pool - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error(ErrorCode::internal, "getrandom failed: the OS random source is unavailable");
        got += std::size_t(n);
      }
      used = 0;
    }
    std::size_t take = std::min(len, sizeof pool - used);
    for (std::size_t i = 0; i < take; ++i) {
      out[i] = pool[used + i];
      pool[used + i] = 0;  // never hand out the same bytes twice
    }
    used += take;
    out += take;
    len -= take;
  }
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  unsigned char buf[64];
  std::string out;
  while (bytes > 0) {
    std::size_t n = std::min(bytes, sizeof buf);
    fill_random(buf, n);
    out += text::hex_bytes(buf, n);
    bytes -= n;
  }
  return out;
}

}  // namespace softprobe::core
