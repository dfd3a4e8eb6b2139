// A rule (contract section 4): `when` predicates, one `then` action, and its
// rank (priority, layer, position). Rules are immutable once published except
// for their usage: the consume-once flag and the hit counter.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "request/http_exchange.hpp"
#include "rules/json_path.hpp"

namespace softprobe::core {

// Layers in precedence order: on equal priority the later layer wins.
enum class RuleLayer : int { policy = 0, case_rules = 1, session = 2 };
const char* rule_layer_name(RuleLayer layer) noexcept;

enum class Action : int { mock = 0, error = 1, passthrough = 2, capture_only = 3 };
const char* action_name(Action a) noexcept;

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
};

struct HeaderPredicate {
  std::string name;  // lowercase
  std::vector<std::string> values;
};

struct RuleWhen {
  std::optional<std::string> direction, service, method, path, path_prefix;
  std::optional<std::string> host;  // lowercase; compared with host:port when it has a port
  bool host_has_port = false;
  std::optional<std::string> host_suffix;    // lowercase
  std::vector<std::string> not_host_suffix;  // lowercase
  std::vector<HeaderPredicate> headers;
  std::optional<JsonPath> body_json_path;
  std::optional<nlohmann::json> body_equals;
  std::vector<std::pair<std::string, std::string>> trace_tags;  // attribute -> primitive as text
};

// What using a rule changes. Shared by the parses of one rule across rule
// replaces (same identity), so a consumed consume-once rule stays consumed and
// its hits keep counting when a client resends the whole list.
struct RuleUsage {
  std::atomic<bool> retired{false};  // consume-once rule already used
  std::atomic<std::uint64_t> hits{0};
};

struct Rule {
  std::string name, id;
  std::int64_t priority = 0;
  bool consume_once = false;
  std::uint32_t latency_ms = 0;
  RuleLayer layer = RuleLayer::session;
  std::size_t position = 0;  // index within its layer
  RuleWhen when;
  Action action = Action::mock;
  std::shared_ptr<const Response> response;  // mock and error only
  nlohmann::json source;                     // the rule as given
  std::string identity;                      // "id:..", else "name:..", else "json:" + canonical JSON

  // Set when parsed, replaced only by inherit_rule_usage before the rule is
  // published; the pointee is what decisions change.
  std::shared_ptr<RuleUsage> usage = std::make_shared<RuleUsage>();

  // "stripe-mock" or "session rule #3": how errors and explanations name it.
  std::string label() const;
};

using RuleList = std::vector<std::shared_ptr<const Rule>>;

// Parses a rules document: {"version":1,"rules":[...]}, a bare array of
// rules, or one rule object on its own (a one-rule document). A rule is
// {when, then}, or the deprecated legacy {match, response}, read as
// {"when": match, "then": {"action": "mock", "response": response}} with one
// message per such rule appended to `warnings` (when given). An optional
// field that is null is absent (support/json_fields.hpp). Throws
// Error(invalid_rule) whose message names the rule index and field
// ("rules[2].when.hostt: unknown key ...", "case rules[0]..." for the case
// layer) and whose details carry {"ruleIndex", "field", "layer"}; the index
// is within `document`. The k-th rule gets position first_position + k (an
// append continues the layer's numbering).
RuleList parse_rules(const nlohmann::json& document, RuleLayer layer, std::vector<std::string>* warnings = nullptr,
                     std::size_t first_position = 0);

// Gives each rule of `fresh` the usage of the rule of `current` with the same
// identity (the k-th fresh rule of an identity takes the k-th current one's),
// before `fresh` is published. Rules without a counterpart start unused.
void inherit_rule_usage(RuleList& fresh, const RuleList& current);

// Parses one response object (mock `response`, error `error`, policy
// `defaultResponse`). `where` is the field path used in errors; errors use `code`.
// `extra_keys`: keys other than status, headers, body and bodyBase64 are
// ignored instead of refused (then.response and then.error, which the
// published rule schema leaves open); a null field is absent.
std::shared_ptr<const Response> parse_response(const nlohmann::json& j, const std::string& where, bool status_required,
                                               int error_code_value, const nlohmann::json& error_details,
                                               bool extra_keys = false);

}  // namespace softprobe::core
