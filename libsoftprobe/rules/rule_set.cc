#include "rules/rule_set.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "rules/rule_matcher.hpp"

namespace softprobe::core {

namespace {

// Rank order, worst first: the winner is the max of (priority, layer,
// position in its layer). Two rules never tie (a layer's positions differ).
bool ranks_below(const Rule* a, const Rule* b) noexcept {
  if (a->priority != b->priority) return a->priority < b->priority;
  if (a->layer != b->layer) return a->layer < b->layer;
  return a->position < b->position;
}

// Candidates of one index key, worst first, so the best is at the back and
// an appended rule (the highest position of the top layer) usually goes
// there too: it lands below only the rules of a higher priority.
using Bucket = std::vector<const Rule*>;

void insert_ranked(Bucket& bucket, const Rule* rule) {
  bucket.insert(std::upper_bound(bucket.begin(), bucket.end(), rule, ranks_below), rule);
}

// A trie over characters; walk() visits the rule lists of every inserted key
// that is a prefix of the input, shortest first. Keys are never empty.
class CharTrie {
 public:
  template <class It>
  Bucket& bucket(It first, It last) {
    if (nodes_.empty()) nodes_.emplace_back();  // node 0 is the root
    std::uint32_t node = 0;
    for (; first != last; ++first) {
      auto& children = nodes_[node].children;
      auto it = std::find_if(children.begin(), children.end(), [&](const auto& p) { return p.first == *first; });
      if (it != children.end()) {
        node = it->second;
      } else {
        auto next = std::uint32_t(nodes_.size());
        children.emplace_back(*first, next);  // may reallocate nodes_ below: take the index first
        nodes_.emplace_back();
        node = next;
      }
    }
    return nodes_[node].rules;
  }

  template <class It, class Visit>
  void walk(It first, It last, Visit&& visit) const {
    if (nodes_.empty()) return;
    std::uint32_t node = 0;
    for (; first != last; ++first) {
      const auto& children = nodes_[node].children;
      auto it = std::find_if(children.begin(), children.end(), [&](const auto& p) { return p.first == *first; });
      if (it == children.end()) return;
      node = it->second;
      if (!nodes_[node].rules.empty()) visit(&nodes_[node].rules);
    }
  }

 private:
  struct Node {
    std::vector<std::pair<char, std::uint32_t>> children;  // char -> node index
    Bucket rules;
  };
  std::vector<Node> nodes_;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace

// Every rule sits in exactly one list, chosen by its most selective indexed
// predicate: host (then exact path, else path prefix, else any path), else
// exact path, else host suffix, else path prefix, else the scanned rest.
struct RuleSet::Store {
  struct HostBucket {
    StringMap<Bucket> by_path;  // host and exact path
    CharTrie by_prefix;         // host and pathPrefix, no exact path
    Bucket any_path;            // host only
  };

  RuleList case_rules;     // immutable
  RuleList session_rules;  // grows under mu
  // Writers: an append. Readers: lookups and copies of session_rules.
  mutable std::shared_mutex mu;
  StringMap<HostBucket> by_host;  // key: rule's host predicate (with or without port)
  StringMap<Bucket> by_path;      // no host, exact path
  CharTrie by_suffix;             // no host or path, hostSuffix, reversed
  CharTrie by_prefix;             // no host, path or hostSuffix, pathPrefix
  Bucket unindexed;               // everything else

