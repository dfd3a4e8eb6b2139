#include "remote/runtime_client.hpp"

#include <curl/curl.h>

#include <mutex>

#include "request/http_syntax.hpp"
#include "support/errors.hpp"
#include "support/json_document.hpp"

namespace softprobe::core::remote {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

[[noreturn]] void bad_url(const std::string& url, const std::string& why) {
  throw Error(ErrorCode::invalid_argument,
              "runtime URL \"" + url + "\" " + why + " (expected e.g. http://127.0.0.1:8080)",
              {{"field", "runtimeUrl"}});
}

// The URL's part, or "" when absent.
std::string url_part(CURLU* u, CURLUPart part) {
  char* out = nullptr;
  if (curl_url_get(u, part, &out, 0) != CURLUE_OK || out == nullptr) return {};
  std::string s = out;
  curl_free(out);
  return s;
}

std::string checked_base_url(const std::string& url) {
  if (url.size() > kMaxBaseUrlBytes)
    bad_url(url.substr(0, 64) + "...",
            "is " + std::to_string(url.size()) + " bytes, over the limit of " + std::to_string(kMaxBaseUrlBytes));
  CURLU* u = curl_url();
  if (u == nullptr) throw Error(ErrorCode::out_of_memory, "out of memory parsing the runtime URL");
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0);
  std::string scheme = rc == CURLUE_OK ? url_part(u, CURLUPART_SCHEME) : "";
  std::string host = rc == CURLUE_OK ? url_part(u, CURLUPART_HOST) : "";
  bool has_query = !url_part(u, CURLUPART_QUERY).empty() || !url_part(u, CURLUPART_FRAGMENT).empty();
  bool has_user = !url_part(u, CURLUPART_USER).empty();
  curl_url_cleanup(u);
  if (rc != CURLUE_OK) bad_url(url, std::string("is not a URL: ") + curl_url_strerror(rc));
  if (scheme != "http" && scheme != "https") bad_url(url, "must use http or https");
  if (host.empty()) bad_url(url, "has no host");
  if (has_query) bad_url(url, "may not carry a query or fragment");
  if (has_user) bad_url(url, "may not carry credentials (pass the token instead)");
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::size_t append_reply(char* data, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<std::pair<std::string*, std::size_t>*>(user);
  std::size_t bytes = size * n;
  if (sink->first->size() + bytes > sink->second) return 0;  // over the limit: libcurl aborts the transfer
  sink->first->append(data, bytes);
  return bytes;
}

ErrorCode code_for(CallKind kind) {
  switch (kind) {
    case CallKind::rules: return ErrorCode::invalid_rule;
    case CallKind::policy: return ErrorCode::invalid_policy;
    case CallKind::case_file: return ErrorCode::invalid_case;
    case CallKind::fixtures:
    case CallKind::session_options:
    case CallKind::other: break;
  }
  return ErrorCode::invalid_argument;
}

}  // namespace

RuntimeClient::RuntimeClient(RuntimeClientOptions options) : options_(std::move(options)), handle_(nullptr) {
  global_init();
  base_url_ = checked_base_url(options_.base_url);
  if (options_.token.size() > kMaxTokenBytes)
    throw Error(ErrorCode::invalid_argument,
                "the runtime token is " + std::to_string(options_.token.size()) + " bytes, over the limit of " +
                    std::to_string(kMaxTokenBytes),
                {{"field", "token"}});
  if (auto at = http::invalid_field_value_at(options_.token); at != std::string::npos)
    throw Error(ErrorCode::invalid_argument,
                "the runtime token holds " + http::describe_byte(options_.token[at]) + " at byte " +
                    std::to_string(at) + ": it travels in the Authorization header",
                {{"field", "token"}, {"byte", at}});
  if (!options_.token.empty()) auth_header_ = "Authorization: Bearer " + options_.token;
  handle_ = curl_easy_init();
  if (handle_ == nullptr) throw Error(ErrorCode::out_of_memory, "libcurl could not create a handle");
}

