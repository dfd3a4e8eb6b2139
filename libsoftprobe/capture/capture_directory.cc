#include "capture/capture_directory.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE (glibc 2.28+)
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "support/errors.hpp"
#include "support/random_id.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

constexpr std::string_view kCaseSuffix = ".case.json";
constexpr std::string_view kTempMarker = ".tmp-";
constexpr std::size_t kTempHexDigits = 16;
constexpr int kMaxUniqueTries = 100;

[[noreturn]] void io_fail(const std::string& what, const std::string& path, int err) {
  throw Error(ErrorCode::io, what + " \"" + path + "\": " + std::strerror(err), {{"path", path}, {"errno", err}});
}

[[noreturn]] void bad_path(std::string_view path, const std::string& what, std::size_t at) {
  std::string shown;
  for (char c : path.substr(0, 200)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      shown += "\\x";
      shown += hex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      shown += hex[static_cast<unsigned char>(c) & 0xf];
    } else {
      shown += c;
    }
  }
  throw Error(ErrorCode::invalid_argument,
              "capture path \"" + shown + "\": " + what + " (at byte " + std::to_string(at) + ")",
              {{"field", "out"}, {"offset", at}});
}

// Owns a descriptor.
struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) noexcept : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd >= 0) ::close(fd);
      fd = o.fd;
      o.fd = -1;
    }
    return *this;
  }
};

std::string timestamp(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = std::time_t(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", int(ms % 1000));
  return buf;
}

// "name.case.json" + tag -> "name.<tag>.case.json"; other names get ".<tag>"
// appended. The result stays within kMaxCaptureNameBytes (the tag is cut).
std::string tagged_name(const std::string& name, std::string_view tag, int attempt) {
  std::string t(tag.empty() ? std::string_view("copy") : tag);
  if (attempt > 1) t += "-" + std::to_string(attempt);
  bool is_case = is_case_file_name(name);
  std::string stem = is_case ? name.substr(0, name.size() - kCaseSuffix.size()) : name;
  std::string suffix = is_case ? std::string(kCaseSuffix) : std::string();
  std::size_t room = kMaxCaptureNameBytes - std::min(kMaxCaptureNameBytes, stem.size() + suffix.size() + 1);
  if (t.size() > room) t.erase(0, t.size() - room);  // keep the end: it holds the attempt number
  if (t.empty()) t = std::to_string(attempt);        // no room at all: the name is shortened
  std::string out = stem + "." + t + suffix;
  if (out.size() > kMaxCaptureNameBytes) out = t + suffix;
  return out;
}

bool write_all(int fd, std::string_view contents, int& err) {
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      return false;
    }
    done += std::size_t(n);
  }
  return true;
}

std::string join(const std::vector<std::string>& segments, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += '/';
    out += segments[i];
  }
  return out;
}

}  // namespace

std::string expand_capture_placeholders(std::string_view path, const CapturePlaceholders& v) {
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '{') {
      out += path[i];
      continue;
    }
    std::size_t end = i + 1;
    while (end < path.size() && std::isalnum(static_cast<unsigned char>(path[end]))) ++end;
    if (end >= path.size() || path[end] != '}' || end == i + 1) {
      out += path[i];  // not a placeholder
      continue;
    }
    std::string_view name = path.substr(i + 1, end - i - 1);
    if (name == "sessionId") out += v.session_id;
    else if (name == "mode") out += v.mode;
    else if (name == "ts") out += timestamp(v.time);
    else
      throw Error(ErrorCode::invalid_argument,
                  "capture path \"" + std::string(path.substr(0, 200)) + "\": unknown placeholder {" +
                      std::string(name) + "} at byte " + std::to_string(i) + " (known: {sessionId}, {ts}, {mode})",
                  {{"field", "out"}, {"offset", i}});
    i = end;
  }
  return out;
}

std::vector<std::string> split_capture_path(std::string_view p) {
  if (p.empty()) bad_path(p, "is empty", 0);
  if (p.size() > kMaxCapturePathBytes)
    bad_path(p, "is longer than " + std::to_string(kMaxCapturePathBytes) + " bytes", kMaxCapturePathBytes);
  for (std::size_t i = 0; i < p.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c == 0) bad_path(p, "contains a NUL byte", i);
    if (c < 0x20 || c == 0x7f) bad_path(p, "contains a control character", i);
  }
  if (p.front() == '/') bad_path(p, "is absolute: give a path relative to the capture directory (--capture-dir)", 0);
  if (p.back() == '/') bad_path(p, "ends in \"/\": name a file", p.size() - 1);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t slash = p.find('/', start);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view seg = p.substr(start, slash - start);
    if (seg == "..") bad_path(p, "has a \"..\" segment: the path must stay inside the capture directory", start);
    if (seg.size() > kMaxCaptureNameBytes)
      bad_path(p, "has a segment longer than " + std::to_string(kMaxCaptureNameBytes) + " bytes", start);
    if (!seg.empty() && seg != ".") out.emplace_back(seg);
    start = slash + 1;
  }
  if (out.empty()) bad_path(p, "names the capture directory itself: name a file", 0);
  return out;
}

