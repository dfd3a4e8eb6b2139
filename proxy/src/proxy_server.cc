#include "proxy_server.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "forwarded_headers.hpp"
#include "session_id.hpp"
#include "softprobe/net/handoff.hpp"
#include "support/log.hpp"
#include "trace_context.hpp"

namespace softprobe::proxy {

using core::log;
using core::log_enabled;
using core::LogLevel;

namespace {

std::uint64_t unix_nanos() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// An upgrade to HTTP/2 over cleartext (Upgrade: h2c, RFC 7540 3.2, removed
// by RFC 9113): the proxy speaks HTTP/1.1 only (EC-011), so the request is
// decided and forwarded as a plain HTTP/1.1 request (Upgrade, Connection and
// HTTP2-Settings are hop-by-hop and dropped), and answered in HTTP/1.1.
bool is_tunnel_upgrade(const net::RequestHead& head) {
  if (!head.upgrade) return false;
  const std::string* up = head.header("upgrade");
  return !(up && net::iequals(*up, "h2c"));
}

// The route label carries the decision and the session to the request log
// (Completed reports the label, set before the answer): "decision\x1fsessionId".
std::string route_label(const Verdict& v) { return v.decision + '\x1f' + v.session_id; }

// One request line at info: {sessionId, method, host, path, decision, status, ms}.
void log_line(std::string_view session, std::string_view method, std::string_view host, std::string_view path,
              std::string_view decision, int status, double ms) {
  log(LogLevel::info, "request",
      {{"sessionId", session},
       {"method", method},
       {"host", host},
       {"path", path},
       {"decision", decision},
       {"status", status},
       {"ms", static_cast<double>(static_cast<std::int64_t>(ms * 1000)) / 1000}});
}

void log_request(const net::Completed& c) {
  if (!log_enabled(LogLevel::info)) return;
  // A tunnel (CONNECT, upgrade) handed off: it logs its own line once its status is known.
  if (c.head && c.status == 0 && (c.head->method == "CONNECT" || c.head->upgrade)) return;
  std::string_view decision = c.route, session;
  if (auto sep = c.route.find('\x1f'); sep != std::string_view::npos) {
    decision = c.route.substr(0, sep);
    session = c.route.substr(sep + 1);
  }
  std::string method, host, path;
  if (c.head) {
    method = c.head->method;
    net::Target t = c.head->parsed_target();
    host = std::string(t.authority);
    if (host.empty())  // origin-form (ingress): the Host it was sent to
      if (const std::string* h = c.head->header("host")) host = *h;
    path = t.form == net::Target::Form::authority ? std::string() : std::string(t.path);
  }
  if (decision.empty()) decision = "refused";  // the server's own answer (400, 408, 431, 503)
  log_line(session, method, host, path, decision, c.status,
           std::chrono::duration<double, std::milli>(c.duration).count());
}

// The tunnel's log line, written when the tunnel knows its status.
std::function<void(int)> tunnel_log(const Verdict& v, const ProxyRequest& r, net::Clock::time_point start) {
  return [session = v.session_id, decision = v.decision, method = r.method, host = r.authority,
          path = r.method == "CONNECT" ? std::string() : r.path, start](int status) {
    if (!log_enabled(LogLevel::info)) return;
    log_line(session, method, host, path, decision, status,
             std::chrono::duration<double, std::milli>(net::Clock::now() - start).count());
  };
}

net::Response proxy_error(int status, std::string_view code, std::string_view message) {
  net::Response r = net::json_error(status, code, message);
  r.close = true;
  return r;
}

// The 502 for an upstream that could not be reached (EC-002, EC-003: the DNS one says DNS).
net::Response upstream_failure(net::ClientError e, const std::string& message) {
  switch (e) {
    case net::ClientError::dns: return proxy_error(502, "dns_failed", "DNS resolution failed: " + message);
    case net::ClientError::refused: return proxy_error(502, "upstream_refused", message);
    case net::ClientError::connect_timeout:
    case net::ClientError::timeout: return proxy_error(504, "upstream_timeout", message);
    default: return proxy_error(502, "upstream_failed", message);
  }
}

// The same answers as raw bytes, for a tunnel whose socket was already taken over.
std::string raw_response(const net::Response& r) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + (r.status == 504 ? " Gateway Timeout" : " Bad Gateway") +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(r.body.size()) +
                    "\r\nConnection: close\r\n\r\n";
  return out + r.body;
}

// An upstream response streamed to the client, with back-pressure: the
// upstream connection reads the next piece only once this one is written.
struct Relay {
  std::mutex mu;
  std::optional<net::BodyWriter> writer;
  bool client_gone = false;
  bool headed = false;           // the upstream's head came (and was passed on)
  bool upstream_done = false;    // on_done(none) came
  bool upstream_failed = false;  // on_done(error) came after the head
  std::optional<std::pair<std::string, std::function<void()>>> pending;
  // Capture.
  bool record = false;
  bool capture_overflow = false;
  UpstreamResponse captured;
  std::uint64_t start_ns = 0;
  // While recording, what would complete the client's answer waits until
  // the exchange is recorded: the last piece of a body framed by its length
  // (`tail`), or the whole head of a response with no body (`held_head`).
  // A chunked body's end is finish(), which already waits.
  std::optional<std::uint64_t> length_left;  // body bytes still to come, when framed by length
  std::optional<std::string> tail;
  std::function<void()> held_head;
};

void write_piece(net::BodyWriter writer, std::string piece, std::function<void()> more) {
  writer.write(std::move(piece), [more = std::move(more)](bool ok) {
    if (ok) more();  // else: `more` is dropped, the upstream exchange ends (aborted)
  });
}

// Ends the client's body: the held last piece first, if any.
void finish_with(net::BodyWriter writer, std::optional<std::string> tail) {
  if (!tail) {
    writer.finish();
    return;
  }
  write_piece(writer, std::move(*tail), [writer]() mutable { writer.finish(); });
}

}  // namespace