RuntimeClient::~RuntimeClient() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

std::string RuntimeClient::query_escape(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || c == '/') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string RuntimeClient::session_path(std::string_view session_id, std::string_view route) {
  std::string escaped = query_escape(session_id);
  std::string path = "/v1/sessions/";
  for (char c : escaped) path += c == '/' ? std::string("%2F") : std::string(1, c);
  if (!route.empty()) {
    path += '/';
    path += route;
  }
  return path;
}

nlohmann::json RuntimeClient::call(std::string_view method, const std::string& path, std::string_view body,
                                   CallKind kind) {
  const std::string url = base_url_ + path;
  const std::string what = std::string(method) + " " + url;
  std::string reply;
  long status = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CURL* h = static_cast<CURL*>(handle_);
    curl_easy_reset(h);  // keeps the connection cache
    std::pair<std::string*, std::size_t> sink{&reply, options_.max_reply_bytes};
    curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
    if (!body.empty() || method != "GET") headers = curl_slist_append(headers, "Content-Type: application/json");
    if (!auth_header_.empty()) headers = curl_slist_append(headers, auth_header_.c_str());
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    std::string method_text(method);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method_text.c_str());
    if (method != "GET") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &append_reply);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, long(options_.timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");  // the runtime is never reached through HTTP(S)_PROXY
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (rc == CURLE_WRITE_ERROR && reply.size() + 1 > options_.max_reply_bytes)
      throw Error(ErrorCode::limit_exceeded,
                  "the runtime's answer to " + what + " is over the limit of " +
                      std::to_string(options_.max_reply_bytes) + " bytes",
                  {{"limit", "maxReplyBytes"}, {"max", options_.max_reply_bytes}});
    if (rc != CURLE_OK)
      throw Error(ErrorCode::runtime,
                  "the runtime at " + base_url_ + " could not be reached (" + what + "): " + curl_easy_strerror(rc),
                  {{"url", url}, {"cause", curl_easy_strerror(rc)}});
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  }

  nlohmann::json answer;
  bool is_json = true;
  try {
    answer = reply.empty() ? nlohmann::json::object() : parse_json_document(reply, "the runtime's answer");
  } catch (const Error&) {
    is_json = false;
  }
  if (status >= 200 && status < 300) {
    if (!is_json)
      throw Error(ErrorCode::runtime,
                  "the runtime answered " + what + " with something that is not JSON: " + reply.substr(0, 200),
                  {{"url", url}, {"status", status}});
    return answer;
  }
  // {"error":{"code","message","details"}}, any part of which may be missing (const
  // operator[] on a missing key is undefined behaviour: look before reading).
  const nlohmann::json* err = is_json && answer.is_object() && answer.contains("error") && answer["error"].is_object()
                                  ? &answer["error"]
                                  : nullptr;
  auto field = [&](const char* key) -> const nlohmann::json* {
    if (err == nullptr) return nullptr;
    auto it = err->find(key);
    return it == err->end() ? nullptr : &*it;
  };
  const nlohmann::json* code_field = field("code");
  const nlohmann::json* message_field = field("message");
  const nlohmann::json* details_field = field("details");
  std::string code = code_field && code_field->is_string() ? code_field->get<std::string>() : "";
  std::string message =
      message_field && message_field->is_string() ? message_field->get<std::string>() : reply.substr(0, 200);
  nlohmann::json details = details_field && details_field->is_object() ? *details_field : nlohmann::json::object();
  details["url"] = url;
  details["status"] = status;
  if (status == 404 && code == "unknown_session") throw Error(ErrorCode::unknown_session, message, details);
  if (status == 400) throw Error(code_for(kind), message, details);
  std::string hint = status == 401 || status == 403 ? " (check the token: SOFTPROBE_API_TOKEN)" : "";
  throw Error(ErrorCode::runtime,
              "the runtime refused " + what + " with " + std::to_string(status) + hint + ": " + message, details);
}

}  // namespace softprobe::core::remote
