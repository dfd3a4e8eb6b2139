// The capture directory: path checks, placeholders, replace rules, symbolic
// links, no-replace flushes, stale temporary files, and the store's use of it.
#include "capture/capture_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include "session/session_store.hpp"
#include "softprobe.h"
#include "test_support.hpp"

using namespace softprobe::core;
using sp_test::expect_error;
using sp_test::TempDir;

namespace {

std::string slurp(const std::string& path) { return read_file(path); }
void put(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string message_of(ErrorCode code, std::string_view path) {
  return expect_error(code, [&] { split_capture_path(path); }).what();
}

const std::string kCase = R"({"version":"1.0.0","caseId":"c","traces":[]})";

}  // namespace

TEST_CASE("capture paths: relative, inside, printable", "[capture_dir]") {
  CHECK(split_capture_path("a.case.json") == std::vector<std::string>{"a.case.json"});
  CHECK(split_capture_path("./sub//x.case.json") == std::vector<std::string>{"sub", "x.case.json"});
  CHECK(split_capture_path("a..b/c...json") == std::vector<std::string>{"a..b", "c...json"});
  CHECK_THAT(message_of(ErrorCode::invalid_argument, ""), Catch::Contains("is empty"));
  CHECK_THAT(message_of(ErrorCode::invalid_argument, "/etc/passwd"), Catch::Contains("is absolute"));
  CHECK_THAT(message_of(ErrorCode::invalid_argument, ".."), Catch::Contains("\"..\" segment"));
  CHECK_THAT(message_of(ErrorCode::invalid_argument, "a/../../b"),
             Catch::Contains("\"..\" segment") && Catch::Contains("at byte 2"));
  CHECK_THAT(message_of(ErrorCode::invalid_argument, std::string("a\0b", 3)),
             Catch::Contains("NUL byte") && Catch::Contains("at byte 1"));
  CHECK_THAT(message_of(ErrorCode::invalid_argument, "a\tb"),
             Catch::Contains("control character") && Catch::Contains("a\\x09b"));
  CHECK_THAT(message_of(ErrorCode::invalid_argument, "a\x7f"), Catch::Contains("control character"));
  CHECK_THAT(message_of(ErrorCode::invalid_argument, "dir/"), Catch::Contains("ends in \"/\""));
  CHECK_THAT(message_of(ErrorCode::invalid_argument, "./."), Catch::Contains("capture directory itself"));
  CHECK_THAT(message_of(ErrorCode::invalid_argument, std::string(kMaxCaptureNameBytes + 1, 'a')),
             Catch::Contains("segment longer"));
  std::string deep;
  while (deep.size() <= kMaxCapturePathBytes) deep += "abcdefgh/";
  CHECK_THAT(message_of(ErrorCode::invalid_argument, deep + "x"), Catch::Contains("longer than 1024 bytes"));
}

TEST_CASE("capture paths: placeholders", "[capture_dir]") {
  using namespace std::chrono;
  CapturePlaceholders v{"abc", "capture",
                        system_clock::time_point(milliseconds(1764581786123))};  // 2025-12-01T09:36:26.123Z
  CHECK(expand_capture_placeholders("{mode}/{sessionId}-{ts}.case.json", v) ==
        "capture/abc-20251201T093626.123Z.case.json");
  CHECK(expand_capture_placeholders("{}{x-y}{ {sessionId", v) == "{}{x-y}{ {sessionId");  // not placeholders
  auto e = expect_error(ErrorCode::invalid_argument, [&] { expand_capture_placeholders("a{user}.case.json", v); });
  CHECK_THAT(std::string(e.what()), Catch::Contains("unknown placeholder {user} at byte 1"));
  // A session id of ".." cannot escape: the expanded path is checked after.
  CapturePlaceholders dots{"..", "capture", system_clock::now()};
  expect_error(ErrorCode::invalid_argument,
               [&] { split_capture_path(expand_capture_placeholders("{sessionId}/x.case.json", dots)); });
}

TEST_CASE("case files are recognised by name and content", "[capture_dir]") {
  CHECK(is_case_file_name("a.case.json"));
  CHECK(is_case_file_name("A.CASE.JSON"));
  CHECK(!is_case_file_name(".case.json"));
  CHECK(!is_case_file_name("a.json"));
  CHECK(looks_like_case_document(kCase));
  CHECK(looks_like_case_document(" \n{\"traces\" : []"));  // a prefix is enough
  CHECK(looks_like_case_document(R"({"a":{"x":"}"},"b":["traces"],"traces":[]})"));
  CHECK(!looks_like_case_document(R"({"a":{"traces":[]}})"));  // not top-level
  CHECK(!looks_like_case_document(R"({"a":"traces"})"));       // a value, not a key
  CHECK(!looks_like_case_document(R"(["traces"])"));
  CHECK(!looks_like_case_document(""));
  CHECK(!looks_like_case_document("traces"));
  CHECK(is_capture_temp_name("x.case.json.tmp-0123456789abcdef"));
  CHECK(!is_capture_temp_name(".tmp-0123456789abcdef"));
  CHECK(!is_capture_temp_name("x.tmp-0123456789abcdeF"));
  CHECK(!is_capture_temp_name("x.tmp-0123456789abcde"));
  CHECK(!is_capture_temp_name("x.case.json"));
}

