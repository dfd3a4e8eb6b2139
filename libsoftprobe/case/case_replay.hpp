// Replaying a loaded case as it was recorded (the session option
// "replayCase", which `softprobe proxy --mode replay --case FILE` sets): each
// outbound exchange of the case that carries a response answers the request
// with the same method, host:port, path and query string. Bodies and headers
// are not compared. The same request recorded several times is answered in
// recorded order, and the last answer repeats.
//
// It ranks below every explicit rule of priority >= 0 and above the policy
// (session.cc, Session::decide), like case-embedded rules of priority 0.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "case/case_file.hpp"
#include "request/request.hpp"
#include "rules/rule.hpp"

namespace softprobe::core {

class CaseReplay {
 public:
  // Indexes the exchanges of `c` (outbound, with a response status). The
  // paths and queries are compared as recorded, which is the canonical form
  // a capture writes (canonical_request.hpp).
  explicit CaseReplay(const CaseFile& c);

  // The next recorded answer for `req`, or nullptr when the case has none.
  // Thread-safe: each call advances that request's place by one, up to its
  // last answer.
  std::shared_ptr<const Response> next(const MatchRequest& req) const;

  // How many answers (exchanges) were indexed, and for how many requests.
  std::size_t answers() const noexcept { return answers_; }
  std::size_t requests() const noexcept { return by_request_.size(); }

 private:
  struct Answers {
    std::vector<std::shared_ptr<const Response>> in_order;
    mutable std::atomic<std::size_t> next{0};
  };
  std::unordered_map<std::string, std::unique_ptr<Answers>> by_request_;
  std::size_t answers_ = 0;
};

// The key two requests share when replay answers them alike:
// "METHOD host:port path?query" (method upper case, host:port lower case with
// the effective port).
std::string replay_key(std::string_view method, std::string_view host_port, std::string_view path,
                       std::string_view query);

}  // namespace softprobe::core
