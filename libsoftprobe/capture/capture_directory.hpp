// The directory capture files are written into, opened once, and the rules
// for a capture path a client may name inside it (contract section 6, "Safety").
//
// Every write goes through the directory's descriptor: each path segment is
// opened with O_NOFOLLOW (a symbolic link inside the directory is never
// followed), the case is written to a temporary file created with
// O_CREAT|O_EXCL|O_NOFOLLOW, flushed with fsync, renamed onto its name with
// renameat (or renameat2(RENAME_NOREPLACE)), and the directory is fsynced.
//
// A file is replaced only when it is a case file: a regular file whose name
// ends in ".case.json" and whose content starts (after white space) as a JSON
// object that has a "traces" key within its first 64 KiB. Anything else (a
// symbolic link, a directory, a file of another name or content) is refused.
//
// Temporary files are named "<name>.tmp-<16 lowercase hex digits>" and are
// locked (flock) while written, so remove_stale_temp_files() can tell one
// left by a crash from one being written.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace softprobe::core {

// A capture path, after placeholders are filled: at most this many bytes...
inline constexpr std::size_t kMaxCapturePathBytes = 1024;
// ... and each segment (a directory or the file name) at most this many.
inline constexpr std::size_t kMaxCaptureNameBytes = 200;
// How much of an existing file is read to decide whether it is a case file.
inline constexpr std::size_t kCaseFileSniffBytes = 64 * 1024;

// What the placeholders of a capture path stand for.
struct CapturePlaceholders {
  std::string_view session_id;                 // {sessionId}
  std::string_view mode;                       // {mode}: "capture" or "generate"
  std::chrono::system_clock::time_point time;  // {ts}: UTC, "20261201T093626.123Z"
};

// Replaces {sessionId}, {ts} and {mode}. Any other "{name}" (letters and
// digits) is Error(invalid_argument) naming it; other braces are kept as they are.
std::string expand_capture_placeholders(std::string_view path, const CapturePlaceholders& values);

// Checks a path a client gave for a file inside the capture directory and
// returns its segments ("." and empty segments dropped). Error(invalid_argument),
// naming the problem and the byte offset, for: an empty path, an absolute
// path, a ".." segment, a NUL byte, any other control character (below 0x20,
// or 0x7f), a path ending in "/", or a path or segment over its limit.
std::vector<std::string> split_capture_path(std::string_view relative);

// "x.case.json" (ASCII case-insensitive).
bool is_case_file_name(std::string_view name) noexcept;
// True when `prefix` (the start of a file) opens a JSON object with a "traces" key.
bool looks_like_case_document(std::string_view prefix) noexcept;
// True for names of our temporary files: "<name>.tmp-<16 lowercase hex>".
bool is_capture_temp_name(std::string_view name) noexcept;

class CaptureDirectory {
 public:
  enum class Replace {
    case_files,  // an existing case file is replaced; any other existing file is refused
    never,       // an existing file of that name is kept: the case gets a name of its own (see write)
  };

  // Opens the directory `path` (a symbolic link naming the directory itself
  // is followed: the operator chose it). Error(io) naming the path and the
  // OS error when it is missing or not a directory.
  explicit CaptureDirectory(std::string path);
  ~CaptureDirectory();
  CaptureDirectory(const CaptureDirectory&) = delete;
  CaptureDirectory& operator=(const CaptureDirectory&) = delete;

  // As given to the constructor.
  const std::string& path() const noexcept { return path_; }

  // Creates and removes a probe file; Error(io) with the OS's reason when
  // the directory is not writable.
  void check_writable() const;

  // Removes, from the directory itself (not its subdirectories), regular
  // files named like our temporary files that are at least `min_age` old
  // and not locked by a writer. Returns their names.
  std::vector<std::string> remove_stale_temp_files(std::chrono::seconds min_age = std::chrono::seconds(5)) const;

  // Writes `contents` to `relative` (checked with split_capture_path; the
  // directories in it must exist) and returns the path written: path() + "/" +
  // the relative path used. With Replace::never and a name already taken,
  // `unique_tag` (a session id) is inserted before ".case.json" (or appended),
  // then "-2", "-3"... up to 100 tries. Errors: invalid_argument for a bad
  // path or an existing file that may not be replaced (the file is left
  // unchanged); io, naming the path and the OS error, for a failed write.
  std::string write(std::string_view relative, std::string_view contents, Replace replace,
                    std::string_view unique_tag = {}) const;

  // path() + "/" + relative ("./x" for "."), for messages and answers.
  std::string display_path(std::string_view relative) const;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace softprobe::core
