#include "otlp/otlp_traces.hpp"

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/pbf_writer.hpp>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "otlp/otlp_attributes.hpp"
#include "otlp/otlp_json_fast.hpp"
#include "otlp/span_mapping.hpp"
#include "support/errors.hpp"
#include "support/json_document.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

using nlohmann::json;

}  // namespace

// The fast decoder decides a payload it can decide exactly as the reference
// does (every well-formed inject or extract body); anything else, including
// every payload with an error, goes to the reference decoder, which then
// words the error (JSON syntax with line, column and byte; the
// $.resourceSpans[...] path). So the errors are the reference's by
// construction, and the hits, the hot path, never build a DOM.
std::vector<HttpExchange> decode_traces_json(std::string_view payload) {
  std::vector<HttpExchange> out;
  if (decode_traces_json_fast(payload, out)) return out;
  return decode_traces_json_reference(payload);
}

std::vector<HttpExchange> decode_traces_json_reference(std::string_view payload) {
  json doc =
      parse_json_document(payload, "OTLP JSON payload", {kMaxOtlpNesting, ErrorCode::limit_exceeded, "maxNesting"});
  std::vector<HttpExchange> out;
  walk_traces_json(doc, "$", SpanWalkLimits{}, out);  // a payload's size is bounded by its route's body limit
  return out;
}

// ---- OTLP protobuf -------------------------------------------------------------

namespace {

// Where the decoder is, as a chain of stack frames: rendered only on error,
// so a well-formed payload costs no string building.
struct Path {
  const Path* parent;
  const char* field;
  std::ptrdiff_t index;  // -1: not a repeated element
};

std::string render(const Path* p) {
  std::vector<const Path*> frames;
  for (; p; p = p->parent) frames.push_back(p);
  std::string out;
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
    if (!out.empty()) out += '.';
    out += (*it)->field;
    if ((*it)->index >= 0) out += "[" + std::to_string((*it)->index) + "]";
  }
  return out.empty() ? "TracesData" : out;
}

[[noreturn]] void pb_fail(const Path* where, const std::string& what) {
  std::string at = render(where);
  throw Error(ErrorCode::invalid_case, "protobuf: " + at + ": " + what, {{"path", at}});
}

const char* wire_type_name(protozero::pbf_wire_type t) {
  switch (t) {
    case protozero::pbf_wire_type::varint: return "varint";
    case protozero::pbf_wire_type::fixed64: return "fixed64";
    case protozero::pbf_wire_type::length_delimited: return "length-delimited";
    case protozero::pbf_wire_type::fixed32: return "fixed32";
    default: return "unknown";
  }
}

// A pbf_reader that checks wire types before every read (protozero only
// asserts them) and turns protozero's exceptions into errors that say where.
class Message {
 public:
  Message(std::string_view data, const Path* where) : r_(data.data(), data.size()), where_(where) {}

  bool next() {
    try {
      return r_.next();
    } catch (const protozero::end_of_buffer_exception&) {
      pb_fail(where_, "truncated field key");
    } catch (const protozero::varint_too_long_exception&) {
      pb_fail(where_, "field key varint is longer than 10 bytes");
    } catch (const protozero::unknown_pbf_wire_type_exception&) {
      pb_fail(where_, "field key has an unknown or unsupported wire type (3, 4, 6 or 7)");
    } catch (const protozero::invalid_tag_exception&) {
      pb_fail(where_, "field key has an invalid field number (0 or 19000-19999)");
    } catch (const protozero::exception&) {
      pb_fail(where_, "malformed field key");
    }
  }

  std::uint32_t tag() const noexcept { return r_.tag(); }

  // A length-delimited field; `index` is its position when repeated (for errors).
  std::string_view bytes(const char* name, std::ptrdiff_t index = -1) {
    expect(protozero::pbf_wire_type::length_delimited, name, index);
    try {
      auto v = r_.get_view();
      return {v.data(), v.size()};
    } catch (const protozero::varint_too_long_exception&) {
      field_fail(name, "length varint is longer than 10 bytes", index);
    } catch (const protozero::exception&) {
      field_fail(name, "truncated length-delimited field", index);
    }
  }

  std::string utf8(const char* name) {
    std::string_view v = bytes(name);
    if (!text::is_valid_utf8(v)) field_fail(name, "string is not valid UTF-8");
    return std::string(v);
  }

