#include "otlp/span_mapping.hpp"

#include <algorithm>
#include <string_view>

#include "support/text.hpp"

namespace softprobe::core {

namespace {

constexpr std::string_view kReqHeader = "http.request.header.";
constexpr std::string_view kRespHeader = "http.response.header.";

// The values of each header name, in order, names lowercase and sorted.
std::vector<std::pair<std::string, std::vector<std::string>>> grouped_headers(const Headers& headers) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& [name, value] : headers) {
    std::string lower = text::to_lower(name);
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == lower; });
    if (it == out.end()) out.emplace_back(std::move(lower), std::vector<std::string>{value});
    else it->second.push_back(value);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

// A header attribute read back: an arrayValue gives one header line per
// string element; anything else is one line (a legacy ", "-joined value
// stays as it is: it cannot be split safely).
void add_header_lines(Headers& headers, std::string name, const Attribute& a) {
  if (a.kind == AttributeKind::array_value) {
    auto doc = nlohmann::json::parse(a.text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object() && doc.contains("values") && doc["values"].is_array()) {
      for (const auto& item : doc["values"]) {
        if (item.is_object() && item.contains("stringValue") && item["stringValue"].is_string())
          headers.emplace_back(name, item["stringValue"].get<std::string>());
        else if (item.is_object() && item.contains("bytesValue") && item["bytesValue"].is_string()) {
          std::string bytes;
          if (text::base64_decode(item["bytesValue"].get<std::string>(), bytes)) headers.emplace_back(name, bytes);
        }
      }
      return;
    }
  }
  headers.emplace_back(std::move(name), a.text);
}

// Headers joined with ", " per name, sorted by name: the inject answer's form
// (proxies read one string per header name).
std::vector<std::pair<std::string, std::string>> joined_headers(const Headers& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : headers) {
    std::string lower = text::to_lower(name);
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == lower; });
    if (it == out.end()) out.emplace_back(std::move(lower), value);
    else it->second += ", " + value;
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

void apply_span_attributes(const std::vector<Attribute>& attrs, const std::string& resource_service, HttpExchange& ex) {
  for (const auto& a : attrs) {
    const std::string& k = a.key;
    if (k == "sp.session.id") ex.session_id = a.text;
    else if (k == "sp.traffic.direction") ex.direction = a.text;
    else if (k == "sp.span.type") ex.span_type = a.text;
    else if (k == "sp.service.name") ex.service = a.text;
    else if (k == "url.host") ex.host = a.text;
    else if (k == "url.path") ex.path = a.text;
    else if (k == "url.query") ex.query = a.text;
    else if (k == "url.full") ex.url_full = a.text;
    else if (k == "url.scheme") ex.scheme = a.text;
    else if (k == "http.request.method") ex.method = a.text;
    else if (k == "http.request.body") ex.request_body = a.text;
    else if (k == "http.response.body") ex.response_body = a.text;
    else if (k == "http.response.status_code") {
      if (a.kind == AttributeKind::int_value) ex.status = int(a.int_value);
      else if (a.kind == AttributeKind::string_value && !a.text.empty() &&
               std::all_of(a.text.begin(), a.text.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
               a.text.size() < 10)
        ex.status = std::stoi(a.text);
      else ex.tags.emplace_back(k, a.text);
    } else if (text::starts_with(k, kReqHeader) && k.size() > kReqHeader.size() && k[kReqHeader.size()] == ':') {
      // An HTTP/2 pseudo-header (Envoy's :method, :path, :authority,
      // :scheme): not a header line a client may see; kept as written, and
      // the request's fields fall back on it below.
      ex.tags.emplace_back(k, a.text);
    } else if (text::starts_with(k, kRespHeader) && k.size() > kRespHeader.size() && k[kRespHeader.size()] == ':') {
      ex.tags.emplace_back(k, a.text);  // :status
    } else if (text::starts_with(k, kReqHeader)) {
      add_header_lines(ex.request_headers, text::to_lower(std::string_view(k).substr(kReqHeader.size())), a);
    } else if (text::starts_with(k, kRespHeader)) {
      add_header_lines(ex.response_headers, text::to_lower(std::string_view(k).substr(kRespHeader.size())), a);
    } else {
      ex.tags.emplace_back(k, a.text);
    }
  }
  if (ex.service.empty()) ex.service = resource_service;
  // Envoy reports the request in pseudo-headers; proxies name spans "HTTP GET".
  auto pseudo = [&](std::string_view key) -> const std::string* {
    for (const auto& [k, v] : ex.tags)
      if (k == key) return &v;
    return nullptr;
  };
  if (ex.method.empty())
    if (const std::string* v = pseudo("http.request.header.:method")) ex.method = *v;
  if (ex.path.empty())
    if (const std::string* v = pseudo("http.request.header.:path"))
      ex.path = *v;  // "?query" is split by canonicalization
  if (ex.host.empty())
    if (const std::string* v = pseudo("http.request.header.:authority")) ex.host = *v;
  if (ex.scheme.empty())
    if (const std::string* v = pseudo("http.request.header.:scheme")) ex.scheme = *v;
  if (!ex.status)
    if (const std::string* v = pseudo("http.response.header.:status");
        v && v->size() == 3 && std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; }))
      ex.status = std::stoi(*v);
  if (ex.method.empty() && text::starts_with(ex.name, "HTTP ")) ex.method = ex.name.substr(5);
}

