// HTTP/1.1 messages as the net layer's users see them: plain value types with
// no Boost in sight, so a front end's routes and handlers compile without
// Beast. Parsing and serialization happen in the net layer, on Beast.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace softprobe::net {

// One header line. Names keep the sender's spelling; lookups ignore case.
struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

// The first value of header `name` (case-insensitive), or nullptr.
const std::string* find_header(const Headers& headers, std::string_view name) noexcept;
// Sets `name` to `value`, replacing every earlier line of that name.
void set_header(Headers& headers, std::string_view name, std::string_view value);
// Removes every line named `name`; returns how many were removed.
std::size_t erase_header(Headers& headers, std::string_view name);
bool iequals(std::string_view a, std::string_view b) noexcept;

// A request target split into its parts (RFC 9112 3.2):
//  origin-form   "/p?q"                 -> path "/p", query "q"
//  absolute-form "http://h:8080/p?q"    -> scheme "http", authority "h:8080", path "/p", query "q"
//  authority-form "h:443" (CONNECT)     -> authority "h:443"
//  asterisk-form "*" (OPTIONS)          -> path "*"
struct Target {
  enum class Form : std::uint8_t { origin, absolute, authority, asterisk, invalid };
  Form form = Form::invalid;
  std::string_view scheme;     // lower case as sent; empty unless absolute-form
  std::string_view authority;  // host[:port]; empty for origin- and asterisk-form
  std::string_view path;       // "/" when an absolute-form target has none
  std::string_view query;      // without the '?'; empty when there is none
};
// The parts of `target` (views into it). Form::invalid when it fits no form.
Target parse_target(std::string_view target, bool is_connect) noexcept;

// The first value of parameter `name` in a query string ("a=1&out=x%2Fy"),
// decoded as application/x-www-form-urlencoded ('+' is a space, %XX a byte;
// a '%' not followed by two hex digits is kept as it is). "" for "out" or
// "out="; std::nullopt when the parameter is absent.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// host and port of an authority "h", "h:p" or "[v6]:p"; `default_port` when
// none is given. std::nullopt when the port is not a number in 1..65535 or
// the host is empty.
struct HostPort {
  std::string host;  // without the brackets of an IPv6 literal
  std::uint16_t port = 0;
};
std::optional<HostPort> parse_authority(std::string_view authority, std::uint16_t default_port);

// A request as read by the server: the head, and the body once read.
struct RequestHead {
  std::string method;     // as sent, e.g. "GET"
  std::string target;     // as sent, e.g. "/v1/inject?x=1" or "http://h/p"
  unsigned version = 11;  // 10 or 11
  Headers headers;
  bool keep_alive = true;                       // what the client asked for (HTTP/1.0 default: false)
  bool has_body = false;                        // Content-Length > 0 or chunked
  std::optional<std::uint64_t> content_length;  // when the body has a declared length
  bool chunked = false;
  bool upgrade = false;  // Connection: upgrade with an Upgrade header (e.g. WebSocket)

  // The target's parts (views into `target`).
  Target parsed_target() const noexcept { return parse_target(target, method == "CONNECT"); }
  // Path of an origin- or absolute-form target ("/v1/inject"), else the target.
  std::string_view path() const noexcept;
  const std::string* header(std::string_view name) const noexcept { return find_header(headers, name); }
};

// A response to write. The net layer adds Content-Length (or omits it where
// HTTP forbids one) and the Connection header; do not set either yourself.
struct Response {
  int status = 200;
  std::string reason;  // empty: the standard phrase of `status`
  Headers headers;
  std::string body;
  // Close the connection after this response (the net layer also closes when
  // the client asked to, when a body was left unread, or when shutting down).
  bool close = false;
};

// A JSON error envelope response {"error":{"code","message"}}, the one the
// contract uses (CONTRACT.md section 6). `code` and `message` are escaped.
Response json_error(int status, std::string_view code, std::string_view message);

}  // namespace softprobe::net
