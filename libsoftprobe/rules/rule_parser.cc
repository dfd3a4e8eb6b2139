#include "rules/rule.hpp"

#include <algorithm>
#include <deque>
#include <initializer_list>
#include <limits>
#include <unordered_map>

#include "request/http_syntax.hpp"
#include "support/errors.hpp"
#include "support/json_document.hpp"
#include "support/json_fields.hpp"
#include "support/text.hpp"

namespace softprobe::core {

namespace {

using nlohmann::json;

// Context for error messages: which rule, which layer.
struct Where {
  RuleLayer layer;
  std::size_t index;
  std::string prefix() const {
    return std::string(layer == RuleLayer::case_rules ? "case rules[" : "rules[") + std::to_string(index) + "]";
  }
};

[[noreturn]] void fail(const Where& w, const std::string& field, const std::string& what) {
  std::string at = field.empty() ? w.prefix() : w.prefix() + "." + field;
  throw Error(ErrorCode::invalid_rule, at + ": " + what,
              {{"ruleIndex", w.index}, {"field", field}, {"layer", rule_layer_name(w.layer)}});
}

void reject_unknown_keys(const json& obj, std::initializer_list<const char*> allowed, const Where& w,
                         const std::string& field) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(w, field.empty() ? key : field + "." + key, "unknown key (expected one of: " + list + ")");
    }
  }
}

std::string get_string(const json& v, const Where& w, const std::string& field) {
  if (!v.is_string()) fail(w, field, std::string("must be a string, got ") + v.type_name());
  return v.get<std::string>();
}

std::vector<std::string> get_string_list(const json& v, const Where& w, const std::string& field) {
  std::vector<std::string> out;
  if (v.is_string()) out.push_back(v.get<std::string>());
  else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i)
      out.push_back(get_string(v[i], w, field + "[" + std::to_string(i) + "]"));
  } else {
    fail(w, field, std::string("must be a string or an array of strings, got ") + v.type_name());
  }
  return out;
}

std::string primitive_text(const json& v, const Where& w, const std::string& field) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();
  fail(w, field, std::string("must be a string, number or boolean, got ") + v.type_name());
}

// `name` is "when", or "match" for the legacy {match, response} form.
RuleWhen parse_when(const json& j, const Where& w, const std::string& name) {
  RuleWhen when;
  if (field_absent(j)) return when;
  if (!j.is_object()) fail(w, name, std::string("must be an object, got ") + j.type_name());
  reject_unknown_keys(j,
                      {"direction", "service", "host", "hostSuffix", "notHostSuffix", "method", "path", "pathPrefix",
                       "headers", "bodyJsonPath", "equals", "traceTags"},
                      w, name);
  for (const auto& [key, v] : j.items()) {
    if (field_absent(v)) continue;
    std::string field = name + "." + key;
    if (key == "direction") {
      std::string d = text::to_lower(get_string(v, w, field));
      if (d != "outbound" && d != "inbound") fail(w, field, "must be \"outbound\" or \"inbound\", got \"" + d + "\"");
      when.direction = d;
    } else if (key == "service") when.service = get_string(v, w, field);
    else if (key == "host") {
      when.host = text::to_lower(get_string(v, w, field));
      when.host_has_port = !split_host_port(*when.host).port.empty();
    } else if (key == "hostSuffix") when.host_suffix = text::to_lower(get_string(v, w, field));
    else if (key == "notHostSuffix") {
      for (auto& s : get_string_list(v, w, field)) when.not_host_suffix.push_back(text::to_lower(s));
    } else if (key == "method") when.method = text::to_upper(get_string(v, w, field));
    else if (key == "path") when.path = get_string(v, w, field);
    else if (key == "pathPrefix") when.path_prefix = get_string(v, w, field);
    else if (key == "headers") {
      if (!v.is_object())
        fail(w, field, std::string("must be an object of header name to value(s), got ") + v.type_name());
      for (const auto& [name, values] : v.items())
        when.headers.push_back({text::to_lower(name), get_string_list(values, w, field + "." + name)});
    } else if (key == "bodyJsonPath") {
      std::string expr = get_string(v, w, field);
      try {
        when.body_json_path = JsonPath::parse(expr);
      } catch (const Error& e) {
        fail(w, field, e.what());
      }
    } else if (key == "equals") {
      when.body_equals = v;
    } else if (key == "traceTags") {
      if (!v.is_object()) fail(w, field, std::string("must be an object of attribute to value, got ") + v.type_name());
      for (const auto& [attr, value] : v.items())
        when.trace_tags.emplace_back(attr, primitive_text(value, w, field + "." + attr));
    }
  }
  if (when.body_equals && !when.body_json_path) fail(w, name + ".equals", "needs \"bodyJsonPath\" beside it");
  return when;
}

}  // namespace

