// How the proxy decides a request: through the core, embedded in the proxy's
// process (EmbeddedDecider, embedded_decider.hpp), or through a running
// runtime's /v1/inject and /v1/traces (RemoteDecider, remote_decider.hpp,
// `--runtime URL`). The proxy's front end only marshals HTTP into a
// ProxyRequest and carries a Verdict out. Deciding is asynchronous: a remote
// decision is a network round trip, and no thread waits for it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "softprobe/net/http.hpp"

namespace softprobe::proxy {

// One request as the proxy received it (owned copies: the verdict and the
// capture outlive the server's exchange).
struct ProxyRequest {
  std::string direction = "outbound";  // "inbound" for the ingress (the app's own requests)
  std::string method;                  // as sent
  std::string scheme;                  // "http" (absolute-form, ingress), "https" for CONNECT
  std::string authority;               // host[:port] as sent (ingress: the Host header, else the app's)
  std::string path;                    // as sent, "/" when none
  std::string query;                   // without '?'
  net::Headers headers;                // as sent
  std::string body;                    // decoded; empty for CONNECT and upgrades
  std::string session_id;              // the session the request names ("" = the default one)
};

struct Verdict {
  enum class Kind {
    answer,   // the proxy answers with `response` (mock, error, strict miss) after `delay`
    forward,  // passthrough: forward upstream
  };
  Kind kind = Kind::answer;
  bool record = false;  // forward and record the exchange (capture)
  net::Response response;
  std::chrono::milliseconds delay{0};
  std::string decision;    // for the log: "mock", "error", "strict_miss", "passthrough", "capture"
  std::string session_id;  // the session that decided
};

// What came back from upstream, for a capture.
struct UpstreamResponse {
  int status = 0;
  net::Headers headers;
  std::string body;
};

using VerdictHandler = std::function<void(Verdict)>;

class Decider {
 public:
  virtual ~Decider() = default;
  // Decides `request` and calls `done` exactly once: before returning
  // (embedded) or later on an io thread (remote). Thread-safe; never throws:
  // a decider that cannot decide answers with a refusal (fail closed), never
  // with `forward`. `request` is read before decide returns.
  virtual void decide(const ProxyRequest& request, VerdictHandler done) = 0;
  // Records a forwarded exchange in the session that decided it
  // (Verdict::record), then calls `recorded` once, whether or not the
  // record was taken (a refused record is logged): the proxy ends the
  // client's response only then, so a client that has its answer can close
  // the session and find the exchange in it. Unix nanoseconds. Thread-safe;
  // never throws.
  virtual void record(const Verdict& verdict, const ProxyRequest& request, const UpstreamResponse& response,
                      std::uint64_t start_unix_nano, std::uint64_t end_unix_nano, std::function<void()> recorded) = 0;
  // At exit: writes what was captured, or waits for records still on their
  // way. Returns false, having logged why, when something was lost.
  virtual bool finish() = 0;
  // The session requests naming none are decided by ("" when there is none:
  // a remote runtime without --session).
  virtual const std::string& default_session_id() const noexcept = 0;
};

}  // namespace softprobe::proxy
