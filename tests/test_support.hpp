// Shared helpers for the core tests: fixture paths, request building, temp dirs.
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "request/request.hpp"
#include "support/atomic_file.hpp"
#include "support/errors.hpp"

namespace sp_test {

inline std::string fixture_path(const std::string& name) { return std::string(SOFTPROBE_TEST_FIXTURES) + "/" + name; }
inline std::string fixture(const std::string& name) { return softprobe::core::read_file(fixture_path(name)); }

// Owns the strings a RequestView points into.
struct Req {
  std::string direction = "outbound", method = "GET", scheme = "http", host = "api.example.com", path = "/", query,
              service, body;
  int port = 0;
  std::vector<std::pair<std::string, std::string>> headers, tags;

  softprobe::core::RequestView view() {
    hv.clear();
    tv.clear();
    for (auto& [n, v] : headers) hv.push_back({n, v});
    for (auto& [k, v] : tags) tv.push_back({k, v});
    softprobe::core::RequestView v;
    v.direction = direction;
    v.method = method;
    v.scheme = scheme;
    v.host = host;
    v.port = port;
    v.path = path;
    v.query = query;
    v.service = service;
    v.body = body;
    v.headers = hv.data();
    v.header_count = hv.size();
    v.tags = tv.data();
    v.tag_count = tv.size();
    return v;
  }

 private:
  std::vector<softprobe::core::HeaderView> hv;
  std::vector<softprobe::core::TagView> tv;
};

inline Req get(std::string host, std::string path) {
  Req r;
  r.host = std::move(host);
  r.path = std::move(path);
  return r;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("softprobe-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

// Runs `fn`, expects softprobe::core::Error with `code`, returns it for inspection.
template <class Fn>
softprobe::core::Error expect_error(softprobe::core::ErrorCode code, Fn&& fn) {
  try {
    fn();
  } catch (const softprobe::core::Error& e) {
    INFO("message: " << e.what());
    CHECK(e.code() == code);
    return e;
  }
  FAIL("expected softprobe::core::Error " << softprobe::core::error_code_name(code));
  throw;  // unreachable
}

}  // namespace sp_test
