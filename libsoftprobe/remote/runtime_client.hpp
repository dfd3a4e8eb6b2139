// The client of a softprobe-runtime's control API (contract section 6), over
// libcurl: the one implementation every binding uses in remote mode.
//
// One client holds one libcurl handle, so calls reuse a keep-alive connection;
// calls from several threads take turns on it (a mutex). Every call is bounded:
// `timeout` for the whole exchange, `max_reply_bytes` for the answer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace softprobe::core::remote {

// What a refused call was about, so a 400 becomes the same error the local
// setter would raise (invalid_rule, invalid_policy, invalid_case, invalid_json).
enum class CallKind { other, rules, policy, fixtures, case_file, session_options };

struct RuntimeClientOptions {
  std::string base_url;  // http://host:port (or https://), with or without a trailing '/'
  std::string token;     // sent as "Authorization: Bearer <token>" when not empty
  std::chrono::milliseconds timeout{10000};
  std::size_t max_reply_bytes = std::size_t(64) << 20;  // 64 MiB
};

// Limits of what a client is given.
inline constexpr std::size_t kMaxBaseUrlBytes = 2048;
inline constexpr std::size_t kMaxTokenBytes = 4096;

class RuntimeClient {
 public:
  // Throws Error(invalid_argument) for a URL that is not http(s)://host[:port][/prefix],
  // has a query or fragment, or is over kMaxBaseUrlBytes; and for a token over
  // kMaxTokenBytes or holding bytes a header value may not carry.
  explicit RuntimeClient(RuntimeClientOptions options);
  ~RuntimeClient();
  RuntimeClient(const RuntimeClient&) = delete;
  RuntimeClient& operator=(const RuntimeClient&) = delete;

  const std::string& base_url() const noexcept { return base_url_; }

  // Sends `method path` (path starts with '/', e.g. "/v1/sessions/ID/rules")
  // with a JSON body (none when `body` is empty and the method is GET) and
  // returns the parsed JSON answer of a 2xx. Throws:
  //  - Error(runtime) when the runtime cannot be reached or answers
  //    something that is not JSON, naming the URL and the cause;
  //  - Error(unknown_session) for its 404 unknown_session;
  //  - for a 400, the error of `kind` (invalid_rule for rules...), with the
  //    runtime's message and details;
  //  - Error(runtime) for any other status (401/403 say to check the token).
  nlohmann::json call(std::string_view method, const std::string& path, std::string_view body = {},
                      CallKind kind = CallKind::other);

  // Whether the runtime serves POST /v1/sessions/{id}/rules/append (a
  // softprobe runtime does; the reference runtime and older ones answer 404
  // or 405): learned on the first append, then remembered.
  enum class Append : int { unknown, supported, unsupported };
  Append rules_append() const noexcept { return rules_append_.load(std::memory_order_relaxed); }
  void set_rules_append(Append a) noexcept { rules_append_.store(a, std::memory_order_relaxed); }

  // "/v1/sessions/<id>/<route>" with the id percent-encoded.
  static std::string session_path(std::string_view session_id, std::string_view route = {});
  // Percent-encodes `text` for a query value.
  static std::string query_escape(std::string_view text);

 private:
  std::string base_url_;
  std::string auth_header_;  // "Authorization: Bearer ..." or empty
  RuntimeClientOptions options_;
  std::mutex mu_;  // one call at a time on handle_
  void* handle_;   // CURL*
  std::atomic<Append> rules_append_{Append::unknown};
};

}  // namespace softprobe::core::remote
