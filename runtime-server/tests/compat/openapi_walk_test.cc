// GET /openapi.yaml (issue 11, item 9): the document is served as checked in,
// documents every route the runtime serves with exactly the methods it
// accepts, and documents nothing it does not serve.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "compat/compat_http.hpp"
#include "openapi.hpp"
#include "routes.hpp"

using compat_test::Answer;
using compat_test::Runtime;
namespace rt_ns = softprobe::runtime;

namespace {

// path -> methods ("get", "post", ...) under the document's top-level
// "paths:" key: paths at two spaces of indent, operations at four.
std::map<std::string, std::set<std::string>> documented_operations(const std::string& yaml) {
  std::map<std::string, std::set<std::string>> out;
  bool in_paths = false;
  std::string current;
  std::size_t start = 0;
  while (start < yaml.size()) {
    std::size_t end = yaml.find('\n', start);
    if (end == std::string::npos) end = yaml.size();
    std::string line = yaml.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    if (line[0] != ' ') {
      in_paths = line == "paths:";
      continue;
    }
    if (!in_paths) continue;
    if (line.size() > 3 && line.compare(0, 3, "  /") == 0 && line.back() == ':') {
      current = line.substr(2, line.size() - 3);
      out[current];
    } else if (line.size() > 5 && line.compare(0, 4, "    ") == 0 && line[4] != ' ' && line.back() == ':') {
      std::string op = line.substr(4, line.size() - 5);
      if (op == "get" || op == "post" || op == "put" || op == "delete" || op == "patch" || op == "options" ||
          op == "head")
        out[current].insert(op);
    }
  }
  return out;
}

std::set<std::string> method_names(unsigned methods) {
  std::set<std::string> out;
  if (methods & rt_ns::kGet) out.insert("get");
  if (methods & rt_ns::kPost) out.insert("post");
  if (methods & rt_ns::kPut) out.insert("put");
  if (methods & rt_ns::kDelete) out.insert("delete");
  if (methods & rt_ns::kPatch) out.insert("patch");
  if (methods & rt_ns::kOptions) out.insert("options");
  return out;
}

std::string fill(std::string path, const std::string& session) {
  auto at = path.find("{sessionId}");
  if (at != std::string::npos) path.replace(at, 11, session);
  return path;
}

}  // namespace

TEST_CASE("compat openapi: /openapi.yaml serves the checked-in document", "[compat]") {
  Runtime rt;
  Answer a = rt.get("/openapi.yaml");
  REQUIRE(a.status == 200);
  CHECK(a.header("Content-Type") == "application/yaml");
  CHECK(a.body == std::string(rt_ns::openapi_document()));
  CHECK(a.body.rfind("openapi: 3.", 0) == 0);
}

TEST_CASE("compat openapi: every served route is documented with its methods, and only those", "[compat]") {
  auto documented = documented_operations(std::string(rt_ns::openapi_document()));
  REQUIRE(documented.size() > 10);
  std::size_t count = 0;
  const rt_ns::RouteSpec* table = rt_ns::route_table(&count);

  std::set<rt_ns::RouteId> ids;
  std::set<std::string> served;
  for (std::size_t i = 0; i < count; ++i) {
    const rt_ns::RouteSpec& r = table[i];
    std::string path(r.path);
    INFO(path);
    served.insert(path);
    CHECK(ids.insert(r.id).second);  // one row per route
    // The table is what the matcher serves...
    rt_ns::RouteMatch m = rt_ns::match_route(fill(path, "sess_walk-1.x"));
    CHECK(m.id == r.id);
    CHECK(m.methods == r.methods);
    // ...and what the document says.
    REQUIRE(documented.count(path) == 1);
    CHECK(documented[path] == method_names(r.methods));
  }
  for (int id = 0; id < int(rt_ns::RouteId::unmatched); ++id) {
    INFO(rt_ns::route_label(rt_ns::RouteId(id)));
    CHECK(ids.count(rt_ns::RouteId(id)) == 1);  // no route left out of the table
  }
  for (const auto& [path, methods] : documented) {
    INFO(path);
    CHECK(served.count(path) == 1);  // nothing documented that is not served
  }
}

TEST_CASE("compat openapi: walking the document against the real runtime finds every operation", "[compat]") {
  Runtime rt;
  auto documented = documented_operations(rt.get("/openapi.yaml").body);
  REQUIRE(!documented.empty());
  for (const auto& [path, methods] : documented)
    for (const std::string& method : methods) {
      std::string target = fill(path, "walk-unknown-session");
      INFO(method << " " << target);
      std::string upper = method == "get" ? "GET" : "POST";
      REQUIRE((method == "get" || method == "post"));
      Answer a = rt.send(upper, target, "");
      CHECK(a.status != 0);
      CHECK(a.status != 405);
      if (a.status == 404 && a.json.is_object()) CHECK(a.json["error"]["code"] != "not_found");
    }
  // And the walk's control: an undocumented path is the server's own 404.
  Answer none = rt.get("/v1/sessions/x/nothing-here");
  CHECK(none.status == 404);
  CHECK(none.json["error"]["code"] == "not_found");
}