ProxyServer::ProxyServer(net::IoThreads& io, const ListenerConfig& config, Decider& decider)
    : config_(config), decider_(decider), io_(io) {
  client_ = std::make_unique<net::Client>(io);
  net::ServerOptions so;
  so.host = config_.host;
  so.port = config_.port;
  so.max_connections = config_.max_connections;
  so.max_head_bytes = kMaxRequestHeadBytes;
  so.on_complete = log_request;
  server_ = std::make_unique<net::Server>(io, so, [this](net::Exchange ex) {
    if (config_.ingress) handle_ingress(std::move(ex));
    else handle(std::move(ex));
  });
}

void ProxyServer::answer(net::Exchange& ex, const Verdict& v) {
  ex.set_route(route_label(v));
  if (v.delay.count() > 0) ex.respond_after(v.delay, v.response);
  else ex.respond(v.response);
}

void ProxyServer::handle(net::Exchange ex) {
  const net::RequestHead& head = ex.head();
  if (head.method == "CONNECT") return connect(std::move(ex));
  net::Target t = head.parsed_target();
  if (t.form != net::Target::Form::absolute) {
    ex.respond(proxy_error(
        400, "not_a_proxy_request",
        "softprobe proxy takes absolute-form requests (GET http://host/path), got target \"" + head.target + "\""));
    return;
  }
  if (!net::iequals(t.scheme, "http") && !net::iequals(t.scheme, "ws")) {
    ex.respond(proxy_error(400, "unsupported_scheme",
                           "softprobe proxy forwards http:// targets; https:// goes through CONNECT (HTTPS_PROXY)"));
    return;
  }
  auto upstream = net::parse_authority(t.authority, 80);
  if (!upstream) {
    ex.respond(proxy_error(400, "bad_target", "request target \"" + head.target + "\": bad host or port"));
    return;
  }
  auto req = std::make_shared<ProxyRequest>();
  req->method = head.method;
  req->scheme = "http";
  req->authority = std::string(t.authority);
  req->path = std::string(t.path);
  req->query = std::string(t.query);
  req->headers = head.headers;
  req->session_id = session_id_of(head.headers);
  if (is_tunnel_upgrade(head)) return upgrade(std::move(ex), std::move(req), std::move(*upstream));
  decide_and_forward(std::move(ex), std::move(req), std::move(*upstream),
                     [](const ProxyRequest& r, const Verdict&) { return forwarded_request_headers(r.headers); });
}

