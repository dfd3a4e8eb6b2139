#include "raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace runtime_test {

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

// A chunked body starting at `from`: the decoded body and the offset just
// past it, or nullopt while incomplete (a malformed size counts as incomplete:
// the test then times out and fails).
std::optional<std::pair<std::string, std::size_t>> dechunk(const std::string& in, std::size_t from) {
  std::string body;
  std::size_t at = from;
  for (;;) {
    auto eol = in.find("\r\n", at);
    if (eol == std::string::npos) return std::nullopt;
    std::size_t size = std::strtoul(in.substr(at, eol - at).c_str(), nullptr, 16);
    at = eol + 2;
    if (size == 0) {
      auto end = in.find("\r\n", at);  // no trailers expected; skip any up to the empty line
      while (end != std::string::npos && end != at) {
        at = end + 2;
        end = in.find("\r\n", at);
      }
      if (end == std::string::npos) return std::nullopt;
      return std::make_pair(body, end + 2);
    }
    if (in.size() < at + size + 2) return std::nullopt;
    body.append(in, at, size);
    at += size + 2;
  }
}

}  // namespace

std::string RawResponse::header(std::string_view name) const {
  std::string h = lower(head), n = "\r\n" + lower(std::string(name)) + ":";
  auto at = h.find(n);
  if (at == std::string::npos) return "";
  auto start = at + n.size();
  auto end = h.find("\r\n", start);
  std::string v = head.substr(start, end == std::string::npos ? std::string::npos : end - start);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  return v;
}

RawSocket::RawSocket(int port, int timeout_ms) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(std::uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (rc != 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(std::string("connect: ") + std::strerror(e));
  }
  if (rc != 0) {
    pollfd p{fd_, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, timeout_ms) != 1 || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("connect: timed out or failed");
    }
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawSocket RawSocket::adopt(int fd) {
  RawSocket s;
  s.fd_ = fd;
  return s;
}

RawSocket::~RawSocket() { close(); }

void RawSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

RawSocket::RawSocket(RawSocket&& o) noexcept : fd_(std::exchange(o.fd_, -1)), in_(std::move(o.in_)) {}

RawSocket& RawSocket::operator=(RawSocket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    in_ = std::move(o.in_);
  }
  return *this;
}

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
    if (p.revents & (POLLERR | POLLHUP)) return false;
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

bool RawSocket::poll_input() {
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, std::size_t(n));
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EINTR;
  }
}

std::optional<RawResponse> RawSocket::take_response() {
  auto end = in_.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  RawResponse r;
  r.head = in_.substr(0, end);
  if (r.head.size() < 12 || r.head.compare(0, 5, "HTTP/") != 0) return std::nullopt;
  r.status = std::atoi(r.head.c_str() + 9);
  std::size_t body_at = end + 4, next = body_at;
  if (lower(r.header("transfer-encoding")).find("chunked") != std::string::npos) {
    auto chunked = dechunk(in_, body_at);
    if (!chunked) return std::nullopt;
    r.body = std::move(chunked->first);
    next = chunked->second;
  } else {
    std::string cl = r.header("content-length");
    std::size_t len = cl.empty() ? 0 : std::stoul(cl);
    if (in_.size() < body_at + len) return std::nullopt;
    r.body = in_.substr(body_at, len);
    next = body_at + len;
  }
  r.close = lower(r.header("connection")) == "close";
  in_.erase(0, next);
  return r;
}

std::optional<RawResponse> RawSocket::read_response(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto r = take_response()) return r;
    if (!fill(remaining(deadline))) return take_response();
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

std::optional<RawResponse> RawSocket::send_reading(std::string_view data, int timeout_ms, std::size_t* sent) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::size_t done = 0;
  bool can_send = true;
  auto finish = [&](std::optional<RawResponse> r) {
    if (sent) *sent = done;
    return r;
  };
  for (;;) {
    if (auto r = take_response()) return finish(std::move(r));
    int left = remaining(deadline);
    if (left == 0) return finish(std::nullopt);
    bool want_send = can_send && done < data.size();
    pollfd p{fd_, short(POLLIN | (want_send ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, left) < 1) return finish(std::nullopt);
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!poll_input()) return finish(take_response());
    }
    if ((p.revents & POLLOUT) && want_send) {
      ssize_t n = ::send(fd_, data.data() + done, std::min<std::size_t>(data.size() - done, 256 * 1024), MSG_NOSIGNAL);
      if (n > 0) done += std::size_t(n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        can_send = false;  // the peer stopped reading; its answer may be on its way
    }
  }
}

