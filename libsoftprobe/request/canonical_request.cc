#include "request/canonical_request.hpp"

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>
#include <vector>

#include "request/http_syntax.hpp"
#include "support/errors.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

// The caller's name for the request ("request." in the C ABI), prefixed to
// every field an error names; set for the duration of one canonical_request.
thread_local std::string_view t_where;

[[noreturn]] void bad(std::string_view field_name, std::size_t offset, const std::string& problem) {
  const std::string field = std::string(t_where) + std::string(field_name);
  throw Error(ErrorCode::invalid_argument, field + ": " + problem + " at byte " + std::to_string(offset),
              {{"field", field}, {"offset", offset}, {"problem", problem}});
}

[[noreturn]] void over(const char* limit, std::size_t max, std::size_t actual, const std::string& what) {
  throw Error(ErrorCode::limit_exceeded,
              "request: " + what + " " + std::to_string(actual) + ", over the limit of " + std::to_string(max),
              {{"limit", limit}, {"max", max}, {"actual", actual}});
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// The WHATWG path percent-encode set (as Node's URL applies it) and the
// special-query percent-encode set.
bool in_path_set(unsigned char c) noexcept {
  return c <= 0x20 || c >= 0x7f || c == '"' || c == '#' || c == '<' || c == '>' || c == '?' || c == '`' || c == '{' ||
         c == '}';
}
bool in_query_set(unsigned char c) noexcept {
  return c <= 0x20 || c >= 0x7f || c == '"' || c == '#' || c == '<' || c == '>' || c == '\'';
}

void append_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// Escapes the set, uppercases escapes, decodes escaped unreserved characters;
// a '%' that starts no escape becomes "%25" (so the result is idempotent).
std::string escape_rule(std::string_view in, bool query) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c == '%') {
      const bool room = i + 2 < in.size();
      int hi = room ? hex_value(in[i + 1]) : -1;
      int lo = room ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        out += "%25";
        continue;
      }
      auto v = static_cast<unsigned char>(hi * 16 + lo);
      if (is_unreserved(v)) out += static_cast<char>(v);
      else append_escape(out, v);
      i += 2;
    } else if (!query && c == '\\') {
      out += '/';
    } else if (query ? in_query_set(c) : in_path_set(c)) {
      append_escape(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// RFC 3986 5.2.4 on an absolute path (WHATWG gives the same result):
// "/a/./b/../c" -> "/a/c", "/a/.." -> "/".
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::string_view rest = path.substr(1);  // after the leading '/'
  while (true) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      if (last) out.emplace_back();
    } else if (seg == ".") {
      if (last) out.emplace_back();
    } else {
      out.push_back(seg);
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string result;
  result.reserve(path.size());
  for (auto seg : out) {
    result += '/';
    result += seg;
  }
  return result.empty() ? "/" : result;
}

// Parses an IPv6 literal (without brackets) and writes it in RFC 5952 form,
// as the WHATWG serializer does: lowercase hex, no leading zeros, the first
// longest run of two or more zero groups as "::", an embedded IPv4 tail as
// two hex groups.
std::string canonical_ipv6(std::string_view s, std::string_view field, std::size_t base) {
  std::array<unsigned, 8> g{};
  int n = 0, compress = -1;
  std::size_t i = 0;
  auto fail = [&](const std::string& why) { bad(field, base + i, "invalid IPv6 address: " + why); };
  if (s.substr(0, 2) == "::") {
    compress = 0;
    i = 2;
  } else if (!s.empty() && s[0] == ':') {
    fail("a single leading ':'");
  }
  while (i < s.size()) {
    if (n == 8) fail("more than 8 groups");
    if (s[i] == ':') {
      if (compress >= 0) fail("a second '::'");
      compress = n;
      ++i;
      continue;
    }
    std::size_t start = i;
    unsigned v = 0;
    while (i < s.size() && i - start < 4 && hex_value(s[i]) >= 0) v = v * 16 + unsigned(hex_value(s[i++]));
    if (i < s.size() && s[i] == '.') {  // IPv4 tail: d.d.d.d
      if (n > 6) fail("an IPv4 part after 6 groups");
      i = start;
      unsigned parts[4];
      for (int p = 0; p < 4; ++p) {
        if (p > 0) {
          if (i >= s.size() || s[i] != '.') fail("an IPv4 part without 4 numbers");
          ++i;
        }
        std::size_t d0 = i;
        unsigned d = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - d0 < 3) d = d * 10 + unsigned(s[i++] - '0');
        if (i == d0 || d > 255 || (i - d0 > 1 && s[d0] == '0')) fail("an IPv4 number out of range");
        parts[p] = d;
      }
      if (i != s.size()) fail("bytes after the IPv4 part");
      g[n++] = parts[0] << 8 | parts[1];
      g[n++] = parts[2] << 8 | parts[3];
      break;
    }
    if (i == start) fail("a byte that is not a hex digit");
    g[n++] = v;
    if (i < s.size()) {
      if (s[i] != ':')
        fail(i - start == 4 && hex_value(s[i]) >= 0 ? "a group of more than 4 digits"
                                                    : "a byte that is not a hex digit");
      ++i;
      if (i == s.size()) fail("a trailing ':'");
      if (s[i] == ':') {  // "::" in the middle or at the end
        if (compress >= 0) fail("a second '::'");
        compress = n;
        ++i;
      }
    }
  }
  if (compress >= 0) {
    if (n == 8) fail("'::' with 8 groups");
    std::array<unsigned, 8> full{};
    for (int k = 0; k < compress; ++k) full[k] = g[k];
    for (int k = compress; k < n; ++k) full[8 - (n - k)] = g[k];
    g = full;
  } else if (n != 8) {
    fail("fewer than 8 groups and no '::'");
  }
  int best = -1, best_len = 1;
  for (int k = 0; k < 8;) {
    if (g[k] != 0) {
      ++k;
      continue;
    }
    int e = k;
    while (e < 8 && g[e] == 0) ++e;
    if (e - k > best_len) {
      best = k;
      best_len = e - k;
    }
    k = e;
  }
  std::string out = "[";
  for (int k = 0; k < 8; ++k) {
    if (k == best) {
      out += k == 0 ? "::" : ":";
      k += best_len - 1;
      continue;
    }
    char buf[8];
    auto r = std::to_chars(buf, buf + sizeof buf, g[k], 16);
    out.append(buf, r.ptr);
    if (k < 7) out += ':';
  }
  return out + "]";
}

