// Built against the installed headers and library only (C++17 is enough).
#include <softprobe.hpp>

#include <cstdio>

int main() {
  softprobe::Store store;
  softprobe::Session s = store.start_session(R"({"policy":{"externalHttp":"strict"}})");
  softprobe::Request req;
  req.host = "api.test";
  softprobe::Decision d = s.decide(req);
  std::printf("softprobe %s: strict miss -> %d\n", softprobe::version().c_str(), d.status());
  return d.status() == 599 ? 0 : 1;
}
