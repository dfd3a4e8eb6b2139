// The HTTP control API (contract section 6): each handler parses the call,
// asks the core, and serializes its answer. Core failures arrive as
// softprobe::Error and are turned into the error envelope by the server.
#pragma once

#include "http_response.hpp"
#include "runtime.hpp"

namespace softprobe::runtime::control {

void health(Runtime& rt, Call& c);
void meta(Runtime& rt, Call& c);
void metrics(Runtime& rt, Call& c);
void openapi(Runtime& rt, Call& c);  // GET /openapi.yaml: the embedded OpenAPI 3 document
void create_session(Runtime& rt, Call& c);
void list_sessions(Runtime& rt, Call& c);
void load_case(Runtime& rt, Call& c);
void set_rules(Runtime& rt, Call& c);
void append_rules(Runtime& rt, Call& c);
void get_rules(Runtime& rt, Call& c);
void set_policy(Runtime& rt, Call& c);
void set_auth_fixtures(Runtime& rt, Call& c);
void stats(Runtime& rt, Call& c);
void state(Runtime& rt, Call& c);
void strict_misses(Runtime& rt, Call& c);
void close(Runtime& rt, Call& c);

}  // namespace softprobe::runtime::control
