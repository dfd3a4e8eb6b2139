// Remote mode (`softprobe proxy --runtime URL [--token T]`): every request is
// decided by a running runtime over the proxy OTLP API (contract section 7),
// asynchronously, on the proxy's own HTTP client:
//  - POST /v1/inject (protobuf) with the request as an inject span, naming
//    the request's session (x-softprobe-session-id, else tracestate, else
//    --session). 200: the answer span is the response (a mock, an error or
//    the strict miss; the runtime has already waited the rule's latencyMs).
//    404 (a miss, or a session the runtime does not know): forwarded.
//  - Anything else (the runtime down, refusing the token, erroring, timing
//    out) fails closed: 403 "rule engine unavailable" naming the runtime and
//    its answer, logged at error (EC-008). Never forwarded.
//  - A forwarded exchange of a named session is posted to /v1/traces
//    (protobuf) as an extract span; the runtime keeps it when the session
//    captures. The client's response ends once the runtime has answered.
// The payloads are made and read by the core (softprobe.hpp's otlp
// functions); this file only moves them. No decision cache: every request
// asks the runtime, so a stale revision is never served.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "decider.hpp"
#include "proxy_options.hpp"
#include "softprobe/net/client.hpp"

namespace softprobe::proxy {

class RemoteDecider : public Decider {
 public:
  // options.runtime_host/port (checked by check_options), token, session_id.
  RemoteDecider(net::IoThreads& io, const ProxyOptions& options);
  ~RemoteDecider() override;

  void decide(const ProxyRequest& request, VerdictHandler done) override;
  void record(const Verdict& verdict, const ProxyRequest& request, const UpstreamResponse& response,
              std::uint64_t start_unix_nano, std::uint64_t end_unix_nano, std::function<void()> recorded) override;
  // Waits (at most `wait`) for the calls still on their way to the runtime,
  // then stops the rest; false when records were cut off.
  bool finish() override;
  const std::string& default_session_id() const noexcept override { return default_session_; }

  // How long finish() waits for calls in flight.
  static constexpr std::chrono::milliseconds kFinishWait{5000};

 private:
  net::ClientRequest runtime_request(const char* path, std::string body) const;
  void begin_call();
  void end_call();

  std::string runtime_url_;  // "http://host:port", for messages
  std::string host_;
  std::uint16_t port_;
  std::string authorization_;  // "Bearer <token>", or ""
  std::string default_session_;
  std::unique_ptr<net::Client> client_;
  std::mutex calls_mu_;
  std::condition_variable calls_cv_;
  std::size_t calls_ = 0;
  std::atomic<bool> records_cut_{false};
};

}  // namespace softprobe::proxy