  std::uint64_t varint(const char* name) {
    expect(protozero::pbf_wire_type::varint, name);
    try {
      return r_.get_uint64();
    } catch (const protozero::varint_too_long_exception&) {
      field_fail(name, "varint is longer than 10 bytes");
    } catch (const protozero::exception&) {
      field_fail(name, "truncated varint");
    }
  }

  std::uint64_t fixed64(const char* name) {
    expect(protozero::pbf_wire_type::fixed64, name);
    try {
      return r_.get_fixed64();
    } catch (const protozero::exception&) {
      field_fail(name, "truncated fixed64 field");
    }
  }

  void skip() {
    try {
      r_.skip();
    } catch (const protozero::exception&) {
      pb_fail(where_,
              "truncated " + std::string(wire_type_name(r_.wire_type())) + " field " + std::to_string(r_.tag()));
    }
  }

 private:
  void expect(protozero::pbf_wire_type t, const char* name, std::ptrdiff_t index = -1) {
    if (r_.wire_type() != t)
      field_fail(name,
                 std::string("has wire type ") + wire_type_name(r_.wire_type()) + ", expected " + wire_type_name(t),
                 index);
  }
  [[noreturn]] void field_fail(const char* name, const std::string& what, std::ptrdiff_t index = -1) {
    Path p{where_, name, index};
    pb_fail(&p, what);
  }

  protozero::pbf_reader r_;
  const Path* where_;
};

std::string double_text(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return json(d).dump();
}

json any_value_json(std::string_view data, const Path* where, std::size_t depth);

// KeyValue{1: key, 2: value} as its OTLP JSON form (inside kvlistValue).
json key_value_json(std::string_view data, const Path* where, std::size_t depth) {
  Message m(data, where);
  json out = {{"key", ""}};
  while (m.next()) {
    if (m.tag() == 1) out["key"] = m.utf8("key");
    else if (m.tag() == 2) {
      Path p{where, "value", -1};
      out["value"] = any_value_json(m.bytes("value"), &p, depth);
    } else m.skip();
  }
  return out;
}

// ArrayValue{1: values} / KeyValueList{1: values} as {"values":[...]}.
json list_json(std::string_view data, const Path* where, std::size_t depth, bool kvlist) {
  if (depth > kMaxOtlpNesting)
    throw Error(ErrorCode::limit_exceeded,
                "protobuf: " + render(where) + ": arrayValue/kvlistValue nested deeper than " +
                    std::to_string(kMaxOtlpNesting) + " levels",
                {{"limit", "maxNesting"}, {"max", kMaxOtlpNesting}, {"path", render(where)}});
  Message m(data, where);
  json values = json::array();
  while (m.next()) {
    if (m.tag() == 1) {
      Path p{where, "values", std::ptrdiff_t(values.size())};
      std::string_view item = m.bytes("values", p.index);
      values.push_back(kvlist ? key_value_json(item, &p, depth + 1) : any_value_json(item, &p, depth + 1));
    } else {
      m.skip();
    }
  }
  return {{"values", std::move(values)}};
}

json any_value_json(std::string_view data, const Path* where, std::size_t depth) {
  Message m(data, where);
  json out = json::object();
  while (m.next()) {
    switch (m.tag()) {
      case 1: out = {{"stringValue", m.utf8("stringValue")}}; break;
      case 2: out = {{"boolValue", m.varint("boolValue") != 0}}; break;
      case 3: out = {{"intValue", std::int64_t(m.varint("intValue"))}}; break;
      case 4: {
        std::uint64_t bits = m.fixed64("doubleValue");
        double d;
        std::memcpy(&d, &bits, sizeof d);
        out = std::isfinite(d) ? json{{"doubleValue", d}} : json{{"doubleValue", double_text(d)}};
        break;
      }
      case 5: {
        Path p{where, "arrayValue", -1};
        out = {{"arrayValue", list_json(m.bytes("arrayValue"), &p, depth + 1, false)}};
        break;
      }
      case 6: {
        Path p{where, "kvlistValue", -1};
        out = {{"kvlistValue", list_json(m.bytes("kvlistValue"), &p, depth + 1, true)}};
        break;
      }
      case 7: out = {{"bytesValue", text::base64_encode(m.bytes("bytesValue"))}}; break;
      default: m.skip();
    }
  }
  return out;
}

