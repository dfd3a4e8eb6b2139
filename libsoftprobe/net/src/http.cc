#include "softprobe/net/http.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

namespace softprobe::net {

namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

const std::string* find_header(const Headers& headers, std::string_view name) noexcept {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

std::size_t erase_header(Headers& headers, std::string_view name) {
  std::size_t before = headers.size();
  std::erase_if(headers, [&](const Header& h) { return iequals(h.name, name); });
  return before - headers.size();
}

void set_header(Headers& headers, std::string_view name, std::string_view value) {
  erase_header(headers, name);
  headers.push_back({std::string(name), std::string(value)});
}

Target parse_target(std::string_view t, bool is_connect) noexcept {
  Target out;
  auto split_query = [&](std::string_view pq) {
    auto q = pq.find('?');
    out.path = pq.substr(0, q);
    if (q != std::string_view::npos) out.query = pq.substr(q + 1);
    // A fragment is not part of a request target; treat it as invalid.
    if (pq.find('#') != std::string_view::npos) out.form = Target::Form::invalid;
  };
  if (t.empty()) return out;
  if (is_connect) {
    if (t.find('/') != std::string_view::npos || t.find(':') == std::string_view::npos) return out;
    out.form = Target::Form::authority;
    out.authority = t;
    return out;
  }
  if (t == "*") {
    out.form = Target::Form::asterisk;
    out.path = t;
    return out;
  }
  if (t.front() == '/') {
    out.form = Target::Form::origin;
    split_query(t);
    return out;
  }
  auto colon = t.find("://");
  if (colon == std::string_view::npos || colon == 0) return out;
  for (char c : t.substr(0, colon))
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
          c == '.'))
      return out;
  out.form = Target::Form::absolute;
  out.scheme = t.substr(0, colon);
  std::string_view rest = t.substr(colon + 3);
  auto end = rest.find_first_of("/?");
  out.authority = rest.substr(0, end);
  if (out.authority.empty()) {
    out.form = Target::Form::invalid;
    return out;
  }
  if (end == std::string_view::npos) {
    out.path = "/";
    return out;
  }
  if (rest[end] == '?') {
    out.path = "/";
    out.query = rest.substr(end + 1);
    return out;
  }
  split_query(rest.substr(end));
  return out;
}

std::optional<HostPort> parse_authority(std::string_view a, std::uint16_t default_port) {
  // userinfo@ is deprecated in http(s) URIs (RFC 9110 4.2.4): refuse it.
  if (a.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host = a, port;
  if (!a.empty() && a.front() == '[') {
    auto close = a.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = a.substr(1, close - 1);
    std::string_view after = a.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    auto colon = a.rfind(':');
    if (colon != std::string_view::npos) {
      if (a.find(':') != colon) return std::nullopt;  // a bare IPv6 literal needs brackets
      host = a.substr(0, colon);
      port = a.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (host.empty()) return std::nullopt;
  HostPort out{std::string(host), default_port};
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) return std::nullopt;
    out.port = std::uint16_t(v);
  }
  return out;
}

namespace {
int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += char(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (form_decode(key) != name) continue;
    return eq == std::string_view::npos ? std::string() : form_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string_view RequestHead::path() const noexcept {
  Target t = parsed_target();
  if (t.form == Target::Form::origin || t.form == Target::Form::absolute) return t.path;
  return target;
}

Response json_error(int status, std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/json"});
  // nlohmann escapes (and replaces invalid UTF-8): no JSON writer of our own.
  r.body = nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace softprobe::net
