// Test helpers for the runtime's front end: a TCP client on raw sockets (so
// malformed, slow, pipelined or oversized HTTP can be sent), every operation
// bounded by a timeout; the runtime process's RSS and CPU time from /proc;
// and a gzip bomb built without inflating anything.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace runtime_test {

// One response as read off the wire (Content-Length, chunked, or no body).
struct RawResponse {
  int status = 0;
  std::string head;                                 // status line and headers, without the final CRLF CRLF
  std::string body;                                 // decoded when chunked
  bool close = false;                               // "Connection: close"
  std::string header(std::string_view name) const;  // the first value, "" when absent
};

class RawSocket {
 public:
  // Connects to 127.0.0.1:port within timeout_ms; throws std::runtime_error.
  explicit RawSocket(int port, int timeout_ms = 3000);
  // Adopts a connected (or connecting) non-blocking socket.
  static RawSocket adopt(int fd);
  ~RawSocket();
  RawSocket(RawSocket&& o) noexcept;
  RawSocket& operator=(RawSocket&& o) noexcept;
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  int fd() const noexcept { return fd_; }
  // Sends all of `data` within timeout_ms; false on error (the peer closed) or timeout.
  bool send_all(std::string_view data, int timeout_ms = 3000);
  // Reads one response within timeout_ms; nullopt on timeout, EOF or reset before it is complete.
  std::optional<RawResponse> read_response(int timeout_ms = 3000);
  // Waits for the peer to close (EOF or reset) within timeout_ms, discarding input.
  bool wait_closed(int timeout_ms = 3000);
  // Sends `data` while reading; stops at the first complete response, at the
  // peer's close, or at the timeout. `sent` gets the number of bytes that
  // were sent before it stopped.
  std::optional<RawResponse> send_reading(std::string_view data, int timeout_ms, std::size_t* sent = nullptr);
  // Reads what is available without waiting; false when the peer has closed.
  bool poll_input();
  // A complete response already read, if any (removed from the buffer).
  std::optional<RawResponse> take_response();
  void close();

 private:
  RawSocket() = default;
  bool fill(int timeout_ms);  // false: closed, error or timeout
  int fd_ = -1;
  std::string in_;
};

// "METHOD target HTTP/1.1" with Host (127.0.0.1:port), the given extra header
// lines ("Name: value", each without CRLF) and a Content-Length body when
// `body` is non-empty or `with_length` is set.
std::string http_request(int port, std::string_view method, std::string_view target, std::string_view body = "",
                         std::string_view extra_headers = "", bool with_length = false);

// One request on a fresh connection; nullopt when no response came within timeout_ms.
std::optional<RawResponse> exchange(int port, const std::string& request, int timeout_ms = 3000);

// Milliseconds since `t`.
long long ms_since(std::chrono::steady_clock::time_point t);

// Resident set size of process `pid` in KiB (VmRSS of /proc/<pid>/status); -1 if unreadable.
long rss_kib(pid_t pid);

// Peak resident set size of process `pid` in KiB (VmHWM); -1 if unreadable.
long peak_rss_kib(pid_t pid);

// User plus system CPU time of process `pid` in seconds (/proc/<pid>/stat); -1 if unreadable.
double cpu_seconds(pid_t pid);

// Raises this process's soft limit on open files to at least `n` (up to the
// hard limit); children started afterwards inherit it. Returns the new soft limit.
long raise_open_file_limit(long n);

// A gzip member that inflates to exactly `inflated` zero bytes (at least 1),
// built directly as one fixed-Huffman deflate block: literal zeros, then
// length-258 distance-1 back-references (13 bits each), with its CRC-32 and
// size; making it costs no compression work. About inflated/159 bytes.
std::string gzip_bomb(std::size_t inflated);

}  // namespace runtime_test
