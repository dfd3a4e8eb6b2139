// The mapping between OTLP span attributes and an HttpExchange (contract
// section 2). One place for it: case files, capture and the OTLP APIs all use
// these two functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "otlp/otlp_attributes.hpp"
#include "request/http_exchange.hpp"

namespace softprobe::core {

// Fills `ex` from a span's attributes. `resource_service` is the resource's
// service.name, used when the span has no sp.service.name. Attributes that are
// not part of the HTTP profile land in ex.tags.
void apply_span_attributes(const std::vector<Attribute>& attrs, const std::string& resource_service, HttpExchange& ex);

// Where an exchange's span attributes go: the OTLP JSON writer of case
// files and the protobuf writer of the proxy OTLP client (otlp_traces) take
// the same list from for_each_span_attribute.
class SpanAttributeSink {
 public:
  virtual ~SpanAttributeSink() = default;
  // stringValue when `value` is valid UTF-8, else bytesValue (bodies too).
  virtual void text(const std::string& key, const std::string& value) = 0;
  virtual void integer(const std::string& key, std::int64_t value) = 0;
  // An arrayValue with one string per element (a header sent more than once).
  virtual void texts(const std::string& key, const std::vector<std::string>& values) = 0;
};

// The span attributes of an exchange, in case-file order: sp.session.id,
// sp.traffic.direction, sp.span.type, sp.service.name, url.scheme, url.host,
// url.path, url.query, url.full, http.request.method (each only when set),
// one http.request.header.<name> per lowercase name (sorted; a stringValue
// for one line, an arrayValue for repeated lines), http.request.body (when
// not empty), http.response.status_code, the response headers and
// http.response.body (when the span has a response), then the tags.
void for_each_span_attribute(const HttpExchange& ex, SpanAttributeSink& sink);

// The OTLP JSON span object for an exchange: traceId, spanId, parentSpanId,
// name, kind, times and attributes in a fixed order (so captures diff well).
nlohmann::ordered_json exchange_to_span(const HttpExchange& ex);

// The span name of an exchange: its own, else "HTTP <method>".
std::string span_name_of(const HttpExchange& ex);

// The attributes of a span that carries a response, in case-file order:
// http.response.status_code (int), one http.response.header.<name> per
// lowercase name (repeated values joined with ", ": proxies read one string
// per name; case files keep them apart as an arrayValue), http.response.body
// (string_value when UTF-8, else bytes_value). Format-neutral: the OTLP JSON
// and protobuf encoders both write this list (the inject answer).
std::vector<Attribute> response_attributes(int status, const Headers& headers, const std::string& body);

}  // namespace softprobe::core
