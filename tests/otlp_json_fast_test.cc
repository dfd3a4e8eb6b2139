// The fast OTLP JSON decoder (simdjson On-Demand, otlp_json_fast) against the
// reference decoder (nlohmann, decode_traces_json_reference): on every
// payload here, either the fast decoder declines and decode_traces_json ends
// exactly as the reference does, or both give identical exchanges. Each case
// also says whether the fast decoder must decide it itself, so a fast path
// that declined everything would fail.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "otlp/otlp_json_fast.hpp"
#include "otlp/otlp_traces.hpp"
#include "otlp_json_differential.hpp"
#include "support/atomic_file.hpp"
#include "support/errors.hpp"

using namespace softprobe::core;

namespace {

enum class Fast { decides, declines };

// The property, and who decided.
void check_payload(const std::string& payload, Fast expected) {
  INFO("payload: " << payload);
  bool accepted = false;
  std::string disagreement = sp_differential::fast_json_disagreement(payload, &accepted);
  CHECK(disagreement == "");
  CHECK(accepted == (expected == Fast::decides));
}

// The reference's outcome on `payload` (for the cases that name it).
sp_differential::Outcome reference(const std::string& payload) {
  return sp_differential::outcome_of([&] { return decode_traces_json_reference(payload); });
}

// A payload with one span whose attribute "k" has `value` (an AnyValue's JSON).
std::string with_value(const std::string& value, const std::string& key = "k") {
  return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"AB","spanId":"Cd","attributes":[{"key":")" + key +
         R"(","value":)" + value + "}]}]}]}]}";
}

// A payload whose span has `members` (JSON object members) besides its ids.
std::string with_span(const std::string& members) {
  return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"01")" + std::string(members.empty() ? "" : ",") +
         members + "}]}]}]}";
}

std::string nested_arrays(std::size_t n) { return std::string(n, '[') + std::string(n, ']'); }

std::string corpus_dir() { return std::string(SOFTPROBE_TEST_FIXTURES) + "/../../fuzz/corpus/otlp_json"; }

}  // namespace

TEST_CASE("fast OTLP JSON: the fuzz corpus and the case fixtures decode as the reference decodes them",
          "[otlp][json-fast]") {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
    ++files;
    INFO(entry.path());
    check_payload(read_file(entry.path().string()), Fast::decides);
  }
  CHECK(files >= 3);
  std::size_t traces = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SOFTPROBE_TEST_FIXTURES)) {
    if (entry.path().string().find(".case.json") == std::string::npos) continue;
    auto doc = nlohmann::json::parse(read_file(entry.path().string()));
    for (const auto& t : doc["traces"]) {
      ++traces;
      INFO(entry.path());
      check_payload(t.dump(), Fast::decides);
      check_payload(t.dump(2), Fast::decides);  // whitespace everywhere
    }
  }
  CHECK(traces >= 2);
}

