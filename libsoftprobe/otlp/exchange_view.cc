#include "otlp/exchange_view.hpp"

#include "support/text.hpp"

namespace softprobe::core {

namespace {

std::string_view header(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers)
    if (n == name) return v;  // names are stored lowercase
  return {};
}

std::string_view first_of(std::string_view a, std::string_view b) { return a.empty() ? b : a; }

}  // namespace

UrlParts split_url(std::string_view url) noexcept {
  UrlParts out;
  std::string_view rest = url;
  if (auto sep = rest.find("://"); sep != std::string_view::npos) {
    out.scheme = rest.substr(0, sep);
    rest.remove_prefix(sep + 3);
    auto end = rest.find_first_of("/?#");
    out.authority = rest.substr(0, end);
    if (auto at = out.authority.rfind('@'); at != std::string_view::npos) out.authority.remove_prefix(at + 1);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  auto q = rest.find('?');
  out.path = rest.substr(0, q);
  if (q != std::string_view::npos) out.query = rest.substr(q + 1);
  return out;
}

CanonicalRequest exchange_canonical_request(const HttpExchange& ex) {
  UrlParts url = split_url(ex.url_full);
  // An absolute URL without "://" is not one; only use url.full when it parsed as absolute.
  if (url.scheme.empty()) url = UrlParts{};
  UrlParts pseudo = split_url(header(ex.request_headers, ":path"));

  std::vector<HeaderView> headers;
  headers.reserve(ex.request_headers.size());
  for (const auto& [n, v] : ex.request_headers) headers.push_back({n, v});
  RequestInput in;
  in.scheme = first_of(ex.scheme, first_of(url.scheme, header(ex.request_headers, ":scheme")));
  in.authority = first_of(ex.host, first_of(url.authority, first_of(header(ex.request_headers, ":authority"),
                                                                    header(ex.request_headers, "host"))));
  in.path = first_of(ex.path, first_of(url.path, pseudo.path));
  // url.path may carry "?query" when url.query is absent: canonical_request splits it.
  in.query = ex.query.empty() && ex.path.find('?') != std::string::npos
                 ? std::string_view()
                 : first_of(ex.query, first_of(url.query, pseudo.query));
  in.headers = headers.data();
  in.header_count = headers.size();
  in.where = "span ";
  return canonical_request(in);
}

void canonicalize_exchange(HttpExchange& ex) {
  CanonicalRequest c = exchange_canonical_request(ex);
  ex.url_full = c.url_full();
  ex.scheme = std::move(c.scheme);
  ex.host = std::move(c.url_host);
  ex.path = std::move(c.path);
  ex.query = std::move(c.query);
  ex.request_headers = std::move(c.headers);
}

ExchangeRequestView::ExchangeRequestView(const HttpExchange& ex) : canonical_(exchange_canonical_request(ex)) {
  if (!ex.direction.empty()) view_.direction = ex.direction;
  view_.method = ex.method;
  view_.scheme = canonical_.scheme;
  view_.host = canonical_.url_host;  // ":port" only when not the scheme default (RequestView's form)
  view_.path = canonical_.path;
  view_.query = canonical_.query;
  view_.service = ex.service;
  view_.body = ex.request_body;

  headers_.reserve(canonical_.headers.size());
  for (const auto& [n, v] : canonical_.headers) headers_.push_back({n, v});
  tags_.reserve(ex.tags.size());
  for (const auto& [k, v] : ex.tags) tags_.push_back({k, v});
  view_.headers = headers_.data();
  view_.header_count = headers_.size();
  view_.tags = tags_.data();
  view_.tag_count = tags_.size();
}

}  // namespace softprobe::core
