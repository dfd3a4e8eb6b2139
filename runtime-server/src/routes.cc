#include "routes.hpp"

namespace softprobe::runtime {

namespace {

struct SessionRoute {
  std::string_view suffix;  // after /v1/sessions/{id}/
  RouteId id;
  unsigned methods;
};

constexpr SessionRoute kSessionRoutes[] = {
    {"load-case", RouteId::load_case, kPost},
    {"rules", RouteId::rules, kGet | kPost},
    {"policy", RouteId::policy, kPost},
    {"fixtures/auth", RouteId::fixtures_auth, kPost},
    {"stats", RouteId::stats, kGet},
    {"state", RouteId::state, kGet},
    {"strict-misses", RouteId::strict_misses, kGet},
    {"close", RouteId::close, kPost},
};

}  // namespace

const char* route_label(RouteId id) noexcept {
  switch (id) {
    case RouteId::health: return "health";
    case RouteId::meta: return "meta";
    case RouteId::metrics: return "metrics";
    case RouteId::sessions: return "sessions";
    case RouteId::load_case: return "load_case";
    case RouteId::rules: return "rules";
    case RouteId::policy: return "policy";
    case RouteId::fixtures_auth: return "fixtures_auth";
    case RouteId::stats: return "stats";
    case RouteId::state: return "state";
    case RouteId::strict_misses: return "strict_misses";
    case RouteId::close: return "close";
    case RouteId::inject: return "inject";
    case RouteId::traces: return "traces";
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
  // The hot routes first.
  if (path == "/v1/inject") return {RouteId::inject, kPost, {}};
  if (path == "/v1/traces") return {RouteId::traces, kPost, {}};
  if (path == "/health") return {RouteId::health, kGet, {}};
  if (path == "/metrics") return {RouteId::metrics, kGet, {}};
  if (path == "/v1/meta") return {RouteId::meta, kGet, {}};
  if (path == "/v1/sessions") return {RouteId::sessions, kGet | kPost, {}};
  constexpr std::string_view prefix = "/v1/sessions/";
  if (path.substr(0, prefix.size()) != prefix) return {};
  std::string_view rest = path.substr(prefix.size());
  auto slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos) return {};
  std::string_view id = rest.substr(0, slash), suffix = rest.substr(slash + 1);
  for (const auto& r : kSessionRoutes)
    if (suffix == r.suffix) return {r.id, r.methods, id};
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
