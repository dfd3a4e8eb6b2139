/*
 * softprobe.h: the stable C ABI of libsoftprobe.
 *
 * libsoftprobe decides, for each outbound (or inbound) HTTP request of a test,
 * whether to answer it from a mock, fail it, or let it through, and records
 * real traffic into case files. Every binding (Node, Python, the runtime
 * server, C++ services) is built on this header.
 *
 * Conventions (see docs/c-abi.md):
 *  - Opaque handles: sp_store, sp_session, sp_decision. Created by an
 *    sp_*_new/get call with the output parameter first, released by the
 *    matching sp_*_free. Free functions accept NULL. Any other call given a
 *    NULL handle fails with SP_E_INVALID_ARGUMENT; an accessor that returns
 *    a value instead of a status returns the fail-closed value its
 *    declaration names (a NULL decision reads as a refusal, never as
 *    passthrough).
 *  - Strings in are (pointer, length): a NUL byte inside is refused with
 *    its place, never taken as the end. A NULL pointer with length 0 is
 *    the empty string; a NULL pointer with a length is SP_E_INVALID_ARGUMENT.
 *    (Two calls still take a C string; their declarations say so.)
 *  - Every fallible call returns an sp_status. On failure, sp_last_error()
 *    gives a message naming the problem and its place, and
 *    sp_last_error_details() a JSON object with structured details; both are
 *    thread-local, valid until the next failing call on the same thread, and
 *    never NULL. A failed call leaves its outputs untouched (or NULL) and
 *    changes no state.
 *  - Strings returned through `char **out` are NUL-terminated, owned by the
 *    caller and freed with sp_string_free. `const char *` results are
 *    borrowed and live as long as the handle they came from.
 *  - Rich documents (rules, policy, case, stats) cross as UTF-8 JSON text; the
 *    per-request decision takes a struct view and parses no JSON.
 *  - No C++ exception ever crosses this boundary.
 *  - All functions are thread-safe unless a comment says otherwise. Handles
 *    may be shared between threads; free a handle only once, when no other
 *    thread uses it.
 */
#ifndef SOFTPROBE_H
#define SOFTPROBE_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(SOFTPROBE_BUILDING)
#define SOFTPROBE_API __declspec(dllexport)
#elif defined(SOFTPROBE_STATIC)
#define SOFTPROBE_API
#else
#define SOFTPROBE_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define SOFTPROBE_API __attribute__((visibility("default")))
#else
#define SOFTPROBE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions ------------------------------------------------------------ */

#define SOFTPROBE_VERSION_MAJOR 0
#define SOFTPROBE_VERSION_MINOR 2
#define SOFTPROBE_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH: compare with sp_version_number(). */
#define SOFTPROBE_VERSION_NUMBER \
  (SOFTPROBE_VERSION_MAJOR * 10000 + SOFTPROBE_VERSION_MINOR * 100 + SOFTPROBE_VERSION_PATCH)
#define SOFTPROBE_VERSION_STRING "0.2.0"
/* Wire specs this core implements. */
#define SOFTPROBE_SPEC_VERSION "http-control-api@v1"
#define SOFTPROBE_SCHEMA_VERSION "1"

/* The version of the library actually loaded, as SOFTPROBE_VERSION_NUMBER. */
SOFTPROBE_API unsigned sp_version_number(void);
/* "0.1.0". Static storage; never NULL. */
SOFTPROBE_API const char *sp_version_string(void);

/* 1 when the loaded library serves a caller built against `major`.`minor`
 * of this header, else 0. The policy (docs/c-abi.md): before 1.0 a minor
 * version may break the ABI, so the major and the minor must both equal the
 * library's; from 1.0 the major must be equal and the library's minor at
 * least `minor` (minors only add). The patch never matters. */
SOFTPROBE_API int sp_abi_compatible(unsigned major, unsigned minor);
/* The check a binding makes at load: is the loaded library compatible with
 * the header it was compiled against? */
#define SOFTPROBE_CHECK_VERSION() sp_abi_compatible(SOFTPROBE_VERSION_MAJOR, SOFTPROBE_VERSION_MINOR)

/* ---- Status codes (values are pinned and never change meaning) ----------- */

typedef enum sp_status {
  SP_OK = 0,
  SP_E_INVALID_ARGUMENT = -1, /* a NULL handle, bad options, bad predicate */
  SP_E_INVALID_JSON = -2,     /* text that is not JSON (message gives the byte offset) */
  SP_E_INVALID_CASE = -3,     /* a case document that breaks the case schema (message gives the JSON path) */
  SP_E_INVALID_RULE = -4,     /* a rule document error (message names the rule index and field) */
  SP_E_INVALID_POLICY = -5,   /* a policy error (message names the field) */
  SP_E_LIMIT_EXCEEDED = -6,   /* input over a configured limit (message names the limit) */
  SP_E_UNKNOWN_SESSION = -7,  /* no session with that id in the store */
  SP_E_CASE_LOOKUP = -8,      /* findInCase matched zero or several spans (details.matches) */
  SP_E_IO = -9,               /* a file could not be read or written (message names the path) */
  SP_E_SESSION_CLOSED = -10,  /* the session was closed */
  SP_E_WRONG_MODE = -11,      /* the call does not apply to the session's mode */
  SP_E_OUT_OF_MEMORY = -12,
  SP_E_RUNTIME = -13, /* a remote runtime could not be reached, or refused a call (message: the URL and its answer) */
  SP_E_INTERNAL = -99 /* a bug: please report it with sp_last_error() */
} sp_status;

