// Session: one test-scoped context (sp_session_*), decisions and capture.
#include <Python.h>

#include "binding.hpp"

namespace softprobe_py {

namespace {

// Request bodies at least this large are decided without the GIL: a
// bodyJsonPath rule parses them, which can take long enough for other
// threads to use the interpreter. Small requests keep the GIL, because
// releasing and re-taking it costs more than the decision itself and, under
// contention, can wait a whole switch interval.
constexpr size_t kReleaseGilBodyBytes = 16 * 1024;

// The request struct view over Python objects (kept alive by the caller's
// arguments for the duration of the call).
struct RequestView {
  sp_request req = SP_REQUEST_INIT;
  std::vector<sp_header> headers;
  std::vector<py::object> keep;

  // `url`: the URL or request-target as the client had it (sp_request.url);
  // then path and query are empty and the core splits and normalizes it.
  RequestView(py::handle method, py::handle scheme, py::handle host, int port, py::handle path, py::handle query,
              py::handle header_pairs, py::handle body, py::handle direction, py::handle service, py::handle url) {
    req.url = view_of(url, "url");
    req.method = view_of(method, "method");
    req.scheme = view_of(scheme, "scheme");
    req.host = view_of(host, "host");
    req.port = port;
    req.path = view_of(path, "path");
    req.query = view_of(query, "query");
    req.body = view_of(body, "body");
    req.direction = view_of(direction, "direction");
    req.service = view_of(service, "service");
    headers_of(header_pairs, headers, keep, "headers");
    req.headers = headers.data();
    req.header_count = headers.size();
  }
};

// Calls fn(session, data, len) on str/bytes JSON text without the GIL (in
// remote mode the setter sends the document to the runtime).
void set_document(Session& s, py::handle doc, sp_status (*fn)(uint64_t*, sp_session*, const char*, size_t),
                  const char* what) {
  sp_str text = view_of(doc, what);
  sp_status st;
  {
    py::gil_scoped_release nogil;
    st = fn(nullptr, s.get(), text.data ? text.data : "", text.len);
  }
  check(st);
}

// Reads a document of the local session (or, in remote mode, its mirror).
py::str get_document(const Session& s, sp_status (*fn)(char**, const sp_session*)) {
  char* out = nullptr;
  check(fn(&out, s.get()));
  return take_string(out);
}

// sp_session_stats without the GIL: in remote mode it asks the runtime.
py::str stats(const Session& s) {
  return string_without_gil([&](char** out) { return sp_session_stats(out, s.get()); });
}

py::str find(const Session& s, const std::string& predicate,
             sp_status (*fn)(char**, const sp_session*, const char*, size_t)) {
  char* out = nullptr;
  sp_status st;
  {
    py::gil_scoped_release nogil;
    st = fn(&out, s.get(), predicate.data(), predicate.size());
  }
  check(st);
  return take_string(out);
}

Decision* decide(Session& s, py::handle method, py::handle scheme, py::handle host, int port, py::handle path,
                 py::handle query, py::handle headers, py::handle body, py::handle direction, py::handle service,
                 py::handle url) {
  RequestView v(method, scheme, host, port, path, query, headers, body, direction, service, url);
  sp_decision* d = nullptr;
  sp_status st;
  if (v.req.body.len >= kReleaseGilBodyBytes) {
    py::gil_scoped_release nogil;
    st = sp_session_decide(&d, s.get(), &v.req);
  } else {
    st = sp_session_decide(&d, s.get(), &v.req);
  }
  check(st);
  return new Decision(d);
}

void record(Session& s, py::handle method, py::handle scheme, py::handle host, int port, py::handle path,
            py::handle query, py::handle headers, py::handle body, py::object status, py::handle response_headers,
            py::handle response_body, uint64_t start_unix_nano, uint64_t end_unix_nano, py::handle direction,
            py::handle service, py::handle url) {
  RequestView v(method, scheme, host, port, path, query, headers, body, direction, service, url);
  sp_response resp = SP_RESPONSE_INIT;
  std::vector<sp_header> resp_headers;
  bool has_response = !status.is_none();
  if (has_response) {
    resp.status = status.cast<int>();
    headers_of(response_headers, resp_headers, v.keep, "response_headers");
    resp.headers = resp_headers.data();
    resp.header_count = resp_headers.size();
    resp.body = view_of(response_body, "response_body");
  }
  sp_status st;
  {
    py::gil_scoped_release nogil;
    st = sp_session_record(s.get(), &v.req, has_response ? &resp : nullptr, start_unix_nano, end_unix_nano);
  }
  check(st);
}

}  // namespace

void bind_session(py::module_& m) {
  py::class_<Session>(m, "Session", "A handle to a session (sp_session). Freeing it does not close the session.")
      .def_property_readonly("id", [](const Session& s) { return std::string(sp_session_id(s.get())); })
      .def_property_readonly("mode", [](const Session& s) { return std::string(sp_session_mode(s.get())); })
      .def_property_readonly("revision", [](const Session& s) { return sp_session_revision(s.get()); })
      .def(
          "load_case", [](Session& s, py::handle doc) { set_document(s, doc, sp_session_load_case, "case document"); },
          py::arg("json"), "sp_session_load_case: a case document (OTLP JSON profile) as str or bytes.")
      .def(
          "load_case_file",
          [](Session& s, const std::string& path) {
            sp_status st;
            {
              py::gil_scoped_release nogil;
              st = sp_session_load_case_file(nullptr, s.get(), path.data(), path.size());
            }
            check(st);
          },
          py::arg("path"), "sp_session_load_case_file.")
      .def(
          "set_rules", [](Session& s, py::handle doc) { set_document(s, doc, sp_session_set_rules, "rules document"); },
          py::arg("json"), "sp_session_set_rules: replaces the session rules ({version, rules} or an array).")
      .def(
          "add_rules", [](Session& s, py::handle doc) { set_document(s, doc, sp_session_add_rules, "rules document"); },
          py::arg("json"), "sp_session_add_rules: appends rules after the session rules (any rules document shape).")
      .def(
          "get_rules", [](const Session& s) { return get_document(s, sp_session_get_rules); },
          "sp_session_get_rules: the session rules document (JSON).")
      .def(
          "set_policy", [](Session& s, py::handle doc) { set_document(s, doc, sp_session_set_policy, "policy"); },
          py::arg("json"), "sp_session_set_policy.")
      .def(
          "set_auth_fixtures",
          [](Session& s, py::handle doc) { set_document(s, doc, sp_session_set_auth_fixtures, "auth fixtures"); },
          py::arg("json"), "sp_session_set_auth_fixtures.")
      .def("stats", &stats,
           "sp_session_stats (JSON); remote: the runtime's counters and the mirror's added, both under 'sources'.")
      .def(
          "state", [](const Session& s) { return get_document(s, sp_session_state); }, "sp_session_state (JSON).")
      .def(
          "strict_misses", [](const Session& s) { return get_document(s, sp_session_strict_misses); },
          "sp_session_strict_misses: the latest strict misses, each explained (JSON array).")
      .def(
          "find_in_case",
          [](const Session& s, const std::string& predicate) { return find(s, predicate, sp_session_find_in_case); },
          py::arg("predicate_json"), "sp_session_find_in_case (SP_E_CASE_LOOKUP unless exactly one span matches).")
      .def(
          "find_all_in_case",
          [](const Session& s, const std::string& predicate) {
            return find(s, predicate, sp_session_find_all_in_case);
          },
          py::arg("predicate_json"), "sp_session_find_all_in_case: {matches:[...]} in file order.")
      .def("decide", &decide, py::arg("method"), py::arg("scheme"), py::arg("host"), py::arg("port"), py::arg("path"),
           py::arg("query"), py::arg("headers"), py::arg("body"), py::arg("direction") = py::none(),
           py::arg("service") = py::none(), py::arg("url") = py::none(),
           "sp_session_decide: str/bytes views, headers as [(name, value)] as sent; no JSON is built or parsed. "
           "`url` (absolute, or a request-target with scheme/host/port) replaces path and query; the core "
           "makes the request canonical (docs/requests.md).")
      .def("record", &record, py::arg("method"), py::arg("scheme"), py::arg("host"), py::arg("port"), py::arg("path"),
           py::arg("query"), py::arg("headers"), py::arg("body"), py::arg("status"), py::arg("response_headers"),
           py::arg("response_body"), py::arg("start_unix_nano") = 0, py::arg("end_unix_nano") = 0,
           py::arg("direction") = py::none(), py::arg("service") = py::none(), py::arg("url") = py::none(),
           "sp_session_record: one observed exchange; status None records a request without a response. "
           "`url` as in decide.")
      .def(
          "close",
          [](Session& s, const std::string& out_path) {
            char* out = nullptr;
            sp_status st;
            {
              py::gil_scoped_release nogil;
              st = sp_session_close(&out, s.get(), out_path.data(), out_path.size());
            }
            check(st);
            return take_string(out);
          },
          py::arg("out_path") = "",
          "sp_session_close: returns the capture path written ('' for replay); remote: hands this process's "
          "capture to the runtime, which writes the case at out_path (a path on its machine).")
      .def(
          "export_capture", [](const Session& s) { return get_document(s, sp_session_export_capture); },
          "sp_session_export_capture: the capture so far as case JSON; the session stays open.")
      .def(
          "close_export",
          [](Session& s) {
            return string_without_gil([&](char** out) { return sp_session_close_export(out, s.get()); });
          },
          "sp_session_close_export: closes without writing a file and returns the capture as case JSON.");
}

}  // namespace softprobe_py
