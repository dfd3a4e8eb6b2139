// libFuzzer target: the proxy OTLP API (/v1/inject and /v1/traces) through
// the C ABI, in the format chosen at build time (SOFTPROBE_FUZZ_PROTOBUF).
// Properties: no input makes the core fail with SP_E_INTERNAL (every bad
// payload is a precise SP_E_INVALID_* / SP_E_LIMIT_EXCEEDED); a hit's
// answer decodes in the format it was written in; a failed extract records
// nothing; a remote proxy reading the input as a runtime's inject answer
// (sp_otlp_decode_inject_answer) gets a decision or a precise error, and a
// hit's answer reads back with its status. For JSON also: the fast decoder
// (simdjson On-Demand) accepts only what the reference decoder (nlohmann)
// accepts, with the same exchanges, and decode_traces_json ends as the
// reference does (tests/otlp_json_differential.hpp); a difference aborts.
#define SOFTPROBE_EXPERIMENTAL 1  // the proxy OTLP API is experimental (softprobe.h)
#include <softprobe.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "otlp/otlp_traces.hpp"
#ifndef SOFTPROBE_FUZZ_PROTOBUF
#include "otlp_json_differential.hpp"
#endif

namespace {

#ifdef SOFTPROBE_FUZZ_PROTOBUF
constexpr sp_payload_format kFormat = SP_FORMAT_PROTOBUF;
#else
constexpr sp_payload_format kFormat = SP_FORMAT_JSON;
#endif

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, sp_last_error());
  std::abort();
}

struct Fixture {
  sp_store* store = nullptr;
  sp_session* replay = nullptr;
  sp_session* capture = nullptr;
  Fixture() {
    static const char kReplay[] =
        R"({"mode":"replay","sessionId":"fuzz","policy":{"externalHttp":"strict","allowHosts":["localhost"]}})";
    static const char kCapture[] = R"({"mode":"capture","sessionId":"fuzz-capture","limits":{"maxSpans":100000}})";
    static const char kRules[] = R"({"version":1,"rules":[
      {"when":{"host":"svc57.example.com","path":"/api/57"},"then":{"action":"mock","response":{"status":200,"body":"ok"}}},
      {"when":{"pathPrefix":"/err"},"then":{"action":"error","error":{"status":503,"body":{"e":1}}}},
      {"when":{"bodyJsonPath":"$.amount","equals":42},"then":{"action":"mock","response":{"bodyBase64":"AAEC"}}}]})";
    if (sp_store_new(&store) != SP_OK || sp_session_new(&replay, store, kReplay, sizeof kReplay - 1) != SP_OK ||
        sp_session_new(&capture, store, kCapture, sizeof kCapture - 1) != SP_OK ||
        sp_session_set_rules(nullptr, replay, kRules, sizeof kRules - 1) != SP_OK)
      fail("fixture");
    sp_set_log_level("off", 3);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fx;
  const char* payload = reinterpret_cast<const char*>(data);

#ifndef SOFTPROBE_FUZZ_PROTOBUF
  if (std::string difference = sp_differential::fast_json_disagreement(std::string_view(payload, size));
      !difference.empty()) {
    std::fprintf(stderr, "fast and reference OTLP JSON decoders differ: %s\n", difference.c_str());
    std::abort();
  }
#endif

  sp_inject_result* inject = nullptr;
  sp_status st = sp_store_inject_otlp(&inject, fx.store, payload, size, kFormat, kFormat);
  if (st == SP_E_INTERNAL || st == SP_E_OUT_OF_MEMORY) fail("inject");
  if (st == SP_OK) {
    if (sp_inject_result_http_status(inject) == 200) {
      sp_str body = sp_inject_result_body(inject);
      sp_decision* answer = nullptr;
      if (sp_otlp_decode_inject_answer(&answer, body.data, body.len, kFormat) != SP_OK)
        fail("an inject answer does not read back as a decision");
      if (sp_decision_status(answer) < 100) fail("an inject answer read back without its status");
      sp_decision_free(answer);
      try {
        softprobe::core::decode_traces(std::string_view(body.data, body.len),
                                       kFormat == SP_FORMAT_PROTOBUF ? softprobe::core::PayloadFormat::protobuf
                                                                     : softprobe::core::PayloadFormat::json);
      } catch (...) {
        fail("an inject answer does not decode");
      }
    }
    sp_inject_result_free(inject);
  }

  sp_decision* answer = nullptr;
  st = sp_otlp_decode_inject_answer(&answer, payload, size, kFormat);
  if (st == SP_E_INTERNAL || st == SP_E_OUT_OF_MEMORY) fail("decode inject answer");
  if (st == SP_OK) sp_decision_free(answer);

  const std::uint64_t before = sp_session_revision(fx.capture);
  sp_extract_result* extract = nullptr;
  st = sp_store_extract_otlp(&extract, fx.store, payload, size, kFormat, kFormat);
  if (st == SP_E_INTERNAL || st == SP_E_OUT_OF_MEMORY) fail("extract");
  if (st == SP_OK) sp_extract_result_free(extract);
  if (sp_session_revision(fx.capture) != before) fail("extract changed the session revision");
  return 0;
}
