// Test payloads: OTLP TracesData built by hand, as OTLP JSON and as protobuf
// (protozero's pbf_writer; no generated code), plus a reader for the inject
// answer in both encodings that is independent of the core's decoder.
#pragma once

#include <protozero/pbf_reader.hpp>
#include <protozero/pbf_writer.hpp>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace otlp_test {

struct Attr {
  enum Kind { string, integer, boolean, bytes, dbl, array } kind = string;
  std::string key;
  std::string text;  // string and bytes values; array: the strings of a string array, '\n'-separated
  std::int64_t integer_value = 0;
  bool bool_value = false;
  double double_value = 0;

  static Attr str(std::string k, std::string v) { return {string, std::move(k), std::move(v)}; }
  static Attr i64(std::string k, std::int64_t v) {
    Attr a{integer, std::move(k), {}};
    a.integer_value = v;
    return a;
  }
  static Attr flag(std::string k, bool v) {
    Attr a{boolean, std::move(k), {}};
    a.bool_value = v;
    return a;
  }
  static Attr raw(std::string k, std::string v) { return {bytes, std::move(k), std::move(v)}; }
  static Attr real(std::string k, double v) {
    Attr a{dbl, std::move(k), {}};
    a.double_value = v;
    return a;
  }
};

struct Span {
  std::string trace_id = "5b8efff798038103d269b633813fc60c";  // hex
  std::string span_id = "051581bf3cb55c13";
  std::string parent_span_id;
  std::string name;
  std::uint64_t start_ns = 0, end_ns = 0;
  std::vector<Attr> attrs;
};

// An inject span for `session` asking for METHOD host/path.
inline Span inject_span(const std::string& session, const std::string& host, const std::string& path,
                        const std::string& method = "GET", const std::string& type = "inject") {
  Span s;
  s.name = "HTTP " + method;
  s.attrs = {Attr::str("sp.session.id", session),
             Attr::str("sp.span.type", type),
             Attr::str("sp.traffic.direction", "outbound"),
             Attr::str("url.host", host),
             Attr::str("url.path", path),
             Attr::str("http.request.method", method)};
  return s;
}

// An extract span: the request above plus a response.
inline Span extract_span(const std::string& session, const std::string& host, const std::string& path, int status,
                         const std::string& response_body, const std::string& method = "GET") {
  Span s = inject_span(session, host, path, method, "extract");
  s.attrs.push_back(Attr::str("http.request.header.accept", "application/json"));
  s.attrs.push_back(Attr::i64("http.response.status_code", status));
  s.attrs.push_back(Attr::str("http.response.header.content-type", "application/json"));
  s.attrs.push_back(Attr::str("http.response.body", response_body));
  return s;
}