TEST_CASE("fast OTLP JSON: every AnyValue kind", "[otlp][json-fast]") {
  for (const char* v : {R"({"stringValue":"x"})",
                        R"({"stringValue":""})",
                        R"({"intValue":5})",
                        R"({"intValue":"-17"})",
                        R"({"intValue":"007"})",
                        R"({"intValue":1e3})",
                        R"({"intValue":-0.0})",
                        R"({"intValue":-0})",
                        R"({"intValue":9223372036854775807})",
                        R"({"intValue":-9223372036854775808})",
                        R"({"intValue":"-9223372036854775808"})",
                        R"({"boolValue":true})",
                        R"({"boolValue":false})",
                        R"({"doubleValue":1.5})",
                        R"({"doubleValue":5})",
                        R"({"doubleValue":-0})",
                        R"({"doubleValue":-0.0})",
                        R"({"doubleValue":1e300})",
                        R"({"doubleValue":1e-400})",
                        R"({"doubleValue":-1e-400})",
                        R"({"doubleValue":0.1})",
                        R"({"doubleValue":1E2})",
                        R"({"doubleValue":123456789.125e-3})",
                        R"({"doubleValue":18446744073709551615})",
                        R"({"doubleValue":-9223372036854775808})",
                        R"({"doubleValue":2.2250738585072014e-308})",
                        R"({"doubleValue":1.7976931348623157e308})",
                        R"({"doubleValue":"NaN"})",
                        R"({"doubleValue":"Infinity"})",
                        R"({"doubleValue":"-Infinity"})",
                        R"({"bytesValue":"AAEC"})",
                        R"({"bytesValue":""})",
                        R"({"bytesValue":"aGk+"})",
                        R"({})"})
    check_payload(with_value(v), Fast::decides);
  check_payload(with_value(R"({"bytesValue":"/w=="})", "http.request.body"), Fast::decides);  // binary body
  check_payload(with_value(R"({"bytesValue":"/w=="})", "http.response.body"), Fast::decides);
  check_payload(with_value(R"({"bytesValue":"aGk-_w"})", "http.response.body"), Fast::decides);  // URL-safe alphabet
  // Refused by the reference, so declined: the reference words the error.
  for (const char* v : {R"({"stringValue":5})",
                        R"({"intValue":1.5})",
                        R"({"intValue":"1.0"})",
                        R"({"intValue":" 1"})",
                        R"({"intValue":"+1"})",
                        R"({"intValue":""})",
                        R"({"intValue":true})",
                        R"({"intValue":1e19})",
                        R"({"intValue":9223372036854775808})",
                        R"({"intValue":"9223372036854775808"})",
                        R"({"boolValue":"true"})",
                        R"({"doubleValue":"nan"})",
                        R"({"doubleValue":null})",
                        R"({"bytesValue":"***"})",
                        R"({"bytesValue":1})",
                        R"({"otherValue":1})",
                        R"({"stringValue":"a","intValue":1})",
                        R"("x")",
                        R"(null)",
                        R"([])",
                        R"({"intValue":null})"})
    check_payload(with_value(v), Fast::declines);
  // Any attribute may be binary (a header's obs-text): case files keep it as bytesValue.
  check_payload(with_value(R"({"bytesValue":"/w=="})"), Fast::decides);
  CHECK(reference(with_value(R"({"intValue":1.5})")).code == ErrorCode::invalid_case);
}

TEST_CASE("fast OTLP JSON: arrayValue and kvlistValue keep nlohmann's compact text", "[otlp][json-fast]") {
  // Keys sorted, the escapes nlohmann writes (\b \f \u0001), numbers as it writes them.
  const std::string everything =
      R"({"arrayValue":{"zextra":{"b":[1,-2,3.5,1e2,null,true,false,"s\u0001\b\f\/\u00e9"],"a":18446744073709551615,"A":-0,"é":{}},"values":[
      {"stringValue":"a\"\\\n\r\t"},{"intValue":1},{"intValue":"2"},{"intValue":3.0},{"doubleValue":1.0},{"doubleValue":7},{"doubleValue":"NaN"},
      {"boolValue":false},{"bytesValue":"AAEC"},{},{"arrayValue":{"values":[]}},{"arrayValue":{}},
      {"kvlistValue":{"values":[{"value":{"stringValue":"q"},"key":"z","other":[1]},{"key":"y"}]}}]}})";
  check_payload(with_value(everything), Fast::decides);
  check_payload(
      with_value(R"({"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{"values":[{"kvlistValue":{}}]}}}]}})"),
      Fast::decides);
  check_payload(
      with_value(R"({"arrayValue":{"values":[{"stringValue":"a=1"},{"stringValue":"b=2"},{"bytesValue":"Yz0z"}]}})",
                 "http.response.header.set-cookie"),
      Fast::decides);  // one header line per element
  for (const char* v : {R"({"arrayValue":{"values":null}})", R"({"arrayValue":{"values":{}}})", R"({"arrayValue":[]})",
                        R"({"arrayValue":{"values":[1]}})", R"({"arrayValue":{"values":[{"x":1}]}})",
                        R"({"kvlistValue":{"values":[{"value":{}}]}})", R"({"kvlistValue":{"values":[{"key":1}]}})",
                        R"({"kvlistValue":{"values":[{"key":"a","value":null}]}})",
                        R"({"arrayValue":{"values":[{"stringValue":"a","boolValue":true}]}})"})
    check_payload(with_value(v), Fast::declines);
}

