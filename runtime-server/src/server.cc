#include "server.hpp"

#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include "auth.hpp"
#include "control_routes.hpp"
#include "json_guard.hpp"
#include "logger.hpp"
#include "otlp_routes.hpp"
#include "request_guard.hpp"
#include "routes.hpp"

namespace softprobe::runtime {

namespace {

using Clock = std::chrono::steady_clock;

// cpp-httplib serves one connection on one thread from routing to logging,
// so per-request state can live in a thread_local between the hooks.
struct RequestState {
  Clock::time_point start{};
  RouteId route = RouteId::unmatched;
  bool handled = false;  // our handler wrote the response (an empty 404 is a miss, not an error)
};
thread_local RequestState t_request;

enum class BodyRead { ok, too_large, failed, multipart };

// After a request body this large (or one refused as too large), its memory
// is handed back to the OS (malloc_trim): otherwise each worker thread's
// malloc arena keeps what its largest request needed, and an idle runtime
// that once refused a few 15 MiB bodies stays near 1 GiB.
constexpr std::size_t kLargeBody = 1u << 20;

struct ReleaseLargeBody {
  std::string& body;
  bool force = false;
  ~ReleaseLargeBody() {
    if (!force && body.capacity() < kLargeBody) return;
    std::string().swap(body);
    malloc_trim(0);
  }
};

std::optional<std::string_view> header(const httplib::Request& req, const char* name) {
  auto it = req.headers.find(name);
  if (it == req.headers.end()) return std::nullopt;
  return std::string_view(it->second);
}

bool has_body(const httplib::Request& req) {
  auto te = req.headers.find("Transfer-Encoding");
  if (te != req.headers.end() && te->second.find("chunked") != std::string::npos) return true;
  auto cl = req.headers.find("Content-Length");
  return cl != req.headers.end() && std::strtoull(cl->second.c_str(), nullptr, 10) > 0;
}

// Reads the body within `limit`. A request with neither Content-Length nor
// chunked Transfer-Encoding has no body (RFC 9112 6.3). Past the limit the
// rest is read and dropped, so the connection stays usable.
BodyRead read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                   std::size_t limit, std::string& body) {
  // (Each header lookup is a case-insensitive map search: look each up once.)
  const auto& headers = req.headers;
  auto te = headers.find("Transfer-Encoding");
  bool chunked = te != headers.end() && te->second.find("chunked") != std::string::npos;
  auto cl = headers.find("Content-Length");
  if (!chunked && cl == headers.end()) return BodyRead::ok;
  if (!chunked) {
    // Over the limit, cpp-httplib discards the body and reports 413 (payload_max_length).
    unsigned long long len = std::strtoull(cl->second.c_str(), nullptr, 10);
    if (len <= limit) body.reserve(std::size_t(len));
  }
  bool over = false;
  auto receive = [&](const char* data, std::size_t n) {
    if (!over && body.size() + n <= limit) {
      body.append(data, n);
    } else if (!over) {
      over = true;
      std::string().swap(body);
    }
    return true;
  };
  auto ct = headers.find("Content-Type");
  bool multipart = ct != headers.end() && ct->second.rfind("multipart/form-data", 0) == 0;
  bool ok = multipart ? reader([](const httplib::MultipartFormData&) { return true; }, receive) : reader(receive);
  if (over || res.status == 413) return BodyRead::too_large;
  if (!ok) return BodyRead::failed;
  return multipart ? BodyRead::multipart : BodyRead::ok;
}

void dispatch(Runtime& rt, RouteId route, Method method, Call& c) {
  switch (route) {
    case RouteId::health: return control::health(rt, c);
    case RouteId::meta: return control::meta(rt, c);
    case RouteId::metrics: return control::metrics(rt, c);
    case RouteId::sessions: return method == kPost ? control::create_session(rt, c) : control::list_sessions(rt, c);
    case RouteId::load_case: return control::load_case(rt, c);
    case RouteId::rules: return method == kPost ? control::set_rules(rt, c) : control::get_rules(rt, c);
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

// For responses cpp-httplib produced itself (a malformed request line, a
// body over the limit on a route we never reached...).
std::pair<const char*, std::string> library_error(int status) {
  switch (status) {
    case 400: return {"invalid_request", "malformed HTTP request"};
    case 404: return {"not_found", "no such route"};
    case 405: return {"method_not_allowed", "method not allowed"};
    case 413: return {"payload_too_large", "the request body is over the server's limit"};
    case 414: return {"invalid_request", "the request URI is too long"};
    case 416: return {"invalid_request", "invalid Range header"};
    default: break;
  }
  if (status >= 500) return {"internal_error", "internal error"};
  return {"invalid_request", "request failed with status " + std::to_string(status)};
}

}  // namespace

std::string base_url(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Server::Server(Runtime& rt) : rt_(rt) {
  const Config& cfg = rt_.config;
  guard_ = GuardConfig{cfg.host, cfg.allow_origins, cfg.allow_hosts};
  std::size_t threads = cfg.threads;
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_.set_tcp_nodelay(true);  // headers and body go out in two writes: no Nagle delay between them
  http_.set_keep_alive_max_count(1'000'000);
  http_.set_keep_alive_timeout(cfg.keep_alive_timeout.count() > 0 ? cfg.keep_alive_timeout.count() : 1);
  http_.set_payload_max_length(cfg.max_body_bytes);
  // cpp-httplib's default sets SO_REUSEPORT, which lets a second runtime bind
  // the same port and silently take half the traffic (with its own sessions).
  // SO_REUSEADDR alone allows a quick restart but refuses a port in use.
  http_.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  http_.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request = RequestState{Clock::now(), RouteId::unmatched, false};
    return httplib::Server::HandlerResponse::Unhandled;
  });

  auto plain = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, nullptr); };
  auto with_body = [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    handle(req, res, &reader);
  };
  // One catch-all per method; our own router matches paths (and knows 405s).
  const char* any = ".*";
  http_.Get(any, plain);
  http_.Options(any, plain);
  http_.Post(any, with_body);
  http_.Put(any, with_body);
  http_.Patch(any, with_body);
  http_.Delete(any, with_body);

  http_.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (t_request.handled || !res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 400 && method_of(req.method) == kOther) {
      res.status = 405;
      send_error(res, 405, "method_not_allowed", "method " + req.method + " is not supported");
      return httplib::Server::HandlerResponse::Handled;
    }
    auto [code, message] = library_error(res.status);
    send_error(res, res.status, code, message);
    return httplib::Server::HandlerResponse::Handled;
  }));

  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log(LogLevel::error, "unhandled exception", {{"error", what}});
    send_error(res, 500, "internal_error", "internal error: " + what);
    t_request.handled = true;
  });

  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    RequestState& st = t_request;
    auto now = Clock::now();
    std::uint64_t nanos = st.start == Clock::time_point{} ? 0 : std::uint64_t((now - st.start).count());
    rt_.metrics.observe_request(st.route, res.status, nanos);
    if (log_enabled(LogLevel::debug))
      log(LogLevel::debug, "request",
          {{"method", req.method}, {"path", req.path}, {"status", res.status}, {"route", route_label(st.route)},
           {"durationUs", nanos / 1000}});
    st = RequestState{};
  });
}

