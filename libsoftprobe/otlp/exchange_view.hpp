// The request view of an exchange (an OTLP inject span, a case span), for
// Session::decide. One place fills what a span leaves out, then makes the
// request canonical (canonical_request.hpp), so every host hands the matcher
// the same request:
//   scheme  url.scheme, else url.full's scheme, else the ":scheme" header, else "http"
//   host    url.host, else url.full's authority, else ":authority", else "host"
//   path    url.path, else url.full's path, else ":path" (without its query), else "/"
//   query   url.query, else url.full's query, else ":path"'s query; a url.path
//           carrying "?query" with no url.query is split there
// Direction defaults to "outbound". Headers and trace tags are the exchange's.
#pragma once

#include <vector>

#include "request/canonical_request.hpp"
#include "request/http_exchange.hpp"
#include "request/request.hpp"

namespace softprobe::core {

class ExchangeRequestView {
 public:
  // Borrows from `ex`: it must outlive this object and stay unchanged.
  explicit ExchangeRequestView(const HttpExchange& ex);
  ExchangeRequestView(const ExchangeRequestView&) = delete;
  ExchangeRequestView& operator=(const ExchangeRequestView&) = delete;

  const RequestView& view() const noexcept { return view_; }

 private:
  CanonicalRequest canonical_;
  RequestView view_;
  std::vector<HeaderView> headers_;
  std::vector<TagView> tags_;
};

// The canonical request of a span (the rules above). Throws
// Error(invalid_argument) naming the span attribute and byte of a URL that
// does not parse.
CanonicalRequest exchange_canonical_request(const HttpExchange& ex);

// Rewrites the request of `ex` in its canonical form (scheme, url.host, path,
// query, url.full, request headers), for recording an OTLP span.
void canonicalize_exchange(HttpExchange& ex);

// The parts of an absolute URL ("https://user@host:8443/p/a?q=1#f").
// Parts that are absent are empty; `path` is "" when the URL has none.
struct UrlParts {
  std::string_view scheme, authority, path, query;
};
UrlParts split_url(std::string_view url) noexcept;

}  // namespace softprobe::core
