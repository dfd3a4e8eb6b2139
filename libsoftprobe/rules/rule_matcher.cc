#include "rules/rule_matcher.hpp"

#include <algorithm>

#include "support/text.hpp"

namespace softprobe::core {

namespace {

bool header_has_value(const MatchRequest& req, const std::string& name, const std::string& value) {
  std::string joined;
  int seen = 0;
  for (std::size_t i = 0; i < req.view.header_count; ++i) {
    const HeaderView& h = req.view.headers[i];
    if (!text::iequals(h.name, name)) continue;
    if (h.value == value) return true;
    if (seen++) joined += ", ";
    joined += h.value;
  }
  return seen > 1 && joined == value;  // repeated headers compare as one joined value too
}

std::string header_values(const MatchRequest& req, const std::string& name) {
  std::string out;
  for (std::size_t i = 0; i < req.view.header_count; ++i) {
    const HeaderView& h = req.view.headers[i];
    if (!text::iequals(h.name, name)) continue;
    if (!out.empty()) out += ", ";
    out += h.value;
  }
  return out;
}

const std::string_view* find_tag(const MatchRequest& req, const std::string& key) {
  for (std::size_t i = 0; i < req.view.tag_count; ++i)
    if (req.view.tags[i].key == key) return &req.view.tags[i].value;
  return nullptr;
}

bool body_matches(const RuleWhen& w, const MatchRequest& req) {
  const nlohmann::json* body = req.body_json();
  if (!body) return false;
  std::vector<const nlohmann::json*> selected;
  w.body_json_path->select(*body, selected);
  if (!w.body_equals) return !selected.empty();
  return std::any_of(selected.begin(), selected.end(), [&](const nlohmann::json* n) { return *n == *w.body_equals; });
}

// Walks the predicates in a fixed order (cheapest first). `visit(name, passed,
// expected, actual)` returns false to stop. Strings for explanations are only
// built when `Explain` is true, so the fast path does not allocate.
template <bool Explain, class Visit>
bool walk(const Rule& rule, const MatchRequest& req, Visit&& visit) {
  const RuleWhen& w = rule.when;
  const RequestView& v = req.view;
  auto check = [&](const char* name, bool passed, auto&& expected, auto&& actual) {
    if constexpr (Explain) return visit(std::string(name), passed, std::string(expected()), std::string(actual()));
    else return visit(passed);
  };
  bool all = true;
  auto step = [&](const char* name, bool passed, auto&& expected, auto&& actual) {
    all = all && passed;
    return check(name, passed, expected, actual);
  };
  if (w.direction && !step(
                         "direction", text::iequals(*w.direction, v.direction), [&] { return *w.direction; },
                         [&] { return std::string(v.direction); }))
    return false;
  if (w.method && !step(
                      "method", text::iequals(*w.method, v.method), [&] { return *w.method; },
                      [&] { return std::string(v.method); }))
    return false;
  if (w.host) {
    const std::string& actual = w.host_has_port ? req.host_port : req.host;
    if (!step(
            "host", *w.host == actual, [&] { return *w.host; }, [&] { return actual; }))
      return false;
  }
  if (w.host_suffix && !step(
                           "hostSuffix", text::ends_with_ci(req.host, *w.host_suffix), [&] { return *w.host_suffix; },
                           [&] { return req.host; }))
    return false;
  if (!w.not_host_suffix.empty()) {
    bool none = std::none_of(w.not_host_suffix.begin(), w.not_host_suffix.end(),
                             [&](const std::string& s) { return text::ends_with_ci(req.host, s); });
    if (!step(
            "notHostSuffix", none, [&] { return "none of " + nlohmann::json(w.not_host_suffix).dump(); },
            [&] { return req.host; }))
      return false;
  }
  if (w.path && !step(
                    "path", *w.path == v.path, [&] { return *w.path; }, [&] { return std::string(v.path); }))
    return false;
  if (w.path_prefix && !step(
                           "pathPrefix", text::starts_with(v.path, *w.path_prefix), [&] { return *w.path_prefix; },
                           [&] { return std::string(v.path); }))
    return false;
  if (w.service &&
      !step(
          "service", *w.service == v.service, [&] { return *w.service; }, [&] { return std::string(v.service); }))
    return false;
  for (const auto& hp : w.headers) {
    bool ok = std::all_of(hp.values.begin(), hp.values.end(),
                          [&](const std::string& val) { return header_has_value(req, hp.name, val); });
    std::string name;
    if constexpr (Explain) name = "headers." + hp.name;
    if (!step(
            name.c_str(), ok, [&] { return nlohmann::json(hp.values).dump(); },
            [&] { return header_values(req, hp.name); }))
      return false;
  }
  for (const auto& tag_predicate : w.trace_tags) {
    const std::string& key = tag_predicate.first;
    const std::string& value = tag_predicate.second;
    const std::string_view* tag = find_tag(req, key);
    std::string name;
    if constexpr (Explain) name = "traceTags." + key;
    if (!step(
            name.c_str(), tag && *tag == value, [&] { return value; },
            [&] { return tag ? std::string(*tag) : std::string("(absent)"); }))
      return false;
  }
  if (w.body_json_path) {
    bool ok = body_matches(w, req);
    if (!step(
            "bodyJsonPath", ok,
            [&] {
              return w.body_json_path->expression() + (w.body_equals ? " == " + w.body_equals->dump() : std::string());
            },
            [&] {
              return req.body_json() ? std::string("body selected nothing equal") : std::string("body is not JSON");
            }))
      return false;
  }
  return all;
}

}  // namespace

bool rule_matches(const Rule& rule, const MatchRequest& req) {
  return walk<false>(rule, req, [](bool passed) { return passed; });
}

std::vector<PredicateResult> explain_rule(const Rule& rule, const MatchRequest& req) {
  std::vector<PredicateResult> out;
  walk<true>(rule, req, [&](std::string name, bool passed, std::string expected, std::string actual) {
    out.push_back({std::move(name), passed, std::move(expected), std::move(actual)});
    return true;  // keep going: an explanation wants every predicate
  });
  return out;
}

}  // namespace softprobe::core