  void add(const Rule* rule) {
    const RuleWhen& w = rule->when;
    bool prefix = w.path_prefix && !w.path_prefix->empty();
    if (w.host) {
      HostBucket& hb = by_host[*w.host];
      if (w.path) insert_ranked(hb.by_path[*w.path], rule);
      else if (prefix) insert_ranked(hb.by_prefix.bucket(w.path_prefix->begin(), w.path_prefix->end()), rule);
      else insert_ranked(hb.any_path, rule);
    } else if (w.path) {
      insert_ranked(by_path[*w.path], rule);
    } else if (w.host_suffix && !w.host_suffix->empty()) {
      insert_ranked(by_suffix.bucket(w.host_suffix->rbegin(), w.host_suffix->rend()), rule);
    } else if (prefix) {
      insert_ranked(by_prefix.bucket(w.path_prefix->begin(), w.path_prefix->end()), rule);
    } else {
      insert_ranked(unindexed, rule);
    }
  }
};

RuleSet::RuleSet(RuleList case_rules, RuleList session_rules) : store_(std::make_shared<Store>()) {
  store_->case_rules = std::move(case_rules);
  store_->session_rules = std::move(session_rules);
  session_count_ = store_->session_rules.size();
  std::vector<const Rule*> all;
  all.reserve(store_->case_rules.size() + session_count_);
  for (const auto& r : store_->case_rules) all.push_back(r.get());
  for (const auto& r : store_->session_rules) all.push_back(r.get());
  std::sort(all.begin(), all.end(), ranks_below);  // then each insert is at a bucket's back
  for (const Rule* r : all) store_->add(r);
}

RuleSet RuleSet::with_appended(RuleList more) const {
  for (std::size_t i = 0; i < more.size(); ++i)
    if (more[i]->layer != RuleLayer::session || more[i]->position != session_count_ + i)
      throw std::logic_error("RuleSet::with_appended: rules must be session rules numbered from the view's count");
  {
    std::unique_lock lock(store_->mu);
    if (store_->session_rules.size() == session_count_) {  // the newest view: grow the store
      for (auto& r : more) {
        store_->session_rules.push_back(r);
        store_->add(r.get());
      }
      return RuleSet(store_, store_->session_rules.size());
    }
  }
  RuleList all = session_rules();  // an older view: its own store
  all.insert(all.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  return RuleSet(store_->case_rules, std::move(all));
}

const RuleList& RuleSet::case_rules() const noexcept { return store_->case_rules; }

RuleList RuleSet::session_rules() const {
  std::shared_lock lock(store_->mu);
  return RuleList(store_->session_rules.begin(), store_->session_rules.begin() + std::ptrdiff_t(session_count_));
}

const Rule* RuleSet::best_match(const MatchRequest& req, Band band) const {
  // Candidate lists, each worst first; a k-way merge from their backs visits
  // candidates in rank order so the first match is the winner. Few lists in
  // practice (host, host:port, their path and path prefixes, path, the
  // suffixes the host ends with, the prefixes the path starts with, the rest).
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
  const Store& s = *store_;
  std::shared_lock lock(s.mu);
  const std::string_view path = req.view.path;
  auto add_host = [&](std::string_view key) {
    auto it = s.by_host.find(key);
    if (it == s.by_host.end()) return;
    add(&it->second.any_path);
    auto p = it->second.by_path.find(path);
    if (p != it->second.by_path.end()) add(&p->second);
    it->second.by_prefix.walk(path.begin(), path.end(), add);
  };
  add_host(req.host);
  add_host(req.host_port);
  if (auto p = s.by_path.find(path); p != s.by_path.end()) add(&p->second);
  s.by_suffix.walk(req.host.rbegin(), req.host.rend(), add);
  s.by_prefix.walk(path.begin(), path.end(), add);
  add(&s.unindexed);

  std::vector<std::size_t> left_overflow;
  std::size_t left_inline[kInline] = {};
  std::size_t* left = left_inline;  // candidates not yet visited in each list
  if (n > kInline) {
    left_overflow.resize(n);
    left = left_overflow.data();
  }
  for (std::size_t k = 0; k < n; ++k) left[k] = lists[k]->size();
  for (;;) {
    std::size_t best_list = n;
    const Rule* rule = nullptr;
    for (std::size_t k = 0; k < n; ++k) {
      if (!left[k]) continue;
      const Rule* head = (*lists[k])[left[k] - 1];
      if (!rule || ranks_below(rule, head)) {
        rule = head;
        best_list = k;
      }
    }
    if (best_list == n) return nullptr;
    --left[best_list];
    if (rule->layer == RuleLayer::session && rule->position >= session_count_) continue;  // appended after this view
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
  auto consider = [&](const Rule* rule) {
    auto results = explain_rule(*rule, req);
    std::size_t passed =
        std::count_if(results.begin(), results.end(), [](const PredicateResult& r) { return r.passed; });
    double ratio = results.empty() ? 1.0 : double(passed) / double(results.size());
    bool tie = passed == best_passed && ratio == best_ratio;
    if (passed > best_passed || (passed == best_passed && ratio > best_ratio) || (tie && ranks_below(best, rule))) {
      best = rule;
      best_passed = passed;
      best_ratio = ratio;
    }
  };
  std::shared_lock lock(store_->mu);
  for (const auto& r : store_->case_rules) consider(r.get());
  for (std::size_t i = 0; i < session_count_; ++i) consider(store_->session_rules[i].get());
  return best;
}

}  // namespace softprobe::core
