#include "rules/rule_set.hpp"

#include <algorithm>

#include "rules/rule_matcher.hpp"

namespace softprobe::core {

RuleSet::RuleSet(RuleList case_rules, RuleList session_rules)
    : case_rules_(std::move(case_rules)), session_rules_(std::move(session_rules)) {
  for (const auto& r : case_rules_) ranked_.push_back(r.get());
  for (const auto& r : session_rules_) ranked_.push_back(r.get());
  // Winner = max of (priority, layer, position in its layer).
  std::sort(ranked_.begin(), ranked_.end(), [](const Rule* a, const Rule* b) {
    if (a->priority != b->priority) return a->priority > b->priority;
    if (a->layer != b->layer) return a->layer > b->layer;
    return a->position > b->position;
  });
  for (std::uint32_t i = 0; i < ranked_.size(); ++i) {
    const RuleWhen& w = ranked_[i]->when;
    if (w.host) {
      HostBucket& hb = by_host_[*w.host];
      (w.path ? hb.by_path[*w.path] : hb.any_path).push_back(i);
    } else if (w.path) {
      by_path_[*w.path].push_back(i);
    } else if (w.host_suffix && !w.host_suffix->empty()) {
      add_suffix(*w.host_suffix, i);
    } else {
      unindexed_.push_back(i);
    }
  }
}

void RuleSet::add_suffix(const std::string& suffix, std::uint32_t rank) {
  std::uint32_t node = 0;
  for (auto c = suffix.rbegin(); c != suffix.rend(); ++c) {
    auto& children = suffix_trie_[node].children;
    auto it = std::find_if(children.begin(), children.end(), [&](const auto& p) { return p.first == *c; });
    if (it != children.end()) {
      node = it->second;
    } else {
      auto next = std::uint32_t(suffix_trie_.size());
      children.emplace_back(*c, next);  // may reallocate suffix_trie_ below: take the index first
      suffix_trie_.emplace_back();
      node = next;
    }
  }
  suffix_trie_[node].rules.push_back(rank);
}

const Rule* RuleSet::best_match(const MatchRequest& req, Band band) const {
  // Candidate lists, each sorted best-first; a k-way merge visits candidates
  // in rank order so the first match is the winner. Few lists in practice
  // (host, host:port, path, the suffixes the host ends with, the rest).
  constexpr std::size_t kInline = 16;
  const Bucket* inline_lists[kInline];
  std::vector<const Bucket*> overflow;
  const Bucket** lists = inline_lists;
  std::size_t n = 0;
  auto add = [&](const Bucket* b) {
    if (!b || b->empty()) return;
    if (n == kInline && overflow.empty()) overflow.assign(inline_lists, inline_lists + kInline);
    if (n >= kInline) {
      overflow.push_back(b);
      lists = overflow.data();
    } else {
      inline_lists[n] = b;
    }
    ++n;
  };
  auto add_host = [&](std::string_view key) {
    auto it = by_host_.find(key);
    if (it == by_host_.end()) return;
    add(&it->second.any_path);
    auto p = it->second.by_path.find(req.view.path);
    if (p != it->second.by_path.end()) add(&p->second);
  };
  add_host(req.host);
  add_host(req.host_port);
  if (auto p = by_path_.find(req.view.path); p != by_path_.end()) add(&p->second);
  std::uint32_t node = 0;  // the host backwards through the suffix trie
  for (auto c = req.host.rbegin(); c != req.host.rend(); ++c) {
    const auto& children = suffix_trie_[node].children;
    auto it = std::find_if(children.begin(), children.end(), [&](const auto& p) { return p.first == *c; });
    if (it == children.end()) break;
    node = it->second;
    add(&suffix_trie_[node].rules);
  }
  add(&unindexed_);

  std::vector<std::size_t> pos_overflow;
  std::size_t pos_inline[kInline] = {};
  std::size_t* pos = pos_inline;
  if (n > kInline) {
    pos_overflow.assign(n, 0);
    pos = pos_overflow.data();
  }
  for (;;) {
    std::size_t best_list = n;
    std::uint32_t best = UINT32_MAX;
    for (std::size_t k = 0; k < n; ++k)
      if (pos[k] < lists[k]->size() && (*lists[k])[pos[k]] < best) {
        best = (*lists[k])[pos[k]];
        best_list = k;
      }
    if (best_list == n) return nullptr;
    ++pos[best_list];
    const Rule* rule = ranked_[best];
    if (band == Band::non_negative && rule->priority < 0) return nullptr;  // ranked: the rest are negative too
    if (band == Band::negative && rule->priority >= 0) continue;
    if (rule->consume_once && rule->usage->retired.load(std::memory_order_acquire)) continue;
    if (!rule_matches(*rule, req)) continue;
    if (rule->consume_once) {
      bool expected = false;
      if (!rule->usage->retired.compare_exchange_strong(expected, true, std::memory_order_acq_rel))
        continue;  // lost the race
    }
    return rule;
  }
}

const Rule* RuleSet::closest_rule(const MatchRequest& req) const {
  const Rule* best = nullptr;
  std::size_t best_passed = 0;
  double best_ratio = -1;
  for (const Rule* rule : ranked_) {  // rank order: ties keep the higher-ranked rule
    auto results = explain_rule(*rule, req);
    std::size_t passed =
        std::count_if(results.begin(), results.end(), [](const PredicateResult& r) { return r.passed; });
    double ratio = results.empty() ? 1.0 : double(passed) / double(results.size());
    if (passed > best_passed || (passed == best_passed && ratio > best_ratio)) {
      best = rule;
      best_passed = passed;
      best_ratio = ratio;
    }
  }
  return best;
}

}  // namespace softprobe::core