std::string http_request(int port, std::string_view method, std::string_view target, std::string_view body,
                         std::string_view extra_headers, bool with_length) {
  std::string r;
  r.append(method)
      .append(" ")
      .append(target)
      .append(" HTTP/1.1\r\nHost: 127.0.0.1:")
      .append(std::to_string(port))
      .append("\r\n");
  std::string extra(extra_headers);
  std::istringstream lines(extra);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) r.append(line).append("\r\n");
  if (!body.empty() || with_length) r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  r.append("\r\n").append(body);
  return r;
}

std::optional<RawResponse> exchange(int port, const std::string& request, int timeout_ms) {
  RawSocket s(port, timeout_ms);
  if (!s.send_all(request, timeout_ms)) return std::nullopt;
  return s.read_response(timeout_ms);
}

long long ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

namespace {

long status_kib(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + field.size());
  return -1;
}

}  // namespace

long rss_kib(pid_t pid) { return status_kib(pid, "VmRSS:"); }

long peak_rss_kib(pid_t pid) { return status_kib(pid, "VmHWM:"); }

double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto paren = stat.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  // After the name: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15).
  long long utime = -1, stime = -1;
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::atoll(field.c_str());
    if (index == 15) stime = std::atoll(field.c_str());
  }
  if (utime < 0 || stime < 0) return -1;
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

long raise_open_file_limit(long n) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rlim_t(n)) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? rlim_t(n) : std::min(rlim_t(n), rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur == RLIM_INFINITY ? n : long(rl.rlim_cur);
}

namespace {

// Deflate's bit order: values LSB first; Huffman codes most significant bit first.
class BitWriter {
 public:
  void bits(unsigned value, int count) {
    for (int i = 0; i < count; ++i) bit((value >> i) & 1U);
  }
  void code(unsigned code, int length) {
    for (int i = length - 1; i >= 0; --i) bit((code >> i) & 1U);
  }
  std::string finish() {
    if (used_) out_.push_back(char(acc_));
    used_ = 0;
    acc_ = 0;
    return std::move(out_);
  }

 private:
  void bit(unsigned b) {
    acc_ |= b << used_;
    if (++used_ == 8) {
      out_.push_back(char(acc_));
      acc_ = 0;
      used_ = 0;
    }
  }
  std::string out_;
  unsigned acc_ = 0;
  int used_ = 0;
};

void put_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xFF));
}

// CRC-32 of `n` zero bytes, by doubling with crc32_combine (no pass over the data).
std::uint32_t crc32_of_zeros(std::size_t n) {
  const Bytef zero = 0;
  uLong power = crc32(0L, &zero, 1), result = crc32(0L, Z_NULL, 0);
  z_off_t power_len = 1;
  for (std::size_t left = n; left; left >>= 1) {
    if (left & 1U) result = crc32_combine(result, power, power_len);
    power = crc32_combine(power, power, power_len);
    power_len *= 2;
  }
  return std::uint32_t(result);
}

}  // namespace

std::string gzip_bomb(std::size_t inflated) {
  if (inflated == 0) throw std::invalid_argument("gzip_bomb: inflated size must be at least 1");
  std::size_t literals = (inflated - 1) % 258 + 1, matches = (inflated - literals) / 258;
  BitWriter w;
  w.bits(1, 1);                                                // BFINAL
  w.bits(1, 2);                                                // BTYPE 01: fixed Huffman codes
  for (std::size_t i = 0; i < literals; ++i) w.code(0x30, 8);  // literal 0x00: 00110000
  for (std::size_t i = 0; i < matches; ++i) {
    w.code(0xC5, 8);  // length symbol 285 (= 258 bytes): 11000101, no extra bits
    w.code(0, 5);     // distance symbol 0 (= 1 byte back), no extra bits
  }
  w.code(0, 7);  // end of block (256): 0000000
  std::string out = {'\x1f', '\x8b', '\x08', '\0', '\0', '\0', '\0', '\0', '\0', '\x03'};  // gzip header, OS unix
  out += w.finish();
  put_le32(out, crc32_of_zeros(inflated));
  put_le32(out, std::uint32_t(inflated & 0xFFFFFFFFU));
  return out;
}

}  // namespace runtime_test
