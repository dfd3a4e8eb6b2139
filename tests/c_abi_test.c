/* Uses only include/softprobe.h, compiled as C: the ABI is usable from C. */
#include <softprobe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0, checks = 0;
#define OPTIONS "{\"mode\":\"replay\",\"policy\":{\"externalHttp\":\"strict\"}}"

#define CHECK(cond)                                                   \
  do {                                                                \
    ++checks;                                                         \
    if (!(cond)) {                                                    \
      ++failures;                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

static sp_str S(const char *s) {
  sp_str out;
  out.data = s;
  out.len = strlen(s);
  return out;
}

static int contains(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

int main(void) {
  sp_store *store = NULL;
  sp_session *session = NULL, *again = NULL;
  sp_decision *d = NULL;
  char *json = NULL;
  const char *rules =
      "{\"version\":1,\"rules\":[{\"name\":\"users\",\"when\":{\"method\":\"GET\",\"host\":\"api.test\",\"path\":\"/users\"},"
      "\"then\":{\"action\":\"mock\",\"response\":{\"status\":200,\"headers\":{\"content-type\":\"application/json\"},"
      "\"body\":\"[]\"}}}]}";
  sp_request req = SP_REQUEST_INIT;
  sp_header hdr;

  CHECK(sp_version_number() == SOFTPROBE_VERSION_NUMBER);
  CHECK(strcmp(sp_version_string(), SOFTPROBE_VERSION_STRING) == 0);
  CHECK(strcmp(sp_last_error(), "") == 0);
  CHECK(strcmp(sp_status_name(SP_E_INVALID_RULE), "SP_E_INVALID_RULE") == 0);
  /* Pinned values. */
  CHECK(SP_OK == 0 && SP_E_INVALID_ARGUMENT == -1 && SP_E_INVALID_RULE == -4 && SP_E_UNKNOWN_SESSION == -7 &&
        SP_E_INTERNAL == -99);

  CHECK(sp_store_new(&store) == SP_OK);
  /* JSON arguments are (pointer, length): a NUL inside is an error, not the end. */
  {
    sp_session *bad = NULL;
    CHECK(sp_session_new(&bad, store, "{}\0garbage", 10) == SP_E_INVALID_JSON);
    CHECK(bad == NULL);
    CHECK(contains(sp_last_error(), "NUL byte at line 1, column 3 (byte 2)"));
    CHECK(sp_session_new(&bad, store, "{\"mode\":\"generate\"}xyz", 19) == SP_OK); /* only 19 bytes are read */
    CHECK(strcmp(sp_session_mode(bad), "generate") == 0);
    CHECK(sp_session_close(NULL, bad, "/nonexistent-dir/x.case.json") == SP_E_IO); /* stays open */
    CHECK(sp_session_close(NULL, bad, "c_abi_test_generate.case.json") == SP_OK);
    remove("c_abi_test_generate.case.json");
    sp_session_free(bad);
    CHECK(sp_session_new(&bad, store, NULL, 0) == SP_OK); /* defaults */
    CHECK(strcmp(sp_session_mode(bad), "replay") == 0);
    CHECK(sp_session_close(NULL, bad, NULL) == SP_OK);
    sp_session_free(bad);
  }
  CHECK(sp_session_new(&session, store, OPTIONS, strlen(OPTIONS)) == SP_OK);
  CHECK(strlen(sp_session_id(session)) == 32);
  CHECK(strcmp(sp_session_mode(session), "replay") == 0);
  CHECK(sp_session_revision(session) == 0);

  /* A bad rules document: precise error, nothing changed. */
  CHECK(sp_session_set_rules(NULL, session, "{\"rules\":[{\"then\":{\"action\":\"replay\"}}]}", 40) == SP_E_INVALID_RULE);
  CHECK(contains(sp_last_error(), "rules[0].then.action"));
  CHECK(contains(sp_last_error_details(), "\"ruleIndex\":0"));
  CHECK(sp_session_set_rules(NULL, session, "{not json", 9) == SP_E_INVALID_JSON);
  CHECK(sp_session_revision(session) == 0);

  CHECK(sp_session_set_rules(NULL, session, "{}\0{", 4) == SP_E_INVALID_JSON);
  CHECK(sp_session_set_policy(NULL, session, "{\"externalHttp\":\"strict\"}\0", 27) == SP_E_INVALID_JSON);
  CHECK(sp_session_set_rules(NULL, session, "{\"version\":1,\"rules\":[{\"priority\":1e999999,\"then\":{\"action\":\"mock\"}}]}", 70) ==
        SP_E_INVALID_JSON);
  CHECK(contains(sp_last_error(), "line 1, column"));
  CHECK(sp_session_revision(session) == 0);

  {
    uint64_t revision = 77;
    CHECK(sp_session_set_rules(&revision, session, rules, strlen(rules)) == SP_OK);
    CHECK(revision == 1);
    revision = 77;
    CHECK(sp_session_set_rules(&revision, session, "[", 1) == SP_E_INVALID_JSON);
    CHECK(revision == 77); /* untouched on failure */
  }
  CHECK(sp_session_revision(session) == 1);
  CHECK(sp_session_get_rules(&json, session) == SP_OK);
  CHECK(contains(json, "\"users\""));
  sp_string_free(json);

  /* A hit. */
  req.method = S("GET");
  req.host = S("api.test");
  req.path = S("/users");
  CHECK(sp_session_decide(&d, session, &req) == SP_OK);
  CHECK(sp_decision_outcome(d) == SP_OUTCOME_MOCK);
  CHECK(sp_decision_status(d) == 200);
  CHECK(sp_decision_body(d).len == 2 && memcmp(sp_decision_body(d).data, "[]", 2) == 0);
  CHECK(sp_decision_header_count(d) == 1);
  hdr = sp_decision_header(d, 0);
  CHECK(hdr.name.len == 12 && memcmp(hdr.name.data, "content-type", 12) == 0);
  CHECK(sp_decision_header(d, 5).name.data == NULL);
  CHECK(strcmp(sp_decision_rule(d), "users") == 0);
  CHECK(!sp_decision_is_strict_miss(d));
  sp_decision_free(d);

  /* A strict miss, with its explanation. */
  req.path = S("/user");
  CHECK(sp_session_decide(&d, session, &req) == SP_OK);
  CHECK(sp_decision_outcome(d) == SP_OUTCOME_ERROR);
  CHECK(sp_decision_status(d) == 599);
  CHECK(sp_decision_is_strict_miss(d));
  CHECK(sp_decision_explain(&json, d) == SP_OK);
  CHECK(contains(json, "\"nearMiss\""));
  CHECK(contains(json, "closest rule \\\"users\\\""));
  sp_string_free(json);
  sp_decision_free(d);

  /* Bad request structs are refused, not crashed on. */
  req.version = 99;
  CHECK(sp_session_decide(&d, session, &req) == SP_E_INVALID_ARGUMENT);
  CHECK(contains(sp_last_error(), "SP_REQUEST_INIT"));
  req.version = SP_REQUEST_VERSION;
  CHECK(sp_session_decide(&d, NULL, &req) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_decide(&d, session, NULL) == SP_E_INVALID_ARGUMENT);

  CHECK(sp_session_stats(&json, session) == SP_OK);
  CHECK(contains(json, "\"strictMisses\":1"));
  CHECK(contains(json, "\"injectedSpans\":2"));
  sp_string_free(json);

  /* Another handle to the same session; unknown ids. */
  CHECK(sp_store_get_session(&again, store, sp_session_id(session)) == SP_OK);
  CHECK(sp_session_revision(again) == 1);
  sp_session_free(again);
  again = NULL;
  CHECK(sp_store_get_session(&again, store, "nope") == SP_E_UNKNOWN_SESSION);
  CHECK(again == NULL);
  CHECK(contains(sp_last_error(), "unknown session \"nope\""));

  /* findInCase through the ABI. */
  {
    const char *c = "{\"version\":\"1.0.0\",\"caseId\":\"c\",\"traces\":[{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
                    "{\"traceId\":\"t\",\"spanId\":\"s1\",\"attributes\":["
                    "{\"key\":\"url.host\",\"value\":{\"stringValue\":\"api.test\"}},"
                    "{\"key\":\"url.path\",\"value\":{\"stringValue\":\"/a\"}},"
                    "{\"key\":\"http.request.method\",\"value\":{\"stringValue\":\"GET\"}},"
                    "{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"200\"}},"
                    "{\"key\":\"http.response.body\",\"value\":{\"stringValue\":\"A\"}}]},"
                    "{\"traceId\":\"t\",\"spanId\":\"s2\",\"attributes\":["
                    "{\"key\":\"url.host\",\"value\":{\"stringValue\":\"api.test\"}},"
                    "{\"key\":\"url.path\",\"value\":{\"stringValue\":\"/b\"}},"
                    "{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":201}}]}]}]}]}]}";
    CHECK(sp_session_find_in_case(&json, session, "{}", strlen("{}")) == SP_E_INVALID_ARGUMENT); /* nothing loaded yet */
    CHECK(contains(sp_last_error(), "no case is loaded"));
    CHECK(sp_session_load_case(NULL, session, c, strlen(c)) == SP_OK);
    CHECK(sp_session_find_in_case(&json, session, "{\"path\":\"/a\"}", strlen("{\"path\":\"/a\"}")) == SP_OK);
    CHECK(contains(json, "\"body\":\"A\""));
    sp_string_free(json);
    json = NULL;
    CHECK(sp_session_find_in_case(&json, session, "{\"host\":\"api.test\"}", strlen("{\"host\":\"api.test\"}")) == SP_E_CASE_LOOKUP);
    CHECK(json == NULL);
    CHECK(contains(sp_last_error_details(), "\"spanId\":\"s1\""));
    CHECK(contains(sp_last_error_details(), "\"spanId\":\"s2\""));
    CHECK(sp_session_find_all_in_case(&json, session, "{\"host\":\"api.test\"}", strlen("{\"host\":\"api.test\"}")) == SP_OK);
    CHECK(contains(json, "\"status\":201"));
    sp_string_free(json);
    CHECK(sp_session_load_case(NULL, session, "{\"caseId\":\"x\"}", 14) == SP_E_INVALID_CASE);
    CHECK(contains(sp_last_error(), "missing required key \"version\""));
    CHECK(sp_session_load_case_file(NULL, session, "/nonexistent/x.case.json") == SP_E_IO);
    CHECK(contains(sp_last_error(), "/nonexistent/x.case.json"));
  }

  /* Fingerprint utility matches the documented definition. */
  CHECK(sp_request_fingerprint(&json, S("POST"), S("api.stripe.com"), S("/v1/payment_intents"), S("{\"amount\":4200}")) == SP_OK);
  CHECK(strcmp(json, "f64b9cd679868545") == 0);
  sp_string_free(json);

  /* A rules document nested 100,000 deep is refused, not a crash. */
  {
    size_t depth = 100000, i;
    char *deep = malloc(2 * depth + 1);
    for (i = 0; i < depth; ++i) {
      deep[i] = '[';
      deep[depth + i] = ']';
    }
    deep[2 * depth] = '\0';
    CHECK(sp_session_set_rules(NULL, session, deep, 2 * depth) == SP_E_INVALID_JSON);
    CHECK(contains(sp_last_error(), "deeper than 256 levels"));
    free(deep);
  }

  CHECK(sp_set_log_level("loud") == SP_E_INVALID_ARGUMENT);
  CHECK(sp_set_log_level("warn") == SP_OK);

  /* Close: the session leaves the store. */
  CHECK(sp_session_close(&json, session, NULL) == SP_OK);
  CHECK(strcmp(json, "") == 0); /* replay sessions write nothing */
  sp_string_free(json);
  CHECK(sp_session_decide(&d, session, &req) == SP_E_SESSION_CLOSED);
  CHECK(sp_store_list_sessions(&json, store) == SP_OK);
  CHECK(strcmp(json, "{\"sessions\":[]}") == 0);
  sp_string_free(json);

  sp_session_free(session);
  sp_store_free(store);
  sp_session_free(NULL);
  sp_store_free(NULL);
  sp_decision_free(NULL);
  sp_string_free(NULL);

  printf("c_abi_test: %d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
