// The answer for one request: mock(response), error(response), passthrough or
// capture_only, plus what explains it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "rules/rule.hpp"

namespace softprobe::core {

class SessionSnapshot;

// An owned copy of a strictly missed request (the view it came from is gone
// by the time anyone asks why it missed).
struct MissedRequest {
  std::string direction, method, scheme, host, path, query, service, body, url_host, fingerprint;
  int port = 0;
  Headers headers;
  std::vector<std::pair<std::string, std::string>> tags;
  std::shared_ptr<const SessionSnapshot> snapshot;  // the rules it was decided against
};

struct Decision {
  Action outcome = Action::passthrough;
  std::shared_ptr<const Response> response;  // set for mock and error
  std::uint32_t latency_ms = 0;
  std::shared_ptr<const Rule> rule;  // the explicit rule that decided, if any
  bool from_policy = false;          // decided by the policy layer
  bool strict_miss = false;
  std::shared_ptr<const MissedRequest> miss;  // set on a strict miss
};

// {"method","host","path","requestFingerprint","nearMiss":{...}|null}: the
// strict miss with the closest rule and the predicate that failed.
nlohmann::json explain_miss(const MissedRequest& miss);

}  // namespace softprobe::core
