// Everything a decision reads, swapped as one unit: a mutation builds a new
// snapshot and publishes it atomically, so deciders never see half an
// update. All of it is immutable but the rules, a view of a store that an
// append grows in place; the view sees only the rules it was made with
// (rule_set.hpp).
#pragma once

#include <memory>

#include "case/case_file.hpp"
#include "case/case_replay.hpp"
#include "policy/policy.hpp"
#include "rules/rule_set.hpp"

namespace softprobe::core {

class SessionSnapshot {
 public:
  // `posted_rules`: how many of the session rules came with
  // `session_rules_document`; the rest were appended after it (add_rules).
  SessionSnapshot(Policy policy, RuleSet rules, std::shared_ptr<const nlohmann::json> session_rules_document,
                  std::size_t posted_rules, std::shared_ptr<const CaseFile> loaded_case, nlohmann::json auth_fixtures,
                  std::shared_ptr<const CaseReplay> case_replay = nullptr)
      : policy(std::move(policy)),
        rules(std::move(rules)),
        session_rules_document(std::move(session_rules_document)),
        posted_rules(posted_rules),
        loaded_case(std::move(loaded_case)),
        auth_fixtures(std::move(auth_fixtures)),
        case_replay(std::move(case_replay)) {}

  const Policy policy;
  const RuleSet rules;  // shares its store with the snapshots before it (rule_set.hpp)
  const std::shared_ptr<const nlohmann::json>
      session_rules_document;  // as last posted (a document, a bare list or one rule)
  const std::size_t posted_rules;
  const std::shared_ptr<const CaseFile> loaded_case;
  const nlohmann::json auth_fixtures;
  const std::shared_ptr<const CaseReplay> case_replay;  // the loaded case's answers (option replayCase), or null
};

}  // namespace softprobe::core
