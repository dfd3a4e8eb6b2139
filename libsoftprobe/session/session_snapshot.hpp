// Everything a decision reads, swapped as one immutable unit: a mutation
// builds a new snapshot and publishes it atomically, so deciders never lock
// and never see half an update.
#pragma once

#include <memory>

#include "case/case_file.hpp"
#include "case/case_replay.hpp"
#include "policy/policy.hpp"
#include "rules/rule_set.hpp"

namespace softprobe::core {

class SessionSnapshot {
 public:
  SessionSnapshot(Policy policy, RuleList case_rules, RuleList session_rules, nlohmann::json session_rules_document,
                  std::shared_ptr<const CaseFile> loaded_case, nlohmann::json auth_fixtures,
                  std::shared_ptr<const CaseReplay> case_replay = nullptr)
      : policy(std::move(policy)),
        rules(std::move(case_rules), std::move(session_rules)),
        session_rules_document(std::move(session_rules_document)),
        loaded_case(std::move(loaded_case)),
        auth_fixtures(std::move(auth_fixtures)),
        case_replay(std::move(case_replay)) {}

  const Policy policy;
  const RuleSet rules;
  const nlohmann::json session_rules_document;  // as last posted (a document, a bare list or one rule)
  const std::shared_ptr<const CaseFile> loaded_case;
  const nlohmann::json auth_fixtures;
  const std::shared_ptr<const CaseReplay> case_replay;  // the loaded case's answers (option replayCase), or null
};

}  // namespace softprobe::core