struct Authority {
  std::string host;
  int port = 0;
};

// "Host:8080", "[::1]:80", "host:" (an empty port is none, as in WHATWG).
// `bare_ipv6`: the split fields may give an IPv6 literal without brackets
// ("::1", as Python's clients report it); a URL may not.
Authority parse_authority(std::string_view a, std::string_view field, std::size_t base, bool bare_ipv6) {
  Authority out;
  std::string_view port;
  std::size_t port_at = 0;
  if (bare_ipv6 && !a.empty() && a.front() != '[' && a.find(':') != a.rfind(':')) {
    out.host = canonical_ipv6(a, field, base);
  } else if (!a.empty() && a.front() == '[') {
    auto close = a.find(']');
    if (close == std::string_view::npos) bad(field, base + a.size(), "IPv6 literal without its closing ']'");
    out.host = canonical_ipv6(a.substr(1, close - 1), field, base + 1);
    if (close + 1 < a.size()) {
      if (a[close + 1] != ':') bad(field, base + close + 1, "expected ':' or the end after ']'");
      port = a.substr(close + 2);
      port_at = close + 2;
    }
  } else {
    auto colon = a.find(':');
    std::string_view host = a.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = a.substr(colon + 1);
      port_at = colon + 1;
    }
    for (std::size_t i = 0; i < host.size(); ++i) {
      auto c = static_cast<unsigned char>(host[i]);
      // The WHATWG forbidden host code points.
      if (c <= 0x20 || c == 0x7f || c == '#' || c == '%' || c == '/' || c == ':' || c == '<' || c == '>' || c == '?' ||
          c == '@' || c == '[' || c == '\\' || c == ']' || c == '^' || c == '|')
        bad(field, base + i, "byte " + http::describe_byte(static_cast<char>(c)) + " not allowed in a host");
    }
    out.host = text::to_lower(host);
  }
  if (!port.empty()) {
    unsigned v = 0;
    for (std::size_t i = 0; i < port.size(); ++i) {
      if (port[i] < '0' || port[i] > '9') bad(field, base + port_at + i, "invalid port \"" + std::string(port) + "\"");
      v = v * 10 + unsigned(port[i] - '0');
      if (v > 65535) bad(field, base + port_at, "port " + std::string(port) + " over 65535");
    }
    out.port = int(v);
  }
  return out;
}

bool is_scheme(std::string_view s) noexcept {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
          c == '.'))
      return false;
  return true;
}

std::string_view header_value(const RequestInput& in, std::string_view name) {
  for (std::size_t i = 0; i < in.header_count; ++i)
    if (text::iequals(in.headers[i].name, name)) return in.headers[i].value;
  return {};
}

}  // namespace

std::string normalize_path(std::string_view path) {
  if (path == "*") return "*";  // asterisk-form (OPTIONS *)
  std::string escaped = escape_rule(path, false);
  if (escaped.empty() || escaped.front() != '/') escaped.insert(escaped.begin(), '/');
  return remove_dot_segments(escaped);
}

std::string normalize_query(std::string_view query) { return escape_rule(query, true); }

std::string CanonicalRequest::url_full() const {
  std::string out;
  if (!url_host.empty()) out = scheme + "://" + url_host;
  out += path;
  if (!query.empty()) out += '?' + query;
  return out;
}