/* "SP_OK", "SP_E_INVALID_RULE", ...; static storage, never NULL. */
SOFTPROBE_API const char *sp_status_name(sp_status status);

/* The message of the last failed call on this thread; "" if none. Never NULL. */
SOFTPROBE_API const char *sp_last_error(void);
/* JSON object with structured details of the last failure on this thread
 * (e.g. {"ruleIndex":2,"field":"when.hostt"}, {"limit":"maxSpans",...},
 * {"matches":[...]}); "{}" if none. Never NULL. */
SOFTPROBE_API const char *sp_last_error_details(void);
/* JSON array of strings: what the last fallible call on this thread accepted
 * but had to fill in or translate, one sentence each naming the place (a case
 * without span ids: "2 span(s) had no traceId or spanId (the first in
 * $.traces[0]): ids were generated ..."; a case without a version; a legacy
 * {match, response} rule: "rules[0]: the legacy {match, response} form is
 * deprecated; ..."). "[]" when
 * there was nothing to say. Reset by every fallible call; thread-local, valid
 * until the next call on this thread, never NULL. */
SOFTPROBE_API const char *sp_last_warnings(void);

/* Frees a string returned through a `char **out` parameter. NULL is a no-op. */
SOFTPROBE_API void sp_string_free(char *s);

/* ---- Borrowed views -------------------------------------------------------- */

/* A byte string that need not be NUL-terminated. {NULL, 0} is empty. */
typedef struct sp_str {
  const char *data;
  size_t len;
} sp_str;

typedef struct sp_header {
  sp_str name;
  sp_str value;
} sp_header;

#define SP_REQUEST_VERSION 2
/* One observed request. All views are borrowed for the duration of the call.
 * Initialize with SP_REQUEST_INIT so new fields added later start zeroed.
 *
 * Give the request as it was sent and let the core normalize it (the
 * canonical request, docs/requests.md): either `url` (version >= 2) or the
 * split fields scheme/host/port/path/query, and the header lines as sent
 * (any case, repeated lines as separate entries). Every entry point (decide,
 * record, the OTLP APIs, the fingerprint of a strict miss) uses the same
 * canonical form. Version 1 callers (no `url`) keep working: the core reads
 * `url` only when version >= 2. */
