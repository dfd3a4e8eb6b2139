#include "runtime_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace runtime_test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/softprobe-runtime-test-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string runtime_binary() {
  if (const char* env = std::getenv("SOFTPROBE_RUNTIME_BIN"); env && *env) return env;
  return SOFTPROBE_RUNTIME_BIN;
}

RuntimeProcess::RuntimeProcess(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env) {
  std::string bin = runtime_binary();
  std::vector<std::string> argv_s = {bin, "--port", "0"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    bool replaced = false;
    for (const auto& [k, v] : env) replaced |= entry.rfind(k + "=", 0) == 0;
    if (!replaced) env_s.push_back(entry);
  }
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> argv_p, env_p;
  for (auto& s : argv_s) argv_p.push_back(s.data());
  argv_p.push_back(nullptr);
  for (auto& s : env_s) env_p.push_back(s.data());
  env_p.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::string log_path = dir_.file("stderr.log");
  int err = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (err < 0) throw std::runtime_error("cannot create " + log_path);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(out[1], 1);
    dup2(err, 2);
    execve(bin.c_str(), argv_p.data(), env_p.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err);

  // The first stdout line is the address: "http://127.0.0.1:PORT".
  stdout_fd_ = out[0];
  std::string line = next_stdout_line(std::chrono::seconds(10));
  line += '\n';
  auto nl = line.find('\n');
  auto colon = line.rfind(':', nl);
  if (nl == std::string::npos || line.rfind("http://", 0) != 0 || colon == std::string::npos || colon < 7) {
    stop(SIGKILL);
    ::close(stdout_fd_);
    stdout_fd_ = -1;
    throw std::runtime_error("softprobe-runtime (" + bin + ") did not print its address; stdout: \"" + line +
                             "\"; stderr: " + logs());
  }
  url_ = line.substr(0, nl);
  host_ = url_.substr(7, colon - 7);
  port_ = std::stoi(url_.substr(colon + 1));
}

RuntimeProcess::~RuntimeProcess() {
  if (pid_ > 0) stop(SIGKILL);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::string RuntimeProcess::next_stdout_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (stdout_buf_.find('\n') == std::string::npos && stdout_fd_ >= 0) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{stdout_fd_, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, int(left)) <= 0) break;
    char buf[256];
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) break;
    stdout_buf_.append(buf, std::size_t(n));
  }
  auto nl = stdout_buf_.find('\n');
  if (nl == std::string::npos) return "";
  std::string line = stdout_buf_.substr(0, nl);
  stdout_buf_.erase(0, nl + 1);
  return line;
}

int RuntimeProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      if (sig != SIGKILL) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
      }
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string RuntimeProcess::logs() const {
  std::ifstream in(dir_.file("stderr.log"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace runtime_test
