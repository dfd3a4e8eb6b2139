#include "support/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include "support/errors.hpp"
#include "support/random_id.hpp"

namespace softprobe::core {

namespace {

[[noreturn]] void io_fail(const std::string& what, const std::string& path, int err) {
  throw Error(ErrorCode::io, what + " \"" + path + "\": " + std::strerror(err), {{"path", path}, {"errno", err}});
}

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view contents) {
  std::string tmp = path + ".tmp-" + random_hex(8);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) io_fail("cannot create", tmp, errno);
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      io_fail("cannot write", tmp, err);
    }
    done += std::size_t(n);
  }
  int flushed = ::fsync(fd);
  int err = errno;
  if (::close(fd) != 0 && flushed == 0) {  // close always runs: no descriptor leaks
    flushed = -1;
    err = errno;
  }
  if (flushed != 0) {
    ::unlink(tmp.c_str());
    io_fail("cannot flush", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    io_fail("cannot rename temporary file onto", path, err);
  }
  // Make the rename itself durable.
  int dir = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) io_fail("cannot open", path, errno);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      io_fail("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, std::size_t(n));
  }
  ::close(fd);
  return out;
}

}  // namespace softprobe::core