TEST_CASE("fast OTLP JSON: unicode escapes, surrogate pairs and invalid text", "[otlp][json-fast]") {
  for (const char* s : {R"("\u00e9\u4e2d")", "\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"", R"("\ud83d\ude00")",
                        R"("\uD83D\uDE00")", R"("\u0000")", R"("a\u0000b")", R"("\u001f\u007f")", "\"\x7f\""})
    check_payload(with_value(std::string(R"({"stringValue":)") + s + "}"), Fast::decides);
  check_payload(with_value(R"({"stringValue":"x"})", "k\\u00e9\\ud83d\\ude00"), Fast::decides);  // escaped key
  for (const char* s : {R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")", R"("\ud800x")", R"("\udbff\udbff")",
                        R"("\u12")", R"("\x")", R"("\'")", "\"a\tb\"", "\"a\nb\"", "\"\x01\"", "\"\xff\"",
                        "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe4\xb8\""}) {
    std::string payload = with_value(std::string(R"({"stringValue":)") + s + "}");
    check_payload(payload, Fast::declines);
    CHECK(reference(payload).code == ErrorCode::invalid_json);
  }
  // Invalid text in a field nobody reads is refused all the same.
  for (const char* s : {R"("\ud800")", "\"\xff\"", "\"a\tb\""})
    check_payload(std::string(R"({"resourceSpans":[],"x":)") + s + "}", Fast::declines);
}

TEST_CASE("fast OTLP JSON: NUL bytes, syntax errors, truncation and trailing text", "[otlp][json-fast]") {
  const std::string good = with_value(R"({"stringValue":"x"})");
  check_payload(good, Fast::decides);
  std::string nul_in_string = good;
  nul_in_string.replace(nul_in_string.find("\"x\"") + 1, 1, std::string(1, '\0'));
  check_payload(nul_in_string, Fast::declines);
  CHECK(reference(nul_in_string).code == ErrorCode::invalid_json);
  check_payload(good + std::string(1, '\0'), Fast::declines);
  check_payload(std::string(1, '\0') + good, Fast::declines);
  // Every prefix of a payload: only the whole one is a document.
  for (std::size_t n = 0; n < good.size(); ++n) {
    std::string prefix = good.substr(0, n);
    INFO("prefix of " << n << " bytes");
    bool accepted = true;
    CHECK(sp_differential::fast_json_disagreement(prefix, &accepted) == "");
    CHECK_FALSE(accepted);
  }
  for (const char* p : {"",
                        " ",
                        "[]",
                        "null",
                        "5",
                        "\"x\"",
                        "{} x",
                        "{}{}",
                        "{}}",
                        "{},",
                        "{]",
                        "{\"resourceSpans\":[],}",
                        "{\"resourceSpans\" []}",
                        "{\"resourceSpans\":[] \"x\":1}",
                        "{\"x\":tru}",
                        "{\"x\":nul}",
                        "{\"x\":truex}",
                        "{\"x\":[1,]}",
                        "{\"x\":[,1]}",
                        "{\"x\":01}",
                        "{\"x\":1.}",
                        "{\"x\":.5}",
                        "{\"x\":-}",
                        "{\"x\":+1}",
                        "{\"x\":1e}",
                        "{\"x\":0x10}",
                        "{\"x\":1e400}",
                        "{\"x\":-1e400}",
                        "{\"x\":NaN}",
                        "{'x':1}",
                        "{\"x\":1 2}",
                        "{x:1}",
                        "\xef\xbb\xbf[]"})
    check_payload(p, Fast::declines);
  CHECK(reference("{\"x\":1e400}").code == ErrorCode::invalid_json);
  for (const char* p : {"{}", " {} ", "\t{\r\n}\n", "{\"resourceSpans\":[]}", "{\"resourceSpans\":null}",
                        "{\"x\":1e-400}", "{\"x\":[[],{},\"\",0,-0,0.0,true,false,null]}"})
    check_payload(p, Fast::decides);
  check_payload("\xef\xbb\xbf{}", Fast::declines);  // nlohmann skips a byte order mark; simdjson does not decide it
  CHECK(reference("\xef\xbb\xbf{}").ok);
}

