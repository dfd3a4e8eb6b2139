// Whether a socket whose read wait completed really has something to read
// (data or the peer's close). Asio's wait_read can complete on a stale
// readiness event (epoll is edge-triggered and Asio reads speculatively), so
// an idle keep-alive connection must not take such a wake-up for the peer
// closing. Needs Asio only.
#pragma once

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <cerrno>

namespace softprobe::net::detail {

// True when nothing is there (the wake-up was spurious): wait again.
inline bool nothing_to_read(boost::asio::ip::tcp::socket& s) {
  char c;
  ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

}  // namespace softprobe::net::detail