namespace {

// What the app gets from the ingress (docs/proxy.md): the request's headers
// less the hop-by-hop ones, its x-softprobe-session-id line kept (contract
// section 8: the client sends it to the application), and the trace context
// naming the session (the one the request named, else the one that decided).
net::Headers ingress_headers(net::Headers forwarded, const ProxyRequest& r, const Verdict& v) {
  if (!r.session_id.empty()) forwarded.push_back({std::string(kSessionHeader), r.session_id});
  add_trace_context(forwarded, r.session_id.empty() ? v.session_id : r.session_id);
  return forwarded;
}

std::string authority_of(const std::string& host, std::uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

void ProxyServer::handle_ingress(net::Exchange ex) {
  const net::RequestHead& head = ex.head();
  net::Target t = head.parsed_target();
  if (head.method == "CONNECT" || t.form != net::Target::Form::origin) {
    ex.respond(proxy_error(400, "not_an_origin_request",
                           "softprobe proxy ingress takes origin-form requests (GET /path), got target \"" +
                               head.target + "\"; proxy requests go to the egress listener (--egress-listen)"));
    return;
  }
  auto req = std::make_shared<ProxyRequest>();
  req->direction = "inbound";
  req->method = head.method;
  req->scheme = "http";
  const std::string* host = head.header("host");
  req->authority = host && !host->empty() ? *host : authority_of(config_.upstream_host, config_.upstream_port);
  req->path = std::string(t.path);
  req->query = std::string(t.query);
  req->headers = head.headers;
  req->session_id = session_id_of(head.headers);
  net::HostPort app{config_.upstream_host, config_.upstream_port};
  if (is_tunnel_upgrade(head)) return upgrade(std::move(ex), std::move(req), std::move(app));
  decide_and_forward(std::move(ex), std::move(req), std::move(app), [](const ProxyRequest& r, const Verdict& v) {
    return ingress_headers(forwarded_request_headers(r.headers), r, v);
  });
}

void ProxyServer::decide_and_forward(
    net::Exchange ex, std::shared_ptr<ProxyRequest> req, net::HostPort upstream,
    std::function<net::Headers(const ProxyRequest&, const Verdict&)> upstream_headers) {
  ex.read_body([this, req, upstream = std::move(upstream), upstream_headers = std::move(upstream_headers)](
                   net::Exchange& ex, net::BodyStatus st) {
    switch (st) {
      case net::BodyStatus::ok: break;
      case net::BodyStatus::too_large:
        ex.respond(proxy_error(413, "body_too_large", "request body over the limit"));
        return;
      case net::BodyStatus::unsupported_encoding:
        ex.respond(proxy_error(415, "unsupported_encoding", "request Content-Encoding not supported"));
        return;
      default: ex.respond(proxy_error(400, "bad_body", "request body could not be read")); return;
    }
    req->body = std::move(ex.body());
    decider_.decide(*req, [this, ex, req, upstream, upstream_headers](Verdict v) mutable {
      if (v.kind == Verdict::Kind::answer) return answer(ex, v);
      net::Headers headers = upstream_headers(*req, v);
      // A captured span records the request as forwarded: what the upstream
      // (or, ingress, the app) got, without hop-by-hop fields or the session header.
      req->headers = headers;
      forward(std::move(ex), req, std::move(upstream), std::move(v), std::move(headers));
    });
  });
}

void ProxyServer::forward(net::Exchange ex, std::shared_ptr<ProxyRequest> req, net::HostPort upstream, Verdict v,
                          net::Headers upstream_headers) {
  ex.set_route(route_label(v));
  net::ClientRequest up;
  up.host = upstream.host;
  up.port = upstream.port;
  up.method = req->method;
  up.target = req->path.empty() ? "/" : req->path;
  if (!req->query.empty()) up.target += "?" + req->query;
  up.headers = std::move(upstream_headers);
  up.body = req->body;

  auto relay = std::make_shared<Relay>();
  relay->record = v.record;
  relay->start_ns = unix_nanos();
  auto verdict = std::make_shared<Verdict>(std::move(v));
  bool is_head = req->method == "HEAD";

  net::ResponseHandler h;
  h.on_head = [ex, relay, is_head](const net::ResponseHead& rh) mutable {
    {
      std::lock_guard<std::mutex> lock(relay->mu);
      relay->headed = true;
    }
    net::Response head;
    head.status = rh.status;
    head.reason = rh.reason;
    head.headers = forwarded_headers(rh.headers);
    net::erase_header(head.headers, "content-length");
    if (relay->record) {
      relay->captured.status = rh.status;
      relay->captured.headers = rh.headers;
    }
    std::optional<std::uint64_t> length;
    bool bodiless = rh.status == 204 || rh.status == 304 || (rh.status >= 100 && rh.status < 200);
    if (!rh.chunked && rh.content_length && !bodiless) length = rh.content_length;
    if (is_head) length = rh.content_length;
    bool head_only = is_head || bodiless || (length && *length == 0);
    if (relay->record && !head_only && length) relay->length_left = length;
    auto respond = [ex, relay, head = std::move(head), length]() mutable {
      return ex.respond_streaming(std::move(head), length, [relay](std::optional<net::BodyWriter> w) {
        std::optional<std::pair<std::string, std::function<void()>>> pending;
        std::optional<std::string> tail;
        bool finish = false;
        {
          std::lock_guard<std::mutex> lock(relay->mu);
          if (!w) {
            relay->client_gone = true;
            relay->pending.reset();  // drops `more`: the upstream exchange ends
            return;
          }
          if (relay->upstream_failed) {
            w->abort();
            return;
          }
          relay->writer = *w;
          pending = std::move(relay->pending);
          relay->pending.reset();
          finish = !pending && relay->upstream_done;
          if (finish) tail = std::move(relay->tail);
        }
        if (pending) write_piece(*w, std::move(pending->first), std::move(pending->second));
        else if (finish) finish_with(*w, std::move(tail));
      });
    };
    if (relay->record && head_only) {
      std::lock_guard<std::mutex> lock(relay->mu);
      relay->held_head = std::move(respond);  // sent once recorded (on_done's `end`)
      return true;
    }
    return respond();
  };
  h.on_body = [relay](std::string_view piece, std::function<void()> more) {
    std::optional<net::BodyWriter> writer;
    {
      std::unique_lock<std::mutex> lock(relay->mu);
      if (relay->client_gone) return;  // `more` dropped
      if (relay->record && !relay->capture_overflow) {
        if (relay->captured.body.size() + piece.size() > kMaxCapturedBodyBytes) {
          relay->capture_overflow = true;
          relay->captured.body.clear();
          relay->captured.body.shrink_to_fit();
        } else {
          relay->captured.body.append(piece);
        }
      }
      if (relay->length_left) {
        *relay->length_left -= std::min<std::uint64_t>(*relay->length_left, piece.size());
        if (*relay->length_left == 0) {  // the last piece: held until recorded
          relay->tail.emplace(piece);
          lock.unlock();
          more();
          return;
        }
      }
      if (!relay->writer) {
        relay->pending.emplace(std::string(piece), std::move(more));
        return;
      }
      writer = relay->writer;
    }
    write_piece(*writer, std::string(piece), std::move(more));
  };
  h.on_done = [this, ex, relay, req, verdict](net::ClientError e, const std::string& message) mutable {
    std::optional<net::BodyWriter> writer;
    bool headed;
    bool head_held = false;
    {
      std::lock_guard<std::mutex> lock(relay->mu);
      headed = relay->headed;
      if (e != net::ClientError::none) {
        head_held = static_cast<bool>(relay->held_head);
        relay->held_head = nullptr;
        if (headed && !head_held) relay->upstream_failed = true;
      }
      writer = relay->writer;
    }
    if (e != net::ClientError::none) {
      // After the head the client sees a cut response (never a whole-looking one); before it
      // (or while its head is held for the record), a 502/504.
      if (writer) writer->abort();
      else if (!headed || head_held) ex.respond(upstream_failure(e, message));
      if (e == net::ClientError::dns || e == net::ClientError::refused || e == net::ClientError::connect_failed ||
          e == net::ClientError::connect_timeout)
        log(LogLevel::warn, "upstream unreachable",
            {{"sessionId", verdict->session_id},
             {"upstream", req->authority},
             {"error", net::client_error_name(e)},
             {"message", message}});
      return;
    }
    // The response ends only once the exchange is recorded (Decider::record):
    // a client that has its answer finds the exchange in the session.
    auto end = [relay] {
      std::optional<net::BodyWriter> w;
      std::optional<std::string> tail;
      std::function<void()> held_head;
      {
        std::lock_guard<std::mutex> lock(relay->mu);
        relay->upstream_done = true;
        w = relay->writer;
        if (w) tail = std::move(relay->tail);
        held_head = std::move(relay->held_head);
      }
      if (held_head) held_head();
      else if (w) finish_with(*w, std::move(tail));
    };
    if (!relay->record) return end();
    if (relay->capture_overflow) {
      log(LogLevel::warn, "exchange not recorded: response body over the capture limit",
          {{"sessionId", verdict->session_id},
           {"host", req->authority},
           {"path", req->path},
           {"limitBytes", kMaxCapturedBodyBytes}});
      return end();
    }
    decider_.record(*verdict, *req, relay->captured, relay->start_ns, unix_nanos(), std::move(end));
  };
  client_->send(std::move(up), std::move(h));
}

void ProxyServer::connect(net::Exchange ex) {
  const net::RequestHead& head = ex.head();
  auto upstream = net::parse_authority(head.target, 443);
  if (!upstream || head.target.find('/') != std::string::npos) {
    ex.respond(proxy_error(400, "bad_target", "CONNECT target \"" + head.target + "\" is not host:port"));
    return;
  }
  auto req = std::make_shared<ProxyRequest>();
  req->method = "CONNECT";
  req->scheme = "https";
  req->authority = head.target;
  req->path = "/";
  req->headers = head.headers;
  req->session_id = session_id_of(head.headers);
  decider_.decide(*req, [this, ex, req, upstream = std::move(*upstream)](Verdict v) mutable {
    if (v.kind == Verdict::Kind::answer) return answer(ex, v);
    ex.set_route(route_label(v));
    TunnelPlan plan;
    plan.host = upstream.host;
    plan.port = upstream.port;
    plan.to_client_first = "HTTP/1.1 200 Connection established\r\n\r\n";
    plan.on_status = tunnel_log(v, *req, ex.start());
    plan.failure_response = [](bool dns, const std::string& why) {
      return raw_response(upstream_failure(dns ? net::ClientError::dns : net::ClientError::refused, why));
    };
    ex.hand_off([this, plan = std::move(plan)](net::HandOff&& h) mutable {
      open_tunnel(std::move(h), std::move(plan), tunnels_);
    });
  });
}

void ProxyServer::upgrade(net::Exchange ex, std::shared_ptr<ProxyRequest> req, net::HostPort upstream) {
  decider_.decide(*req, [this, ex, req, upstream = std::move(upstream)](Verdict v) mutable {
    tunnel_upgrade(std::move(ex), *req, upstream, v);
  });
}

void ProxyServer::tunnel_upgrade(net::Exchange ex, const ProxyRequest& req, const net::HostPort& upstream,
                                 const Verdict& v) {
  if (v.kind == Verdict::Kind::answer) return answer(ex, v);
  ex.set_route(route_label(v));
  // The handshake goes upstream as it came (origin-form, hop-by-hop fields
  // except the upgrade's own dropped); the upstream's 101 and every frame
  // after it flow back through the tunnel.
  const net::RequestHead& head = ex.head();
  std::string first = head.method + " " + (req.path.empty() ? "/" : req.path);
  if (!req.query.empty()) first += "?" + req.query;
  first += head.version == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";
  net::Headers headers = forwarded_headers(head.headers, true);
  if (config_.ingress) headers = ingress_headers(std::move(headers), req, v);
  for (const auto& h : headers) first += h.name + ": " + h.value + "\r\n";
  first += "\r\n";
  TunnelPlan plan;
  plan.host = upstream.host;
  plan.port = upstream.port;
  plan.to_upstream_first = std::move(first);
  plan.on_status = tunnel_log(v, req, ex.start());
  plan.failure_response = [](bool dns, const std::string& why) {
    return raw_response(upstream_failure(dns ? net::ClientError::dns : net::ClientError::refused, why));
  };
  ex.hand_off([this, plan = std::move(plan)](net::HandOff&& h) mutable {
    open_tunnel(std::move(h), std::move(plan), tunnels_);
  });
}

std::size_t ProxyServer::shutdown(std::chrono::milliseconds grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  server_->shutdown(grace);
  net::ShutdownReport report = server_->wait();
  // Tunnels are the proxy's own: they get what is left of the grace period.
  while (tunnels_->open() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::size_t forced = report.forced + tunnels_->close_all();
  for (int i = 0; i < 100 && tunnels_->open() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return forced;
}

}  // namespace softprobe::proxy