TEST_CASE("fast OTLP JSON: envelope fields, nulls and field order", "[otlp][json-fast]") {
  for (const char* m :
       {R"("traceId":null,"parentSpanId":null,"name":null,"attributes":null)", R"("name":"HTTP GET")",
        R"("attributes":[],"name":"HTTP PUT")", R"("parentSpanId":"ABCDEFG")", R"("startTimeUnixNano":"123")",
        R"("startTimeUnixNano":1700000000000000000,"endTimeUnixNano":"1700000000000000001")",
        R"("startTimeUnixNano":-5)", R"("startTimeUnixNano":-0)", R"("endTimeUnixNano":18446744073709551615)",
        R"("startTimeUnixNano":"not a number")", R"("startTimeUnixNano":null)", R"("kind":3,"status":{"code":1})",
        R"("attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}},{"key":"x","extra":[{}]}])",
        R"("attributes":[{"key":"http.response.status_code","value":{"stringValue":"0404"}}])",
        R"("attributes":[{"key":"http.request.header.:method","value":{"stringValue":"PATCH"}}])",
        R"("attributes":[{"key":"sp.service.name","value":{"stringValue":""}}])"})
    check_payload(with_span(m), Fast::decides);
  for (const char* m : {R"("traceId":5)", R"("name":[])", R"("startTimeUnixNano":1.5)", R"("startTimeUnixNano":true)",
                        R"("attributes":{})", R"("attributes":[null])", R"("attributes":[{"value":{}}])",
                        R"("attributes":[{"key":null}])", R"("attributes":[{"key":"a","value":null}])"})
    check_payload(with_span(m), Fast::declines);
  // The resource's service.name applies to every span of its resourceSpans, wherever it is in the text.
  for (
      const char* p :
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"},{"name":"b","attributes":[{"key":"sp.service.name","value":{"stringValue":"own"}}]}]}],
           "resource":{"attributes":[{"key":"service.name","value":{"intValue":7}},{"key":"service.name","value":{"stringValue":"second"}}]}},
          {"scopeSpans":[{"spans":[{"name":"c"}]}]}]})",
       R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"bytesValue":"/w=="}}]},"scopeSpans":[{"spans":[{}]}]}]})",
       R"({"resourceSpans":[{"resource":null,"scopeSpans":null},{"resource":{"attributes":null,"x":1}},{"scopeSpans":[{"spans":null},{}]}]})",
       R"({"x":{"resourceSpans":5},"resourceSpans":[{"scopeSpans":[{"scope":{"name":"s"},"spans":[]}]}]})"})
    check_payload(p, Fast::decides);
  for (const char* p :
       {R"({"resourceSpans":{}})", R"({"resourceSpans":[null]})", R"({"resourceSpans":[{"resource":[]}]})",
        R"({"resourceSpans":[{"scopeSpans":[5]}]})", R"({"resourceSpans":[{"scopeSpans":[{"spans":[[]]}]}]})",
        R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"intValue":"x"}}]}}]})"})
    check_payload(p, Fast::declines);
}

TEST_CASE("fast OTLP JSON: repeated keys, which nlohmann resolves to the last, are declined",
          "[otlp][json-fast][regression]") {
  // On-Demand would read the first occurrence; the reference keeps the last.
  const std::string span = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"first","name":"last"}]}]}]})";
  check_payload(span, Fast::declines);
  auto ref = decode_traces_json_reference(span);
  REQUIRE(ref.size() == 1);
  CHECK(ref[0].name == "last");
  CHECK(decode_traces_json(span)[0].name == "last");
  for (const std::string& p :
       {std::string(R"({"resourceSpans":[],"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]}]})"),
        std::string(R"({"resourceSpans":[{"resource":{},"resource":{},"scopeSpans":[]}]})"),
        std::string(R"({"resourceSpans":[{"scopeSpans":[],"scopeSpans":[{"spans":[{}]}]}]})"),
        std::string(R"({"resourceSpans":[{"scopeSpans":[{"spans":[],"spans":[{}]}]}]})"),
        std::string(R"({"resourceSpans":[{"resource":{"attributes":[],"attributes":[]}}]})"),
        with_span(R"("spanId":"02")"), with_span(R"("attributes":[],"attributes":[])"),
        with_span(R"("startTimeUnixNano":"1","startTimeUnixNano":"2")"),
        with_span(R"("attributes":[{"key":"a","key":"b"}])"),
        with_span(R"("attributes":[{"key":"a","value":{"stringValue":"x"},"value":{"stringValue":"y"}}])"),
        with_value(R"({"stringValue":"x","stringValue":"y"})"), with_value(R"({"stringValue":5,"stringValue":"y"})"),
        with_value(R"({"arrayValue":{"values":[],"values":[{"stringValue":"y"}]}})"),
        with_value(R"({"arrayValue":{"values":[{"stringValue":"x","stringValue":"y"}]}})"),
        with_value(R"({"kvlistValue":{"values":[{"key":"a","key":"b"}]}})"),
        with_value(R"({"arrayValue":{"x":{"a":1,"a":2},"values":[]}})"),
        with_value(R"({"arrayValue":{"x":{"a":1,"\u0061":2}}})")}) {
    check_payload(p, Fast::declines);
    CHECK(reference(p).ok);  // the reference accepts them all
  }
  // A repeated key nobody reads changes nothing: decided.
  check_payload(
      R"({"x":1,"x":{"y":1,"y":2},"resourceSpans":[{"scopeSpans":[{"scope":{"name":"a","name":"b"},"spans":[{"flags":1,"flags":2}]}]}]})",
      Fast::decides);
  // kind is checked (an integer or a string), so a repeated kind is declined:
  // the reference checks the last one.
  check_payload(with_span(R"("kind":[1],"kind":2)"), Fast::declines);
  CHECK(reference(with_span(R"("kind":[1],"kind":2)")).ok);
  // And a wrong kind is declined, and refused by the reference.
  check_payload(with_span(R"("kind":1.5)"), Fast::declines);
  CHECK(!reference(with_span(R"("kind":1.5)")).ok);
  check_payload(with_span(R"("kind":"SPAN_KIND_SERVER")"), Fast::decides);
  check_payload(with_span(R"("traceId":"AAAAAGnpwoMAAAAABctiGA==","parentSpanId":"GKjqBXpZZx4=")"), Fast::decides);
}