// AnyValue into the Attribute the JSON decoder would have produced.
void decode_any_value(std::string_view data, const Path* where, Attribute& out) {
  Message m(data, where);
  out.kind = AttributeKind::empty;
  out.text.clear();
  while (m.next()) {  // a oneof: the last field present wins
    switch (m.tag()) {
      case 1:
        out.kind = AttributeKind::string_value;
        out.text = m.utf8("stringValue");
        break;
      case 2:
        out.kind = AttributeKind::bool_value;
        out.text = m.varint("boolValue") != 0 ? "true" : "false";
        break;
      case 3:
        out.kind = AttributeKind::int_value;
        out.int_value = std::int64_t(m.varint("intValue"));
        out.text = std::to_string(out.int_value);
        break;
      case 4: {
        std::uint64_t bits = m.fixed64("doubleValue");
        double d;
        std::memcpy(&d, &bits, sizeof d);
        out.kind = AttributeKind::double_value;
        out.text = double_text(d);
        break;
      }
      case 5:
      case 6: {
        bool kv = m.tag() == 6;
        Path p{where, kv ? "kvlistValue" : "arrayValue", -1};
        out.kind = kv ? AttributeKind::kvlist_value : AttributeKind::array_value;
        out.text = list_json(m.bytes(kv ? "kvlistValue" : "arrayValue"), &p, 1, kv)
                       .dump(-1, ' ', false, json::error_handler_t::replace);
        break;
      }
      case 7:
        out.kind = AttributeKind::bytes_value;
        out.text = std::string(m.bytes("bytesValue"));
        break;
      default: m.skip();
    }
  }
}

// KeyValue{1: key, 2: value}.
Attribute decode_key_value(std::string_view data, const Path* where) {
  Message m(data, where);
  Attribute a;
  while (m.next()) {
    if (m.tag() == 1) {
      a.key = m.utf8("key");
    } else if (m.tag() == 2) {
      Path p{where, "value", -1};
      decode_any_value(m.bytes("value"), &p, a);
    } else {
      m.skip();
    }
  }
  return a;
}

// Resource{1: attributes}: the service.name attribute.
std::string resource_service(std::string_view data, const Path* where) {
  Message m(data, where);
  std::string service;
  std::ptrdiff_t i = 0;
  while (m.next()) {
    if (m.tag() == 1) {
      Path p{where, "attributes", i++};
      Attribute a = decode_key_value(m.bytes("attributes", p.index), &p);
      if (a.key == "service.name") service = a.text;
    } else {
      m.skip();
    }
  }
  return service;
}

std::string hex_id(std::string_view bytes) {
  return text::hex_bytes(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

// Span{1: trace_id, 2: span_id, 4: parent_span_id, 5: name, 7/8: times, 9: attributes}.
HttpExchange decode_span(std::string_view data, const Path* where, const std::string& service) {
  Message m(data, where);
  HttpExchange ex;
  std::vector<Attribute> attrs;
  while (m.next()) {
    switch (m.tag()) {
      case 1: ex.trace_id = hex_id(m.bytes("traceId")); break;
      case 2: ex.span_id = hex_id(m.bytes("spanId")); break;
      case 4: ex.parent_span_id = hex_id(m.bytes("parentSpanId")); break;
      case 5: ex.name = m.utf8("name"); break;
      case 7: ex.start_time_unix_nano = std::to_string(m.fixed64("startTimeUnixNano")); break;
      case 8: ex.end_time_unix_nano = std::to_string(m.fixed64("endTimeUnixNano")); break;
      case 9: {
        Path p{where, "attributes", std::ptrdiff_t(attrs.size())};
        attrs.push_back(decode_key_value(m.bytes("attributes", p.index), &p));
        break;
      }
      default: m.skip();
    }
  }
  apply_span_attributes(attrs, service, ex);
  return ex;
}

// ScopeSpans{1: scope, 2: spans}.
void decode_scope_spans(std::string_view data, const Path* where, const std::string& service,
                        std::vector<HttpExchange>& out) {
  Message m(data, where);
  std::ptrdiff_t i = 0;
  while (m.next()) {
    if (m.tag() == 2) {
      Path p{where, "spans", i++};
      out.push_back(decode_span(m.bytes("spans", p.index), &p, service));
    } else {
      m.skip();
    }
  }
}

// ResourceSpans{1: resource, 2: scope_spans}. Fields may come in any order,
// so the resource is read before the spans are decoded.
void decode_resource_spans(std::string_view data, const Path* where, std::vector<HttpExchange>& out) {
  Message m(data, where);
  std::string service;
  std::vector<std::string_view> scope_spans;
  while (m.next()) {
    if (m.tag() == 1) {
      Path p{where, "resource", -1};
      service = resource_service(m.bytes("resource"), &p);
    } else if (m.tag() == 2) {
      scope_spans.push_back(m.bytes("scopeSpans", std::ptrdiff_t(scope_spans.size())));
    } else {
      m.skip();
    }
  }
  for (std::size_t i = 0; i < scope_spans.size(); ++i) {
    Path p{where, "scopeSpans", std::ptrdiff_t(i)};
    decode_scope_spans(scope_spans[i], &p, service, out);
  }
}

}  // namespace

std::vector<HttpExchange> decode_traces_protobuf(std::string_view payload) {
  std::vector<HttpExchange> out;
  Message m(payload, nullptr);
  std::ptrdiff_t i = 0;
  while (m.next()) {
    if (m.tag() == 1) {
      Path p{nullptr, "resourceSpans", i++};
      decode_resource_spans(m.bytes("resourceSpans", p.index), &p, out);
    } else {
      m.skip();
    }
  }
  return out;
}

std::vector<HttpExchange> decode_traces(std::string_view payload, PayloadFormat format) {
  return format == PayloadFormat::protobuf ? decode_traces_protobuf(payload) : decode_traces_json(payload);
}

// ---- Encoding the answers ------------------------------------------------------

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "" when `hex` is not an even-length hex string (the id is then left out).
std::string id_bytes(std::string_view hex) {
  std::string out;
  if (hex.size() % 2) return out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(char(hi * 16 + lo));
  }
  return out;
}

