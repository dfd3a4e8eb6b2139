// The rules one session decides with, compiled for lookup: case-embedded and
// session rules ranked by (priority, layer, position) and indexed by host,
// exact path, path prefix (a per-host trie) and host suffix, so a decision
// looks at a handful of candidates, not every rule. Rules with none of those
// predicates (only method, headers, bodyJsonPath, ...) are scanned.
//
// A RuleSet is a view: the rules and the index live in a store that views
// share, and a view sees the case rules and its first session_rule_count()
// session rules. with_appended adds session rules to the store in place
// (amortized O(appended): no rebuild, no copy) and returns a view that sees
// them; older views keep seeing what they saw. The store's reader lock
// guards lookups against a concurrent append, so many threads decide against
// one RuleSet while another appends.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/policy.hpp"
#include "request/request.hpp"
#include "rules/rule.hpp"

namespace softprobe::core {

class RuleSet {
 public:
  RuleSet(RuleList case_rules, RuleList session_rules);

  // Which priorities a lookup considers: the policy ranks between the two.
  enum class Band { non_negative, negative };

  // The highest-ranked explicit rule in `band` that matches and is not
  // retired, or nullptr. A consume-once rule is retired here, atomically:
  // under contention exactly one caller wins it and the others move on.
  const Rule* best_match(const MatchRequest& req, Band band) const;

  // The explicit rule that came closest to matching (most predicates held;
  // ties to the higher rank), with its predicate results; nullptr if none.
  const Rule* closest_rule(const MatchRequest& req) const;

  // This view plus `more`, session rules whose positions continue this
  // view's (parse_rules with first_position = session_rule_count()). When
  // this view is the store's newest, the store grows in place; otherwise a
  // new store is built.
  RuleSet with_appended(RuleList more) const;

  const RuleList& case_rules() const noexcept;
  // A copy of the session rules this view sees (position order).
  RuleList session_rules() const;
  std::size_t session_rule_count() const noexcept { return session_count_; }

 private:
  struct Store;
  RuleSet(std::shared_ptr<Store> store, std::size_t session_count)
      : store_(std::move(store)), session_count_(session_count) {}

  std::shared_ptr<Store> store_;
  std::size_t session_count_ = 0;
};

}  // namespace softprobe::core