TEST_CASE("CaptureDirectory writes inside, atomically, and replaces only case files", "[capture_dir]") {
  TempDir tmp;
  CaptureDirectory dir(tmp.path.string());
  dir.check_writable();
  using R = CaptureDirectory::Replace;
  CHECK(dir.write("a.case.json", kCase, R::case_files) == tmp.file("a.case.json"));
  CHECK(slurp(tmp.file("a.case.json")) == kCase);
  CHECK(dir.write("a.case.json", kCase + " ", R::case_files) == tmp.file("a.case.json"));  // a case file is replaced
  CHECK(slurp(tmp.file("a.case.json")) == kCase + " ");
  CHECK(dir.write("new.txt", "x", R::case_files) == tmp.file("new.txt"));  // a new file may have any name

  put(tmp.file("notes.txt"), "keep");
  put(tmp.file("fake.case.json"), "{\"a\":1}");
  auto e = expect_error(ErrorCode::invalid_argument, [&] { dir.write("notes.txt", kCase, R::case_files); });
  CHECK_THAT(std::string(e.what()),
             Catch::Contains("refusing to replace") && Catch::Contains("does not end in .case.json"));
  expect_error(ErrorCode::invalid_argument, [&] { dir.write("fake.case.json", kCase, R::case_files); });
  CHECK(slurp(tmp.file("notes.txt")) == "keep");
  CHECK(slurp(tmp.file("fake.case.json")) == "{\"a\":1}");

  // Directories inside must exist; they are not created.
  e = expect_error(ErrorCode::io, [&] { dir.write("missing/x.case.json", kCase, R::case_files); });
  CHECK_THAT(std::string(e.what()), Catch::Contains(tmp.file("missing")));
  std::filesystem::create_directory(tmp.path / "sub");
  CHECK(dir.write("sub/x.case.json", kCase, R::case_files) == tmp.file("sub/x.case.json"));
  e = expect_error(ErrorCode::invalid_argument, [&] { dir.write("notes.txt/x.case.json", kCase, R::case_files); });
  CHECK_THAT(std::string(e.what()), Catch::Contains("is not a directory"));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(tmp.path))
    CHECK(!is_capture_temp_name(entry.path().filename().string()));
}

TEST_CASE("CaptureDirectory never follows a symbolic link inside it", "[capture_dir]") {
  TempDir tmp, outside;
  CaptureDirectory dir(tmp.path.string());
  put(outside.file("t.case.json"), kCase);
  std::filesystem::create_symlink(outside.file("t.case.json"), tmp.path / "link.case.json");
  std::filesystem::create_directory_symlink(outside.path, tmp.path / "out");
  using R = CaptureDirectory::Replace;
  auto e = expect_error(ErrorCode::invalid_argument, [&] { dir.write("link.case.json", "x", R::case_files); });
  CHECK_THAT(std::string(e.what()), Catch::Contains("symbolic link"));
  e = expect_error(ErrorCode::invalid_argument, [&] { dir.write("out/n.case.json", "x", R::case_files); });
  CHECK_THAT(std::string(e.what()), Catch::Contains("symbolic link"));
  CHECK(slurp(outside.file("t.case.json")) == kCase);
  CHECK(!std::filesystem::exists(outside.path / "n.case.json"));
  // A flush next to the link gets a name of its own and leaves the link alone.
  std::string written = dir.write("link.case.json", "y", R::never, "s1");
  CHECK(written == tmp.file("link.s1.case.json"));
  CHECK(std::filesystem::is_symlink(tmp.path / "link.case.json"));
  CHECK(slurp(outside.file("t.case.json")) == kCase);
}