std::string span_name(const HttpExchange& request) {
  if (!request.name.empty()) return request.name;
  return request.method.empty() ? "softprobe.inject" : "HTTP " + request.method;
}

void append_json_attribute(std::string& out, const Attribute& a) {
  out += "{\"key\":";
  text::append_json_string(out, a.key);
  switch (a.kind) {
    case AttributeKind::int_value:
      out += ",\"value\":{\"intValue\":";
      out += std::to_string(a.int_value);
      break;
    case AttributeKind::bytes_value:
      out += ",\"value\":{\"bytesValue\":";
      text::append_json_string(out, text::base64_encode(a.text));
      break;
    default: out += ",\"value\":{\"stringValue\":"; text::append_json_string(out, a.text);
  }
  out += "}}";
}

// TracesData{1: ResourceSpans{2: ScopeSpans{1: InstrumentationScope{1:
// "softprobe"}, 2: Span...}}}, written into `out` (reserved by the caller);
// add_spans(scope_spans) adds the spans.
template <class AddSpans>
std::string protobuf_traces(std::string out, AddSpans&& add_spans) {
  {  // every writer commits (is destroyed) before `out` is returned
    protozero::pbf_writer traces(out);
    protozero::pbf_writer rs(traces, 1);
    protozero::pbf_writer ss(rs, 2);
    {
      protozero::pbf_writer scope(ss, 1);
      scope.add_string(1, "softprobe");
    }
    add_spans(ss);
  }
  return out;
}

// Span{1: trace_id, 2: span_id} as bytes, each when it is hex.
void add_pb_ids(protozero::pbf_writer& span, const std::string& trace_id, const std::string& span_id) {
  if (std::string id = id_bytes(trace_id); !id.empty()) span.add_bytes(1, id);
  if (std::string id = id_bytes(span_id); !id.empty()) span.add_bytes(2, id);
}

void add_pb_attribute(protozero::pbf_writer& span, const Attribute& a) {
  protozero::pbf_writer kv(span, 9);
  kv.add_string(1, a.key);
  protozero::pbf_writer v(kv, 2);
  switch (a.kind) {
    case AttributeKind::int_value: v.add_int64(3, a.int_value); break;
    case AttributeKind::bytes_value: v.add_bytes(7, a.text); break;
    default: v.add_string(1, a.text);
  }
}

}  // namespace

