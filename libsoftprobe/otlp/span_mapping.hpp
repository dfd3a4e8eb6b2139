// The mapping between OTLP span attributes and an HttpExchange (contract
// section 2). One place for it: case files, capture and the OTLP APIs all use
// these two functions.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "otlp/otlp_attributes.hpp"
#include "request/http_exchange.hpp"

namespace softprobe::core {

// Fills `ex` from a span's attributes. `resource_service` is the resource's
// service.name, used when the span has no sp.service.name. Attributes that are
// not part of the HTTP profile land in ex.tags.
void apply_span_attributes(const std::vector<Attribute>& attrs, const std::string& resource_service, HttpExchange& ex);

// The OTLP JSON span object for an exchange: traceId, spanId, parentSpanId,
// name, kind, times and attributes in a fixed order (so captures diff well).
nlohmann::ordered_json exchange_to_span(const HttpExchange& ex);

// The attributes of a span that carries a response, in case-file order:
// http.response.status_code (int), one http.response.header.<name> per
// lowercase name (repeated values joined with ", ": proxies read one string
// per name; case files keep them apart as an arrayValue), http.response.body
// (string_value when UTF-8, else bytes_value). Format-neutral: the OTLP JSON
// and protobuf encoders both write this list (the inject answer).
std::vector<Attribute> response_attributes(int status, const Headers& headers, const std::string& body);

}  // namespace softprobe::core
