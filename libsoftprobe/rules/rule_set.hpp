// The rules one session decides with, compiled for lookup: case-embedded and
// session rules ranked by (priority, layer, position) and indexed by host and
// path, so a decision looks at a handful of candidates, not every rule.
//
// Immutable after construction (only the rules' own atomics change), so many
// threads decide against one RuleSet with no lock.
#pragma once

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

  const RuleList& case_rules() const noexcept { return case_rules_; }
  const RuleList& session_rules() const noexcept { return session_rules_; }

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  template <class V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  using Bucket = std::vector<std::uint32_t>;  // indexes into ranked_, ascending = best first
  struct HostBucket {
    StringMap<Bucket> by_path;  // rules with host and exact path
    Bucket any_path;            // rules with host only
  };

  // Rules whose only selective predicate is hostSuffix, in a trie over the
  // reversed suffix: walking the request host backwards visits exactly the
  // suffixes it ends with.
  struct SuffixNode {
    std::vector<std::pair<char, std::uint32_t>> children;  // char -> node index
    Bucket rules;
  };
  void add_suffix(const std::string& suffix, std::uint32_t rank);

  RuleList case_rules_, session_rules_;
  std::vector<const Rule*> ranked_;         // best rank first
  StringMap<HostBucket> by_host_;           // key: rule's host predicate (with or without port)
  StringMap<Bucket> by_path_;               // rules without host, with exact path
  std::vector<SuffixNode> suffix_trie_{1};  // node 0 is the root
  Bucket unindexed_;                        // everything else
};

}  // namespace softprobe::core
