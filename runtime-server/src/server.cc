#include "server.hpp"

#include <malloc.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <stdexcept>

#include "auth.hpp"
#include "control_routes.hpp"
#include "http_response.hpp"
#include "logger.hpp"
#include "otlp_routes.hpp"

namespace softprobe::runtime {

namespace {

// Bodies this large are handled on the work pool, and their memory is given
// back to the OS afterwards (malloc_trim): otherwise a thread's malloc arena
// keeps what its largest request needed.
constexpr std::size_t kLargeBody = 1u << 20;

// Threads of the work pool (close writes and fsyncs a file; a large body is
// parsed there). Requests beyond them wait in the pool's queue, not on an io thread.
constexpr unsigned kWorkThreads = 2;

void dispatch(Runtime& rt, RouteId route, Method method, Call& c) {
  switch (route) {
    case RouteId::health: return control::health(rt, c);
    case RouteId::meta: return control::meta(rt, c);
    case RouteId::metrics: return control::metrics(rt, c);
    case RouteId::openapi: return control::openapi(rt, c);
    case RouteId::sessions: return method == kPost ? control::create_session(rt, c) : control::list_sessions(rt, c);
    case RouteId::load_case: return control::load_case(rt, c);
    case RouteId::rules: return method == kPost ? control::set_rules(rt, c) : control::get_rules(rt, c);
    case RouteId::rules_append: return control::append_rules(rt, c);
    case RouteId::policy: return control::set_policy(rt, c);
    case RouteId::fixtures_auth: return control::set_auth_fixtures(rt, c);
    case RouteId::stats: return control::stats(rt, c);
    case RouteId::state: return control::state(rt, c);
    case RouteId::strict_misses: return control::strict_misses(rt, c);
    case RouteId::close: return control::close(rt, c);
    case RouteId::inject: return otlp::inject(rt, c);
    case RouteId::traces: return otlp::traces(rt, c);
    case RouteId::unmatched:
    case RouteId::count_: break;
  }
  send_error(c.res, 404, "not_found", "no route");
}

// Route ids in net::Completed: 0 is "no route" (the server's own answers).
std::uint32_t completed_id(RouteId id) noexcept { return std::uint32_t(id) + 1; }
RouteId route_of(std::uint32_t completed) noexcept {
  return completed == 0 || completed > std::uint32_t(RouteId::unmatched) ? RouteId::unmatched : RouteId(completed - 1);
}

net::Response error_response(int status, std::string_view code, std::string_view message,
                             std::string_view details_json = {}) {
  net::Response res;
  send_error(res, status, code, message, details_json);
  return res;
}

const char* body_refusal_code(net::BodyStatus s) noexcept {
  switch (s) {
    case net::BodyStatus::too_large: return "payload_too_large";
    case net::BodyStatus::unsupported_encoding: return "unsupported_media_type";
    default: return "invalid_request";
  }
}

}  // namespace

std::string base_url(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Server::Server(Runtime& rt)
    : rt_(rt),
      guard_{rt.config.host, rt.config.allow_origins, rt.config.allow_hosts},
      io_(unsigned(rt.config.threads)),
      work_(std::make_unique<boost::asio::thread_pool>(kWorkThreads)) {}

Server::~Server() {
  if (http_) shutdown(std::chrono::milliseconds(0));
}

int Server::start() {
  const Config& cfg = rt_.config;
  net::ServerOptions opt;
  opt.host = cfg.host;
  opt.port = std::uint16_t(cfg.port);
  opt.max_connections = cfg.max_connections;
  opt.max_body_bytes = cfg.max_body_bytes;
  opt.head_timeout = cfg.head_timeout;
  opt.idle_timeout = cfg.keep_alive_timeout;
  opt.max_delay = cfg.max_latency;
  opt.error_response = [](int status, std::string_view code, std::string_view message) {
    return error_response(status, code, message);
  };
  opt.on_complete = [this](const net::Completed& done) {
    auto nanos = std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(done.duration).count());
    RouteId route = route_of(done.route_id);
    rt_.metrics.observe_request(route, done.status, nanos);
    if (log_enabled(LogLevel::debug))
      log(LogLevel::debug, "request",
          {{"method", done.head ? done.head->method : std::string()},
           {"path", done.head ? std::string(done.head->path()) : std::string()},
           {"status", done.status},
           {"route", route_label(route)},
           {"durationUs", nanos / 1000},
           {"written", done.written}});
  };
  try {
    http_ = std::make_unique<net::Server>(io_, std::move(opt), [this](net::Exchange ex) { on_request(std::move(ex)); });
  } catch (const std::exception&) {
    throw std::runtime_error("cannot listen on " + base_url(cfg.host, cfg.port) +
                             " (address in use, or not an address of this machine)");
  }
  return http_->port();
}

net::ShutdownReport Server::shutdown(std::chrono::milliseconds grace) {
  if (!http_) return {};
  http_->shutdown(grace);
  net::ShutdownReport report = http_->wait();
  work_->join();  // the pool's queue is drained: no handler still runs
  return report;
}

void Server::on_request(net::Exchange ex) {
  const net::RequestHead& req = ex.head();
  std::string_view path = req.path();
  RouteMatch route = match_route(path);
  ex.set_route(route_label(route.id), completed_id(route.id));
  Method method = method_of(req.method);

  // Refusals answer from the head; with a body, the connection then closes
  // instead of reading it (a refused client cannot make us inflate a gzip bomb).
  auto refuse = [&](int status, std::string_view code, const std::string& message) {
    ex.respond(error_response(status, code, message));
  };
  auto header = [&](const char* name) -> std::optional<std::string_view> {
    const std::string* v = req.header(name);
    return v ? std::optional<std::string_view>(*v) : std::nullopt;
  };
  GuardRequest guarded{req.method, req.target, header("Host"), header("Origin"), header("Content-Type"), req.has_body};
  if (auto refusal = check_request(guard_, guarded)) return refuse(refusal->status, refusal->code, refusal->message);
  if (method == kOther) return refuse(405, "method_not_allowed", "method " + req.method + " is not supported");

  if (requires_auth(path)) {
    switch (check_bearer(req.header("Authorization"), rt_.config.token)) {
      case AuthResult::ok: break;
      case AuthResult::missing:
        return refuse(401, "missing_bearer_token", "this route needs an \"Authorization: Bearer <token>\" header");
      case AuthResult::invalid: return refuse(403, "invalid_bearer_token", "the bearer token is not valid");
    }
  }
  std::string path_text(path);
  if (!route.methods) return refuse(404, "not_found", "no route for " + req.method + " " + path_text);
  if (!(route.methods & method)) {
    net::Response res = error_response(
        405, "method_not_allowed",
        req.method + " is not allowed on " + path_text + " (allowed: " + allow_header(route.methods) + ")");
    net::set_header(res.headers, "Allow", allow_header(route.methods));
    ex.respond(std::move(res));
    return;
  }
  const std::string* type = req.header("Content-Type");
  if (type && type->rfind("multipart/form-data", 0) == 0)
    return refuse(400, "invalid_request", "multipart/form-data bodies are not supported: send the document itself");

  if (!req.has_body) return serve(ex, route, method);
  ex.read_body(
      [this, route, method](net::Exchange& ex, net::BodyStatus status) { on_body(ex, status, route, method); });
}

void Server::on_body(net::Exchange& ex, net::BodyStatus status, RouteMatch route, Method method) {
  if (status != net::BodyStatus::ok) {
    if (route.id == RouteId::inject) rt_.metrics.inject(InjectLabel::invalid);
    const std::string* coding = ex.head().header("Content-Encoding");
    std::string message;
    int http_status = 400;
    switch (status) {
      case net::BodyStatus::too_large:
        http_status = 413;
        message = "the request body is over the limit of " + std::to_string(rt_.config.max_body_bytes) +
                  " bytes (after decoding its Content-Encoding; raise it with --max-body-bytes)";
        break;
      case net::BodyStatus::unsupported_encoding:
        http_status = 415;
        message = "Content-Encoding \"" + (coding ? *coding : std::string()) +
                  "\" is not supported (send identity, gzip, deflate or br)";
        break;
      case net::BodyStatus::bad_encoding:
        message = "the request body is not valid " + (coding ? *coding : std::string("encoded")) + " data";
        break;
      default: message = "the request body could not be read (truncated, malformed chunks, or too slow)"; break;
    }
    ex.respond(error_response(http_status, body_refusal_code(status), message));
    return;
  }
  bool slow = route.id == RouteId::close || route.id == RouteId::load_case || ex.body().size() >= kLargeBody;
  if (!slow) return serve(ex, route, method);
  boost::asio::post(*work_, [this, ex, route, method]() mutable { serve(ex, route, method); });
}

void Server::serve(net::Exchange& ex, RouteMatch route, Method method) {
  const net::RequestHead& req = ex.head();
  net::Response res;
  Call call{req, res, route.session_id, std::move(ex.body()), {}};
  try {
    dispatch(rt_, route.id, method, call);
  } catch (const softprobe::Error& e) {
    if (route.id == RouteId::inject) rt_.metrics.inject(InjectLabel::invalid);
    if (e.status() == SP_E_IO || e.status() == SP_E_INTERNAL)
      log(LogLevel::error, "request failed",
          {{"path", std::string(req.path())}, {"status", sp_status_name(e.status())}, {"error", e.what()}});
    res = net::Response{};
    send_core_error(res, e);
  } catch (const std::exception& e) {
    log(LogLevel::error, "request failed", {{"path", std::string(req.path())}, {"error", e.what()}});
    res = net::Response{};
    send_error(res, 500, "internal_error", std::string("internal error: ") + e.what());
  }
  if (call.delay.count() > 0) ex.respond_after(std::min(call.delay, rt_.config.max_latency), std::move(res));
  else ex.respond(std::move(res));
  if (call.body.capacity() >= kLargeBody) {  // on the work pool (large bodies are served there)
    std::string().swap(call.body);
    malloc_trim(0);
  }
}

}  // namespace softprobe::runtime