TEST_CASE("fast OTLP JSON: 64 levels of nesting are decided, 65 are the reference's limit error",
          "[otlp][json-fast][limits]") {
  // The root object is level 1.
  check_payload(R"({"resourceSpans":[],"x":)" + nested_arrays(63) + "}", Fast::decides);
  std::string deep = R"({"resourceSpans":[],"x":)" + nested_arrays(64) + "}";
  check_payload(deep, Fast::declines);
  CHECK(reference(deep).code == ErrorCode::limit_exceeded);
  // Through arrayValues: the payload's own levels count as well.
  auto nested_values = [](std::size_t n) {
    std::string v = R"({"stringValue":"leaf"})";
    for (std::size_t i = 0; i < n; ++i) v = R"({"arrayValue":{"values":[)" + v + "]}}";
    return with_value(v);
  };
  // with_value's AnyValue is at level 10; each arrayValue adds 3 (the list object, its values array, the AnyValue).
  check_payload(nested_values(18), Fast::decides);  // 10 + 54 = 64
  std::string too_deep = nested_values(19);         // 67
  check_payload(too_deep, Fast::declines);
  CHECK(reference(too_deep).code == ErrorCode::limit_exceeded);
}

TEST_CASE("fast OTLP JSON: big integers the reference turns into doubles are left to it", "[otlp][json-fast]") {
  for (const char* v : {R"({"intValue":-9223372036854775809})", R"({"doubleValue":18446744073709551616})",
                        R"({"doubleValue":-9223372036854775809})", R"({"arrayValue":{"x":18446744073709551616}})"}) {
    std::string p = with_value(v);
    check_payload(p, Fast::declines);
    CHECK(reference(p).ok);
  }
  check_payload(R"({"resourceSpans":[],"x":123456789012345678901234567890})", Fast::declines);
  check_payload(with_span(R"("startTimeUnixNano":18446744073709551616)"), Fast::declines);  // refused by both
  CHECK(reference(with_value(R"({"intValue":-9223372036854775809})")).message.find("=20:-9223372036854775808") !=
        std::string::npos);
}

TEST_CASE("fast OTLP JSON: a payload larger than the reusable buffers decodes the same", "[otlp][json-fast][limits]") {
  std::string body(kFastJsonReusableBytes + 100, 'b');
  std::string p = with_value(R"({"stringValue":")" + body + "\"}", "http.request.body");
  check_payload(p, Fast::decides);
  check_payload(with_value(R"({"stringValue":"small after large"})"), Fast::decides);
}

TEST_CASE("fast OTLP JSON: threads decode at once, each on its own parser", "[otlp][json-fast][concurrency]") {
  std::vector<std::string> payloads;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir()))
    payloads.push_back(read_file(entry.path().string()));
  payloads.push_back(with_value(R"({"arrayValue":{"values":[{"stringValue":"a"},{"intValue":2}]}})"));
  payloads.push_back(with_span(R"("name":"a","name":"b")"));  // declined: the reference decides
  std::vector<std::string> expected;
  for (const auto& p : payloads) expected.push_back(sp_differential::exchanges_text(decode_traces_json_reference(p)));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round)
        for (std::size_t i = 0; i < payloads.size(); ++i) {
          std::size_t k = (i + std::size_t(t)) % payloads.size();
          if (sp_differential::exchanges_text(decode_traces_json(payloads[k])) != expected[k]) ++wrong;
        }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
}