TEST_CASE("CaptureDirectory: a flush never replaces a file", "[capture_dir]") {
  TempDir tmp;
  CaptureDirectory dir(tmp.path.string());
  using R = CaptureDirectory::Replace;
  CHECK(dir.write("c.case.json", "1", R::never, "A") == tmp.file("c.case.json"));
  CHECK(dir.write("c.case.json", "2", R::never, "B") == tmp.file("c.B.case.json"));
  CHECK(dir.write("c.case.json", "3", R::never, "B") == tmp.file("c.B-2.case.json"));
  CHECK(dir.write("plain", "4", R::never, "B") == tmp.file("plain"));
  CHECK(dir.write("plain", "5", R::never, "B") == tmp.file("plain.B"));
  CHECK(slurp(tmp.file("c.case.json")) == "1");
  CHECK(slurp(tmp.file("c.B.case.json")) == "2");
  CHECK(slurp(tmp.file("c.B-2.case.json")) == "3");
  // A long tag is cut so the name stays within its limit.
  std::string long_name = std::string(150, 'n') + ".case.json";
  dir.write(long_name, "5", R::never, "x");
  std::string tagged = dir.write(long_name, "6", R::never, std::string(128, 't'));
  CHECK(std::filesystem::path(tagged).filename().string().size() <= kMaxCaptureNameBytes);
  CHECK(slurp(tagged) == "6");
}

TEST_CASE("CaptureDirectory: stale temporary files are removed, live ones kept", "[capture_dir]") {
  TempDir tmp;
  CaptureDirectory dir(tmp.path.string());
  auto old = std::filesystem::file_time_type::clock::now() - std::chrono::minutes(10);
  for (const char* n : {"a.case.json.tmp-00112233445566aa", "b.tmp-00112233445566bb", "locked.tmp-00112233445566cc",
                        "other.tmp-zz", "c.case.json"}) {
    put(tmp.file(n), "x");
    std::filesystem::last_write_time(tmp.path / n, old);
  }
  put(tmp.file("fresh.tmp-00112233445566dd"), "x");
  int fd = ::open(tmp.file("locked.tmp-00112233445566cc").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);  // a writer in another process holds it
  auto removed = dir.remove_stale_temp_files();
  ::close(fd);
  std::sort(removed.begin(), removed.end());
  CHECK(removed == std::vector<std::string>{"a.case.json.tmp-00112233445566aa", "b.tmp-00112233445566bb"});
  CHECK(std::filesystem::exists(tmp.path / "locked.tmp-00112233445566cc"));
  CHECK(std::filesystem::exists(tmp.path / "fresh.tmp-00112233445566dd"));
  CHECK(std::filesystem::exists(tmp.path / "other.tmp-zz"));
  CHECK(std::filesystem::exists(tmp.path / "c.case.json"));
}

TEST_CASE("CaptureDirectory: a missing or unwritable directory is an io error naming it", "[capture_dir]") {
  TempDir tmp;
  auto e = expect_error(ErrorCode::io, [&] { CaptureDirectory(tmp.file("nope")); });
  CHECK_THAT(std::string(e.what()), Catch::Contains(tmp.file("nope")) && Catch::Contains("No such file"));
  CaptureDirectory proc("/proc");
  e = expect_error(ErrorCode::io, [&] { proc.check_writable(); });
  CHECK_THAT(std::string(e.what()), Catch::Contains("not writable"));
}

TEST_CASE("SessionStore: capture directory, flushes and the session limit", "[capture_dir]") {
  TempDir tmp;
  SessionStore store;
  store.set_capture_directory(std::make_shared<const CaptureDirectory>(tmp.path.string()), "{mode}.case.json");
  expect_error(ErrorCode::invalid_argument, [&] {
    store.set_capture_directory(std::make_shared<const CaptureDirectory>(tmp.path.string()), "/abs.case.json");
  });
  SessionOptions capture;
  capture.mode = SessionMode::capture;
  auto a = store.create(capture);
  // A refused path leaves the session open.
  expect_error(ErrorCode::invalid_argument, [&] { store.close(a->id(), "../x.case.json"); });
  CHECK(!a->closed());
  CHECK(store.close(a->id(), "").capture_path == tmp.file("capture.case.json"));
  // Idle flushes never replace: the second gets its session id.
  auto b = store.create(capture);
  auto c = store.create(capture);
  b->close(CaptureTarget{});  // (closed outside the store: the flush skips it)
  auto closed = store.close_idle(std::chrono::seconds(0));
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].capture_path == tmp.file("capture." + c->id() + ".case.json"));

  store.set_max_sessions(2);
  store.create({});
  store.create({});
  auto e = expect_error(ErrorCode::limit_exceeded, [&] { store.create({}); });
  CHECK(e.details()["limit"] == "maxSessions");
  CHECK(e.details()["max"] == 2);
  expect_error(ErrorCode::invalid_argument, [&] { store.set_max_sessions(0); });
}

