#include "request_adapter.hpp"

#include <string>

#include "handles.hpp"

namespace softprobe::core::capi {

RequestAdapter::RequestAdapter(const sp_request* r) {
  require(r, "request");
  if (r->version < 1 || r->version > SP_REQUEST_VERSION)
    invalid("request.version is " + std::to_string(r->version) + "; this core understands 1 to " +
            std::to_string(SP_REQUEST_VERSION) + " (initialize requests with SP_REQUEST_INIT)");
  if (r->header_count && !r->headers) invalid("request.headers is NULL but header_count > 0");
  if (r->tag_count && !r->tags) invalid("request.tags is NULL but tag_count > 0");
  if (r->direction.len) v.direction = checked_view(r->direction, "request.direction");
  v.method = checked_view(r->method, "request.method");
  v.service = checked_view(r->service, "request.service");
  v.body = checked_view(r->body, "request.body");

  // The header lines as sent, viewed for the canonical form (which copies them).
  HeaderView* headers = header_buf;
  if (r->header_count > std::size(header_buf)) {
    header_heap.resize(r->header_count);
    headers = header_heap.data();
  }
  for (std::size_t i = 0; i < r->header_count; ++i)
    headers[i] = {checked_view(r->headers[i].name, "request.headers[].name"),
                  checked_view(r->headers[i].value, "request.headers[].value")};
  RequestInput in;
  if (r->version >= 2) in.url = checked_view(r->url, "request.url");  // a version 1 struct has no url field
  in.scheme = checked_view(r->scheme, "request.scheme");
  in.authority = checked_view(r->host, "request.host");
  in.port = r->port;
  in.path = checked_view(r->path, "request.path");
  in.query = checked_view(r->query, "request.query");
  in.headers = headers;
  in.header_count = r->header_count;
  in.where = "request.";
  canonical = canonical_request(in);

  v.scheme = canonical.scheme;
  v.host = canonical.url_host;  // ":port" only when not the scheme default (RequestView's form)
  v.path = canonical.path;
  v.query = canonical.query;
  if (canonical.headers.size() > std::size(header_buf)) {
    header_heap.resize(canonical.headers.size());
    headers = header_heap.data();
  } else {
    headers = header_buf;
  }
  for (std::size_t i = 0; i < canonical.headers.size(); ++i)
    headers[i] = {canonical.headers[i].first, canonical.headers[i].second};
  v.headers = headers;
  v.header_count = canonical.headers.size();

  TagView* tags = tag_buf;
  if (r->tag_count > std::size(tag_buf)) {
    tag_heap.resize(r->tag_count);
    tags = tag_heap.data();
  }
  for (std::size_t i = 0; i < r->tag_count; ++i)
    tags[i] = {checked_view(r->tags[i].name, "request.tags[].name"),
               checked_view(r->tags[i].value, "request.tags[].value")};
  v.tags = tags;
  v.tag_count = r->tag_count;
}

ResponseAdapter::ResponseAdapter(const sp_response* response) {
  if (!response) return;
  if (response->version != SP_RESPONSE_VERSION)
    invalid("response.version is " + std::to_string(response->version) + "; initialize with SP_RESPONSE_INIT");
  if (response->header_count && !response->headers) invalid("response.headers is NULL but header_count > 0");
  headers_.reserve(response->header_count);
  for (std::size_t i = 0; i < response->header_count; ++i)
    headers_.push_back({checked_view(response->headers[i].name, "response.headers[].name"),
                        checked_view(response->headers[i].value, "response.headers[].value")});
  view_.status = response->status;
  view_.headers = headers_.data();
  view_.header_count = headers_.size();
  view_.body = checked_view(response->body, "response.body");
  given_ = true;
}

}  // namespace softprobe::core::capi
