// The canonical request: the one normalized form of an HTTP request that the
// decision path, the fingerprint, capture and the OTLP mapping all use, so a
// request gets the same result whichever client or front end saw it
// (docs/requests.md has the rules and the reasons for them).
//
//   scheme   lowercase; "http" when none is given
//   host     lowercase; an IPv6 literal in brackets, in RFC 5952 form ("[::1]")
//   port     the effective port; `url_host` carries ":port" only when it is
//            not the scheme default (80 for http/ws, 443 for https/wss)
//   path     RFC 3986 6.2.2 normalization over the bytes a WHATWG URL
//            serializer percent-encodes (see normalize_path); "/" when empty
//   query    without '?': the same escape rules with the WHATWG special-query
//            set; parameter order and '+' untouched
//   headers  names lowercased, values as sent, repeated lines kept in order;
//            a "host" line (the url_host) added first when neither "host"
//            nor an HTTP/2 ":authority" was sent
//
// Input a URL string (absolute, or a request-target with scheme and authority
// given apart) or the split fields; an OTLP url.path that carries "?query"
// with no url.query is split there (as the reference proxy does).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "case/case_limits.hpp"
#include "request/http_exchange.hpp"
#include "request/request.hpp"

namespace softprobe::core {

// What one request may hold. A request over a limit is Error(limit_exceeded)
// naming the limit, never a truncation.
struct RequestLimits {
  std::size_t max_url_bytes = 64u << 10;  // the URL, or path + query, before normalization
  // Header lines and the bytes of one value: the case limits, so every request
  // the core accepts can also be captured and loaded back.
  std::size_t max_headers = CaseLimits{}.max_attributes_per_span;
  std::size_t max_header_bytes = CaseLimits{}.max_string_bytes;
};

// A request as a client or front end sent it. Either `url` (absolute
// "https://user@Host:8443/a/b?q#frag", or a request-target "/a/b?q" or "*"
// with `scheme` and `authority` giving the rest) or the split fields
// (`scheme`, `authority`, `port`, `path`, `query`). Giving `url` with `path`
// or `query` is an error.
struct RequestInput {
  std::string_view url;
  std::string_view scheme;     // "" means "http"
  std::string_view authority;  // "host", "host:port", "[v6]:port", or a bare "v6" (errors call it "host")
  int port = 0;                // 0: none (then authority's port, else the scheme default)
  std::string_view path;       // may carry "?query" when `query` is empty
  std::string_view query;      // without '?'
  const HeaderView* headers = nullptr;
  std::size_t header_count = 0;
  std::string_view where;  // prefixed to the field an error names ("request.")
};

struct CanonicalRequest {
  std::string scheme, host;
  int port = 0;
  std::string url_host;  // host, with ":port" when not the scheme default
  std::string path, query;
  Headers headers;  // names lowercase, in the order sent

  // "scheme://url_host path[?query]": the url.full this request records.
  std::string url_full() const;
};

// Throws Error(invalid_argument) naming the problem and its byte offset in
// the field ("url: invalid port \"8x\" at byte 17"), with details
// {field, offset, problem}; Error(limit_exceeded) over `limits`.
CanonicalRequest canonical_request(const RequestInput& in, const RequestLimits& limits = {});

// The path rule alone (the query rule with `query` true), for a string
// already split from its URL: '\' read as '/' (WHATWG, special schemes);
// bytes in the WHATWG path percent-encode set (C0 controls, space, " # < > ?
// ` { }, DEL and every byte over 0x7E) percent-encoded; hex digits of escapes
// uppercased; escapes of unreserved characters (ALPHA DIGIT - . _ ~)
// decoded; "." and ".." segments removed (RFC 3986 5.2.4). A '%' not
// followed by two hex digits is kept as is (WHATWG does). Idempotent.
std::string normalize_path(std::string_view path);
std::string normalize_query(std::string_view query);

// The canonical form as JSON: {"scheme","host","port","urlHost","path",
// "query","url","headers":{name:[values...]}} (header names in first-seen order).
std::string canonical_request_json(const CanonicalRequest& c);

}  // namespace softprobe::core
