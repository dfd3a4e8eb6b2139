#include "case/case_replay.hpp"

#include <algorithm>
#include <charconv>

#include "request/http_exchange.hpp"
#include "support/text.hpp"

namespace softprobe::core {

std::string replay_key(std::string_view method, std::string_view host_port, std::string_view path,
                       std::string_view query) {
  std::string key = text::to_upper(method);
  key += ' ';
  key += host_port;
  key += ' ';
  key += path.empty() ? std::string_view("/") : path;
  key += '?';
  key += query;
  return key;
}

namespace {

// "host:port" of a recorded exchange: url.host carries ":port" only when it
// is not the scheme default.
std::string recorded_host_port(const HttpExchange& ex) {
  HostPort hp = split_host_port(ex.host);
  int port = 0;
  if (!hp.port.empty()) std::from_chars(hp.port.data(), hp.port.data() + hp.port.size(), port);
  if (port == 0) port = default_port(ex.scheme.empty() ? std::string_view("http") : std::string_view(ex.scheme));
  return text::to_lower(hp.host) + ':' + std::to_string(port);
}

}  // namespace

CaseReplay::CaseReplay(const CaseFile& c) {
  for (const HttpExchange& ex : c.exchanges) {
    if (ex.direction == "inbound" || !ex.status) continue;
    auto answer = std::make_shared<Response>();
    answer->status = *ex.status;
    answer->headers = ex.response_headers;
    answer->body = ex.response_body;
    auto& slot = by_request_[replay_key(ex.method, recorded_host_port(ex), ex.path, ex.query)];
    if (!slot) slot = std::make_unique<Answers>();
    slot->in_order.push_back(std::move(answer));
    ++answers_;
  }
}

std::shared_ptr<const Response> CaseReplay::next(const MatchRequest& req) const {
  if (by_request_.empty()) return nullptr;
  auto it = by_request_.find(replay_key(req.view.method, req.host_port, req.view.path, req.view.query));
  if (it == by_request_.end()) return nullptr;
  const Answers& a = *it->second;
  std::size_t place = a.next.load(std::memory_order_relaxed);
  // Advance up to the last answer only, so the count never runs past it.
  while (place + 1 < a.in_order.size() && !a.next.compare_exchange_weak(place, place + 1, std::memory_order_relaxed)) {
  }
  return a.in_order[std::min(place, a.in_order.size() - 1)];
}

}  // namespace softprobe::core
