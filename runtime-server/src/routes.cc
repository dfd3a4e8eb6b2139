#include "routes.hpp"

#include <iterator>

namespace softprobe::runtime {

namespace {

constexpr std::string_view kSessionPrefix = "/v1/sessions/{sessionId}/";

// The hot routes first; the session routes last (matched by their suffix).
constexpr RouteSpec kRoutes[] = {
    {"/v1/inject", RouteId::inject, kPost},
    {"/v1/traces", RouteId::traces, kPost},
    {"/health", RouteId::health, kGet},
    {"/metrics", RouteId::metrics, kGet},
    {"/v1/meta", RouteId::meta, kGet},
    {"/openapi.yaml", RouteId::openapi, kGet},
    {"/v1/sessions", RouteId::sessions, kGet | kPost},
    {"/v1/sessions/{sessionId}/load-case", RouteId::load_case, kPost},
    {"/v1/sessions/{sessionId}/rules", RouteId::rules, kGet | kPost},
    {"/v1/sessions/{sessionId}/rules/append", RouteId::rules_append, kPost},
    {"/v1/sessions/{sessionId}/policy", RouteId::policy, kPost},
    {"/v1/sessions/{sessionId}/fixtures/auth", RouteId::fixtures_auth, kPost},
    {"/v1/sessions/{sessionId}/stats", RouteId::stats, kGet},
    {"/v1/sessions/{sessionId}/state", RouteId::state, kGet},
    {"/v1/sessions/{sessionId}/strict-misses", RouteId::strict_misses, kGet},
    {"/v1/sessions/{sessionId}/close", RouteId::close, kPost},
};

bool is_session_route(const RouteSpec& r) noexcept { return r.path.substr(0, kSessionPrefix.size()) == kSessionPrefix; }

}  // namespace

const RouteSpec* route_table(std::size_t* count) noexcept {
  *count = std::size(kRoutes);
  return kRoutes;
}

const char* route_label(RouteId id) noexcept {
  switch (id) {
    case RouteId::health: return "health";
    case RouteId::meta: return "meta";
    case RouteId::metrics: return "metrics";
    case RouteId::sessions: return "sessions";
    case RouteId::load_case: return "load_case";
    case RouteId::rules: return "rules";
    case RouteId::rules_append: return "rules_append";
    case RouteId::policy: return "policy";
    case RouteId::fixtures_auth: return "fixtures_auth";
    case RouteId::stats: return "stats";
    case RouteId::state: return "state";
    case RouteId::strict_misses: return "strict_misses";
    case RouteId::close: return "close";
    case RouteId::inject: return "inject";
    case RouteId::traces: return "traces";
    case RouteId::openapi: return "openapi";
    case RouteId::unmatched:
    case RouteId::count_: break;
  }
  return "unmatched";
}

Method method_of(std::string_view m) noexcept {
  if (m == "GET" || m == "HEAD") return kGet;
  if (m == "POST") return kPost;
  if (m == "PUT") return kPut;
  if (m == "DELETE") return kDelete;
  if (m == "PATCH") return kPatch;
  if (m == "OPTIONS") return kOptions;
  return kOther;
}

RouteMatch match_route(std::string_view path) noexcept {
  for (const auto& r : kRoutes)
    if (!is_session_route(r) && path == r.path) return {r.id, r.methods, {}};
  constexpr std::string_view prefix = "/v1/sessions/";
  if (path.substr(0, prefix.size()) != prefix) return {};
  std::string_view rest = path.substr(prefix.size());
  auto slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos) return {};
  std::string_view id = rest.substr(0, slash), suffix = rest.substr(slash + 1);
  for (const auto& r : kRoutes)
    if (is_session_route(r) && suffix == r.path.substr(kSessionPrefix.size())) return {r.id, r.methods, id};
  return {};
}

std::string allow_header(unsigned methods) {
  std::string out;
  auto add = [&](unsigned bit, const char* name) {
    if (!(methods & bit)) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  add(kGet, "GET, HEAD");
  add(kPost, "POST");
  add(kPut, "PUT");
  add(kDelete, "DELETE");
  add(kPatch, "PATCH");
  add(kOptions, "OPTIONS");
  return out;
}

}  // namespace softprobe::runtime