void for_each_span_attribute(const HttpExchange& ex, SpanAttributeSink& sink) {
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty()) sink.text(key, value);
  };
  add("sp.session.id", ex.session_id);
  add("sp.traffic.direction", ex.direction);
  add("sp.span.type", ex.span_type);
  add("sp.service.name", ex.service);
  add("url.scheme", ex.scheme);
  add("url.host", ex.host);
  add("url.path", ex.path);
  add("url.query", ex.query);
  add("url.full", ex.url_full);
  add("http.request.method", ex.method);
  auto headers = [&](std::string_view prefix, const Headers& lines) {
    for (const auto& [name, values] : grouped_headers(lines)) {
      std::string key = std::string(prefix) + name;
      if (values.size() == 1) sink.text(key, values.front());
      else sink.texts(key, values);
    }
  };
  headers(kReqHeader, ex.request_headers);
  // A request without a body gets no body attribute (the reference writes none).
  if (!ex.request_body.empty()) sink.text("http.request.body", ex.request_body);
  // Whatever part of a response the span has is written (nothing is lost).
  if (ex.status) sink.integer("http.response.status_code", *ex.status);
  headers(kRespHeader, ex.response_headers);
  if (ex.status || !ex.response_body.empty()) sink.text("http.response.body", ex.response_body);
  for (const auto& [key, value] : ex.tags) sink.text(key, value);
}

namespace {

// The OTLP JSON form of the attributes (case files).
class JsonAttributes : public SpanAttributeSink {
 public:
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  void text(const std::string& key, const std::string& value) override { list.push_back(string_attribute(key, value)); }
  void integer(const std::string& key, std::int64_t value) override { list.push_back(int_attribute(key, value)); }
  // OpenTelemetry's http.*.header.<key> are string arrays, so two Set-Cookie lines stay two.
  void texts(const std::string& key, const std::vector<std::string>& values) override {
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    for (const auto& v : values) items.push_back(string_attribute("", v)["value"]);
    list.push_back({{"key", key}, {"value", {{"arrayValue", {{"values", std::move(items)}}}}}});
  }
};

}  // namespace

std::string span_name_of(const HttpExchange& ex) { return ex.name.empty() ? "HTTP " + ex.method : ex.name; }

nlohmann::ordered_json exchange_to_span(const HttpExchange& ex) {
  using nlohmann::ordered_json;
  JsonAttributes attrs;
  for_each_span_attribute(ex, attrs);

  ordered_json span;
  span["traceId"] = ex.trace_id;
  span["spanId"] = ex.span_id;
  if (!ex.parent_span_id.empty()) span["parentSpanId"] = ex.parent_span_id;
  span["name"] = span_name_of(ex);
  span["kind"] = ex.direction == "inbound" ? 2 : 3;  // SERVER : CLIENT
  if (!ex.start_time_unix_nano.empty()) span["startTimeUnixNano"] = ex.start_time_unix_nano;
  if (!ex.end_time_unix_nano.empty()) span["endTimeUnixNano"] = ex.end_time_unix_nano;
  span["attributes"] = std::move(attrs.list);
  return span;
}

std::vector<Attribute> response_attributes(int status, const Headers& headers, const std::string& body) {
  std::vector<Attribute> out;
  Attribute code;
  code.key = "http.response.status_code";
  code.kind = AttributeKind::int_value;
  code.int_value = status;
  code.text = std::to_string(status);
  out.push_back(std::move(code));
  for (auto& [name, value] : joined_headers(headers)) {
    Attribute h;
    h.key = std::string(kRespHeader) + name;
    h.kind = AttributeKind::string_value;
    h.text = std::move(value);
    out.push_back(std::move(h));
  }
  Attribute b;
  b.key = "http.response.body";
  b.kind = text::is_valid_utf8(body) ? AttributeKind::string_value : AttributeKind::bytes_value;
  b.text = body;
  out.push_back(std::move(b));
  return out;
}

}  // namespace softprobe::core
