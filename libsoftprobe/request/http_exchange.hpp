// One HTTP hop as the core sees it: the request, the response (when known),
// timings and trace context. A case file is a list of these (one per span);
// a capture session records these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace softprobe::core {

// Header names are stored lowercase; repeated values are kept as separate
// entries, written to a case file as one arrayValue with a string per line.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpExchange {
  // Trace context.
  std::string trace_id, span_id, parent_span_id, name;
  // Softprobe attributes.
  std::string session_id, direction, span_type, service;
  // Request. `host` is url.host: the host, with ":port" when not the scheme default.
  std::string scheme, method, host, path, query, url_full;
  Headers request_headers;
  std::string request_body;  // raw bytes (bytesValue is decoded)
  // Response; absent status means the span carries no response.
  std::optional<int> status;
  Headers response_headers;
  std::string response_body;
  // Unix nanoseconds as decimal strings (proto3 JSON int64 form); may be empty.
  std::string start_time_unix_nano, end_time_unix_nano;
  // Every other primitive span attribute (key, value as text), file order.
  std::vector<std::pair<std::string, std::string>> tags;
  // Which traces[] entry of a case file the span is written in: consecutive
  // spans with the same value share one entry. A case read from a file keeps
  // its entries; a capture gives each recorded hop, and each /v1/traces
  // upload, an entry of its own. Values come from new_trace_entry(); 0: unset.
  std::uint64_t trace_entry = 0;
};

// A process-wide unique, nonzero trace_entry (thread-safe).
std::uint64_t new_trace_entry() noexcept;

// "example.com:8080" -> {"example.com", "8080"}; "[::1]:80" -> {"[::1]", "80"};
// no port -> {host, ""}.
struct HostPort {
  std::string_view host;
  std::string_view port;
};
HostPort split_host_port(std::string_view host) noexcept;

// 443 for https/wss, 80 otherwise.
int default_port(std::string_view scheme) noexcept;

}  // namespace softprobe::core
