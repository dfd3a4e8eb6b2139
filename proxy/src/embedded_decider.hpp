// The core in the proxy's process: one default session built from the flags
// (--mode, --case, --rules, --policy, --allow-host, --session), decided
// through the C++ API (softprobe.hpp) as every binding does, so the core's
// canonical request does the URL and header normalization.
#pragma once

#include <memory>
#include <mutex>

#include "decider.hpp"
#include "proxy_options.hpp"
#include "softprobe.hpp"

namespace softprobe::proxy {

class EmbeddedDecider : public Decider {
 public:
  // Creates the default session, loads --case and --rules. Throws
  // softprobe::Error (naming the file and the problem) when one of them
  // cannot be read or is invalid.
  explicit EmbeddedDecider(const ProxyOptions& options);

  // Decides inline: `done` runs before decide returns.
  void decide(const ProxyRequest& request, VerdictHandler done) override;
  // Records inline: `recorded` runs before record returns.
  void record(const Verdict& verdict, const ProxyRequest& request, const UpstreamResponse& response,
              std::uint64_t start_unix_nano, std::uint64_t end_unix_nano, std::function<void()> recorded) override;
  // Capture: closes the default session, writing --out atomically.
  bool finish() override;

  const std::string& default_session_id() const noexcept override { return default_id_; }

 private:
  Verdict verdict_for(const ProxyRequest& request);

  ProxyOptions options_;
  softprobe::Store store_;
  softprobe::Session default_;
  std::string default_id_;
  bool capture_;
  std::mutex finish_mu_;
  bool finished_ = false;
};

// The session options document for `options` (mode, id, policy, replayCase).
std::string session_options_json(const ProxyOptions& options);

}  // namespace softprobe::proxy