typedef struct sp_request {
  unsigned version;         /* SP_REQUEST_VERSION */
  sp_str direction;         /* "outbound" (the default when empty) or "inbound" */
  sp_str method;            /* "GET"; compared case-insensitively */
  sp_str scheme;            /* "http" (default when empty) or "https" */
  sp_str host;              /* "api.example.com", may carry ":port" when port is 0 */
  int port;                 /* 0: not given (the scheme default unless host has one) */
  sp_str path;              /* "/v1/items", without the query */
  sp_str query;             /* "a=1&b=2", without '?' */
  sp_str service;           /* the service making or receiving the call */
  sp_str body;              /* request body bytes */
  const sp_header *headers; /* request headers; names compared case-insensitively */
  size_t header_count;
  const sp_header *tags; /* trace tags (span attributes) for `traceTags` predicates */
  size_t tag_count;
  /* Version 2. The URL as the client had it: absolute
   * ("https://api.example.com:8443/v1/items?a=1"; userinfo and fragment are
   * dropped), or a request-target ("/v1/items?a=1") with `scheme` and `host`
   * (or else the Host header) giving the rest. When set, `path` and `query`
   * must be empty, and an absolute URL also excludes `scheme` and `host`
   * (SP_E_INVALID_ARGUMENT naming the field). At most 64 KiB. */
  sp_str url;
} sp_request;
#define SP_REQUEST_INIT                                                                                         \
  {                                                                                                             \
    SP_REQUEST_VERSION, {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, 0, 0, 0, { 0, 0 } \
  }

#define SP_RESPONSE_VERSION 1
/* An observed response, for capture. */
typedef struct sp_response {
  unsigned version; /* SP_RESPONSE_VERSION */
  int status;
  const sp_header *headers;
  size_t header_count;
  sp_str body;
} sp_response;
#define SP_RESPONSE_INIT                   \
  {                                        \
    SP_RESPONSE_VERSION, 0, 0, 0, { 0, 0 } \
  }

/* ---- Store ----------------------------------------------------------------- */

typedef struct sp_store sp_store;

/* Creates an empty session store. *out is owned by the caller: free it with
 * sp_store_free. Sessions keep working after their store is freed. */
SOFTPROBE_API sp_status sp_store_new(sp_store **out);
SOFTPROBE_API void sp_store_free(sp_store *store);

/* Remote mode: a store whose sessions are held by the softprobe-runtime at
 * `url` (its control API, contract section 6), each with a local mirror
 * session of the same id that decides this process's requests in process
 * (sp_session_decide and sp_session_record never call the network).
 *  - url: "http://127.0.0.1:8080" (http or https, no query; at most 2048
 *    bytes); token: sent as "Authorization: Bearer <token>" (NULL/0: none;
 *    at most 4096 bytes); timeout_ms bounds each call (0: 10000).
 *  - sp_session_new creates the session in the runtime, then the mirror;
 *    sp_store_get_session attaches to a runtime session (started here or by
 *    another process): its mode, policy, rules and auth fixtures are copied
 *    into a new mirror (its loaded case is not: load it again).
 *  - The setters (rules, policy, fixtures, case) check the document locally
 *    first (the same errors as embedded mode), then send it, and apply it to
 *    the mirror only once the runtime took it: a refused call changes neither
 *    side. A session's mutations are serialized across handles.
 *  - sp_session_stats adds the runtime's counters and the mirror's, both kept
 *    under "sources". sp_session_close of a capture session hands what this
 *    process captured to the runtime (POST /v1/traces), then closes the
 *    runtime's session with out_path (a path on the runtime's machine); what
 *    could not be sent is kept and sent by the next close.
 *    sp_session_close_export and sp_session_export_capture give
 *    SP_E_WRONG_MODE (the capture belongs to the runtime).
 * Errors: SP_E_INVALID_ARGUMENT for a bad URL or token; SP_E_RUNTIME when the
 * runtime cannot be reached or refuses (the message names the URL and says
 * what it answered; 401/403: check the token). No call is made here. */
SOFTPROBE_API sp_status sp_store_new_remote(sp_store **out, const char *url, size_t url_len, const char *token,
                                            size_t token_len, uint64_t timeout_ms);
/* 1 when `store` is a remote store (sp_store_new_remote), else 0. */
SOFTPROBE_API int sp_store_is_remote(const sp_store *store);

/* Lists sessions: {"sessions":[{"sessionId","mode","sessionRevision"}]}.
 * *out_json is owned by the caller (sp_string_free). */
SOFTPROBE_API sp_status sp_store_list_sessions(char **out_json, const sp_store *store);

/* Closes every session unused for `idle_ms` milliseconds (0: every session),
 * writing captures as sp_session_close does with no path, except that an
 * existing file is never replaced: a taken name gets the session id inserted
 * before ".case.json" (then "-2", "-3"...). *out_json (may be NULL) receives
 * {"closed":[{"sessionId","capturePath"?,"error"?}]}. */
SOFTPROBE_API sp_status sp_store_close_idle(char **out_json, sp_store *store, uint64_t idle_ms);

/* Closes every session (shutdown: call it when no more requests come in).
 * Capture and generate sessions are written as sp_session_close does with no
 * path; when several capture, each file gets its session id inserted before
 * ".case.json" so none overwrites another, and, as in sp_store_close_idle, an
 * existing file is never replaced. One failed write does not stop the
 * others: it is reported in the list and that session stays open. *out_json
 * (may be NULL) receives {"closed":[{"sessionId","capturePath"?,"error"?}]};
 * caller frees. */
SOFTPROBE_API sp_status sp_store_close_all(char **out_json, sp_store *store);

/* ---- Capture directory and store limits ----------------------------------- */
/* For what serves many clients (the runtime server, a proxy, a CLI): where
 * captures may be written, and how many sessions may be open. */

struct sp_session; /* the session handle, typedef'd below */

/* From now on `store` writes captures only inside the directory `dir`
 * (`dir_len` bytes; a relative path is relative to the working directory).
 * Close paths (sp_session_close) are then relative to it and checked:
 * an empty or absolute path, a ".." segment, a NUL byte or a control
 * character is SP_E_INVALID_ARGUMENT naming the problem; symbolic links
 * inside the directory are never followed; an existing file is replaced only
 * when it is a case file (a name ending in ".case.json" and JSON content with
 * a top-level "traces" key in its first 64 KiB). `default_path`
 * (`default_len` bytes; NULL or 0: "captured.case.json") is the relative path
 * used when a close names none. Paths may hold {sessionId}, {ts} (UTC,
 * 20261201T093626.123Z) and {mode}, filled in on close. Idle and shutdown
 * flushes never replace a file: a taken name gets the session id inserted
 * before ".case.json".
 * The directory is opened once here and checked to be writable (SP_E_IO with
 * the OS's reason when it is missing or not writable), and temporary files of
 * ours ("<name>.tmp-<16 hex>") left in it by a crash are removed (unlocked
 * ones at least 5 s old). *out_json (may be NULL) receives
 * {"captureDir":"...","removedTempFiles":["..."]}; caller frees. On error
 * nothing changes. Without this call (the default) close paths are file
 * system paths the caller owns, as sp_session_close says. */
SOFTPROBE_API sp_status sp_store_set_capture_dir(char **out_json, sp_store *store, const char *dir, size_t dir_len,
                                                 const char *default_path, size_t default_len);

/* At most `max` sessions open in `store` at once (default 10000; at least 1,
 * else SP_E_INVALID_ARGUMENT). sp_session_new past it fails with
 * SP_E_LIMIT_EXCEEDED and details {"limit":"maxSessions","max":N}. */
SOFTPROBE_API sp_status sp_store_set_max_sessions(sp_store *store, size_t max);

/* Shutdown: sp_store_close_all, except that a capture that cannot be written
 * where it should go is written to $TMPDIR (else /tmp) as
 * softprobe-<sessionId>.case.json, so nothing recorded is lost. *out_json
 * (may be NULL) receives {"closed":[{"sessionId","capturePath"?,
 * "fallbackReason"?,"error"?}]}: "fallbackReason" says why the capture is in
 * the temporary directory; "error" that it could not be written at all (the
 * session stays open). Caller frees. */
SOFTPROBE_API sp_status sp_store_close_all_or_fallback(char **out_json, sp_store *store);

/* ---- Session ---------------------------------------------------------------- */

typedef struct sp_session sp_session;

/* Creates a session in `store`. `options_json` is `len` bytes of JSON (it
 * need not be NUL-terminated; a NUL byte inside is SP_E_INVALID_JSON). It may
 * be NULL or empty (len 0): a replay session with the default policy. Or an
 * object with any of:
 *   "sessionId": an id to use instead of a random one (1-128 of A-Za-z0-9-_.;
 *                for bindings mirroring a remote runtime's session); taken -> SP_E_INVALID_ARGUMENT
 *   "mode": "replay" | "capture" | "generate"
 *   "policy": a policy object (contract section 5)
 *   "caseId", "suite": written into a captured case (at most 1,024 bytes each)
 *   "redaction": {"enabled": bool, "headers": [...], "bodyJsonPaths": [...]}
 *   "limits": {"maxSpans","maxAttributesPerSpan","maxStringBytes","maxTraceBytes",
 *              "maxCaseBytes"}: for load-case and for what a capture may hold
 * *out is a new handle owned by the caller (sp_session_free). Errors:
 * SP_E_INVALID_JSON, SP_E_INVALID_ARGUMENT, SP_E_INVALID_POLICY. */
SOFTPROBE_API sp_status sp_session_new(sp_session **out, sp_store *store, const char *options_json, size_t len);

/* A new handle to an existing session, by its id (`id_len` bytes, at most
 * 128; a NUL byte inside is SP_E_INVALID_ARGUMENT). SP_E_UNKNOWN_SESSION if
 * no open session has that id. *out is owned by the caller (sp_session_free). */
SOFTPROBE_API sp_status sp_store_get_session(sp_session **out, const sp_store *store, const char *id, size_t id_len);

/* Releases a handle. Does not close the session. NULL is a no-op. */
SOFTPROBE_API void sp_session_free(sp_session *session);

/* The session id: 32 hex digits (128 bits from the OS). Borrowed: valid while
 * the handle lives. Never NULL; "" for a NULL handle. */
SOFTPROBE_API const char *sp_session_id(const sp_session *session);
/* "replay" | "capture" | "generate". Static storage. "" for a NULL handle. */
SOFTPROBE_API const char *sp_session_mode(const sp_session *session);
/* Starts at 0; +1 on every successful mutation. 0 for a NULL handle. */
SOFTPROBE_API uint64_t sp_session_revision(const sp_session *session);

/* The mutating calls below take `len` bytes of JSON (no NUL byte allowed)
 * and, on success, store in *out_revision (which may be NULL) the revision
 * this very call produced: with concurrent writers, each caller learns its
 * own, which sp_session_revision() read afterwards cannot tell. On failure
 * nothing changes and *out_revision is untouched. */

/* Loads a case document (OTLP JSON profile) and its embedded rules,
 * replacing any loaded case. Errors: SP_E_INVALID_JSON, SP_E_INVALID_CASE,
 * SP_E_LIMIT_EXCEEDED, SP_E_INVALID_RULE (embedded rules); nothing changes. */
SOFTPROBE_API sp_status sp_session_load_case(uint64_t *out_revision, sp_session *session, const char *json, size_t len);
/* Same, from the file at path[0..path_len) (a NUL byte in it is
 * SP_E_INVALID_ARGUMENT). SP_E_IO names the path when it cannot be read. */
SOFTPROBE_API sp_status sp_session_load_case_file(uint64_t *out_revision, sp_session *session, const char *path,
                                                  size_t path_len);

/* Replaces the session rules with a rules document ({"version":1,"rules":[...]},
 * a bare array, or one rule object on its own; docs/rules.md). A null optional
 * field is absent; a deprecated legacy {match, response} rule is read as
 * when/then and named in sp_last_warnings(). sp_session_get_rules then returns
 * the document as given. SP_E_INVALID_RULE names the rule index and field; the
 * previous rules stay in force. A rule keeps its consumed state and hit count
 * across a replace when the new document has a rule of the same identity: its
 * "id", else its "name", else its canonical JSON (so resending the whole list,
 * as mockOutbound helpers do, never revives a consumed consume-once rule). */
SOFTPROBE_API sp_status sp_session_set_rules(uint64_t *out_revision, sp_session *session, const char *json, size_t len);
/* Appends the rules of a rules document (any shape sp_session_set_rules
 * takes: a document, a bare array, one rule object) after the session rules,
 * so on equal priority they win over every current one: what a mockOutbound
 * helper calls. The current rules are not reparsed: amortized cost
 * O(appended rules) in process, one revision bump, the whole append visible
 * at once. Same validation, errors and warnings as sp_session_set_rules, the
 * rule index in SP_E_INVALID_RULE counting from the appended document's first
 * rule; on error nothing changes. The appended rules start unused (a
 * consume-once rule is fresh even when one of the same identity was
 * consumed). Afterwards sp_session_get_rules_as_posted returns the whole list
 * as one document, like sp_session_get_rules. A session of a remote store
 * (sp_store_new_remote) sends the runtime only the appended document (POST
 * /v1/sessions/{id}/rules/append); a runtime without that route (the
 * reference runtime) is sent the whole list instead (POST .../rules), O(all
 * rules) per call. */
SOFTPROBE_API sp_status sp_session_add_rules(uint64_t *out_revision, sp_session *session, const char *json, size_t len);
/* The session rules as one document, {"version":1,"rules":[...]} ({"version":1,
 * "rules":[]} before any), whatever shape was posted: a bare array or one rule
 * on its own is given in this form, each rule as posted (and those appended
 * after it by sp_session_add_rules). *out_json: caller frees. */
SOFTPROBE_API sp_status sp_session_get_rules(char **out_json, const sp_session *session);
/* The session rules document exactly as last posted (a document, a bare array
 * or one rule object): what GET /v1/sessions/{id}/rules echoes, as the
 * reference runtime does; after an sp_session_add_rules, the whole list as
 * sp_session_get_rules gives it. *out_json: caller frees. */
SOFTPROBE_API sp_status sp_session_get_rules_as_posted(char **out_json, const sp_session *session);

/* Replaces the policy. SP_E_INVALID_POLICY names the field. */
SOFTPROBE_API sp_status sp_session_set_policy(uint64_t *out_revision, sp_session *session, const char *json,
                                              size_t len);

/* Replaces the auth fixtures ({"tokens":[],"cookies":[],"metadata":{}}). */
SOFTPROBE_API sp_status sp_session_set_auth_fixtures(uint64_t *out_revision, sp_session *session, const char *json,
                                                     size_t len);

/* {"sessionId","sessionRevision","mode","stats":{"injectedSpans",
 * "extractedSpans","strictMisses","decisions","passthroughs",
 * "lastStrictMiss"?,"ruleHits":[...]}}; injectedSpans counts answers with a
 * mock or error response only, decisions every decided request
 * (= injectedSpans + passthroughs + strictMisses). lastStrictMiss carries
 * "nearMiss" and "explanation". Caller frees. */
SOFTPROBE_API sp_status sp_session_stats(char **out_json, const sp_session *session);
/* Stats plus "policy", "rules", "fixtures", "caseSummary" ({"traceCount":0}
 * without a case), "closed". Caller frees. */
SOFTPROBE_API sp_status sp_session_state(char **out_json, const sp_session *session);
/* The most recent strict misses (up to 32), oldest first, each explained. Caller frees. */
SOFTPROBE_API sp_status sp_session_strict_misses(char **out_json, const sp_session *session);

/* findInCase on the loaded case. `predicate_json` (`len` bytes; NULL or len 0
 * matches every span): {"direction","method",
 * "host","hostSuffix","path","pathPrefix","service"} (all optional).
 * *out_json: {"response":{"status","headers","body"|"bodyBase64"},"span":{...}}.
 * SP_E_CASE_LOOKUP when zero or several spans match; sp_last_error_details()
 * then holds {"matches":[{"spanId","traceId","method","host","path","status"}]}. */
SOFTPROBE_API sp_status sp_session_find_in_case(char **out_json, const sp_session *session, const char *predicate_json,
                                                size_t len);
/* All matches in file order: {"matches":[<same shape as find_in_case>...]}. */
SOFTPROBE_API sp_status sp_session_find_all_in_case(char **out_json, const sp_session *session,
                                                    const char *predicate_json, size_t len);

/* ---- Decisions -------------------------------------------------------------- */

typedef struct sp_decision sp_decision;

typedef enum sp_outcome {
  SP_OUTCOME_MOCK = 0,        /* answer with the decision's response */
  SP_OUTCOME_ERROR = 1,       /* answer with the decision's (error) response; strict misses are this */
  SP_OUTCOME_PASSTHROUGH = 2, /* forward to the real upstream */
  SP_OUTCOME_CAPTURE_ONLY = 3 /* forward and record */
} sp_outcome;

/* Decides one request against the session's rules and policy. Thread-safe,
 * with no global lock: a per-session reader lock is held only to copy the
 * rules snapshot, and the indexed rule lookup itself is lock-free; parses no JSON (except the request body,
 * once, when a candidate rule has a bodyJsonPath predicate).
 * *out is owned by the caller (sp_decision_free). Errors:
 * SP_E_INVALID_ARGUMENT (NULL or unknown request version), SP_E_SESSION_CLOSED. */
SOFTPROBE_API sp_status sp_session_decide(sp_decision **out, sp_session *session, const sp_request *request);

/* The accessors below never fail. A NULL decision (a caller's bug) reads
 * as a refusal, so that it can never let a request through: outcome
 * SP_OUTCOME_ERROR, status 599, no headers, an empty body, no latency, not
 * a strict miss (no policy decided it), rule "". */
SOFTPROBE_API void sp_decision_free(sp_decision *decision);
/* What to do with the request. SP_OUTCOME_ERROR for NULL (never PASSTHROUGH). */
SOFTPROBE_API sp_outcome sp_decision_outcome(const sp_decision *decision);
/* The response status for mock/error outcomes; 0 for passthrough and
 * capture-only; 599 for NULL. */
SOFTPROBE_API int sp_decision_status(const sp_decision *decision);
/* 0 for NULL. */
SOFTPROBE_API size_t sp_decision_header_count(const sp_decision *decision);
/* The i-th response header (borrowed views, valid while the decision lives);
 * empty views when i is out of range or the decision is NULL. */
SOFTPROBE_API sp_header sp_decision_header(const sp_decision *decision, size_t i);
/* The response body (borrowed, valid while the decision lives); {NULL, 0}
 * for NULL. */
SOFTPROBE_API sp_str sp_decision_body(const sp_decision *decision);
/* Delay the rule asks for before answering, in milliseconds; 0 for NULL. */
SOFTPROBE_API uint32_t sp_decision_latency_ms(const sp_decision *decision);
/* 1 when the policy blocked an unmatched request (status 599), else 0
 * (also for NULL). */
SOFTPROBE_API int sp_decision_is_strict_miss(const sp_decision *decision);
/* Name (or id, or "session rule #N") of the deciding rule; "" when the
 * policy or the default decided, or for NULL. Borrowed, valid while the
 * decision lives. */
SOFTPROBE_API const char *sp_decision_rule(const sp_decision *decision);
/* For a strict miss: {"method","host","path","requestFingerprint","nearMiss",
 * "explanation"}; otherwise {"outcome","rule"?}. Caller frees *out_json. */
SOFTPROBE_API sp_status sp_decision_explain(char **out_json, const sp_decision *decision);

/* ---- Capture ---------------------------------------------------------------- */

/* Records an observed exchange in a capture or generate session (written on
 * close). A replay session writes no case and keeps nothing: the call
 * succeeds and does not count. `response` may be NULL for a request that got
 * no response. Times are Unix nanoseconds (0: unknown). Secrets are redacted
 * before storage as the session's redaction says. SP_E_LIMIT_EXCEEDED, naming
 * the limit and the session option that raises it, when recording it would
 * give a case that the session's limits refuse to load (more than maxSpans
 * exchanges, a body or header over maxStringBytes, too many attributes, a
 * file over maxCaseBytes); nothing is stored then. */
SOFTPROBE_API sp_status sp_session_record(sp_session *session, const sp_request *request, const sp_response *response,
                                          uint64_t start_unix_nano, uint64_t end_unix_nano);

/* Closes the session and removes it from its store. Capture and generate
 * sessions write their case atomically (temp file + rename) to `out_path`
 * (`len` bytes), or, when it is NULL or len is 0, to
 * $SOFTPROBE_CAPTURE_CASE_PATH or ./captured.case.json. {sessionId}, {ts}
 * and {mode} in the path are filled in. A NUL byte inside the path is
 * SP_E_INVALID_ARGUMENT naming its offset (never a shorter path). When the
 * store has a capture directory (sp_store_set_capture_dir) the path is
 * relative to it and checked as that call says; an existing file that may
 * not be replaced is SP_E_INVALID_ARGUMENT and is left unchanged.
 * *out_capture_path (may be NULL) receives the path written, or "" for
 * replay sessions; caller frees. On any error the session stays open, so
 * nothing recorded is lost. */
SOFTPROBE_API sp_status sp_session_close(char **out_capture_path, sp_session *session, const char *out_path,
                                         size_t len);

/* The capture so far of a capture or generate session, as the case JSON
 * that closing it would write (pretty, capture order), without writing a
 * file; the session stays open and keeps recording. *out_json: caller
 * frees. SP_E_WRONG_MODE for a replay session (it keeps no capture),
 * SP_E_SESSION_CLOSED for a closed one. */
SOFTPROBE_API sp_status sp_session_export_capture(char **out_json, const sp_session *session);

/* Closes a capture or generate session and removes it from its store, as
 * sp_session_close does, but hands its case JSON to the caller instead of
 * writing a file (for a binding that forwards its capture elsewhere, e.g.
 * to a remote runtime). Nothing recorded can slip in between the export and
 * the close. *out_json: caller frees. SP_E_WRONG_MODE for a replay session,
 * SP_E_SESSION_CLOSED when already closed; on error the session stays open
 * and nothing changes. */
SOFTPROBE_API sp_status sp_session_close_export(char **out_json, sp_session *session);

/* ---- Validation without a session ------------------------------------------
 * Each checks `len` bytes of JSON exactly as the matching setter would and
 * returns SP_OK or the same status, message (line, column and byte of a JSON
 * error; rule index and field; the case's JSON path) and details the setter
 * gives. Nothing is created or kept. For editors, CI linters and front ends
 * that refuse a bad document before any session exists. */

/* As sp_session_set_rules: SP_E_INVALID_JSON, SP_E_INVALID_RULE, and the same
 * sp_last_warnings(). */
SOFTPROBE_API sp_status sp_validate_rules(const char *json, size_t len);
/* As sp_session_set_policy: SP_E_INVALID_JSON, SP_E_INVALID_POLICY. */
SOFTPROBE_API sp_status sp_validate_policy(const char *json, size_t len);
/* As sp_session_load_case with the default limits (docs/architecture.md,
 * Limits): SP_E_INVALID_JSON, SP_E_INVALID_CASE, SP_E_LIMIT_EXCEEDED,
 * SP_E_INVALID_RULE (its embedded rules). A session created with raised
 * "limits" may accept a case this refuses for its size. */
SOFTPROBE_API sp_status sp_validate_case(const char *json, size_t len);

/* ---- Utilities -------------------------------------------------------------- */

/* The canonical form of `request` (docs/requests.md), as a JSON object
 * {"scheme","host","port","urlHost","path","query","url","headers"}: scheme
 * and host lowercase (an IPv6 literal in brackets, RFC 5952 form), port the
 * effective port, urlHost with ":port" only when not the scheme default, the
 * path and query under the one percent-encoding rule, headers an object of
 * lowercase name -> array of values in the order sent (names in first-seen
 * order; "host" added when neither it nor ":authority" was sent), plus "fingerprint" (the request
 * fingerprint over this form and the body). No session needed. Errors:
 * SP_E_INVALID_ARGUMENT naming the field, the problem and the byte
 * ("request.url: invalid port \"8x\" at byte 17"; details {field, offset, problem});
 * SP_E_LIMIT_EXCEEDED over the URL, header count or header value limits
 * (details {limit, max, actual}). Caller frees *out_json with sp_string_free. */
SOFTPROBE_API sp_status sp_canonical_request(char **out_json, const sp_request *request);

/* The request fingerprint (16 hex digits; definition in docs/fingerprint.md).
 * `host` is url.host (":port" only when not the scheme default). Caller frees. */
SOFTPROBE_API sp_status sp_request_fingerprint(char **out, sp_str method, sp_str host, sp_str path, sp_str body);

/* Log level for the core's JSON-lines log, level[0..len): "debug", "info",
 * "warn", "error" or "off". Default: $SOFTPROBE_LOG_LEVEL or "warn". Strict
 * misses log at "info". SP_E_INVALID_ARGUMENT names an unknown level. */
SOFTPROBE_API sp_status sp_set_log_level(const char *level, size_t len);
/* Routes log lines to `handler` (NULL restores stderr). `level` is 0 debug,
 * 1 info, 2 warn, 3 error. Called from any thread, one call at a time. */
typedef void (*sp_log_handler)(int level, const char *json_line, void *user_data);
SOFTPROBE_API void sp_set_log_handler(sp_log_handler handler, void *user_data);

/* ---- Proxy OTLP API (experimental) -----------------------------------------
 *
 * Declared only when SOFTPROBE_EXPERIMENTAL is defined before this header is
 * included: these calls may still change in any release, minor or patch, and
 * the ABI check does not hold them to the baseline (docs/c-abi.md).
 *
 * What a proxy or runtime does with contract section 7 (/v1/inject and
 * /v1/traces): the payload is an OTLP TracesData / ExportTraceServiceRequest
 * in OTLP JSON or protobuf; the core decodes it, maps span attributes to the
 * request (the same mapping as case files), decides or records, and encodes
 * the answer. The host only moves bytes and sets the HTTP status.
 *
 * The request is read from the span's attributes: sp.session.id,
 * sp.traffic.direction, sp.service.name (or resource service.name),
 * url.scheme / url.host / url.path / url.query (each falling back to url.full,
 * then to the ":scheme" / ":authority" / ":path" / "host" header attributes),
 * http.request.method (else the ":method" header attribute, else the span
 * name "HTTP GET"), http.request.header.<name>, http.request.body.
 *
 * Malformed input fails with SP_E_INVALID_JSON (JSON syntax, byte offset) or
 * SP_E_INVALID_CASE (wrong shape or malformed protobuf; the message says where,
 * e.g. "protobuf: resourceSpans[0].scopeSpans[0].spans[2]: truncated
 * length-delimited field"), SP_E_LIMIT_EXCEEDED for nesting deeper than 64
 * levels. Such a call changes nothing. */

#ifdef SOFTPROBE_EXPERIMENTAL

typedef enum sp_payload_format {
  SP_FORMAT_JSON = 0,              /* OTLP JSON (application/json) */
  SP_FORMAT_PROTOBUF = 1,          /* OTLP protobuf (application/x-protobuf) */
  SP_FORMAT_RESERVED_ = 0x7FFFFFFF /* not a format: keeps any int-sized value in the enum's range,
                                      so a bad value is SP_E_INVALID_ARGUMENT, not undefined behaviour */
} sp_payload_format;

typedef enum sp_inject_outcome {
  SP_INJECT_HIT = 0,             /* a rule or the policy answered: HTTP 200 + response span */
  SP_INJECT_MISS = 1,            /* passthrough or capture_only: HTTP 404, empty body (forward) */
  SP_INJECT_UNKNOWN_SESSION = 2, /* no open session with the span's sp.session.id: HTTP 404 */
  SP_INJECT_STRICT_MISS = 3      /* the strict policy blocked it (599 in the span): HTTP 200 */
} sp_inject_outcome;

typedef struct sp_inject_result sp_inject_result;

/* The accessors of both result types never fail. A NULL result (a caller's
 * bug) reads as a refusal, never as "forward": outcome
 * SP_INJECT_STRICT_MISS with HTTP status 500 and an empty body; an extract
 * result counts nothing. */

/* Decides the inject span of `payload` (the first span with sp.span.type
 * "inject", else the first span without a type) through the session named by
 * its sp.session.id, exactly as sp_session_decide would. The answer is encoded
 * in `out_format`. *out is owned by the caller (sp_inject_result_free).
 * An unknown or closed session is not an error: the outcome says so. */
SOFTPROBE_API sp_status sp_store_inject_otlp(sp_inject_result **out, sp_store *store, const char *payload, size_t len,
                                             sp_payload_format in_format, sp_payload_format out_format);
SOFTPROBE_API void sp_inject_result_free(sp_inject_result *result);
/* SP_INJECT_STRICT_MISS for NULL (never SP_INJECT_MISS, which forwards). */
SOFTPROBE_API sp_inject_outcome sp_inject_result_outcome(const sp_inject_result *result);
/* The HTTP status to answer with: 200 (hit, strict miss) or 404; 500 for NULL. */
SOFTPROBE_API int sp_inject_result_http_status(const sp_inject_result *result);
/* The response payload (a TracesData with one span carrying
 * http.response.status_code, http.response.header.<name>, http.response.body)
 * for status 200; empty for 404. Borrowed: valid while the result lives. */
SOFTPROBE_API sp_str sp_inject_result_body(const sp_inject_result *result);
/* The delay the deciding rule asks for before answering (latencyMs). */
SOFTPROBE_API uint32_t sp_inject_result_latency_ms(const sp_inject_result *result);
/* The span's sp.session.id ("" when it had none). Borrowed. */
SOFTPROBE_API const char *sp_inject_result_session_id(const sp_inject_result *result);
/* Label of the deciding rule; "" when the policy or no rule decided. Borrowed. */
SOFTPROBE_API const char *sp_inject_result_rule(const sp_inject_result *result);

typedef struct sp_extract_result sp_extract_result;

/* Appends every span with sp.span.type "extract" to the session named by its
 * sp.session.id (as sp_session_record does: redacted, counted in
 * stats.extractedSpans, written on close in capture and generate mode). The
 * whole payload is decoded first, so a malformed payload records nothing.
 * Spans for unknown or closed sessions are rejected, not an error: the result
 * counts them and its ExportTraceServiceResponse carries partialSuccess.
 * *out is owned by the caller (sp_extract_result_free). */
SOFTPROBE_API sp_status sp_store_extract_otlp(sp_extract_result **out, sp_store *store, const char *payload, size_t len,
                                              sp_payload_format in_format, sp_payload_format out_format);
SOFTPROBE_API void sp_extract_result_free(sp_extract_result *result);
/* Extract spans recorded. */
SOFTPROBE_API size_t sp_extract_result_recorded(const sp_extract_result *result);
/* Extract spans rejected (unknown or closed session, no sp.session.id, or
 * over the capture's limits). */
SOFTPROBE_API size_t sp_extract_result_rejected(const sp_extract_result *result);
/* Spans ignored: not extract spans, or extracts sent to a replay session. */
SOFTPROBE_API size_t sp_extract_result_ignored(const sp_extract_result *result);
/* Of the ignored spans: extracts sent to a replay session (not recorded, not
 * counted in its stats). */
SOFTPROBE_API size_t sp_extract_result_to_replay(const sp_extract_result *result);
/* Of the rejected spans: extracts without sp.session.id, and extracts naming
 * an unknown or closed session. The rest were over the capture's limits. */
SOFTPROBE_API size_t sp_extract_result_without_session_id(const sp_extract_result *result);
SOFTPROBE_API size_t sp_extract_result_unknown_session(const sp_extract_result *result);
/* Why spans were rejected: each distinct reason once, at most 10 listed
 * ("... (and N more)"); "" when nothing was rejected. Borrowed. */
SOFTPROBE_API const char *sp_extract_result_message(const sp_extract_result *result);
/* The ExportTraceServiceResponse to answer with (HTTP 200): "{}" or empty
 * protobuf, or partialSuccess {rejectedSpans, errorMessage}. Borrowed. */
SOFTPROBE_API sp_str sp_extract_result_body(const sp_extract_result *result);

/* ---- Proxy OTLP client (experimental): the other side of /v1/inject and
 * /v1/traces, for a proxy that decides through a remote runtime. The core
 * makes the payloads and reads the answer; the proxy only moves the bytes.
 * Each encoder reads `request` as every entry point does (the canonical
 * request, docs/requests.md) and gives the span a new trace, or a child of
 * the request's W3C traceparent. `session_id` (may be NULL/0) is written as
 * sp.session.id; without one the runtime cannot decide (404, unknown
 * session) or record (400). *out (*out_len bytes; protobuf may hold NUL
 * bytes) is owned by the caller (sp_string_free). */

/* The /v1/inject payload for `request`: a TracesData with one span,
 * sp.span.type "inject", and the request's attributes (url.*, method,
 * http.request.header.<name>, http.request.body). */
SOFTPROBE_API sp_status sp_otlp_encode_inject(char **out, size_t *out_len, const sp_request *request,
                                              const char *session_id, size_t session_id_len, sp_payload_format format);

/* The /v1/traces payload for one observed exchange: a TracesData with one
 * span, sp.span.type "extract", the request's and `response`'s attributes
 * and the times (Unix nanoseconds; 0: not written). Nothing is redacted
 * here: the runtime's session redacts what it records. */
SOFTPROBE_API sp_status sp_otlp_encode_extract(char **out, size_t *out_len, const sp_request *request,
                                               const sp_response *response, const char *session_id,
                                               size_t session_id_len, uint64_t start_unix_nano, uint64_t end_unix_nano,
                                               sp_payload_format format);

/* Reads a /v1/inject 200 answer (the response span: http.response.status_code,
 * http.response.header.<name>, http.response.body) into a decision the
 * sp_decision accessors read: outcome SP_OUTCOME_MOCK, or SP_OUTCOME_ERROR
 * with sp_decision_is_strict_miss 1 when the answer carries
 * "x-softprobe-strict-miss: 1" (the runtime's strict miss). The runtime has
 * already waited the rule's latencyMs, so the latency is 0 and no rule label
 * is known. Fails with SP_E_INVALID_JSON / SP_E_INVALID_CASE for a malformed
 * payload, and SP_E_INVALID_CASE when no span carries a status code (a 404's
 * empty body is not an answer: the caller forwards). *out is owned by the
 * caller (sp_decision_free). */
SOFTPROBE_API sp_status sp_otlp_decode_inject_answer(sp_decision **out, const char *payload, size_t len,
                                                     sp_payload_format format);

#endif /* SOFTPROBE_EXPERIMENTAL */

#ifdef __cplusplus
}
#endif

#endif /* SOFTPROBE_H */
