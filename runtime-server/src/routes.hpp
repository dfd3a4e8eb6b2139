// The route table: which paths exist and which methods each accepts. Pure
// path matching, no handlers (server.cc dispatches).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace softprobe::runtime {

enum class RouteId : std::uint8_t {
  health,
  meta,
  metrics,
  sessions,
  load_case,
  rules,
  rules_append,
  policy,
  fixtures_auth,
  stats,
  state,
  strict_misses,
  close,
  inject,
  traces,
  openapi,
  unmatched,
  count_,
};

// The metric label of a route ("inject", "load_case", ...).
const char* route_label(RouteId id) noexcept;

enum Method : unsigned {
  kGet = 1u << 0,  // HEAD is served as GET
  kPost = 1u << 1,
  kPut = 1u << 2,
  kDelete = 1u << 3,
  kPatch = 1u << 4,
  kOptions = 1u << 5,
  kOther = 1u << 6,
};
Method method_of(std::string_view name) noexcept;

struct RouteMatch {
  RouteId id = RouteId::unmatched;
  unsigned methods = 0;         // allowed Method bits; 0 when the path is unknown
  std::string_view session_id;  // the {id} segment, when the route has one
};

RouteMatch match_route(std::string_view path) noexcept;

// One served route: its path as openapi.yaml writes it ("{sessionId}" for
// the id segment), its id and the methods it accepts.
struct RouteSpec {
  std::string_view path;
  RouteId id;
  unsigned methods;
};

// Every route the runtime serves, in the order match_route tries them (the
// OpenAPI walk test checks the document against this table, and the table
// against match_route).
const RouteSpec* route_table(std::size_t* count) noexcept;

// "GET, POST": the Allow header of a 405.
std::string allow_header(unsigned methods);

}  // namespace softprobe::runtime
