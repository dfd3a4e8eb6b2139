// How the proxy decides a request: through the core, embedded in the proxy's
// process (EmbeddedDecider, embedded_decider.hpp) or, later, through a
// running runtime (`--runtime URL`, not built yet). The proxy's front end
// only marshals HTTP into a ProxyRequest and carries a Verdict out.
#pragma once

#include <chrono>
#include <cstdint>
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

class Decider {
 public:
  virtual ~Decider() = default;
  // Thread-safe; never throws: a decider that cannot decide answers with a
  // refusal (fail closed), never with `forward`.
  virtual Verdict decide(const ProxyRequest& request) = 0;
  // Records a forwarded exchange in the session that decided it (Verdict::record).
  // Unix nanoseconds. Thread-safe; never throws (a refused record is logged).
  virtual void record(const Verdict& verdict, const ProxyRequest& request, const UpstreamResponse& response,
                      std::uint64_t start_unix_nano, std::uint64_t end_unix_nano) = 0;
  // At exit: writes what was captured. Returns false, having logged why, when it could not.
  virtual bool finish() = 0;
};

}  // namespace softprobe::proxy