void Server::handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
  t_request.handled = true;
  RouteMatch route = match_route(req.path);
  t_request.route = route.id;
  Method method = method_of(req.method);
  Call call{req, res, route.session_id, {}};

  // Anything refused before the handler still drains its body, so the
  // keep-alive connection stays in step.
  auto refuse = [&](int status, const char* code, const std::string& message) {
    if (reader) {
      std::string ignored;
      read_body(req, res, *reader, 0, ignored);
    }
    send_error(res, status, code, message);
  };

  GuardRequest guarded{req.method, req.target, header(req, "Host"), header(req, "Origin"), header(req, "Content-Type"),
                       has_body(req)};
  if (auto refusal = check_request(guard_, guarded)) return refuse(refusal->status, refusal->code.c_str(), refusal->message);

  if (requires_auth(req.path)) {
    switch (check_bearer(req, rt_.config.token)) {
      case AuthResult::ok: break;
      case AuthResult::missing:
        return refuse(401, "missing_bearer_token", "this route needs an \"Authorization: Bearer <token>\" header");
      case AuthResult::invalid: return refuse(403, "invalid_bearer_token", "the bearer token is not valid");
    }
  }
  if (!route.methods) return refuse(404, "not_found", "no route for " + req.method + " " + req.path);
  if (!(route.methods & method)) {
    refuse(405, "method_not_allowed", req.method + " is not allowed on " + req.path + " (allowed: " + allow_header(route.methods) + ")");
    res.set_header("Allow", allow_header(route.methods));
    return;
  }
  ReleaseLargeBody release{call.body};
  if (reader) {
    switch (read_body(req, res, *reader, rt_.config.max_body_bytes, call.body)) {
      case BodyRead::ok: break;
      case BodyRead::too_large:
        release.force = true;
        if (route.id == RouteId::inject) rt_.metrics.inject(InjectLabel::invalid);
        return send_error(res, 413, "payload_too_large",
                          "the request body is over the limit of " + std::to_string(rt_.config.max_body_bytes) +
                              " bytes (raise it with --max-body-bytes)");
      case BodyRead::multipart:
        return send_error(res, 400, "invalid_request", "multipart/form-data bodies are not supported: send the document itself");
      case BodyRead::failed:
        return send_error(res, 400, "invalid_request", "the request body could not be read (truncated, or a bad Content-Encoding)");
    }
  }
  if (route.id != RouteId::inject && route.id != RouteId::traces) {
    if (auto at = json_too_deep(call.body))
      return send_error(res, 400, "invalid_request",
                        "the JSON body nests objects and arrays deeper than " + std::to_string(kMaxJsonNesting) +
                            " levels (at byte " + std::to_string(*at) + ")");
  }
  try {
    dispatch(rt_, route.id, method, call);
  } catch (const CoreError& e) {
    if (route.id == RouteId::inject) rt_.metrics.inject(InjectLabel::invalid);
    if (e.status() == SP_E_IO || e.status() == SP_E_INTERNAL)
      log(LogLevel::error, "request failed", {{"path", req.path}, {"status", sp_status_name(e.status())}, {"error", e.what()}});
    send_core_error(res, e);
  } catch (const std::exception& e) {
    log(LogLevel::error, "request failed", {{"path", req.path}, {"error", e.what()}});
    send_error(res, 500, "internal_error", std::string("internal error: ") + e.what());
  }
}

int Server::bind() {
  int port = rt_.config.port == 0 ? http_.bind_to_any_port(rt_.config.host)
                                  : (http_.bind_to_port(rt_.config.host, rt_.config.port) ? rt_.config.port : -1);
  if (port <= 0)
    throw std::runtime_error("cannot listen on " + base_url(rt_.config.host, rt_.config.port) +
                             " (address in use, or not an address of this machine)");
  return port;
}

bool Server::run() { return http_.listen_after_bind(); }

void Server::stop() { http_.stop(); }

}  // namespace softprobe::runtime