const char* rule_layer_name(RuleLayer layer) noexcept {
  switch (layer) {
    case RuleLayer::policy: return "policy";
    case RuleLayer::case_rules: return "case";
    case RuleLayer::session: return "session";
  }
  return "?";
}

const char* action_name(Action a) noexcept {
  switch (a) {
    case Action::mock: return "mock";
    case Action::error: return "error";
    case Action::passthrough: return "passthrough";
    case Action::capture_only: return "capture_only";
  }
  return "?";
}

std::string Rule::label() const {
  if (!name.empty()) return name;
  if (!id.empty()) return id;
  return std::string(rule_layer_name(layer)) + " rule #" + std::to_string(position);
}

std::shared_ptr<const Response> parse_response(const json& j, const std::string& where, bool status_required,
                                               int error_code_value, const json& details, bool extra_keys) {
  auto code = static_cast<ErrorCode>(error_code_value);
  auto bad = [&](const std::string& field, const std::string& what) -> void {
    json d = details;
    d["field"] = field;
    std::string prefix = d.contains("prefix") ? d["prefix"].get<std::string>() + "." : "";
    d.erase("prefix");
    throw Error(code, prefix + field + ": " + what, d);
  };
  auto out = std::make_shared<Response>();
  bool json_body = false;  // a JSON value body is serialized and typed application/json
  if (!j.is_object()) {
    bad(where, std::string("must be an object, got ") + j.type_name());
    return out;
  }
  for (const auto& [key, v] : j.items()) {
    if (skip_null_field(key, v, {"status", "headers", "body", "bodyBase64"}))
      continue;  // "headers": null is no headers
    std::string field = where + "." + key;
    if (key == "status") {
      // 0 where a status is optional is Go's zero value for "not set": the
      // reference CLI's suite runner sends it for an inline mock without one.
      if (!status_required && json_int_in(v, 0, 0)) continue;
      if (auto status = json_int_in(v, 100, 999)) out->status = int(*status);
      else bad(field, "must be an integer HTTP status between 100 and 999");
    } else if (key == "headers") {
      if (!v.is_object()) bad(field, "must be an object of header name to string value");
      // These headers reach real HTTP clients (and, through the runtime,
      // proxies): a CR/LF would inject headers or split the response.
      auto add = [&](const std::string& name, const json& value) {
        if (!value.is_string()) bad(field + "." + name, "values must be strings");
        const auto& text = value.get_ref<const std::string&>();
        if (auto at = http::invalid_field_value_at(text); at != std::string::npos)
          bad(field + "." + name, "the value has a control character (" + http::describe_byte(text[at]) + ") at byte " +
                                      std::to_string(at) +
                                      "; header values cannot contain CR, LF, NUL or other controls");
        out->headers.emplace_back(name, text);
      };
      for (const auto& [name, value] : v.items()) {
        if (!http::is_token(name))
          bad(field + "." + json(name).dump(),
              "is not a valid header name (RFC 9110 token: letters, digits and !#$%&'*+-.^_`|~ only)");
        if (value.is_array()) {
          for (const auto& item : value) add(name, item);
        } else if (value.is_string()) {
          add(name, value);
        } else {
          bad(field + "." + name, "must be a string or an array of strings");
        }
      }
    } else if (key == "body") {
      if (v.is_string()) out->body = v.get<std::string>();
      else {
        out->body = v.dump();
        json_body = true;
      }
    } else if (key == "bodyBase64") {
      if (!v.is_string() || !text::base64_decode(v.get_ref<const std::string&>(), out->body))
        bad(field, "must be a base64 string");
    } else if (!extra_keys) {
      bad(field, "unknown key (expected one of: status, headers, body, bodyBase64)");
    }  // else: a key of the published schema's open response object, ignored (kept in the rule's echo)
  }
  if (has_field(j, "body") && has_field(j, "bodyBase64")) bad(where, "has both \"body\" and \"bodyBase64\"; give one");
  if (status_required && !has_field(j, "status")) bad(where + ".status", "is required");
  if (json_body && std::none_of(out->headers.begin(), out->headers.end(),
                                [](const auto& h) { return text::iequals(h.first, "content-type"); }))
    out->headers.emplace_back("content-type", "application/json");
  return out;
}

