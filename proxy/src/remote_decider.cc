// The proxy OTLP client calls are experimental in the ABI (softprobe.h).
#define SOFTPROBE_EXPERIMENTAL 1
#include "remote_decider.hpp"

#include <chrono>

#include "core_marshal.hpp"
#include "softprobe.hpp"
#include "support/log.hpp"

namespace softprobe::proxy {

using core::log;
using core::LogLevel;

namespace {

// An inject answer or a /v1/traces answer: a response span (a mock body) or
// an ExportTraceServiceResponse. The runtime's own limit on a mock body is
// its --max-body-bytes (16 MiB by default); this leaves room above it.
constexpr std::size_t kMaxRuntimeAnswerBytes = 32u << 20;

// What the runtime said when it refused: its JSON error's message, else the
// start of the body (at most 200 bytes, for the log line and the 403).
std::string runtime_said(const net::FetchResult& r) {
  std::string body = r.body.substr(0, 200);
  for (char& c : body)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return "answered " + std::to_string(r.head.status) + (body.empty() ? "" : ": " + body);
}

}  // namespace

RemoteDecider::RemoteDecider(net::IoThreads& io, const ProxyOptions& o)
    : host_(o.runtime_host), port_(o.runtime_port), default_session_(o.session_id) {
  runtime_url_ =
      "http://" + (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
  if (!o.token.empty()) authorization_ = "Bearer " + o.token;
  net::ClientOptions co;
  co.connect_timeout = std::chrono::milliseconds(2'000);
  // A rule's latencyMs is waited by the runtime before it answers (at most
  // its --max-latency-ms, 30 s by default): the read timeout is above it.
  co.read_timeout = std::chrono::milliseconds(35'000);
  co.max_connections_per_host = 256;
  co.max_idle_per_host = 256;
  client_ = std::make_unique<net::Client>(io, co);
}

RemoteDecider::~RemoteDecider() { finish(); }

net::ClientRequest RemoteDecider::runtime_request(const char* path, std::string body) const {
  net::ClientRequest r;
  r.host = host_;
  r.port = port_;
  r.method = "POST";
  r.target = path;
  r.headers = {{"content-type", "application/x-protobuf"}, {"accept", "application/x-protobuf"}};
  if (!authorization_.empty()) r.headers.push_back({"authorization", authorization_});
  r.body = std::move(body);
  return r;
}

void RemoteDecider::begin_call() {
  std::lock_guard<std::mutex> lock(calls_mu_);
  ++calls_;
}

void RemoteDecider::end_call() {
  std::lock_guard<std::mutex> lock(calls_mu_);
  if (--calls_ == 0) calls_cv_.notify_all();
}

void RemoteDecider::decide(const ProxyRequest& request, VerdictHandler done) {
  std::string sid = request.session_id.empty() ? default_session_ : request.session_id;
  std::string payload;
  try {
    payload = softprobe::otlp::encode_inject(core_request(request), sid, SP_FORMAT_PROTOBUF);
  } catch (const softprobe::Error& e) {
    if (e.status() == SP_E_INVALID_ARGUMENT || e.status() == SP_E_LIMIT_EXCEEDED)
      return done(invalid_request(sid, e.what()));
    return done(refusal(sid, e.what()));
  } catch (const std::exception& e) {
    return done(refusal(sid, e.what()));
  }
  bool record = !sid.empty();
  begin_call();
  client_->fetch(runtime_request("/v1/inject", std::move(payload)), kMaxRuntimeAnswerBytes,
                 [this, sid = std::move(sid), record, done = std::move(done)](net::FetchResult r) {
                   Verdict v;
                   if (r.error != net::ClientError::none) {
                     v = refusal(sid, "runtime " + runtime_url_ + ": " + r.message);
                   } else if (r.head.status == 404) {  // a miss, or a session the runtime does not know
                     v.kind = Verdict::Kind::forward;
                     v.record = record;
                     v.decision = "passthrough";
                     v.session_id = sid;
                   } else if (r.head.status != 200) {
                     v = refusal(sid, "runtime " + runtime_url_ + " " + runtime_said(r));
                   } else {
                     try {
                       v = answer_of(softprobe::otlp::decode_inject_answer(r.body, SP_FORMAT_PROTOBUF), sid);
                       if (v.decision == "error") v.decision = "mock";  // the runtime's answer does not say which
                     } catch (const std::exception& e) {
                       v = refusal(sid, "runtime " + runtime_url_ + ": unreadable inject answer: " + e.what());
                     }
                   }
                   done(std::move(v));
                   end_call();
                 });
}

void RemoteDecider::record(const Verdict& verdict, const ProxyRequest& request, const UpstreamResponse& response,
                           std::uint64_t start_unix_nano, std::uint64_t end_unix_nano, std::function<void()> recorded) {
  auto not_recorded = [&](const std::string& why) {
    log(LogLevel::warn, "exchange not recorded",
        {{"sessionId", verdict.session_id},
         {"method", request.method},
         {"host", request.authority},
         {"path", request.path},
         {"error", why}});
  };
  std::string payload;
  try {
    payload = softprobe::otlp::encode_extract(core_request(request), core_response(response), verdict.session_id,
                                              start_unix_nano, end_unix_nano, SP_FORMAT_PROTOBUF);
  } catch (const std::exception& e) {
    not_recorded(e.what());
    if (recorded) recorded();
    return;
  }
  begin_call();
  client_->fetch(runtime_request("/v1/traces", std::move(payload)), kMaxRuntimeAnswerBytes,
                 [this, session = verdict.session_id, method = request.method, host = request.authority,
                  path = request.path, recorded = std::move(recorded)](net::FetchResult r) {
                   std::string why;
                   if (r.error != net::ClientError::none) why = "runtime " + runtime_url_ + ": " + r.message;
                   else if (r.head.status != 200) why = "runtime " + runtime_url_ + " " + runtime_said(r);
                   if (!why.empty()) {
                     if (r.error == net::ClientError::aborted) records_cut_ = true;
                     log(LogLevel::warn, "exchange not recorded",
                         {{"sessionId", session}, {"method", method}, {"host", host}, {"path", path}, {"error", why}});
                   }
                   if (recorded) recorded();
                   end_call();
                 });
}

bool RemoteDecider::finish() {
  std::unique_lock<std::mutex> lock(calls_mu_);
  if (!calls_cv_.wait_for(lock, kFinishWait, [this] { return calls_ == 0; })) {
    log(LogLevel::warn, "calls to the runtime still open at exit: stopping them", {{"open", calls_}});
    lock.unlock();
    client_.reset();  // ends what is in flight with ClientError::aborted
    lock.lock();
    calls_cv_.wait_for(lock, std::chrono::seconds(2), [this] { return calls_ == 0; });
    records_cut_ = true;
  }
  return !records_cut_;
}

}  // namespace softprobe::proxy