std::string encode_inject_response(const HttpExchange& request, const Response& response, PayloadFormat format) {
  std::vector<Attribute> attrs = response_attributes(response.status, response.headers, response.body);
  std::string name = span_name(request);
  std::string out;
  if (format == PayloadFormat::json) {
    out.reserve(256 + response.body.size());
    out += R"({"resourceSpans":[{"scopeSpans":[{"scope":{"name":"softprobe"},"spans":[{"traceId":)";
    text::append_json_string(out, request.trace_id);
    out += ",\"spanId\":";
    text::append_json_string(out, request.span_id);
    out += ",\"name\":";
    text::append_json_string(out, name);
    out += ",\"attributes\":[";
    for (std::size_t i = 0; i < attrs.size(); ++i) {
      if (i) out += ',';
      append_json_attribute(out, attrs[i]);
    }
    out += "]}]}]}]}";
    return out;
  }
  out.reserve(128 + response.body.size());
  return protobuf_traces(std::move(out), [&](protozero::pbf_writer& ss) {
    protozero::pbf_writer span(ss, 2);
    add_pb_ids(span, request.trace_id, request.span_id);
    span.add_string(5, name);
    for (const auto& a : attrs) add_pb_attribute(span, a);
  });
}

namespace {

// AnyValue{1: string, 3: int, 5: array, 7: bytes} inside KeyValue{1: key, 2: value}.
void add_pb_text(protozero::pbf_writer& any, const std::string& value) {
  if (text::is_valid_utf8(value)) any.add_string(1, value);
  else any.add_bytes(7, value);
}

class PbfAttributes : public SpanAttributeSink {
 public:
  explicit PbfAttributes(protozero::pbf_writer& span) : span_(span) {}
  void text(const std::string& key, const std::string& value) override {
    protozero::pbf_writer kv(span_, 9);
    kv.add_string(1, key);
    protozero::pbf_writer any(kv, 2);
    add_pb_text(any, value);
  }
  void integer(const std::string& key, std::int64_t value) override {
    protozero::pbf_writer kv(span_, 9);
    kv.add_string(1, key);
    protozero::pbf_writer any(kv, 2);
    any.add_int64(3, value);
  }
  void texts(const std::string& key, const std::vector<std::string>& values) override {
    protozero::pbf_writer kv(span_, 9);
    kv.add_string(1, key);
    protozero::pbf_writer any(kv, 2);
    protozero::pbf_writer array(any, 5);
    for (const auto& v : values) {
      protozero::pbf_writer item(array, 1);
      add_pb_text(item, v);
    }
  }

 private:
  protozero::pbf_writer& span_;
};

// A decimal Unix-nanosecond string as fixed64; false when it is not one.
bool unix_nanos(const std::string& text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    std::uint64_t next = v * 10 + std::uint64_t(c - '0');
    if (next / 10 != v) return false;  // overflow
    v = next;
  }
  out = v;
  return true;
}

}  // namespace

std::string encode_traces(const std::vector<HttpExchange>& spans, PayloadFormat format) {
  if (format == PayloadFormat::json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& ex : spans) list.push_back(exchange_to_span(ex));
    nlohmann::ordered_json doc = {
        {"resourceSpans", {{{"scopeSpans", {{{"scope", {{"name", "softprobe"}}}, {"spans", std::move(list)}}}}}}}};
    return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  return protobuf_traces(std::string(), [&](protozero::pbf_writer& ss) {
    for (const auto& ex : spans) {
      protozero::pbf_writer span(ss, 2);
      add_pb_ids(span, ex.trace_id, ex.span_id);
      if (std::string id = id_bytes(ex.parent_span_id); !id.empty()) span.add_bytes(4, id);
      span.add_string(5, span_name_of(ex));
      span.add_enum(6, ex.direction == "inbound" ? 2 : 3);  // SERVER : CLIENT
      std::uint64_t t = 0;
      if (unix_nanos(ex.start_time_unix_nano, t)) span.add_fixed64(7, t);
      if (unix_nanos(ex.end_time_unix_nano, t)) span.add_fixed64(8, t);
      PbfAttributes attrs(span);
      for_each_span_attribute(ex, attrs);
    }
  });
}

std::string encode_export_response(std::uint64_t rejected_spans, std::string_view error_message, PayloadFormat format) {
  std::string out;
  if (format == PayloadFormat::json) {
    if (!rejected_spans) return "{}";
    out = "{\"partialSuccess\":{\"rejectedSpans\":\"" + std::to_string(rejected_spans) + "\",\"errorMessage\":";
    text::append_json_string(out, error_message);
    out += "}}";
    return out;
  }
  if (!rejected_spans) return out;
  {  // the writers commit before `out` is returned
    protozero::pbf_writer response(out);
    protozero::pbf_writer partial(response, 1);
    partial.add_int64(1, std::int64_t(rejected_spans));
    partial.add_string(2, error_message.data(), error_message.size());
  }
  return out;
}

}  // namespace softprobe::core
