#include "raw_client.hpp"

#include <arpa/inet.h>
#include <brotli/encode.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace nettest {

namespace {

using Clock = std::chrono::steady_clock;

int remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : int(left);
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string RawResponse::header(std::string_view name) const {
  std::string h = lower(head), n = "\r\n" + lower(std::string(name)) + ":";
  auto at = h.find(n);
  if (at == std::string::npos) return "";
  auto start = at + n.size();
  auto end = h.find("\r\n", start);
  std::string v = head.substr(start, end - start);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

RawSocket::RawSocket(std::uint16_t port, int timeout_ms) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (rc != 0 && errno != EINPROGRESS) {
    ::close(fd_);
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  if (rc != 0) {
    pollfd p{fd_, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, timeout_ms) != 1 || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd_);
      throw std::runtime_error("connect: timed out or failed");
    }
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

RawSocket::RawSocket(RawSocket&& o) noexcept : fd_(o.fd_), in_(std::move(o.in_)) { o.fd_ = -1; }

void RawSocket::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool RawSocket::send_all(std::string_view data, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(std::size_t(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, remaining(deadline)) != 1) return false;
  }
  return true;
}

bool RawSocket::fill(int timeout_ms) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, std::size_t(n));
      return true;
    }
    if (n == 0) return false;
    if (errno != EAGAIN && errno != EINTR) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return false;
  }
}

std::optional<RawResponse> RawSocket::parse_buffered(bool head_request) {
  auto end = in_.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  RawResponse r;
  r.head = in_.substr(0, end);
  if (r.head.size() < 12 || r.head.compare(0, 5, "HTTP/") != 0) return std::nullopt;
  r.status = std::atoi(r.head.c_str() + 9);
  std::string cl = r.header("content-length");
  std::size_t len = head_request || cl.empty() ? 0 : std::stoul(cl);
  if (in_.size() < end + 4 + len) return std::nullopt;
  r.body = in_.substr(end + 4, len);
  r.close = lower(r.header("connection")) == "close";
  in_.erase(0, end + 4 + len);
  return r;
}

std::optional<RawResponse> RawSocket::read_response(int timeout_ms, bool head_request) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto r = parse_buffered(head_request)) return r;
    if (!fill(remaining(deadline))) return parse_buffered(head_request);
  }
}

std::optional<std::string> RawSocket::read_until(std::string_view marker, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto at = in_.find(marker); at != std::string::npos) {
      std::string out = in_.substr(0, at + marker.size());
      in_.erase(0, at + marker.size());
      return out;
    }
    if (!fill(remaining(deadline))) return std::nullopt;
  }
}

bool RawSocket::wait_closed(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return true;  // reset
    if (n > 0) continue;
    pollfd p{fd_, POLLIN, 0};
    int left = remaining(deadline);
    if (left == 0 || ::poll(&p, 1, left) != 1) return false;
  }
}

std::optional<RawResponse> RawSocket::send_reading(std::string_view first, std::size_t total, char filler,
                                                   int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string chunk(64 * 1024, filler);
  std::size_t sent = 0, first_sent = 0;
  bool can_send = true;
  for (;;) {
    if (auto r = parse_buffered(false)) return r;
    int left = remaining(deadline);
    if (left == 0) return std::nullopt;
    pollfd p{fd_, short(POLLIN | (can_send && sent < total ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, left) < 1) return std::nullopt;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!fill(0)) return parse_buffered(false);
    }
    if ((p.revents & POLLOUT) && can_send) {
      std::string_view data = first_sent < first.size()
                                  ? first.substr(first_sent)
                                  : std::string_view(chunk).substr(0, std::min(chunk.size(), total - sent));
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        if (first_sent < first.size()) first_sent += std::size_t(n);
        sent += std::size_t(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        can_send = false;  // the server stopped reading; the answer may still be on its way
      }
    }
  }
}

long long ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

std::string compress(std::string_view data, bool gzip) {
  z_stream s{};
  if (deflateInit2(&s, 9, Z_DEFLATED, gzip ? 31 : 15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&s, uLong(data.size())), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = uInt(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = uInt(out.size());
  int rc = deflate(&s, Z_FINISH);
  deflateEnd(&s);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(s.total_out);
  return out;
}

std::string compress_br(std::string_view data) {
  std::string out(BrotliEncoderMaxCompressedSize(data.size()) + 64, '\0');
  std::size_t n = out.size();
  if (!BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, data.size(),
                             reinterpret_cast<const std::uint8_t*>(data.data()), &n,
                             reinterpret_cast<std::uint8_t*>(out.data())))
    throw std::runtime_error("BrotliEncoderCompress");
  out.resize(n);
  return out;
}

softprobe::net::Handler demo_handler() {
  using namespace softprobe::net;
  return [](Exchange ex) {
    std::string_view path = ex.head().path();
    if (path == "/hello") {
      ex.set_route("hello");
      return (void)ex.respond({200, {}, {{"Content-Type", "text/plain"}}, "hello", false});
    }
    if (path == "/echo") {
      ex.set_route("echo");
      ex.read_body([](Exchange& e, BodyStatus s) {
        if (s == BodyStatus::ok) return (void)e.respond({200, {}, {}, std::move(e.body()), false});
        int status = s == BodyStatus::too_large ? 413 : s == BodyStatus::unsupported_encoding ? 415 : 400;
        e.respond(json_error(status, body_status_name(s), "body not read"));
      });
      return;
    }
    if (path == "/delay") {
      ex.set_route("delay");
      auto q = ex.head().parsed_target().query;  // "ms=N"
      long ms = q.size() > 3 ? std::atol(std::string(q.substr(3)).c_str()) : 0;
      return (void)ex.respond_after(std::chrono::milliseconds(ms),
                                    {200, {}, {}, "delayed " + std::to_string(ms), false});
    }
    if (path == "/refuse") return (void)ex.respond(json_error(401, "missing_bearer_token", "no token"));
    ex.respond(json_error(404, "not_found", "no route"));
  };
}

}  // namespace nettest
