#include "request_guard.hpp"

#include <arpa/inet.h>

#include <cctype>

namespace softprobe::runtime {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// For messages: at most 100 printable ASCII characters.
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 100)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 100) out += "...";
  return out;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// "name", "name:port", "[v6]", "[v6]:port" -> the name (lowercase, no
// brackets); nullopt when malformed.
std::optional<std::string> host_name(std::string_view value) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  std::string_view name, port;
  if (value.front() == '[') {
    auto close = value.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    name = value.substr(1, close - 1);
    std::string_view rest = value.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    auto colon = value.find(':');
    name = value.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = value.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (port.size() > 5) return std::nullopt;
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  if (name.empty()) return std::nullopt;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_' || c == '%'))
      return std::nullopt;
  std::string out = lower(name);
  if (out.back() == '.') out.pop_back();  // "localhost." names localhost
  return out;
}

bool host_allowed(const GuardConfig& cfg, const std::string& name) {
  std::string listen = lower(cfg.listen_host);
  if (!listen.empty() && listen.front() == '[' && listen.back() == ']') listen = listen.substr(1, listen.size() - 2);
  if (name == "localhost" || name == "127.0.0.1" || name == "::1" || name == listen) return true;
  if ((listen == "0.0.0.0" || listen == "::" || listen.empty()) && is_ip_literal(name)) return true;
  for (const auto& h : cfg.allow_hosts)
    if (h == "*" || lower(h) == name) return true;
  return false;
}

bool origin_allowed(const GuardConfig& cfg, std::string_view origin) {
  std::string o = lower(trim(origin));
  while (!o.empty() && o.back() == '/') o.pop_back();
  for (const auto& a : cfg.allow_origins) {
    std::string allowed = lower(a);
    while (!allowed.empty() && allowed.back() == '/') allowed.pop_back();
    if (allowed == "*" || allowed == o) return true;
  }
  return false;
}

bool media_type_allowed(std::string_view content_type) {
  std::string t = lower(trim(content_type.substr(0, content_type.find(';'))));
  if (t == "application/json" || t == "application/x-protobuf" || t == "application/protobuf") return true;
  constexpr std::string_view app = "application/", json = "+json";
  return t.size() > app.size() + json.size() && t.compare(0, app.size(), app) == 0 &&
         t.compare(t.size() - json.size(), json.size(), json) == 0;
}

}  // namespace

std::optional<Refusal> check_request(const GuardConfig& cfg, const GuardRequest& req) {
  if (req.host) {
    auto name = host_name(*req.host);
    if (!name)
      return Refusal{421, "misdirected_request",
                     "the Host header \"" + shown(*req.host) + "\" is not a valid host[:port]"};
    if (!host_allowed(cfg, *name))
      return Refusal{421, "misdirected_request",
                     "the Host header names \"" + shown(*name) + "\", which is not this runtime (it answers to " +
                         shown(cfg.listen_host) +
                         ", localhost, 127.0.0.1 and [::1]): a DNS rebinding attempt, or a name "
                         "to allow with --allow-host " +
                         shown(*name)};
  }
  if (req.origin && !origin_allowed(cfg, *req.origin))
    return Refusal{403, "forbidden_origin",
                   "requests from the web origin \"" + shown(*req.origin) +
                       "\" are refused (a web page may not drive the runtime); start it with --allow-origin " +
                       shown(*req.origin) + " to accept them"};
  bool reads_body = req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS";
  bool bad_type =
      req.content_type ? (reads_body || req.has_body) && !media_type_allowed(*req.content_type) : req.has_body;
  if (bad_type) {
    std::string got =
        req.content_type ? "Content-Type \"" + shown(*req.content_type) + "\"" : std::string("no Content-Type");
    return Refusal{415, "unsupported_media_type",
                   std::string(req.method) + " " + shown(req.target.substr(0, req.target.find('?'))) +
                       " has a body with " + got + ": send application/json (or, for OTLP, application/x-protobuf)"};
  }
  return std::nullopt;
}

}  // namespace softprobe::runtime
