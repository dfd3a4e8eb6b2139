// libFuzzer target: the JSON documents a session takes besides rules and
// cases: session options, policy, auth fixtures, findInCase predicates. The
// first byte picks the document. Properties: no input fails with
// SP_E_INTERNAL; a failed mutation changes nothing (same revision, same state).
#include <softprobe.h>

#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, sp_last_error());
  std::abort();
}

void check(sp_status st, const char* what) {
  if (st == SP_E_INTERNAL || st == SP_E_OUT_OF_MEMORY) fail(what);
}

std::string state_of(sp_session* s) {
  char* out = nullptr;
  if (sp_session_state(&out, s) != SP_OK) fail("state");
  std::string text = out;
  sp_string_free(out);
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sp_store* store = [] {
    sp_store* s = nullptr;
    if (sp_store_new(&s) != SP_OK) fail("store");
    sp_set_log_level("off", 3);
    return s;
  }();
  if (size == 0) return 0;
  const char* doc = reinterpret_cast<const char*>(data) + 1;
  const std::size_t len = size - 1;
  sp_session* session = nullptr;
  switch (data[0] % 4) {
    case 0: {  // session options
      sp_status st = sp_session_new(&session, store, doc, len);
      check(st, "sp_session_new");
      if (st == SP_OK) {
        static const std::string out = "/tmp/softprobe-documents-fuzzer-" + std::to_string(getpid()) + ".case.json";
        if (sp_session_close(nullptr, session, out.data(), out.size()) != SP_OK) fail("close");
        std::remove(out.c_str());
        sp_session_free(session);
      }
      return 0;
    }
    case 1:
    case 2: {  // policy, auth fixtures
      static const char kCase[] =
          R"({"version":"1.0.0","caseId":"c","traces":[{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"051581bf3cb55c13","attributes":[{"key":"url.host","value":{"stringValue":"a.test"}},{"key":"http.response.status_code","value":{"intValue":200}}]}]}]}]}]})";
      if (sp_session_new(&session, store, nullptr, 0) != SP_OK) fail("session");
      if (sp_session_load_case(nullptr, session, kCase, sizeof kCase - 1) != SP_OK) fail("case");
      const std::uint64_t rev = sp_session_revision(session);
      const std::string before = state_of(session);
      uint64_t produced = 0;
      sp_status st = data[0] % 4 == 1 ? sp_session_set_policy(&produced, session, doc, len)
                                      : sp_session_set_auth_fixtures(&produced, session, doc, len);
      check(st, "setter");
      if (st == SP_OK && produced != rev + 1) fail("the setter reported a wrong revision");
      if (st != SP_OK && (sp_session_revision(session) != rev || state_of(session) != before))
        fail("a failed mutation changed the session");
      sp_session_close(nullptr, session, nullptr, 0);
      sp_session_free(session);
      return 0;
    }
    default: {  // findInCase predicate
      static const char kCase[] =
          R"({"version":"1.0.0","caseId":"c","traces":[{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"051581bf3cb55c13","attributes":[{"key":"url.host","value":{"stringValue":"a.test"}},{"key":"url.path","value":{"stringValue":"/p"}},{"key":"http.response.status_code","value":{"intValue":200}}]}]}]}]}]})";
      if (sp_session_new(&session, store, nullptr, 0) != SP_OK) fail("session");
      if (sp_session_load_case(nullptr, session, kCase, sizeof kCase - 1) != SP_OK) fail("case");
      char* out = nullptr;
      sp_status st = sp_session_find_in_case(&out, session, doc, len);
      check(st, "find_in_case");
      sp_string_free(out);
      out = nullptr;
      check(sp_session_find_all_in_case(&out, session, doc, len), "find_all_in_case");
      sp_string_free(out);
      sp_session_close(nullptr, session, nullptr, 0);
      sp_session_free(session);
      return 0;
    }
  }
}