void inherit_rule_usage(RuleList& fresh, const RuleList& current) {
  if (fresh.empty() || current.empty()) return;
  std::unordered_map<std::string_view, std::deque<std::shared_ptr<RuleUsage>>> by_identity;
  for (const auto& rule : current) by_identity[rule->identity].push_back(rule->usage);
  for (auto& rule : fresh) {
    auto it = by_identity.find(rule->identity);
    if (it == by_identity.end() || it->second.empty()) continue;
    // Not yet published: nobody else can see this rule.
    const_cast<Rule&>(*rule).usage = std::move(it->second.front());
    it->second.pop_front();
  }
}

namespace {

// The keys of one rule, in the current form and in the legacy one.
constexpr std::initializer_list<const char*> kRuleKeys = {"name", "id",   "priority", "consume", "latencyMs",
                                                          "when", "then", "match",    "response"};

// A rules document is {"version":1,"rules":[...]}, a bare array of rules, or
// one rule object on its own (spec/examples/rules/*.rule.json): the list of
// rules it holds.
const json& rule_list(const json& document, json& single) {
  if (!document.is_object()) {
    if (!document.is_array())
      throw Error(
          ErrorCode::invalid_rule,
          std::string(
              "rules document: must be {\"version\":1,\"rules\":[...]}, an array of rules or one rule object, got ") +
              document.type_name(),
          {{"field", ""}});
    return document;
  }
  // One rule: no document key, and a rule key (so a typo in it is reported as the rule's own unknown key).
  bool one_rule = !document.contains("rules") && !document.contains("version") &&
                  std::any_of(kRuleKeys.begin(), kRuleKeys.end(), [&](const char* k) { return document.contains(k); });
  if (one_rule) {
    single = json::array({document});
    return single;
  }
  for (const auto& item : document.items())
    if (item.key() != "version" && item.key() != "rules")
      throw Error(
          ErrorCode::invalid_rule,
          "rules document: unknown key \"" + item.key() + "\" (expected \"version\" and \"rules\", or one rule object)",
          {{"field", item.key()}});
  if (const json* version = optional_field(document, "version"); version && json_int64(*version) != 1)
    throw Error(ErrorCode::invalid_rule, "rules document: \"version\" must be 1", {{"field", "version"}});
  const json* rules = optional_field(document, "rules");
  if (!rules) throw Error(ErrorCode::invalid_rule, "rules document: missing \"rules\" array", {{"field", "rules"}});
  if (!rules->is_array())
    throw Error(ErrorCode::invalid_rule, "rules document: \"rules\" must be an array", {{"field", "rules"}});
  return *rules;
}

}  // namespace

