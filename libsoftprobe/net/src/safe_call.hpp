// Calls a caller's callback from an io thread. An exception escaping it is
// dropped: it must not end the io thread (and with it every connection).
#pragma once

#include <utility>

namespace softprobe::net::detail {

template <class F, class... A>
void safe_call(F& f, A&&... args) noexcept {
  if (!f) return;
  try {
    f(std::forward<A>(args)...);
  } catch (...) {
  }
}

}  // namespace softprobe::net::detail
