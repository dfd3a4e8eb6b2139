// The core's share of one POST /v1/inject, without HTTP: sp_store_inject_otlp
// on the payloads make_payloads.py writes (100-rule session), per call.
//
// usage: softprobe_inject_core_bench RULES.json PAYLOAD... (".pb" files are protobuf)
#define SOFTPROBE_EXPERIMENTAL 1  // the proxy OTLP API is experimental (softprobe.h)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "softprobe.h"

namespace {

std::string slurp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s RULES.json PAYLOAD...\n", argv[0]);
    return 2;
  }
  sp_store* store = nullptr;
  sp_session* session = nullptr;
  if (sp_store_new(&store) != SP_OK ||
      sp_session_new(&session, store, R"({"mode":"replay","sessionId":"bench"})", 37) != SP_OK) {
    std::fprintf(stderr, "session: %s\n", sp_last_error());
    return 1;
  }
  std::string rules = slurp(argv[1]);
  if (sp_session_set_rules(nullptr, session, rules.data(), rules.size()) != SP_OK) {
    std::fprintf(stderr, "rules: %s\n", sp_last_error());
    return 1;
  }
  for (int a = 2; a < argc; ++a) {
    std::string payload = slurp(argv[a]);
    sp_payload_format format =
        std::string(argv[a]).find(".pb") != std::string::npos ? SP_FORMAT_PROTOBUF : SP_FORMAT_JSON;
    int status = 0;
    auto run = [&](int n) {
      for (int i = 0; i < n; ++i) {
        sp_inject_result* r = nullptr;
        if (sp_store_inject_otlp(&r, store, payload.data(), payload.size(), format, format) != SP_OK) {
          std::fprintf(stderr, "%s: %s\n", argv[a], sp_last_error());
          std::exit(1);
        }
        status = sp_inject_result_http_status(r);
        sp_inject_result_free(r);
      }
    };
    run(2000);  // warm up
    const int n = 100000;
    auto start = std::chrono::steady_clock::now();
    run(n);
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / n;
    std::printf("%-28s %5zu bytes  HTTP %d  %6.2f us/call  %8.0f calls/s on one core\n", argv[a], payload.size(),
                status, us, 1e6 / us);
  }
  sp_session_free(session);
  sp_store_free(store);
}