RuleList parse_rules(const json& document, RuleLayer layer, std::vector<std::string>* warnings,
                     std::size_t first_position) {
  json single;
  const json& list = rule_list(document, single);

  RuleList out;
  out.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& j = list[i];
    Where w{layer, i};
    if (!j.is_object()) fail(w, "", std::string("a rule must be an object, got ") + j.type_name());
    reject_unknown_keys(j, kRuleKeys, w, "");
    auto rule = std::make_shared<Rule>();
    rule->layer = layer;
    rule->position = first_position + i;
    rule->source = j;
    // nlohmann::json keeps object keys sorted, so dump() is canonical.
    const json* id = optional_field(j, "id");
    const json* name = optional_field(j, "name");
    rule->identity = id ? "id:" + id->dump() : name ? "name:" + name->dump() : "json:" + j.dump();
    if (name) rule->name = get_string(*name, w, "name");
    if (id) rule->id = get_string(*id, w, "id");
    if (const json* it = optional_field(j, "priority")) {
      auto priority = json_int64(*it);
      if (!priority)
        fail(w, "priority",
             std::string("must be an integer from -2^63 to 2^63-1, got ") +
                 (it->is_number() ? it->dump() : std::string(it->type_name())));
      rule->priority = *priority;
    }
    if (const json* it = optional_field(j, "consume")) {
      std::string c = get_string(*it, w, "consume");
      if (c != "many" && c != "once") fail(w, "consume", "must be \"many\" or \"once\", got \"" + c + "\"");
      rule->consume_once = c == "once";
    }
    if (const json* it = optional_field(j, "latencyMs")) {
      auto latency = json_int_in(*it, 0, 600000);
      if (!latency) fail(w, "latencyMs", "must be an integer from 0 to 600000");
      rule->latency_ms = std::uint32_t(*latency);
    }

    // The legacy form (the reference CLI's `capture run --redact-file` and
    // `session rules apply` files): {"match": <when>, "response": <mock response>}.
    const json* legacy_match = optional_field(j, "match");
    const json* legacy_response = optional_field(j, "response");
    if (legacy_match && has_field(j, "when")) fail(w, "match", "give \"when\" or the legacy \"match\", not both");
    if (legacy_response && has_field(j, "then"))
      fail(w, "response", "give \"then\" or the legacy \"response\", not both");
    if ((legacy_match || legacy_response) && warnings)
      warnings->push_back(w.prefix() +
                          ": the legacy {match, response} form is deprecated; it was read as {\"when\": match, "
                          "\"then\": {\"action\": \"mock\", \"response\": response}}: write it that way");

    if (legacy_match) rule->when = parse_when(*legacy_match, w, "match");
    else if (const json* when = optional_field(j, "when")) rule->when = parse_when(*when, w, "when");

    json details = {{"ruleIndex", i}, {"layer", rule_layer_name(layer)}, {"prefix", w.prefix()}};
    if (legacy_response) {
      rule->action = Action::mock;
      rule->response = parse_response(*legacy_response, "response", false, int(ErrorCode::invalid_rule), details, true);
      out.push_back(std::move(rule));
      continue;
    }

    const json* then = optional_field(j, "then");
    if (!then) fail(w, "then", "is required (an object with \"action\")");
    if (!then->is_object()) fail(w, "then", std::string("must be an object, got ") + then->type_name());
    reject_unknown_keys(*then, {"action", "response", "error"}, w, "then");
    const json* action = optional_field(*then, "action");
    if (!action) fail(w, "then.action", "is required (mock, error, passthrough or capture_only)");
    std::string a = get_string(*action, w, "then.action");
    const json* response = optional_field(*then, "response");
    const json* error = optional_field(*then, "error");
    if (a == "mock") {
      rule->action = Action::mock;
      if (error) fail(w, "then.error", "belongs to action \"error\"; a mock takes \"response\"");
      rule->response =
          response ? parse_response(*response, "then.response", false, int(ErrorCode::invalid_rule), details, true)
                   : std::make_shared<Response>();
    } else if (a == "error") {
      rule->action = Action::error;
      if (!error) fail(w, "then.error", "is required for action \"error\" (an object with \"status\")");
      if (response) fail(w, "then.response", "belongs to action \"mock\"; an error takes \"error\"");
      rule->response = parse_response(*error, "then.error", true, int(ErrorCode::invalid_rule), details, true);
    } else if (a == "passthrough" || a == "capture_only") {
      rule->action = a == "passthrough" ? Action::passthrough : Action::capture_only;
      if (response || error)
        fail(w, response ? "then.response" : "then.error", "is not allowed with action \"" + a + "\"");
    } else if (a == "replay") {
      fail(w, "then.action",
           "\"replay\" is deprecated and no longer supported: pick the recorded response at author time with "
           "findInCase(...) and register it with mockOutbound(...) (a \"mock\" rule)");
    } else {
      fail(w, "then.action", "unknown action \"" + a + "\" (expected mock, error, passthrough or capture_only)");
    }
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace softprobe::core
