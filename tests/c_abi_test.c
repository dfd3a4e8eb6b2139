/* Uses only include/softprobe.h, compiled as C: the ABI is usable from C.
 * The experimental OTLP proxy API is declared only on request. */
#define SOFTPROBE_EXPERIMENTAL 1
#include <softprobe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0, checks = 0;
#define OPTIONS "{\"mode\":\"replay\",\"policy\":{\"externalHttp\":\"strict\"}}"

#define CHECK(cond)                                                            \
  do {                                                                         \
    ++checks;                                                                  \
    if (!(cond)) {                                                             \
      ++failures;                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

static sp_str S(const char *s) {
  sp_str out;
  out.data = s;
  out.len = strlen(s);
  return out;
}

static int contains(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

static const char *CASE_DOC =
    "{\"version\":\"1.0.0\",\"caseId\":\"c\",\"traces\":[{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
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

/* A copy of the last error, to compare two calls' errors. */
static char last_error_copy[4096], last_details_copy[4096];
static void keep_last_error(void) {
  strncpy(last_error_copy, sp_last_error(), sizeof last_error_copy - 1);
  strncpy(last_details_copy, sp_last_error_details(), sizeof last_details_copy - 1);
}
static int same_error_as_kept(void) {
  return strcmp(sp_last_error(), last_error_copy) == 0 && strcmp(sp_last_error_details(), last_details_copy) == 0;
}

/* Every NULL handle is SP_E_INVALID_ARGUMENT; value accessors fail closed. */
static void null_handles(void) {
  char *json = NULL;
  sp_session *s = NULL;
  sp_decision *d = NULL;
  sp_request req = SP_REQUEST_INIT;
  uint64_t revision = 5;
  sp_header h;
  sp_str body;

  /* A NULL decision reads as a refusal, never as passthrough (it was
   * SP_OUTCOME_PASSTHROUGH with status 0 before 0.1.0). */
  CHECK(sp_decision_outcome(NULL) == SP_OUTCOME_ERROR);
  CHECK(sp_decision_outcome(NULL) != SP_OUTCOME_PASSTHROUGH && sp_decision_outcome(NULL) != SP_OUTCOME_CAPTURE_ONLY);
  CHECK(sp_decision_status(NULL) == 599);
  CHECK(sp_decision_header_count(NULL) == 0);
  h = sp_decision_header(NULL, 0);
  CHECK(h.name.data == NULL && h.name.len == 0 && h.value.data == NULL);
  body = sp_decision_body(NULL);
  CHECK(body.data == NULL && body.len == 0);
  CHECK(sp_decision_latency_ms(NULL) == 0);
  CHECK(sp_decision_is_strict_miss(NULL) == 0);
  CHECK(strcmp(sp_decision_rule(NULL), "") == 0);
  CHECK(sp_decision_explain(&json, NULL) == SP_E_INVALID_ARGUMENT && json == NULL);
  CHECK(contains(sp_last_error(), "decision must not be NULL"));

  /* The experimental proxy results: a NULL inject result never says "forward". */
  CHECK(sp_inject_result_outcome(NULL) == SP_INJECT_STRICT_MISS);
  CHECK(sp_inject_result_http_status(NULL) == 500);
  CHECK(sp_inject_result_body(NULL).len == 0 && strcmp(sp_inject_result_rule(NULL), "") == 0);
  CHECK(sp_extract_result_recorded(NULL) == 0 && sp_extract_result_rejected(NULL) == 0);

  CHECK(strcmp(sp_session_id(NULL), "") == 0);
  CHECK(strcmp(sp_session_mode(NULL), "") == 0);
  CHECK(sp_session_revision(NULL) == 0);

  CHECK(sp_store_list_sessions(&json, NULL) == SP_E_INVALID_ARGUMENT);
  CHECK(contains(sp_last_error(), "store must not be NULL"));
  CHECK(sp_store_close_idle(NULL, NULL, 0) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_store_close_all(NULL, NULL) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_store_close_all_or_fallback(NULL, NULL) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_store_set_max_sessions(NULL, 3) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_store_set_capture_dir(NULL, NULL, ".", 1, NULL, 0) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_new(&s, NULL, NULL, 0) == SP_E_INVALID_ARGUMENT && s == NULL);
  CHECK(sp_store_get_session(&s, NULL, "x", 1) == SP_E_INVALID_ARGUMENT && s == NULL);
  CHECK(sp_session_set_rules(&revision, NULL, "[]", 2) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_add_rules(&revision, NULL, "[]", 2) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_set_policy(&revision, NULL, "{}", 2) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_set_auth_fixtures(&revision, NULL, "{}", 2) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_load_case(&revision, NULL, CASE_DOC, strlen(CASE_DOC)) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_load_case_file(&revision, NULL, "x.case.json", 11) == SP_E_INVALID_ARGUMENT);
  CHECK(revision == 5);
  CHECK(sp_session_get_rules(&json, NULL) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_get_rules_as_posted(&json, NULL) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_stats(&json, NULL) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_state(&json, NULL) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_strict_misses(&json, NULL) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_find_in_case(&json, NULL, NULL, 0) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_find_all_in_case(&json, NULL, NULL, 0) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_decide(&d, NULL, &req) == SP_E_INVALID_ARGUMENT && d == NULL);
  CHECK(sp_session_record(NULL, &req, NULL, 0, 0) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_close(NULL, NULL, NULL, 0) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_export_capture(&json, NULL) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_close_export(&json, NULL) == SP_E_INVALID_ARGUMENT);
  CHECK(json == NULL);
}

/* sp_abi_compatible / SOFTPROBE_CHECK_VERSION: the documented 0.x policy. */
static void version_range(void) {
  CHECK(SOFTPROBE_CHECK_VERSION() == 1);
  CHECK(sp_abi_compatible(SOFTPROBE_VERSION_MAJOR, SOFTPROBE_VERSION_MINOR) == 1);
  CHECK(sp_version_number() / 10000 == 0);                       /* the policy below is the 0.x one */
  CHECK(sp_abi_compatible(0, SOFTPROBE_VERSION_MINOR + 1) == 0); /* a newer minor may break before 1.0 */
  if (SOFTPROBE_VERSION_MINOR > 0) CHECK(sp_abi_compatible(0, SOFTPROBE_VERSION_MINOR - 1) == 0); /* so may an older */
  CHECK(sp_abi_compatible(1, SOFTPROBE_VERSION_MINOR) == 0);
  CHECK(sp_abi_compatible(2, 0) == 0);
}

/* Validation without a session: SP_OK, or exactly the setter's error. */
static void validation(sp_store *store) {
  sp_session *s = NULL;
  const char *bad_rule = "{\"rules\":[{\"then\":{\"action\":\"replay\"}}]}";
  const char *bad_policy = "{\"externalHttp\":\"sometimes\"}";
  const char *bad_case = "{\"caseId\":\"x\"}";
  const char *case_bad_rules =
      "{\"version\":\"1.0.0\",\"caseId\":\"x\",\"traces\":[],\"rules\":[{\"when\":{\"hots\":\"a\"}}]}";

  CHECK(sp_session_new(&s, store, NULL, 0) == SP_OK);

  CHECK(sp_validate_rules("{\"version\":1,\"rules\":[]}", strlen("{\"version\":1,\"rules\":[]}")) == SP_OK);
  CHECK(sp_validate_rules("[]", 2) == SP_OK);
  CHECK(sp_session_set_rules(NULL, s, bad_rule, strlen(bad_rule)) == SP_E_INVALID_RULE);
  keep_last_error();
  CHECK(sp_validate_rules(bad_rule, strlen(bad_rule)) == SP_E_INVALID_RULE);
  CHECK(same_error_as_kept());
  CHECK(contains(sp_last_error(), "rules[0].then.action"));
  CHECK(contains(sp_last_error_details(), "\"ruleIndex\":0"));
  CHECK(sp_validate_rules("[]\0x", 4) == SP_E_INVALID_JSON);
  CHECK(contains(sp_last_error(), "NUL byte at line 1, column 3 (byte 2)"));
  CHECK(sp_validate_rules("[{\"then\":", 9) == SP_E_INVALID_JSON);
  CHECK(contains(sp_last_error(), "line 1, column"));
  CHECK(sp_validate_rules(NULL, 0) == SP_E_INVALID_ARGUMENT);

  CHECK(sp_validate_policy("{\"externalHttp\":\"strict\"}", strlen("{\"externalHttp\":\"strict\"}")) == SP_OK);
  CHECK(sp_session_set_policy(NULL, s, bad_policy, strlen(bad_policy)) == SP_E_INVALID_POLICY);
  keep_last_error();
  CHECK(sp_validate_policy(bad_policy, strlen(bad_policy)) == SP_E_INVALID_POLICY);
  CHECK(same_error_as_kept());
  CHECK(contains(sp_last_error(), "externalHttp"));
  CHECK(sp_validate_policy("{\"externalHttp\":\"strict\"}\0", 26) == SP_E_INVALID_JSON);

  CHECK(sp_validate_case(CASE_DOC, strlen(CASE_DOC)) == SP_OK);
  CHECK(sp_session_load_case(NULL, s, bad_case, strlen(bad_case)) == SP_E_INVALID_CASE);
  keep_last_error();
  CHECK(sp_validate_case(bad_case, strlen(bad_case)) == SP_E_INVALID_CASE);
  CHECK(same_error_as_kept());
  CHECK(contains(sp_last_error(), "missing required key \"traces\""));
  CHECK(sp_session_load_case(NULL, s, case_bad_rules, strlen(case_bad_rules)) == SP_E_INVALID_RULE);
  keep_last_error();
  CHECK(sp_validate_case(case_bad_rules, strlen(case_bad_rules)) == SP_E_INVALID_RULE); /* embedded rules too */
  CHECK(same_error_as_kept());
  CHECK(sp_validate_case(CASE_DOC, strlen(CASE_DOC) - 1) == SP_E_INVALID_JSON); /* cut short */
  CHECK(sp_validate_case(NULL, 0) == SP_E_INVALID_ARGUMENT);

  CHECK(sp_session_revision(s) == 0); /* the failed setters changed nothing, validation touches no session */
  CHECK(sp_session_close(NULL, s, NULL, 0) == SP_OK);
  sp_session_free(s);
}

/* Issue 11: the legacy {match, response} rule is taken and says so through
 * sp_last_warnings(); a call without one, or a failed call, leaves "[]". */
static void rule_warnings(sp_store *store) {
  sp_session *s = NULL;
  const char *legacy = "{\"rules\":[{\"match\":{\"method\":\"GET\"},\"response\":{\"status\":200,\"headers\":null}}]}";
  const char *modern = "{\"id\":\"one\",\"when\":{\"method\":\"GET\"},\"then\":{\"action\":\"mock\"}}";
  uint64_t revision = 0;

  CHECK(sp_session_new(&s, store, NULL, 0) == SP_OK);
  CHECK(strcmp(sp_last_warnings(), "[]") == 0);
  CHECK(sp_session_set_rules(&revision, s, legacy, strlen(legacy)) == SP_OK);
  CHECK(revision == 1);
  CHECK(contains(sp_last_warnings(), "rules[0]: the legacy {match, response} form is deprecated"));
  CHECK(sp_session_set_rules(&revision, s, modern, strlen(modern)) == SP_OK); /* one rule object on its own */
  CHECK(strcmp(sp_last_warnings(), "[]") == 0);
  CHECK(sp_validate_rules(legacy, strlen(legacy)) == SP_OK);
  CHECK(contains(sp_last_warnings(), "deprecated"));
  CHECK(sp_validate_rules("{\"match\":{\"hostt\":1},\"response\":{}}", 35) == SP_E_INVALID_RULE);
  CHECK(strcmp(sp_last_warnings(), "[]") == 0);
  CHECK(contains(sp_last_error(), "rules[0].match.hostt"));
  CHECK(sp_session_close(NULL, s, NULL, 0) == SP_OK);
  sp_session_free(s);
}

/* Issue 15: sp_session_add_rules appends after the current rules, one
 * revision per call, errors indexed in the appended document. */
static void add_rules(sp_store *store) {
  sp_session *s = NULL;
  sp_decision *d = NULL;
  sp_request req = SP_REQUEST_INIT;
  char *json = NULL;
  uint64_t revision = 0;
  const char *first = "[{\"when\":{\"host\":\"a.test\"},\"then\":{\"action\":\"mock\",\"response\":{\"status\":201}}}]";
  const char *second =
      "{\"when\":{\"host\":\"a.test\",\"pathPrefix\":\"/x\"},\"then\":{\"action\":\"mock\",\"response\":{"
      "\"status\":202}}}";
  const char *bad = "[{\"then\":{\"action\":\"mock\"}},{\"when\":{\"hostt\":1}}]";

  CHECK(sp_session_new(&s, store, NULL, 0) == SP_OK);
  CHECK(sp_session_add_rules(&revision, NULL, "[]", 2) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_set_rules(&revision, s, first, strlen(first)) == SP_OK && revision == 1);
  CHECK(sp_session_add_rules(&revision, s, second, strlen(second)) == SP_OK && revision == 2);
  CHECK(sp_session_add_rules(&revision, s, bad, strlen(bad)) == SP_E_INVALID_RULE && revision == 2);
  CHECK(contains(sp_last_error(), "rules[1].when.hostt"));
  CHECK(contains(sp_last_error_details(), "\"ruleIndex\":1"));
  CHECK(sp_session_add_rules(&revision, s, "[", 1) == SP_E_INVALID_JSON && revision == 2);
  CHECK(sp_session_revision(s) == 2);
  CHECK(sp_session_get_rules(&json, s) == SP_OK);
  CHECK(contains(json, "\"status\":201") && contains(json, "\"pathPrefix\":\"/x\"") && !contains(json, "hostt"));
  sp_string_free(json);
  CHECK(sp_session_get_rules_as_posted(&json, s) == SP_OK);
  CHECK(contains(json, "\"version\":1") && contains(json, "\"status\":202"));
  sp_string_free(json);
  req.method = S("GET");
  req.host = S("a.test");
  req.path = S("/x/1");
  CHECK(sp_session_decide(&d, s, &req) == SP_OK && sp_decision_status(d) == 202);
  sp_decision_free(d);
  req.path = S("/y");
  CHECK(sp_session_decide(&d, s, &req) == SP_OK && sp_decision_status(d) == 201);
  sp_decision_free(d);
  CHECK(sp_session_close(NULL, s, NULL, 0) == SP_OK);
  CHECK(sp_session_add_rules(&revision, s, second, strlen(second)) == SP_E_SESSION_CLOSED);
  sp_session_free(s);
}

/* The capture as case JSON without a file: export (stays open) and close_export. */
static void export_capture(sp_store *store) {
  sp_session *cap = NULL, *replay = NULL, *again = NULL;
  sp_request req = SP_REQUEST_INIT;
  sp_response resp = SP_RESPONSE_INIT;
  char *json = NULL, *list = NULL;
  const char *opts = "{\"mode\":\"capture\",\"caseId\":\"exported\"}";
  char id[64];

  CHECK(sp_session_new(&cap, store, opts, strlen(opts)) == SP_OK);
  strcpy(id, sp_session_id(cap));
  req.method = S("GET");
  req.host = S("api.test");
  req.path = S("/first");
  resp.status = 200;
  resp.body = S("one");
  CHECK(sp_session_record(cap, &req, &resp, 0, 0) == SP_OK);

  CHECK(sp_session_export_capture(&json, cap) == SP_OK);
  CHECK(contains(json, "\"caseId\": \"exported\"") || contains(json, "\"caseId\":\"exported\""));
  CHECK(contains(json, "/first"));
  CHECK(sp_validate_case(json, strlen(json)) == SP_OK); /* what is exported loads back */
  sp_string_free(json);
  json = NULL;

  /* Still open: it keeps recording, and a second export has both. */
  req.path = S("/second");
  CHECK(sp_session_record(cap, &req, &resp, 0, 0) == SP_OK);
  CHECK(sp_session_close_export(&json, cap) == SP_OK);
  CHECK(contains(json, "/first") && contains(json, "/second"));

  /* Closed and gone from the store, and no file was written. */
  CHECK(sp_store_get_session(&again, store, id, strlen(id)) == SP_E_UNKNOWN_SESSION);
  CHECK(sp_store_list_sessions(&list, store) == SP_OK);
  CHECK(!contains(list, id));
  sp_string_free(list);
  CHECK(sp_session_record(cap, &req, &resp, 0, 0) == SP_E_SESSION_CLOSED);
  {
    char *twice = NULL;
    CHECK(sp_session_close_export(&twice, cap) == SP_E_SESSION_CLOSED && twice == NULL);
    CHECK(sp_session_export_capture(&twice, cap) == SP_E_SESSION_CLOSED && twice == NULL);
  }

  /* The exported case replays. */
  CHECK(sp_session_new(&replay, store, NULL, 0) == SP_OK);
  CHECK(sp_session_load_case(NULL, replay, json, strlen(json)) == SP_OK);
  sp_string_free(json);
  json = NULL;
  CHECK(sp_session_find_in_case(&json, replay, "{\"path\":\"/second\"}", strlen("{\"path\":\"/second\"}")) == SP_OK);
  CHECK(contains(json, "\"body\":\"one\""));
  sp_string_free(json);
  json = NULL;

  /* A replay session keeps no capture: SP_E_WRONG_MODE, and it stays open. */
  CHECK(sp_session_export_capture(&json, replay) == SP_E_WRONG_MODE && json == NULL);
  CHECK(contains(sp_last_error(), "replay session"));
  CHECK(sp_session_close_export(&json, replay) == SP_E_WRONG_MODE && json == NULL);
  CHECK(sp_session_stats(&json, replay) == SP_OK); /* still open */
  sp_string_free(json);
  CHECK(sp_session_close(NULL, replay, NULL, 0) == SP_OK);
  CHECK(sp_session_export_capture(NULL, replay) == SP_E_INVALID_ARGUMENT);
  sp_session_free(replay);
  sp_session_free(cap);
}

/* sp_canonical_request and the version 2 `url` field: one canonical form,
 * whichever way a binding hands the request over. */
static void canonical(sp_store *store) {
  sp_request req = SP_REQUEST_INIT, split = SP_REQUEST_INIT;
  sp_header headers[3];
  char *json = NULL, *json2 = NULL;
  sp_session *s = NULL;
  sp_decision *d = NULL;
  const char *rules =
      "{\"version\":1,\"rules\":[{\"name\":\"tilde\",\"when\":{\"method\":\"GET\",\"host\":\"api.test:8080\","
      "\"path\":\"/a~/b%2F\"},\"then\":{\"action\":\"mock\",\"response\":{\"status\":201}}}]}";

  CHECK(SP_REQUEST_VERSION == 2 && req.version == 2 && req.url.data == NULL && req.url.len == 0);
  headers[0].name = S("X-Rep");
  headers[0].value = S("1");
  headers[1].name = S("Accept");
  headers[1].value = S("*/*");
  headers[2].name = S("x-rep");
  headers[2].value = S("2");
  req.method = S("get");
  req.url = S("HTTP://u:p@API.Test:8080/a%7e/./x/../b%2f?q=1 2#frag");
  req.headers = headers;
  req.header_count = 3;
  CHECK(sp_canonical_request(&json, &req) == SP_OK);
  CHECK(contains(json,
                 "\"scheme\":\"http\",\"host\":\"api.test\",\"port\":8080,\"urlHost\":\"api.test:8080\","
                 "\"path\":\"/a~/b%2F\",\"query\":\"q=1%202\",\"url\":\"http://api.test:8080/a~/b%2F?q=1%202\""));
  CHECK(contains(json, "\"headers\":{\"host\":[\"api.test:8080\"],\"x-rep\":[\"1\",\"2\"],\"accept\":[\"*/*\"]}"));
  CHECK(contains(json, "\"fingerprint\":\""));

  /* The split fields of a version 1 caller give the same form; its struct has
   * no url, so whatever lies there is never read. */
  split.version = 1;
  split.method = S("GET");
  split.host = S("api.test");
  split.port = 8080;
  split.path = S("/a~/b%2F");
  split.query = S("q=1%202");
  split.headers = headers;
  split.header_count = 3;
  split.url.data = NULL;
  split.url.len = 7; /* garbage a version 1 struct never had */
  CHECK(sp_canonical_request(&json2, &split) == SP_OK);
  CHECK(json2 && strcmp(json, json2) == 0);
  sp_string_free(json2);
  json2 = NULL;

  /* The decision uses the same form: a rule on the canonical path matches. */
  CHECK(sp_session_new(&s, store, NULL, 0) == SP_OK);
  CHECK(sp_session_set_rules(NULL, s, rules, strlen(rules)) == SP_OK);
  CHECK(sp_session_decide(&d, s, &req) == SP_OK);
  CHECK(sp_decision_status(d) == 201);
  sp_decision_free(d);
  d = NULL;
  CHECK(sp_session_close(NULL, s, NULL, 0) == SP_OK);
  sp_session_free(s);

  /* Errors name the field, the problem and the byte, and nothing is returned. */
  req.url = S("http://api.test:8x/");
  CHECK(sp_canonical_request(&json2, &req) == SP_E_INVALID_ARGUMENT && json2 == NULL);
  CHECK(contains(sp_last_error(), "request.url: invalid port \"8x\" at byte 17"));
  CHECK(contains(sp_last_error_details(), "\"offset\":17"));
  req.url = S("/x");
  req.path = S("/y");
  CHECK(sp_canonical_request(&json2, &req) == SP_E_INVALID_ARGUMENT);
  CHECK(contains(sp_last_error(), "request.url: given together with path or query"));
  req.path = S("");
  req.url = S("api.test/x");
  CHECK(sp_canonical_request(&json2, &req) == SP_E_INVALID_ARGUMENT);
  CHECK(contains(sp_last_error(), "expected an absolute URL"));
  req.url = S("http://h/");
  req.version = 3;
  CHECK(sp_canonical_request(&json2, &req) == SP_E_INVALID_ARGUMENT);
  CHECK(contains(sp_last_error(), "request.version is 3; this core understands 1 to 2"));
  CHECK(sp_canonical_request(NULL, &req) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_canonical_request(&json2, NULL) == SP_E_INVALID_ARGUMENT);
  sp_string_free(json);
}

/* (pointer, length) strings: a NUL inside never cuts a string short. */
static void lengths(sp_store *store) {
  sp_session *s = NULL, *again = NULL;
  sp_decision *d = NULL;
  sp_request req = SP_REQUEST_INIT;
  char buf[160];
  char *json = NULL;
  size_t n;
  const char *opts = "{\"mode\":\"generate\"}";

  CHECK(sp_session_new(&s, store, opts, strlen(opts)) == SP_OK);
  n = strlen(sp_session_id(s));
  /* The id followed by garbage, passed with the id's length: found. */
  memcpy(buf, sp_session_id(s), n);
  memcpy(buf + n, "garbage", 8);
  CHECK(sp_store_get_session(&again, store, buf, n) == SP_OK);
  sp_session_free(again);
  again = NULL;
  /* The id, a NUL and more: refused, not truncated to the id. */
  buf[n] = '\0';
  CHECK(sp_store_get_session(&again, store, buf, n + 4) == SP_E_INVALID_ARGUMENT && again == NULL);
  CHECK(contains(sp_last_error(), "session id contains a NUL byte (at byte 32)"));
  CHECK(contains(sp_last_error_details(), "\"offset\":32"));
  CHECK(sp_store_get_session(&again, store, NULL, 3) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_store_get_session(&again, store, NULL, 0) == SP_E_UNKNOWN_SESSION);
  memset(buf, 'a', sizeof buf);
  CHECK(sp_store_get_session(&again, store, buf, sizeof buf) == SP_E_UNKNOWN_SESSION); /* over 128: not echoed */
  CHECK(contains(sp_last_error(), "160 bytes, longer than any session id (at most 128)"));

  /* A close path with a NUL inside is refused and the session stays open. */
  CHECK(sp_session_close(NULL, s, "c_abi_test_len.case.json\0.txt", 29) == SP_E_INVALID_ARGUMENT);
  CHECK(contains(sp_last_error(), "out contains a NUL byte (at byte 24)"));
  CHECK(sp_session_close(NULL, s, NULL, 5) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_session_close(&json, s, "c_abi_test_len.case.json.more", 24) == SP_OK); /* only 24 bytes */
  CHECK(strcmp(json, "c_abi_test_len.case.json") == 0);
  sp_string_free(json);
  CHECK(remove("c_abi_test_len.case.json") == 0);
  sp_session_free(s);

  /* Views: {NULL, n > 0} is refused, not read as empty. */
  CHECK(sp_session_new(&s, store, NULL, 0) == SP_OK);
  req.method = S("GET");
  req.host = S("api.test");
  req.path.data = NULL;
  req.path.len = 3;
  CHECK(sp_session_decide(&d, s, &req) == SP_E_INVALID_ARGUMENT && d == NULL);
  CHECK(contains(sp_last_error(), "request.path.data is NULL but request.path.len is 3"));
  req.path = S("/");
  CHECK(sp_session_decide(&d, s, &req) == SP_OK);
  sp_decision_free(d);
  {
    sp_str nothing = {NULL, 2};
    CHECK(sp_request_fingerprint(&json, S("GET"), S("h"), S("/"), nothing) == SP_E_INVALID_ARGUMENT);
    CHECK(contains(sp_last_error(), "body.data is NULL"));
  }
  CHECK(sp_session_close(NULL, s, NULL, 0) == SP_OK);
  sp_session_free(s);
}

/* Remote mode without a runtime: argument errors, and a runtime that is not there. */
static void remote_offline(void) {
  sp_store *remote = NULL, *local = NULL;
  sp_session *s = NULL;
  CHECK(sp_store_new_remote(&remote, "ftp://127.0.0.1:1", 17, NULL, 0, 0) == SP_E_INVALID_ARGUMENT);
  CHECK(contains(sp_last_error(), "must use http or https"));
  CHECK(remote == NULL);
  CHECK(sp_store_new_remote(&remote, NULL, 0, NULL, 0, 0) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_store_new_remote(&remote, "http://127.0.0.1:1", 18, "a\rb", 3, 0) == SP_E_INVALID_ARGUMENT);
  CHECK(contains(sp_last_error(), "CR"));
  /* Port 1 on loopback: nothing listens there, the connection is refused at once. */
  CHECK(sp_store_new_remote(&remote, "http://127.0.0.1:1", 18, NULL, 0, 2000) == SP_OK);
  CHECK(sp_store_is_remote(remote) == 1);
  CHECK(sp_store_new(&local) == SP_OK);
  CHECK(sp_store_is_remote(local) == 0);
  CHECK(sp_store_is_remote(NULL) == 0);
  CHECK(sp_session_new(&s, remote, NULL, 0) == SP_E_RUNTIME);
  /* NULL options with a length are "no options", as for an embedded store (this read 5 bytes of a
   * 1-byte literal before). */
  CHECK(sp_session_new(&s, remote, NULL, 5) == SP_E_RUNTIME);
  CHECK(contains(sp_last_error(), "could not be reached"));
  CHECK(contains(sp_last_error(), "http://127.0.0.1:1"));
  CHECK(strcmp(sp_status_name(SP_E_RUNTIME), "SP_E_RUNTIME") == 0);
  CHECK(sp_store_list_sessions(NULL, remote) == SP_E_INVALID_ARGUMENT);
  sp_store_free(local);
  sp_store_free(remote);
}

int main(void) {
  sp_store *store = NULL;
  sp_session *session = NULL, *again = NULL;
  sp_decision *d = NULL;
  char *json = NULL;
  const char *rules =
      "{\"version\":1,\"rules\":[{\"name\":\"users\",\"when\":{\"method\":\"GET\",\"host\":\"api.test\",\"path\":\"/"
      "users\"},"
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
    CHECK(sp_session_close(NULL, bad, "/nonexistent-dir/x.case.json", 28) == SP_E_IO); /* stays open */
    CHECK(sp_session_close(NULL, bad, "c_abi_test_generate.case.json", 29) == SP_OK);
    remove("c_abi_test_generate.case.json");
    sp_session_free(bad);
    CHECK(sp_session_new(&bad, store, NULL, 0) == SP_OK); /* defaults */
    CHECK(strcmp(sp_session_mode(bad), "replay") == 0);
    CHECK(sp_session_close(NULL, bad, NULL, 0) == SP_OK);
    sp_session_free(bad);
  }
  CHECK(sp_session_new(&session, store, OPTIONS, strlen(OPTIONS)) == SP_OK);
  CHECK(strlen(sp_session_id(session)) == 32);
  CHECK(strcmp(sp_session_mode(session), "replay") == 0);
  CHECK(sp_session_revision(session) == 0);

  /* A bad rules document: precise error, nothing changed. */
  CHECK(sp_session_set_rules(NULL, session, "{\"rules\":[{\"then\":{\"action\":\"replay\"}}]}", 40) ==
        SP_E_INVALID_RULE);
  CHECK(contains(sp_last_error(), "rules[0].then.action"));
  CHECK(contains(sp_last_error_details(), "\"ruleIndex\":0"));
  CHECK(sp_session_set_rules(NULL, session, "{not json", 9) == SP_E_INVALID_JSON);
  CHECK(sp_session_revision(session) == 0);

  CHECK(sp_session_set_rules(NULL, session, "{}\0{", 4) == SP_E_INVALID_JSON);
  CHECK(sp_session_set_policy(NULL, session, "{\"externalHttp\":\"strict\"}\0", 27) == SP_E_INVALID_JSON);
  CHECK(sp_session_set_rules(NULL, session,
                             "{\"version\":1,\"rules\":[{\"priority\":1e999999,\"then\":{\"action\":\"mock\"}}]}",
                             70) == SP_E_INVALID_JSON);
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
  CHECK(sp_session_get_rules_as_posted(&json, session) == SP_OK);
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
  CHECK(contains(json, "\"injectedSpans\":1")); /* the hit; the strict miss is counted apart */
  CHECK(contains(json, "\"decisions\":2"));
  sp_string_free(json);

  /* Another handle to the same session; unknown ids. */
  CHECK(sp_store_get_session(&again, store, sp_session_id(session), strlen(sp_session_id(session))) == SP_OK);
  CHECK(sp_session_revision(again) == 1);
  sp_session_free(again);
  again = NULL;
  CHECK(sp_store_get_session(&again, store, "nope", 4) == SP_E_UNKNOWN_SESSION);
  CHECK(again == NULL);
  CHECK(contains(sp_last_error(), "unknown session \"nope\""));

  /* findInCase through the ABI. */
  {
    const char *c = CASE_DOC;
    CHECK(sp_session_find_in_case(&json, session, "{}", strlen("{}")) ==
          SP_E_INVALID_ARGUMENT); /* nothing loaded yet */
    CHECK(contains(sp_last_error(), "no case is loaded"));
    CHECK(sp_session_load_case(NULL, session, c, strlen(c)) == SP_OK);
    CHECK(sp_session_find_in_case(&json, session, "{\"path\":\"/a\"}", strlen("{\"path\":\"/a\"}")) == SP_OK);
    CHECK(contains(json, "\"body\":\"A\""));
    sp_string_free(json);
    json = NULL;
    CHECK(sp_session_find_in_case(&json, session, "{\"host\":\"api.test\"}", strlen("{\"host\":\"api.test\"}")) ==
          SP_E_CASE_LOOKUP);
    CHECK(json == NULL);
    CHECK(contains(sp_last_error_details(), "\"spanId\":\"s1\""));
    CHECK(contains(sp_last_error_details(), "\"spanId\":\"s2\""));
    CHECK(sp_session_find_all_in_case(&json, session, "{\"host\":\"api.test\"}", strlen("{\"host\":\"api.test\"}")) ==
          SP_OK);
    CHECK(contains(json, "\"status\":201"));
    sp_string_free(json);
    CHECK(sp_session_load_case(NULL, session, "{\"caseId\":\"x\"}", 14) == SP_E_INVALID_CASE);
    CHECK(contains(sp_last_error(), "missing required key \"traces\""));
    /* What loading fills in is said in sp_last_warnings(), reset by the next fallible call. */
    CHECK(strcmp(sp_last_warnings(), "[]") == 0);
    {
      const char *no_ids = "{\"traces\":[{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[]}]}]}]}]}";
      uint64_t rev = 0;
      CHECK(sp_session_load_case(&rev, session, no_ids, strlen(no_ids)) == SP_OK);
      CHECK(contains(sp_last_warnings(), "$.version is missing"));
      CHECK(contains(sp_last_warnings(), "$.caseId is missing"));
      CHECK(contains(sp_last_warnings(), "1 span(s) had no traceId or spanId"));
      CHECK(sp_validate_case(no_ids, strlen(no_ids)) == SP_OK);
      CHECK(contains(sp_last_warnings(), "1 span(s) had no traceId or spanId"));
      CHECK(sp_validate_case(CASE_DOC, strlen(CASE_DOC)) == SP_OK);
      CHECK(strcmp(sp_last_warnings(), "[]") == 0);
    }
    CHECK(sp_session_load_case_file(NULL, session, "/nonexistent/x.case.json", 24) == SP_E_IO);
    CHECK(contains(sp_last_error(), "/nonexistent/x.case.json"));
    CHECK(sp_session_load_case_file(NULL, session, "x.case.json\0.txt", 16) == SP_E_INVALID_ARGUMENT);
    CHECK(contains(sp_last_error(), "NUL"));
  }

  /* Fingerprint utility matches the documented definition. */
  CHECK(sp_request_fingerprint(&json, S("POST"), S("api.stripe.com"), S("/v1/payment_intents"),
                               S("{\"amount\":4200}")) == SP_OK);
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

  CHECK(sp_set_log_level("loud", 4) == SP_E_INVALID_ARGUMENT);
  CHECK(sp_set_log_level("warning-not", 4) == SP_OK); /* the length is what counts: "warn" */
  CHECK(sp_set_log_level("warn", 4) == SP_OK);
  CHECK(sp_set_log_level(NULL, 2) == SP_E_INVALID_ARGUMENT);

  /* Close: the session leaves the store. */
  CHECK(sp_session_close(&json, session, NULL, 0) == SP_OK);
  CHECK(strcmp(json, "") == 0); /* replay sessions write nothing */
  sp_string_free(json);
  CHECK(sp_session_decide(&d, session, &req) == SP_E_SESSION_CLOSED);
  CHECK(sp_store_list_sessions(&json, store) == SP_OK);
  CHECK(strcmp(json, "{\"sessions\":[]}") == 0);
  sp_string_free(json);

  null_handles();
  version_range();
  validation(store);
  rule_warnings(store);
  add_rules(store);
  export_capture(store);
  lengths(store);
  canonical(store);
  remote_offline();

  sp_session_free(session);
  sp_store_free(store);
  sp_session_free(NULL);
  sp_store_free(NULL);
  sp_decision_free(NULL);
  sp_string_free(NULL);

  printf("c_abi_test: %d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