bool is_case_file_name(std::string_view name) noexcept {
  return name.size() > kCaseSuffix.size() && text::ends_with_ci(name, kCaseSuffix);
}

bool looks_like_case_document(std::string_view s) noexcept {
  auto skip_ws = [&](std::size_t i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    return i;
  };
  std::size_t i = skip_ws(0);
  if (i >= s.size() || s[i] != '{') return false;
  // Look for the key "traces" at the top level: a string at depth 1 followed by ':'.
  int depth = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') {
      if (--depth <= 0) return false;
    } else if (c == '"') {
      std::size_t start = i + 1, j = start;
      while (j < s.size() && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
      if (j >= s.size()) return false;
      std::string_view str = s.substr(start, j - start);
      i = j;
      if (depth == 1 && str == "traces") {
        std::size_t k = skip_ws(j + 1);
        if (k < s.size() && s[k] == ':') return true;
      }
    }
  }
  return false;
}

bool is_capture_temp_name(std::string_view name) noexcept {
  if (name.size() <= kTempMarker.size() + kTempHexDigits) return false;
  std::size_t at = name.size() - kTempHexDigits - kTempMarker.size();
  if (name.substr(at, kTempMarker.size()) != kTempMarker) return false;
  for (char c : name.substr(at + kTempMarker.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

CaptureDirectory::CaptureDirectory(std::string path) : path_(std::move(path)) {
  if (path_.empty()) path_ = ".";
  if (path_.find('\0') != std::string::npos)
    throw Error(ErrorCode::invalid_argument, "capture directory path contains a NUL byte", {{"field", "captureDir"}});
  fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) io_fail("cannot open capture directory", path_, errno);
}

CaptureDirectory::~CaptureDirectory() {
  if (fd_ >= 0) ::close(fd_);
}

std::string CaptureDirectory::display_path(std::string_view relative) const {
  std::string out = path_;
  if (out.empty() || out.back() != '/') out += '/';
  out += relative;
  return out;
}

void CaptureDirectory::check_writable() const {
  std::string name = ".softprobe-write-check" + std::string(kTempMarker) + random_hex(kTempHexDigits / 2);
  int fd = ::openat(fd_, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) io_fail("capture directory is not writable: cannot create a file in", path_, errno);
  ::close(fd);
  if (::unlinkat(fd_, name.c_str(), 0) != 0) io_fail("capture directory: cannot remove a file in", path_, errno);
}

std::vector<std::string> CaptureDirectory::remove_stale_temp_files(std::chrono::seconds min_age) const {
  std::vector<std::string> removed;
  int dup = ::openat(fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) io_fail("cannot list capture directory", path_, errno);
  DIR* d = ::fdopendir(dup);
  if (!d) {
    int err = errno;
    ::close(dup);
    io_fail("cannot list capture directory", path_, err);
  }
  std::time_t now = std::time(nullptr);
  std::vector<std::string> candidates;
  while (dirent* e = ::readdir(d))
    if (is_capture_temp_name(e->d_name)) candidates.emplace_back(e->d_name);
  ::closedir(d);
  for (const auto& name : candidates) {
    Fd f(::openat(fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (f.fd < 0) continue;  // gone already, or a symbolic link: not ours
    struct stat st {};
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (now - st.st_mtime < min_age.count()) continue;    // perhaps just created by a writer
    if (::flock(f.fd, LOCK_EX | LOCK_NB) != 0) continue;  // a live writer holds it
    if (::unlinkat(fd_, name.c_str(), 0) == 0) removed.push_back(name);
  }
  return removed;
}

std::string CaptureDirectory::write(std::string_view relative, std::string_view contents, Replace replace,
                                    std::string_view unique_tag) const {
  std::vector<std::string> segments = split_capture_path(relative);
  const std::string rel = join(segments, segments.size());

  // Walk to the parent directory without following any symbolic link.
  Fd parent_owned;
  int parent = fd_;
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    int next = ::openat(parent, segments[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      int err = errno;
      std::string where = display_path(join(segments, i + 1));
      if (err == ELOOP || err == ENOTDIR) {  // O_NOFOLLOW|O_DIRECTORY on a link gives either
        struct stat st {};
        bool link = ::fstatat(parent, segments[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
        throw Error(ErrorCode::invalid_argument,
                    "capture path \"" + rel + "\": \"" + where + "\" " +
                        (link ? "is a symbolic link; links inside the capture directory are not followed"
                              : "is not a directory"),
                    {{"field", "out"}, {"path", where}});
      }
      io_fail("cannot open directory", where, err);
    }
    parent_owned = Fd(next);  // the previous one is closed by the move-assignment below
    parent = parent_owned.fd;
  }
  const std::string& name = segments.back();
  const std::string target = display_path(rel);
  const std::string dir_prefix = segments.size() > 1 ? join(segments, segments.size() - 1) + "/" : std::string();

  if (replace == Replace::case_files) {
    struct stat st {};
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      auto refuse = [&](const std::string& why) {
        throw Error(
            ErrorCode::invalid_argument,
            "refusing to replace \"" + target + "\": " + why +
                " (only a case file is replaced: a name ending in .case.json and JSON content with a \"traces\" key)",
            {{"field", "out"}, {"path", target}});
      };
      if (S_ISLNK(st.st_mode)) refuse("it is a symbolic link");
      if (!S_ISREG(st.st_mode)) refuse("it is not a regular file");
      if (!is_case_file_name(name)) refuse("it exists and its name does not end in .case.json");
      Fd existing(::openat(parent, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      if (existing.fd < 0) io_fail("cannot read existing file", target, errno);
      std::string head(kCaseFileSniffBytes, '\0');
      std::size_t got = 0;
      while (got < head.size()) {
        ssize_t n = ::read(existing.fd, head.data() + got, head.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += std::size_t(n);
      }
      head.resize(got);
      if (!looks_like_case_document(head)) refuse("it exists and is not a case document");
    } else if (errno != ENOENT) {
      io_fail("cannot inspect", target, errno);
    }
  }

  std::string tmp = name + std::string(kTempMarker) + random_hex(kTempHexDigits / 2);
  const std::string tmp_shown = display_path(dir_prefix + tmp);
  Fd out(::openat(parent, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (out.fd < 0) io_fail("cannot create", tmp_shown, errno);
  ::flock(out.fd, LOCK_EX | LOCK_NB);  // marks it as being written (see remove_stale_temp_files)
  auto discard = [&] { ::unlinkat(parent, tmp.c_str(), 0); };
  int err = 0;
  if (!write_all(out.fd, contents, err)) {
    discard();
    io_fail("cannot write", tmp_shown, err);
  }
  if (::fsync(out.fd) != 0) {
    err = errno;
    discard();
    io_fail("cannot flush", tmp_shown, err);
  }

  std::string final_name = name;
  if (replace == Replace::case_files) {
    if (::renameat(parent, tmp.c_str(), parent, name.c_str()) != 0) {
      err = errno;
      discard();
      io_fail("cannot rename temporary file onto", target, err);
    }
  } else {
    bool placed = false;
    for (int attempt = 0; attempt <= kMaxUniqueTries && !placed; ++attempt) {
      if (attempt > 0) final_name = tagged_name(name, unique_tag, attempt);
      if (::renameat2(parent, tmp.c_str(), parent, final_name.c_str(), RENAME_NOREPLACE) == 0) {
        placed = true;
      } else if (errno == EINVAL || errno == ENOSYS) {  // the file system cannot: link + unlink does the same
        if (::linkat(parent, tmp.c_str(), parent, final_name.c_str(), 0) == 0) {
          ::unlinkat(parent, tmp.c_str(), 0);
          placed = true;
        } else if (errno != EEXIST) {
          err = errno;
          discard();
          io_fail("cannot link temporary file to", display_path(dir_prefix + final_name), err);
        }
      } else if (errno != EEXIST) {
        err = errno;
        discard();
        io_fail("cannot rename temporary file onto", display_path(dir_prefix + final_name), err);
      }
    }
    if (!placed) {
      discard();
      throw Error(ErrorCode::io,
                  "cannot find a free name for \"" + target + "\" after " + std::to_string(kMaxUniqueTries) +
                      " tries: every candidate exists",
                  {{"path", target}});
    }
  }
  ::fsync(parent);  // makes the rename itself durable
  return display_path(dir_prefix + final_name);
}

}  // namespace softprobe::core
