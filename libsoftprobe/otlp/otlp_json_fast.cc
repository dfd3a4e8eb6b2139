#include "otlp/otlp_json_fast.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "otlp/otlp_attributes.hpp"
#include "otlp/otlp_ids.hpp"
#include "otlp/otlp_traces.hpp"
#include "otlp/span_mapping.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

namespace od = simdjson::ondemand;

// Thrown inside this file only: the reference decoder decides this payload.
struct Decline {};

template <class T>
T take(simdjson::simdjson_result<T>&& result) {
  T value;
  if (std::move(result).get(value) != simdjson::SUCCESS) throw Decline{};
  return value;
}

// ---- nlohmann's compact dump (json::dump()), for arrayValue / kvlistValue text ----

// A string as nlohmann writes it with ensure_ascii off: the two-letter escapes
// \b \t \n \f \r \" \\, other control characters as \u00xx (lowercase hex),
// everything else (valid UTF-8, as simdjson checked) as it is.
void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

// A double as nlohmann writes it ("1.0", "1e+300"): its own serializer, so
// the text cannot drift from the reference decoder's.
std::string double_json(double d) { return nlohmann::json(d).dump(); }

void append_number(std::string& out, od::number n) {
  switch (n.get_number_type()) {
    case od::number_type::signed_integer: out += std::to_string(n.get_int64()); break;
    case od::number_type::unsigned_integer: out += std::to_string(n.get_uint64()); break;
    case od::number_type::floating_point_number: out += double_json(n.get_double()); break;
  }
}

// One member of an object being dumped; nlohmann's objects are std::maps, so
// they are written sorted by key (bytewise).
struct Member {
  std::string key;
  std::string json;
};

void append_sorted(std::vector<Member>& members, std::string& out) {
  std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) { return a.key < b.key; });
  out.push_back('{');
  for (std::size_t i = 0; i < members.size(); ++i) {
    // A repeated key: nlohmann keeps the last value; this decoder does not choose.
    if (i && members[i].key == members[i - 1].key) throw Decline{};
    if (i) out.push_back(',');
    append_string(out, members[i].key);
    out.push_back(':');
    out += members[i].json;
  }
  out.push_back('}');
}

// ---- The decoder ----------------------------------------------------------------

// Walks the whole document once, in text order. Every value is read (an
// ignored field is still checked, so a document the reference refuses is
// never accepted here), every container counts towards kMaxOtlpNesting, and
// a known key seen twice in one object declines.
class Decoder {
 public:
  explicit Decoder(std::vector<HttpExchange>& out) : out_(out) {}

