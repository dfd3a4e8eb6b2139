#include "case/case_lookup.hpp"

#include "support/errors.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

std::string describe(const CasePredicate& p) {
  nlohmann::json j = nlohmann::json::object();
  if (p.direction) j["direction"] = *p.direction;
  if (p.method) j["method"] = *p.method;
  if (p.host) j["host"] = *p.host;
  if (p.host_suffix) j["hostSuffix"] = *p.host_suffix;
  if (p.path) j["path"] = *p.path;
  if (p.path_prefix) j["pathPrefix"] = *p.path_prefix;
  if (p.service) j["service"] = *p.service;
  return j.dump();
}

}  // namespace

CasePredicate case_predicate_from_json(const nlohmann::json& j) {
  CasePredicate p;
  if (j.is_null()) return p;
  if (!j.is_object())
    throw Error(ErrorCode::invalid_argument, "findInCase predicate must be a JSON object", {{"field", "$"}});
  for (const auto& [key, value] : j.items()) {
    std::optional<std::string>* slot = nullptr;
    if (key == "direction") slot = &p.direction;
    else if (key == "method") slot = &p.method;
    else if (key == "host") slot = &p.host;
    else if (key == "hostSuffix") slot = &p.host_suffix;
    else if (key == "path") slot = &p.path;
    else if (key == "pathPrefix") slot = &p.path_prefix;
    else if (key == "service") slot = &p.service;
    else
      throw Error(ErrorCode::invalid_argument,
                  "findInCase predicate: unknown key \"" + key +
                      "\" (expected direction, method, host, hostSuffix, path, pathPrefix, service)",
                  {{"field", key}});
    if (!value.is_string())
      throw Error(ErrorCode::invalid_argument, "findInCase predicate: \"" + key + "\" must be a string",
                  {{"field", key}});
    *slot = value.get<std::string>();
  }
  return p;
}

bool case_predicate_matches(const CasePredicate& p, const HttpExchange& ex) {
  if (p.direction && !text::iequals(*p.direction, ex.direction)) return false;
  if (p.method && !text::iequals(*p.method, ex.method)) return false;
  if (p.service && *p.service != ex.service) return false;
  auto bare_host = split_host_port(ex.host).host;
  if (p.host) {
    bool predicate_has_port = !split_host_port(*p.host).port.empty();
    if (!text::iequals(*p.host, predicate_has_port ? std::string_view(ex.host) : bare_host)) return false;
  }
  if (p.host_suffix && !text::ends_with_ci(bare_host, *p.host_suffix)) return false;
  if (p.path && *p.path != ex.path) return false;
  if (p.path_prefix && !text::starts_with(ex.path, *p.path_prefix)) return false;
  return true;
}

std::vector<const HttpExchange*> find_all_in_case(const CaseFile& c, const CasePredicate& p) {
  std::vector<const HttpExchange*> out;
  for (const auto& ex : c.exchanges)
    if (ex.status && case_predicate_matches(p, ex)) out.push_back(&ex);
  return out;
}

const HttpExchange& find_in_case(const CaseFile& c, const CasePredicate& p) {
  auto matches = find_all_in_case(c, p);
  if (matches.size() == 1) return *matches.front();
  nlohmann::json list = nlohmann::json::array();
  std::string lines;
  for (const auto* ex : matches) {
    list.push_back(exchange_summary_json(*ex));
    lines += "\n  - span " + ex->span_id + ": " + ex->method + " " + ex->host + ex->path;
  }
  std::string msg =
      matches.empty()
          ? "findInCase found no span with a response matching " + describe(p) + " in case \"" + c.case_id + "\""
          : "findInCase found " + std::to_string(matches.size()) + " spans matching " + describe(p) +
                "; narrow the predicate (add method, host or path) so exactly one matches:" + lines;
  throw Error(ErrorCode::case_lookup, msg, {{"matches", list}});
}

nlohmann::json exchange_summary_json(const HttpExchange& ex) {
  nlohmann::json j = {
      {"spanId", ex.span_id}, {"traceId", ex.trace_id}, {"method", ex.method}, {"host", ex.host}, {"path", ex.path}};
  if (ex.status) j["status"] = *ex.status;
  return j;
}

nlohmann::json exchange_match_json(const HttpExchange& ex) {
  nlohmann::json headers = nlohmann::json::object();
  // A repeated header (two Set-Cookie lines) is a list, as a mock rule's
  // headers take it, so mockOutbound replays it as separate lines.
  for (const auto& [name, value] : ex.response_headers) {
    auto it = headers.find(name);
    if (it == headers.end()) headers[name] = value;
    else if (it->is_array()) it->push_back(value);
    else *it = nlohmann::json::array({it->get<std::string>(), value});
  }
  nlohmann::json response = {{"status", ex.status.value_or(0)}, {"headers", headers}};
  if (text::is_valid_utf8(ex.response_body)) response["body"] = ex.response_body;
  else response["bodyBase64"] = text::base64_encode(ex.response_body);
  nlohmann::json span = exchange_summary_json(ex);
  span["direction"] = ex.direction;
  span["service"] = ex.service;
  span["query"] = ex.query;
  return {{"response", response}, {"span", span}};
}

}  // namespace softprobe::core