inline std::string base64(const std::string& in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

inline nlohmann::json attr_json(const Attr& a) {
  nlohmann::json v;
  switch (a.kind) {
    case Attr::string: v = {{"stringValue", a.text}}; break;
    case Attr::integer: v = {{"intValue", std::to_string(a.integer_value)}}; break;  // proto3 JSON: int64 as string
    case Attr::boolean: v = {{"boolValue", a.bool_value}}; break;
    case Attr::bytes: v = {{"bytesValue", base64(a.text)}}; break;
    case Attr::dbl: v = {{"doubleValue", a.double_value}}; break;
    case Attr::array: {
      nlohmann::json values = nlohmann::json::array();
      std::size_t start = 0;
      while (start <= a.text.size()) {
        auto nl = a.text.find('\n', start);
        values.push_back({{"stringValue", a.text.substr(start, nl - start)}});
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
      v = {{"arrayValue", {{"values", values}}}};
    }
  }
  return {{"key", a.key}, {"value", v}};
}

inline std::string to_json(const std::vector<Span>& spans, const std::string& service = "") {
  nlohmann::json js = nlohmann::json::array();
  for (const auto& s : spans) {
    nlohmann::json j = {{"traceId", s.trace_id}, {"spanId", s.span_id}, {"name", s.name}, {"kind", 3}};
    if (!s.parent_span_id.empty()) j["parentSpanId"] = s.parent_span_id;
    if (s.start_ns) j["startTimeUnixNano"] = std::to_string(s.start_ns);
    if (s.end_ns) j["endTimeUnixNano"] = std::to_string(s.end_ns);
    j["attributes"] = nlohmann::json::array();
    for (const auto& a : s.attrs) j["attributes"].push_back(attr_json(a));
    js.push_back(j);
  }
  nlohmann::json rs = {{"scopeSpans", {{{"scope", {{"name", "test"}}}, {"spans", js}}}}};
  if (!service.empty())
    rs["resource"] = {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", service}}}}}}};
  return nlohmann::json{{"resourceSpans", {rs}}}.dump();
}

inline std::string hex_to_bytes(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

inline void add_attr(protozero::pbf_writer& parent, protozero::pbf_tag_type tag, const Attr& a) {
  protozero::pbf_writer kv(parent, tag);
  kv.add_string(1, a.key);
  protozero::pbf_writer v(kv, 2);
  switch (a.kind) {
    case Attr::string: v.add_string(1, a.text); break;
    case Attr::integer: v.add_int64(3, a.integer_value); break;
    case Attr::boolean: v.add_bool(2, a.bool_value); break;
    case Attr::bytes: v.add_bytes(7, a.text); break;
    case Attr::dbl: v.add_double(4, a.double_value); break;
    case Attr::array: {
      protozero::pbf_writer arr(v, 5);
      std::size_t start = 0;
      while (start <= a.text.size()) {
        auto nl = a.text.find('\n', start);
        protozero::pbf_writer item(arr, 1);
        item.add_string(1, a.text.substr(start, nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
    }
  }
}

inline std::string to_protobuf(const std::vector<Span>& spans, const std::string& service = "") {
  std::string out;
  {
    protozero::pbf_writer traces(out);
    protozero::pbf_writer rs(traces, 1);
    if (!service.empty()) {
      protozero::pbf_writer res(rs, 1);
      add_attr(res, 1, Attr::str("service.name", service));
    }
    protozero::pbf_writer ss(rs, 2);
    {
      protozero::pbf_writer scope(ss, 1);
      scope.add_string(1, "test");
    }
    for (const auto& s : spans) {
      protozero::pbf_writer span(ss, 2);
      span.add_bytes(1, hex_to_bytes(s.trace_id));
      span.add_bytes(2, hex_to_bytes(s.span_id));
      if (!s.parent_span_id.empty()) span.add_bytes(4, hex_to_bytes(s.parent_span_id));
      span.add_string(5, s.name);
      span.add_enum(6, 3);
      if (s.start_ns) span.add_fixed64(7, s.start_ns);
      if (s.end_ns) span.add_fixed64(8, s.end_ns);
      for (const auto& a : s.attrs) add_attr(span, 9, a);
    }
  }
  return out;
}

// The inject answer's first span, read independently of the core.
struct AnswerSpan {
  std::string trace_id, span_id, name;
  std::optional<std::int64_t> status;
  std::map<std::string, std::string> headers;  // http.response.header.<name> -> value
  std::string body;
  bool body_was_bytes = false;
};

inline AnswerSpan read_answer_json(const std::string& text) {
  auto doc = nlohmann::json::parse(text);
  const auto& span = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
  AnswerSpan out;
  out.trace_id = span.value("traceId", "");
  out.span_id = span.value("spanId", "");
  out.name = span.value("name", "");
  for (const auto& a : span.at("attributes")) {
    std::string key = a.at("key");
    const auto& v = a.at("value");
    if (key == "http.response.status_code") {
      const auto& iv = v.at("intValue");
      out.status = iv.is_string() ? std::stoll(iv.get<std::string>()) : iv.get<std::int64_t>();
    } else if (key.rfind("http.response.header.", 0) == 0) {
      out.headers[key.substr(21)] = v.at("stringValue");
    } else if (key == "http.response.body") {
      if (v.contains("bytesValue")) {
        out.body_was_bytes = true;
        std::string b64 = v.at("bytesValue");
        std::string decoded;
        unsigned buf = 0;
        int bits = 0;
        for (char c : b64) {
          auto pos = std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/").find(c);
          if (pos == std::string::npos) continue;
          buf = buf << 6 | unsigned(pos);
          bits += 6;
          if (bits >= 8) {
            bits -= 8;
            decoded.push_back(char((buf >> bits) & 0xff));
          }
        }
        out.body = decoded;
      } else {
        out.body = v.at("stringValue");
      }
    }
  }
  return out;
}

inline std::string to_hex(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

inline AnswerSpan read_answer_protobuf(const std::string& data) {
  AnswerSpan out;
  protozero::pbf_reader traces(data);
  if (!traces.next(1)) throw std::runtime_error("no resourceSpans");
  protozero::pbf_reader rs = traces.get_message();
  if (!rs.next(2)) throw std::runtime_error("no scopeSpans");
  protozero::pbf_reader ss = rs.get_message();
  if (!ss.next(2)) throw std::runtime_error("no span");
  protozero::pbf_reader span = ss.get_message();
  while (span.next()) {
    switch (span.tag()) {
      case 1: out.trace_id = to_hex(span.get_bytes()); break;
      case 2: out.span_id = to_hex(span.get_bytes()); break;
      case 5: out.name = span.get_string(); break;
      case 9: {
        protozero::pbf_reader kv = span.get_message();
        std::string key, text;
        std::optional<std::int64_t> iv;
        bool bytes = false;
        while (kv.next()) {
          if (kv.tag() == 1) key = kv.get_string();
          else if (kv.tag() == 2) {
            protozero::pbf_reader v = kv.get_message();
            while (v.next()) {
              if (v.tag() == 1) text = v.get_string();
              else if (v.tag() == 3) iv = v.get_int64();
              else if (v.tag() == 7) {
                text = v.get_bytes();
                bytes = true;
              } else v.skip();
            }
          } else kv.skip();
        }
        if (key == "http.response.status_code") out.status = iv;
        else if (key.rfind("http.response.header.", 0) == 0) out.headers[key.substr(21)] = text;
        else if (key == "http.response.body") {
          out.body = text;
          out.body_was_bytes = bytes;
        }
        break;
      }
      default: span.skip();
    }
  }
  return out;
}

}  // namespace otlp_test
