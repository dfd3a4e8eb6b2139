// Starts the real softprobe-runtime binary for a test: `--port 0`, reads the
// address it prints on stdout, keeps its stderr (JSON logs) in a file, and
// stops it (SIGKILL if still running) when the test is done.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace runtime_test {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class RuntimeProcess {
 public:
  // `args` are appended to "--port 0"; `env` entries are added to (or
  // replace) the inherited environment. Throws when the runtime does not
  // print its address within 10 s.
  explicit RuntimeProcess(std::vector<std::string> args = {},
                          std::vector<std::pair<std::string, std::string>> env = {});
  ~RuntimeProcess();
  RuntimeProcess(const RuntimeProcess&) = delete;
  RuntimeProcess& operator=(const RuntimeProcess&) = delete;

  const std::string& host() const noexcept { return host_; }
  int port() const noexcept { return port_; }
  const std::string& url() const noexcept { return url_; }
  pid_t pid() const noexcept { return pid_; }

  // Sends `sig` and waits for the exit; returns the exit code (128+signal
  // when killed by a signal), or -1 when it did not exit within `timeout`.
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Everything the runtime logged on stderr so far.
  std::string logs() const;

  // The next line the runtime printed on stdout after the address (without
  // the newline); "" when none comes within `timeout`.
  std::string next_stdout_line(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string stdout_buf_;  // read from stdout, not yet returned as a line
  std::string host_, url_;
  int port_ = 0;
  TempDir dir_;
};

// The binary under test: $SOFTPROBE_RUNTIME_BIN, else the path CMake compiled in.
std::string runtime_binary();

}  // namespace runtime_test