CanonicalRequest canonical_request(const RequestInput& in, const RequestLimits& limits) {
  struct Where {
    explicit Where(std::string_view w) { t_where = w; }
    ~Where() { t_where = {}; }
  } where(in.where);
  if (in.header_count && !in.headers) bad("headers", 0, "NULL with a count above 0");
  if (in.header_count > limits.max_headers) over("maxHeaders", limits.max_headers, in.header_count, "header lines");
  const std::size_t url_bytes = in.url.empty() ? in.path.size() + in.query.size() : in.url.size();
  if (url_bytes > limits.max_url_bytes) over("maxUrlBytes", limits.max_url_bytes, url_bytes, "URL bytes");
  if (!in.url.empty() && (!in.path.empty() || !in.query.empty()))
    bad("url", 0, "given together with path or query (give one or the other)");

  CanonicalRequest c;
  std::string_view scheme = in.scheme, authority = in.authority, target;
  std::string_view authority_field = "host";
  std::size_t authority_base = 0;
  std::string_view path, query;
  if (!in.url.empty()) {
    std::string_view url = in.url;
    auto sep = url.find("://");
    if (url.front() == '/' || url.front() == '*') {
      target = url;
    } else if (sep != std::string_view::npos && is_scheme(url.substr(0, sep))) {
      if (!in.scheme.empty() || !in.authority.empty())
        bad("url", 0, "an absolute URL given together with scheme or authority");
      scheme = url.substr(0, sep);
      std::size_t start = sep + 3;
      auto end = url.find_first_of("/?#\\", start);
      if (end == std::string_view::npos) end = url.size();
      authority = url.substr(start, end - start);
      authority_field = "url";
      authority_base = start;
      if (auto at = authority.rfind('@'); at != std::string_view::npos) {  // userinfo is never recorded
        authority_base += at + 1;
        authority.remove_prefix(at + 1);
      }
      if (authority.empty()) bad("url", start, "missing host");
      target = url.substr(end);
    } else {
      bad("url", 0, "expected an absolute URL (scheme://host/path) or a request-target starting with '/'");
    }
    if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    auto q = target.find('?');
    path = target.substr(0, q);
    if (q != std::string_view::npos) query = target.substr(q + 1);
  } else {
    path = in.path;
    query = in.query;
    // An OTLP url.path with "?query" and no url.query (the reference proxy splits it too).
    if (query.empty()) {
      if (auto q = path.find('?'); q != std::string_view::npos) {
        query = path.substr(q + 1);
        path = path.substr(0, q);
      }
    }
  }

  c.scheme = scheme.empty() ? "http" : text::to_lower(scheme);
  if (!is_scheme(c.scheme)) bad("scheme", 0, "invalid scheme \"" + std::string(scheme) + "\"");
  if (authority.empty()) {  // a request-target alone: the host comes from the request's own headers
    authority = header_value(in, ":authority");
    authority_field = "headers[:authority]";
    if (authority.empty()) {
      authority = header_value(in, "host");
      authority_field = "headers[host]";
    }
  }
  Authority a = parse_authority(authority, authority_field, authority_base, authority_field == "host");
  c.host = std::move(a.host);
  if (in.port < 0 || in.port > 65535) bad("port", 0, "port " + std::to_string(in.port) + " out of range 0-65535");
  const int fallback = default_port(c.scheme);
  c.port = in.port ? in.port : a.port ? a.port : fallback;
  c.url_host = c.port == fallback || c.host.empty() ? c.host : c.host + ':' + std::to_string(c.port);
  c.path = normalize_path(path);
  c.query = normalize_query(query);

  c.headers.reserve(in.header_count + 1);
  bool has_host = false;
  for (std::size_t i = 0; i < in.header_count; ++i) {
    const HeaderView& h = in.headers[i];
    const std::string field = "headers[" + std::to_string(i) + "]";
    std::string_view token =
        !h.name.empty() && h.name.front() == ':' ? h.name.substr(1) : h.name;  // HTTP/2 pseudo-header
    if (!http::is_token(token)) {
      std::size_t at = 0;
      while (at < token.size() && http::is_token(token.substr(at, 1))) ++at;
      bad(field + ".name", at + (token.size() != h.name.size()),
          h.name.empty() ? "empty header name"
                         : "byte " + http::describe_byte(token[at]) + " not allowed in a header name");
    }
    if (h.value.size() > limits.max_header_bytes)
      over("maxHeaderBytes", limits.max_header_bytes, h.value.size(), "bytes in header " + std::string(h.name) + ":");
    if (auto at = http::invalid_field_value_at(h.value); at != std::string::npos)
      bad(field + ".value", at, "byte " + http::describe_byte(h.value[at]) + " not allowed in a header value");
    c.headers.emplace_back(text::to_lower(h.name), std::string(h.value));
    if (c.headers.back().first == "host" || c.headers.back().first == ":authority") has_host = true;
  }
  if (!has_host && !c.url_host.empty()) c.headers.insert(c.headers.begin(), {"host", c.url_host});
  return c;
}

std::string canonical_request_json(const CanonicalRequest& c) {
  nlohmann::ordered_json headers = nlohmann::ordered_json::object();
  for (const auto& [name, value] : c.headers) headers[name].push_back(value);
  nlohmann::ordered_json j = {{"scheme", c.scheme}, {"host", c.host},   {"port", c.port},      {"urlHost", c.url_host},
                              {"path", c.path},     {"query", c.query}, {"url", c.url_full()}, {"headers", headers}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace softprobe::core