  void traces(od::document& doc) {
    od::object root = take(doc.get_object());  // not an object: the reference words the error
    Level level(*this);
    unsigned seen = 0;
    for (auto member : root) {
      od::field field = take(std::move(member));
      std::string_view key = take(field.unescaped_key());
      od::value& value = field.value();
      if (key == "resourceSpans") {
        once(seen, 1);
        if (!is_null(value)) each_element(value, [&](od::value& rs) { resource_spans(rs); });
      } else {
        check(value);
      }
    }
    // "{...} {...}" or "{...}}": On-Demand stops at the root's end; the reference refuses the rest.
    const char* rest = nullptr;
    if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) throw Decline{};
  }

 private:
  // One level of nesting, for the duration of a container.
  struct Level {
    explicit Level(Decoder& d) : d_(d) {
      if (++d_.depth_ > kMaxOtlpNesting) throw Decline{};
    }
    ~Level() { --d_.depth_; }
    Level(const Level&) = delete;
    Level& operator=(const Level&) = delete;

   private:
    Decoder& d_;
  };

  static void once(unsigned& seen, unsigned bit) {
    if (seen & bit) throw Decline{};
    seen |= bit;
  }

  // True for a JSON null, checked to its last letter.
  static bool is_null(od::value& v) {
    if (take(v.type()) != od::json_type::null) return false;
    if (!take(v.is_null())) throw Decline{};
    return true;
  }

  template <class Fn>
  void each_field(od::value& v, Fn&& fn) {
    od::object object = take(v.get_object());
    Level level(*this);
    for (auto member : object) {
      od::field field = take(std::move(member));
      std::string_view key = take(field.unescaped_key());
      fn(key, field.value());
    }
  }

  template <class Fn>
  void each_element(od::value& v, Fn&& fn) {
    od::array array = take(v.get_array());
    Level level(*this);
    for (auto element : array) {
      od::value value = take(std::move(element));
      fn(value);
    }
  }

  // A value nobody reads: checked as the reference's parser checks it.
  void check(od::value& v) {
    switch (take(v.type())) {
      case od::json_type::object: each_field(v, [&](std::string_view, od::value& m) { check(m); }); break;
      case od::json_type::array: each_element(v, [&](od::value& e) { check(e); }); break;
      case od::json_type::string: take(v.get_string()); break;  // escapes, surrogate pairs
      case od::json_type::number: take(v.get_number()); break;  // grammar; infinite or beyond 64 bits declines
      case od::json_type::boolean: take(v.get_bool()); break;
      case od::json_type::null:
        if (!is_null(v)) throw Decline{};
        break;
    }
  }

  // A span's kind: an integer, a string or null (the walker's rule).
  void kind(od::value& v) {
    switch (take(v.type())) {
      case od::json_type::string: take(v.get_string()); break;
      case od::json_type::null:
        if (!is_null(v)) throw Decline{};
        break;
      case od::json_type::number: {
        od::number_type t = take(v.get_number_type());
        if (t != od::number_type::signed_integer && t != od::number_type::unsigned_integer) throw Decline{};
        take(v.get_number());
        break;
      }
      default: throw Decline{};
    }
  }

  // Any JSON value as nlohmann's dump() writes it.
  void dump(od::value& v, std::string& out) {
    switch (take(v.type())) {
      case od::json_type::object: {
        std::vector<Member> members;
        each_field(v, [&](std::string_view key, od::value& m) {
          Member member{std::string(key), {}};
          dump(m, member.json);
          members.push_back(std::move(member));
        });
        append_sorted(members, out);
        break;
      }
      case od::json_type::array: {
        out.push_back('[');
        bool first = true;
        each_element(v, [&](od::value& e) {
          if (!first) out.push_back(',');
          first = false;
          dump(e, out);
        });
        out.push_back(']');
        break;
      }
      case od::json_type::string: append_string(out, take(v.get_string())); break;
      case od::json_type::number: append_number(out, take(v.get_number())); break;
      case od::json_type::boolean: out += take(v.get_bool()) ? "true" : "false"; break;
      case od::json_type::null:
        if (!is_null(v)) throw Decline{};
        out += "null";
        break;
    }
  }

  static std::string string_or_empty(od::value& v) {
    if (is_null(v)) return {};
    return std::string(take(v.get_string()));
  }

  // startTimeUnixNano / endTimeUnixNano: a decimal string (kept as it is) or
  // an integer (its decimal text), as the reference's json_time.
  static std::string time_text(od::value& v) {
    switch (take(v.type())) {
      case od::json_type::null:
        if (!is_null(v)) throw Decline{};
        return {};
      case od::json_type::string: return std::string(take(v.get_string()));
      case od::json_type::number: {
        od::number n = take(v.get_number());
        if (n.is_int64()) return std::to_string(n.get_int64());
        if (n.is_uint64()) return std::to_string(n.get_uint64());
        throw Decline{};  // a float: refused by the reference
      }
      default: throw Decline{};
    }
  }

  // intValue as the reference's parse_int: an integer in the int64 range, an
  // integral double in it, or a decimal string. `dump`, when given, gets the
  // JSON value as nlohmann would write it back.
  static std::int64_t int_value(od::value& v, std::string* dump) {
    switch (take(v.type())) {
      case od::json_type::number: {
        od::number n = take(v.get_number());
        if (n.is_double()) {
          double d = n.get_double();
          if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) throw Decline{};
          if (d != double(std::int64_t(d))) throw Decline{};
          if (dump) *dump += double_json(d);
          return std::int64_t(d);
        }
        if (!n.is_int64()) throw Decline{};  // above INT64_MAX: refused by the reference
        if (dump) *dump += std::to_string(n.get_int64());
        return n.get_int64();
      }
      case od::json_type::string: {
        std::string_view s = take(v.get_string());
        std::int64_t out = 0;
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) throw Decline{};
        if (dump) append_string(*dump, s);
        return out;
      }
      default: throw Decline{};
    }
  }

  // doubleValue: a number (the attribute text is the double as nlohmann
  // writes it, integers converted first) or one of proto3's "NaN",
  // "Infinity", "-Infinity". `dump` gets the value as written.
  static std::string double_text(od::value& v, std::string* dump) {
    switch (take(v.type())) {
      case od::json_type::number: {
        od::number n = take(v.get_number());
        if (dump) append_number(*dump, n);
        return double_json(n.as_double());
      }
      case od::json_type::string: {
        std::string_view s = take(v.get_string());
        if (s != "NaN" && s != "Infinity" && s != "-Infinity") throw Decline{};
        if (dump) append_string(*dump, s);
        return std::string(s);
      }
      default: throw Decline{};
    }
  }

  // An arrayValue / kvlistValue object, validated as the reference validates
  // it (every element an AnyValue / KeyValue), and its compact JSON text.
  void list_dump(od::value& v, bool kvlist, std::string& out) {
    std::vector<Member> members;
    each_field(v, [&](std::string_view key, od::value& m) {
      Member member{std::string(key), {}};
      if (key == "values") {
        if (take(m.type()) != od::json_type::array) throw Decline{};
        member.json.push_back('[');
        bool first = true;
        each_element(m, [&](od::value& e) {
          if (!first) member.json.push_back(',');
          first = false;
          if (kvlist) key_value_dump(e, member.json);
          else any_value_dump(e, member.json);
        });
        member.json.push_back(']');
      } else {
        dump(m, member.json);
      }
      members.push_back(std::move(member));
    });
    append_sorted(members, out);
  }

  // One AnyValue inside a list: checked, and written as nlohmann writes it.
  void any_value_dump(od::value& v, std::string& out) {
    std::vector<Member> members;
    each_field(v, [&](std::string_view key, od::value& m) {
      if (!members.empty()) throw Decline{};  // more than one member: refused by the reference
      Member member{std::string(key), {}};
      if (key == "stringValue") {
        append_string(member.json, take(m.get_string()));
      } else if (key == "intValue") {
        int_value(m, &member.json);
      } else if (key == "boolValue") {
        member.json += take(m.get_bool()) ? "true" : "false";
      } else if (key == "doubleValue") {
        double_text(m, &member.json);
      } else if (key == "bytesValue") {
        std::string_view b64 = take(m.get_string());
        std::string bytes;
        if (!text::base64_decode(b64, bytes)) throw Decline{};
        append_string(member.json, b64);
      } else if (key == "arrayValue" || key == "kvlistValue") {
        list_dump(m, key == "kvlistValue", member.json);
      } else {
        throw Decline{};
      }
      members.push_back(std::move(member));
    });
    append_sorted(members, out);
  }

  // One KeyValue inside a kvlistValue: checked, and written.
  void key_value_dump(od::value& v, std::string& out) {
    std::vector<Member> members;
    bool has_key = false;
    each_field(v, [&](std::string_view key, od::value& m) {
      Member member{std::string(key), {}};
      if (key == "key") {
        append_string(member.json, take(m.get_string()));
        has_key = true;
      } else if (key == "value") {
        any_value_dump(m, member.json);
      } else {
        dump(m, member.json);
      }
      members.push_back(std::move(member));
    });
    if (!has_key) throw Decline{};
    append_sorted(members, out);
  }

  // One span attribute's AnyValue, as the reference's decode_any_value.
  void any_value(od::value& v, Attribute& a) {
    bool any = false;
    each_field(v, [&](std::string_view key, od::value& m) {
      if (any) throw Decline{};
      any = true;
      if (key == "stringValue") {
        a.kind = AttributeKind::string_value;
        a.text = take(m.get_string());
      } else if (key == "intValue") {
        a.kind = AttributeKind::int_value;
        a.int_value = int_value(m, nullptr);
        a.text = std::to_string(a.int_value);
      } else if (key == "boolValue") {
        a.kind = AttributeKind::bool_value;
        a.text = take(m.get_bool()) ? "true" : "false";
      } else if (key == "doubleValue") {
        a.kind = AttributeKind::double_value;
        a.text = double_text(m, nullptr);
      } else if (key == "bytesValue") {
        if (!text::base64_decode(take(m.get_string()), a.text)) throw Decline{};
        a.kind = AttributeKind::bytes_value;
      } else if (key == "arrayValue" || key == "kvlistValue") {
        bool kvlist = key == "kvlistValue";
        a.text.clear();
        list_dump(m, kvlist, a.text);
        a.kind = kvlist ? AttributeKind::kvlist_value : AttributeKind::array_value;
      } else {
        throw Decline{};
      }
    });
    if (!any) {
      a.kind = AttributeKind::empty;
      a.text.clear();
    }
  }

  std::vector<Attribute> attributes(od::value& list) {
    std::vector<Attribute> attrs;
    each_element(list, [&](od::value& kv) {
      Attribute a;
      unsigned seen = 0;
      each_field(kv, [&](std::string_view key, od::value& m) {
        if (key == "key") {
          once(seen, 1);
          a.key = take(m.get_string());
        } else if (key == "value") {
          once(seen, 2);
          any_value(m, a);
        } else {
          check(m);
        }
      });
      if (!(seen & 1)) throw Decline{};
      attrs.push_back(std::move(a));
    });
    return attrs;
  }

  // Resource: the first service.name attribute (of any kind, as text).
  std::string resource_service(od::value& v) {
    std::string service;
    if (is_null(v)) return service;
    unsigned seen = 0;
    each_field(v, [&](std::string_view key, od::value& m) {
      if (key == "attributes") {
        once(seen, 1);
        if (is_null(m)) return;
        for (auto& a : attributes(m)) {
          if (a.key == "service.name") {
            service = std::move(a.text);
            break;
          }
        }
      } else {
        check(m);
      }
    });
    return service;
  }

  void span(od::value& v) {
    HttpExchange ex;
    std::vector<Attribute> attrs;
    unsigned seen = 0;
    each_field(v, [&](std::string_view key, od::value& m) {
      if (key == "traceId") {
        once(seen, 1);
        ex.trace_id = canonical_span_id(string_or_empty(m), kTraceIdBytes);
      } else if (key == "spanId") {
        once(seen, 2);
        ex.span_id = canonical_span_id(string_or_empty(m), kSpanIdBytes);
      } else if (key == "parentSpanId") {
        once(seen, 4);
        ex.parent_span_id = canonical_span_id(string_or_empty(m), kSpanIdBytes);
      } else if (key == "name") {
        once(seen, 8);
        ex.name = string_or_empty(m);
      } else if (key == "startTimeUnixNano") {
        once(seen, 16);
        ex.start_time_unix_nano = time_text(m);
      } else if (key == "endTimeUnixNano") {
        once(seen, 32);
        ex.end_time_unix_nano = time_text(m);
      } else if (key == "kind") {
        once(seen, 128);
        kind(m);
      } else if (key == "attributes") {
        once(seen, 64);
        if (!is_null(m)) attrs = attributes(m);
      } else {
        check(m);
      }
    });
    // The resource's service.name may come after the spans in the text; it is
    // filled in by resource_spans (apply_span_attributes only uses it when
    // the span has no sp.service.name of its own).
    apply_span_attributes(attrs, std::string(), ex);
    out_.push_back(std::move(ex));
  }

  void scope_spans(od::value& v) {
    unsigned seen = 0;
    each_field(v, [&](std::string_view key, od::value& m) {
      if (key == "spans") {
        once(seen, 1);
        if (!is_null(m)) each_element(m, [&](od::value& s) { span(s); });
      } else {
        check(m);
      }
    });
  }

  void resource_spans(od::value& v) {
    const std::size_t first = out_.size();
    std::string service;
    unsigned seen = 0;
    each_field(v, [&](std::string_view key, od::value& m) {
      if (key == "resource") {
        once(seen, 1);
        service = resource_service(m);
      } else if (key == "scopeSpans") {
        once(seen, 2);
        if (!is_null(m)) each_element(m, [&](od::value& ss) { scope_spans(ss); });
      } else {
        check(m);
      }
    });
    for (std::size_t i = first; i < out_.size(); ++i)
      if (out_[i].service.empty()) out_[i].service = service;
  }

  std::vector<HttpExchange>& out_;
  std::size_t depth_ = 0;
};

// simdjson reads up to SIMDJSON_PADDING bytes past the text, so it parses a
// padded copy; the parser keeps its index buffers between documents.
struct Scratch {
  od::parser parser;
  std::string padded;
};

}  // namespace

bool decode_traces_json_fast(std::string_view payload, std::vector<HttpExchange>& out) {
  out.clear();
  thread_local Scratch reused;
  std::unique_ptr<Scratch> own;
  Scratch* scratch = &reused;
  if (payload.size() > kFastJsonReusableBytes) {
    own = std::make_unique<Scratch>();
    scratch = own.get();
  }
  scratch->padded.resize(payload.size() + simdjson::SIMDJSON_PADDING);
  if (!payload.empty()) std::memcpy(scratch->padded.data(), payload.data(), payload.size());
  std::memset(scratch->padded.data() + payload.size(), 0, simdjson::SIMDJSON_PADDING);
  try {
    od::document doc = take(scratch->parser.iterate(scratch->padded.data(), payload.size(), scratch->padded.size()));
    Decoder(out).traces(doc);
  } catch (const Decline&) {
    out.clear();
    return false;
  }
  return true;
}

}  // namespace softprobe::core