TEST_CASE("SessionStore: without a directory, a flush still never replaces a file", "[capture_dir]") {
  TempDir tmp;
  std::string path = tmp.file("flush.case.json");
  ::setenv("SOFTPROBE_CAPTURE_CASE_PATH", path.c_str(), 1);
  SessionStore store;
  SessionOptions capture;
  capture.mode = SessionMode::capture;
  put(path, "earlier");
  auto s = store.create(capture);
  auto closed = store.close_all();
  ::unsetenv("SOFTPROBE_CAPTURE_CASE_PATH");
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].capture_path == tmp.file("flush." + s->id() + ".case.json"));
  CHECK(slurp(path) == "earlier");
}

TEST_CASE("SessionStore: close_all falls back to the temporary directory", "[capture_dir]") {
  TempDir cap, tmp;
  SessionStore store;
  store.set_capture_directory(std::make_shared<const CaptureDirectory>(cap.path.string()), "x.case.json");
  SessionOptions capture;
  capture.mode = SessionMode::capture;
  auto s = store.create(capture);
  std::filesystem::remove_all(cap.path);
  const char* old_tmp = std::getenv("TMPDIR");
  std::string saved_tmp = old_tmp ? old_tmp : "";
  ::setenv("TMPDIR", tmp.path.c_str(), 1);
  auto closed = store.close_all(true);
  if (old_tmp) ::setenv("TMPDIR", saved_tmp.c_str(), 1);
  else ::unsetenv("TMPDIR");
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].capture_path == tmp.file("softprobe-" + s->id() + ".case.json"));
  CHECK_THAT(closed[0].fallback_reason, Catch::Contains(cap.path.string()));
  CHECK(store.size() == 0);
}

TEST_CASE("C ABI: sp_store_set_capture_dir, sp_store_set_max_sessions", "[capture_dir]") {
  TempDir tmp;
  put(tmp.file("x.case.json.tmp-00112233445566ee"), "partial");
  std::filesystem::last_write_time(tmp.path / "x.case.json.tmp-00112233445566ee",
                                   std::filesystem::file_time_type::clock::now() - std::chrono::minutes(1));
  sp_store* store = nullptr;
  REQUIRE(sp_store_new(&store) == SP_OK);
  std::string dir = tmp.path.string(), missing = tmp.file("missing"), def = "{sessionId}.case.json";
  CHECK(sp_store_set_capture_dir(nullptr, store, missing.data(), missing.size(), nullptr, 0) == SP_E_IO);
  CHECK_THAT(std::string(sp_last_error()), Catch::Contains(missing));
  std::string with_nul("a\0b", 3);
  CHECK(sp_store_set_capture_dir(nullptr, store, dir.data(), dir.size(), with_nul.data(), with_nul.size()) ==
        SP_E_INVALID_ARGUMENT);
  std::string bad = "../x.case.json";
  CHECK(sp_store_set_capture_dir(nullptr, store, dir.data(), dir.size(), bad.data(), bad.size()) ==
        SP_E_INVALID_ARGUMENT);
  char* report = nullptr;
  REQUIRE(sp_store_set_capture_dir(&report, store, dir.data(), dir.size(), def.data(), def.size()) == SP_OK);
  auto doc = nlohmann::json::parse(report);
  sp_string_free(report);
  CHECK(doc["captureDir"] == dir);
  CHECK(doc["removedTempFiles"] == nlohmann::json::array({"x.case.json.tmp-00112233445566ee"}));
  CHECK(sp_store_set_max_sessions(store, 0) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_store_set_max_sessions(store, 5) == SP_OK);
  CHECK(sp_session_close(nullptr, nullptr, "x", 1) == SP_E_INVALID_ARGUMENT);
  char* closed = nullptr;
  REQUIRE(sp_store_close_all_or_fallback(&closed, store) == SP_OK);
  CHECK(std::string(closed) == R"({"closed":[]})");
  sp_string_free(closed);
  sp_store_free(store);
}
