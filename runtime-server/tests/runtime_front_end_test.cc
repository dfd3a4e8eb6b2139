// The runtime's front end, from outside: the real softprobe-runtime binary
// driven over raw sockets with slow, idle, oversized, pipelined, malformed,
// compressed and delayed traffic (issue 9). Each case reproduces a failure of
// the cpp-httplib build (thread per connection, backlog 5, sleeping workers,
// unbounded head and inflate) and checks the event-driven one does not have it.
//
// Every wait is bounded; no thread is started (one poll loop drives many
// sockets), so Catch2's assertions stay on the test's thread.
//
// Flags only the new front end has (--head-timeout, --max-connections,
// --max-latency-ms) are dropped with a warning when the binary under test
// does not know them, so the same cases run against the old build to show
// they fail there (SOFTPROBE_RUNTIME_BIN=<old binary>).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "otlp_builder.hpp"
#include "raw_socket.hpp"
#include "runtime_process.hpp"

using json = nlohmann::json;
using runtime_test::ms_since;
using runtime_test::RawResponse;
using runtime_test::RawSocket;
using runtime_test::RuntimeProcess;
using runtime_test::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

using Flags = std::vector<std::pair<std::string, std::string>>;

// Starts the runtime with `args` plus `new_flags` (flag, value); a new flag the
// binary rejects as unknown is dropped, with a warning, and the start retried.
std::unique_ptr<RuntimeProcess> start(std::vector<std::string> args, Flags new_flags = {},
                                      std::vector<std::pair<std::string, std::string>> env = {}) {
  for (;;) {
    std::vector<std::string> all = args;
    for (const auto& [flag, value] : new_flags) {
      all.push_back(flag);
      all.push_back(value);
    }
    try {
      return std::make_unique<RuntimeProcess>(all, env);
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      auto it = std::find_if(new_flags.begin(), new_flags.end(),
                             [&](const auto& f) { return what.find("unknown flag " + f.first) != std::string::npos; });
      if (it == new_flags.end()) throw;
      WARN("the runtime under test does not know " << it->first << ": running without it");
      new_flags.erase(it);
    }
  }
}

std::string get(int port, const std::string& target, const std::string& extra = "") {
  return runtime_test::http_request(port, "GET", target, "", extra);
}

std::string post_json(int port, const std::string& target, const std::string& body, const std::string& extra = "") {
  return runtime_test::http_request(port, "POST", target, body, "Content-Type: application/json\n" + extra, true);
}

// One control call on a fresh connection; fails the test unless it answers `status`.
json control(int port, const std::string& request, int status = 200) {
  auto r = runtime_test::exchange(port, request, 5000);
  REQUIRE(r);
  INFO(r->head << "\n\n" << r->body);
  REQUIRE(r->status == status);
  return r->body.empty() ? json() : json::parse(r->body);
}

std::string create_session(int port, const std::string& options = "{}") {
  return control(port, post_json(port, "/v1/sessions", options))["sessionId"];
}

void set_rules(int port, const std::string& id, const std::string& rules) {
  control(port, post_json(port, "/v1/sessions/" + id + "/rules", rules));
}

// A replay session whose one rule answers /slow after `latency_ms`.
std::string delayed_session(int port, int latency_ms) {
  std::string id = create_session(port);
  set_rules(port, id,
            R"({"version":1,"rules":[{"name":"slow","latencyMs":)" + std::to_string(latency_ms) +
                R"(,"when":{"path":"/slow"},"then":{"action":"mock","response":{"status":200,"body":"late"}}}]})");
  return id;
}

std::string inject_slow(int port, const std::string& id) {
  return post_json(port, "/v1/inject", otlp_test::to_json({otlp_test::inject_span(id, "api.example.com", "/slow")}));
}

// The mock's answer inside an inject response: status 200 and body "late".
bool is_late_answer(const RawResponse& r) {
  if (r.status != 200) return false;
  auto answer = otlp_test::read_answer_json(r.body);
  return answer.status == 200 && answer.body == "late";
}

// Milliseconds until a fresh connection gets 200 from /health, or -1 when it
// does not within timeout_ms.
long long health_ms(int port, int timeout_ms = 1000) {
  auto t0 = Clock::now();
  try {
    auto r = runtime_test::exchange(port, get(port, "/health"), timeout_ms);
    if (!r || r->status != 200) return -1;
  } catch (const std::runtime_error&) {
    return -1;  // could not even connect in time
  }
  return ms_since(t0);
}

void check_health_prompt(int port, int times = 3) {
  for (int i = 0; i < times; ++i) {
    long long ms = health_ms(port);
    INFO("probe " << i << ": /health took " << ms << " ms (-1: no 200 within 1 s)");
    CHECK(ms >= 0);
  }
}

// A connection that has fully sent one request and waits for its answer.
struct Pending {
  RawSocket socket;
  Clock::time_point sent_at;
  std::optional<RawResponse> response;
  long long elapsed_ms = -1;
};

// Reads until every pending socket has a response or `deadline` passes.
void collect(std::vector<Pending>& pending, Clock::time_point deadline) {
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < pending.size(); ++i)
      if (!pending[i].response && pending[i].socket.fd() >= 0) {
        fds.push_back({pending[i].socket.fd(), POLLIN, 0});
        index.push_back(i);
      }
    if (fds.empty()) return;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || ::poll(fds.data(), nfds_t(fds.size()), int(left)) <= 0) return;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      Pending& p = pending[index[k]];
      bool open = p.socket.poll_input();
      p.response = p.socket.take_response();
      if (p.response) p.elapsed_ms = ms_since(p.sent_at);
      else if (!open) p.socket.close();  // closed without an answer
    }
  }
}

// The header line (for http_request) of a gzip body.
constexpr const char* kGzip = "Content-Encoding: gzip\n";

}  // namespace

TEST_CASE("front end helper: the gzip bomb inflates to exactly its size", "[front-end][helper]") {
  for (std::size_t size : {std::size_t(1), std::size_t(258), std::size_t(259), std::size_t(1) << 20}) {
    INFO("inflated size " << size);
    std::string bomb = runtime_test::gzip_bomb(size);
    CHECK(bomb.size() <= 10 + (3 + 8 * 258 + 13 * (size / 258) + 7 + 7) / 8 + 8);  // header, block, trailer
    z_stream z{};
    REQUIRE(inflateInit2(&z, 31) == Z_OK);
    std::string out(size + 16, 'x');
    z.next_in = reinterpret_cast<Bytef*>(bomb.data());
    z.avail_in = uInt(bomb.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = uInt(out.size());
    int rc = inflate(&z, Z_FINISH);  // checks the CRC-32 and size trailer too
    std::size_t produced = z.total_out, consumed = z.total_in;
    inflateEnd(&z);
    CHECK(rc == Z_STREAM_END);
    CHECK(produced == size);
    CHECK(consumed == bomb.size());
    CHECK(out.substr(0, produced) == std::string(produced, '\0'));
  }
}

TEST_CASE("front end: the front end's flags are accepted on the command line", "[front-end]") {
  // No fallback here: each must start the runtime as given.
  for (const auto& flag : Flags{{"--head-timeout", "3s"},
                                {"--max-connections", "8"},
                                {"--max-latency-ms", "200"},
                                {"--shutdown-grace", "2s"},
                                {"--threads", "2"},
                                {"--keep-alive-timeout", "1s"}}) {
    INFO(flag.first << " " << flag.second);
    std::unique_ptr<RuntimeProcess> rt;
    try {
      rt = std::make_unique<RuntimeProcess>(std::vector<std::string>{flag.first, flag.second});
    } catch (const std::runtime_error& e) {
      FAIL_CHECK(e.what());
      continue;
    }
    CHECK(health_ms(rt->port(), 3000) >= 0);
  }
}

TEST_CASE("front end: 200 slow header senders do not stop /health", "[front-end]") {
  auto rt = start({});
  int port = rt->port();
  std::vector<RawSocket> slow;
  int connected = 0, sent = 0;
  for (int i = 0; i < 200; ++i) {
    try {
      slow.emplace_back(port, 2000);
      ++connected;
      sent += slow.back().send_all("GET /health HTTP/1.1\r\nHost: 127.0", 1000);  // then nothing more
    } catch (const std::runtime_error&) {
    }
  }
  CHECK(connected == 200);
  CHECK(sent == 200);
  check_health_prompt(port, 5);
}

TEST_CASE("front end: a client sending one byte every 2 s is closed at the head deadline", "[front-end]") {
  auto rt = start({}, {{"--head-timeout", "3s"}});
  RawSocket c(rt->port());
  const std::string request = "GET /health HTTP/1.1\r\n";
  auto t0 = Clock::now();
  long long closed_at = -1;
  std::optional<RawResponse> answer;
  for (std::size_t i = 0; i < request.size() && ms_since(t0) < 6500; ++i) {
    if (!c.send_all(request.substr(i, 1), 500)) {  // reset: closed
      closed_at = ms_since(t0);
      break;
    }
    auto next = Clock::now() + std::chrono::seconds(2);
    bool open = true;
    while (open && Clock::now() < next && !answer) {
      pollfd p{c.fd(), POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count();
      if (::poll(&p, 1, int(std::max<long long>(left, 0))) == 1) {
        open = c.poll_input();
        answer = c.take_response();
      }
    }
    if (!open || answer) {
      closed_at = ms_since(t0);
      break;
    }
  }
  INFO("closed (or answered) after " << closed_at << " ms; -1: still open after 6.5 s");
  REQUIRE(closed_at >= 0);
  CHECK(closed_at >= 2500);
  CHECK(closed_at <= 5000);
  if (answer) {
    CHECK(answer->status == 408);
    CHECK(c.wait_closed(2000));
  }
  CHECK(health_ms(rt->port()) >= 0);
}

TEST_CASE("front end: 32 and 64 idle keep-alive connections do not delay /health", "[front-end]") {
  auto rt = start({"--keep-alive-timeout", "30s"});
  int port = rt->port();
  std::vector<RawSocket> idle;
  for (int target : {32, 64}) {
    INFO(target << " idle keep-alive connections");
    int answered = 0, opened = int(idle.size());
    while (int(idle.size()) < target) {
      idle.emplace_back(port);
      REQUIRE(idle.back().send_all(get(port, "/health")));
      auto r = idle.back().read_response(1500);
      answered += r && r->status == 200;
    }
    CHECK(answered == target - opened);
    check_health_prompt(port);
  }
  // The idle connections are still usable.
  REQUIRE(idle.front().send_all(get(port, "/health")));
  auto r = idle.front().read_response(1000);
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("front end: oversized request lines and header lines get 431 and a close, without growing RSS",
          "[front-end]") {
  auto rt = start({});
  int port = rt->port();
  REQUIRE(health_ms(port, 3000) >= 0);  // warmed up
  long before = runtime_test::rss_kib(rt->pid()), peak_before = runtime_test::peak_rss_kib(rt->pid());
  REQUIRE(before > 0);
  REQUIRE(peak_before > 0);

  auto refused_431 = [&](const std::string& request, const char* what) {
    INFO(what);
    RawSocket c(port);
    auto t0 = Clock::now();
    std::size_t sent = 0;
    auto r = c.send_reading(request, 10000, &sent);
    INFO("sent " << sent << " of " << request.size() << " bytes in " << ms_since(t0) << " ms");
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(c.wait_closed(2000));
  };
  refused_431("GET /" + std::string(std::size_t(1) << 20, 'a') + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
              "a 1 MiB request line");
  refused_431("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(65 * 1024, 'b') + "\r\n\r\n",
              "a 65 KiB header line");
  refused_431(
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(std::size_t(64) << 20, 'b') + "\r\n\r\n",
      "a 64 MiB header line");
  refused_431("GET /" + std::string(std::size_t(64) << 20, 'a') + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
              "a 64 MiB request line");

  // The peak says whether a line was ever held whole; the current RSS, whether it stayed.
  long growth = runtime_test::rss_kib(rt->pid()) - before,
       peak_growth = runtime_test::peak_rss_kib(rt->pid()) - peak_before;
  INFO("runtime RSS grew by " << growth << " KiB, its peak by " << peak_growth << " KiB");
  CHECK(growth < 8 * 1024);
  CHECK(peak_growth < 8 * 1024);
  CHECK(health_ms(port) >= 0);
}

TEST_CASE("front end: 6000 headers get 431; the limit is 100 headers, Host included", "[front-end]") {
  auto rt = start({});
  int port = rt->port();
  auto with_headers = [&](int extra) {
    std::string req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n";
    for (int i = 0; i < extra; ++i) req += "a" + std::to_string(i) + ":b\r\n";
    return req + "\r\n";
  };
  std::string flood = with_headers(5999);
  REQUIRE(flood.size() < 64 * 1024);  // the count, not the size, is what is over
  RawSocket c(port);
  auto r = c.send_reading(flood, 5000);
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(c.wait_closed(2000));

  r = runtime_test::exchange(port, with_headers(100));
  REQUIRE(r);
  CHECK(r->status == 431);
  r = runtime_test::exchange(port, with_headers(99));
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("front end: a gzip bomb is cut at --max-body-bytes, and refused unread without the token", "[front-end]") {
  // 128 MiB of zeros in ~845 KB: under the 1 MiB limit compressed, far over it inflated.
  static const std::string bomb = runtime_test::gzip_bomb(std::size_t(128) << 20);
  REQUIRE(bomb.size() < std::size_t(1) << 20);

  SECTION("no token: /v1/inject answers 413 promptly and closes") {
    auto rt = start({"--max-body-bytes", "1M"});
    int port = rt->port();
    double cpu0 = runtime_test::cpu_seconds(rt->pid());
    REQUIRE(cpu0 >= 0);
    RawSocket c(port);
    auto t0 = Clock::now();
    auto r = c.send_reading(post_json(port, "/v1/inject", bomb, kGzip), 5000);
    long long ms = ms_since(t0);
    REQUIRE(r);
    INFO(r->body);
    CHECK(r->status == 413);
    CHECK(ms < 1000);
    CHECK(c.wait_closed(2000));
    double cpu = runtime_test::cpu_seconds(rt->pid()) - cpu0;
    INFO("runtime CPU " << cpu << " s");
    CHECK(cpu < 0.5);
  }
  SECTION("--token: 401 from the head alone, before the body is sent") {
    auto rt = start({"--max-body-bytes", "1M", "--token", "s3cret"});
    int port = rt->port();
    std::string request = post_json(port, "/v1/inject", bomb, kGzip);
    // Only the head and 4 KiB of the body are sent: the answer cannot wait for the rest.
    RawSocket c(port);
    REQUIRE(c.send_all(request.substr(0, request.size() - bomb.size() + 4096)));
    auto r = c.read_response(2000);
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(c.wait_closed(2000));
  }
  SECTION("--token: 16 whole bombs refused (401) cost the runtime little CPU") {
    auto rt = start({"--max-body-bytes", "1M", "--token", "s3cret"});
    int port = rt->port();
    double cpu0 = runtime_test::cpu_seconds(rt->pid());
    REQUIRE(cpu0 >= 0);
    std::string request = post_json(port, "/v1/inject", bomb, kGzip);
    // Sent while reading: 16 x 128 MiB that must not be inflated.
    int refused = 0;
    for (int i = 0; i < 16; ++i) {
      RawSocket b(port);
      auto answer = b.send_reading(request, 3000);
      refused += answer && answer->status == 401;
    }
    CHECK(refused == 16);
    double cpu = runtime_test::cpu_seconds(rt->pid()) - cpu0;
    INFO("runtime CPU " << cpu << " s");
    CHECK(cpu < 1.0);
  }
}

TEST_CASE("front end: 1000 simultaneous connects are all answered within 5 s", "[front-end]") {
  REQUIRE(runtime_test::raise_open_file_limit(4096) >= 2100);  // before the start: the runtime inherits it
  auto rt = start({});
  int port = rt->port();
  constexpr int kClients = 1000;
  struct Client {
    int fd = -1;
    bool sent = false;
  };
  std::vector<Client> clients(kClients);
  std::vector<Pending> pending;
  pending.reserve(kClients);
  std::string request = get(port, "/health", "Connection: close");
  auto t0 = Clock::now();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(std::uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int connect_errors = 0;
  for (auto& cl : clients) {
    cl.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(cl.fd >= 0);
    if (::connect(cl.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) ++connect_errors;
  }
  CHECK(connect_errors == 0);
  // Each sends its request once connected; then every answer is collected.
  auto deadline = t0 + std::chrono::seconds(5);
  std::size_t waiting = kClients;
  while (waiting && Clock::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < clients.size(); ++i)
      if (!clients[i].sent && clients[i].fd >= 0) {
        fds.push_back({clients[i].fd, POLLOUT, 0});
        index.push_back(i);
      }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || ::poll(fds.data(), nfds_t(fds.size()), int(left)) <= 0) break;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      Client& cl = clients[index[k]];
      cl.sent = true;
      --waiting;
      int err = 0;
      socklen_t len = sizeof err;
      RawSocket s = RawSocket::adopt(std::exchange(cl.fd, -1));
      if (::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) continue;  // counted as unanswered
      if (s.send_all(request, 1000)) pending.push_back({std::move(s), Clock::now(), std::nullopt, -1});
    }
  }
  for (auto& cl : clients)
    if (cl.fd >= 0) ::close(cl.fd);  // never connected within the deadline
  collect(pending, deadline);
  int ok = 0;
  long long slowest = 0;
  for (const auto& p : pending) {
    ok += p.response && p.response->status == 200;
    slowest = std::max(slowest, p.elapsed_ms);
  }
  INFO("answered 200: " << ok << " of " << kClients << " in " << ms_since(t0) << " ms; slowest after sending "
                        << slowest << " ms");
  CHECK(ok == kClients);
}

TEST_CASE("front end: refusals of a request with a body answer from the head and close", "[front-end]") {
  auto rt = start({"--token", "s3cret", "--max-body-bytes", "1M"});
  int port = rt->port();
  const std::string auth = "Authorization: Bearer s3cret\n";  // header lines for http_request, '\n'-separated
  struct Case {
    const char* what;
    std::string method, target, extra;
    int status;
  };
  const std::vector<Case> cases = {
      {"no token", "POST", "/v1/sessions", "", 401},
      {"a wrong token", "POST", "/v1/sessions", "Authorization: Bearer guess\n", 403},
      {"an unknown route", "POST", "/v1/nothing-here", auth, 404},
      {"a wrong method", "PUT", "/v1/sessions", auth, 405},
      {"a declared length over --max-body-bytes", "POST", "/v1/sessions", auth, 413},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    // The head declares 512 KiB (2 MiB for the 413), and only 1 KiB of it is sent.
    std::size_t declared = c.status == 413 ? std::size_t(2) << 20 : std::size_t(512) << 10;
    std::string request = runtime_test::http_request(
        port, c.method, c.target, "",
        "Content-Type: application/json\n" + c.extra + "Content-Length: " + std::to_string(declared));
    request += std::string(1024, ' ');
    RawSocket s(port);
    auto t0 = Clock::now();
    REQUIRE(s.send_all(request));
    auto r = s.read_response(2000);
    INFO("after " << ms_since(t0) << " ms");
    REQUIRE(r);
    CHECK(r->status == c.status);
    CHECK(s.wait_closed(2000));
  }
}

TEST_CASE("front end: 10 pipelined requests get 10 answers in order on one connection", "[front-end]") {
  auto rt = start({});
  int port = rt->port();
  std::string id = create_session(port);
  std::string burst;
  for (int i = 0; i < 10; ++i) burst += get(port, i % 2 ? "/v1/sessions" : "/health");
  RawSocket c(port);
  REQUIRE(c.send_all(burst));  // one write
  for (int i = 0; i < 10; ++i) {
    INFO("answer " << i);
    auto r = c.read_response(3000);
    REQUIRE(r);
    CHECK(r->status == 200);
    json body = json::parse(r->body);
    if (i % 2) {
      REQUIRE(body["sessions"].size() == 1);
      CHECK(body["sessions"][0]["sessionId"] == id);
    } else {
      CHECK(body["status"] == "ok");
    }
  }
  // Still in step afterwards.
  REQUIRE(c.send_all(get(port, "/health")));
  auto r = c.read_response(2000);
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("front end: conflicting Content-Length values are a 400 and create nothing", "[front-end]") {
  auto rt = start({});
  int port = rt->port();
  std::string request = "POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}   ";
  RawSocket c(port);
  REQUIRE(c.send_all(request));
  auto r = c.read_response(3000);
  REQUIRE(r);
  INFO(r->head << "\n\n" << r->body);
  CHECK(r->status == 400);
  CHECK(c.wait_closed(2000));  // the framing is lost: the connection cannot go on (RFC 9112, 6.3)
  json list = control(port, get(port, "/v1/sessions"));
  CHECK(list["sessions"].empty());
}

TEST_CASE("front end: 64 delayed mocks on 2 threads are answered together, in their latency", "[front-end]") {
  SECTION("64 concurrent injects of a 1000 ms rule") {
    auto rt = start({"--threads", "2"});
    int port = rt->port();
    std::string request = inject_slow(port, delayed_session(port, 1000));
    std::vector<Pending> pending;
    for (int i = 0; i < 64; ++i) pending.push_back({RawSocket(port), {}, std::nullopt, -1});
    for (auto& p : pending) {
      p.sent_at = Clock::now();
      REQUIRE(p.socket.send_all(request));
    }
    collect(pending, Clock::now() + std::chrono::milliseconds(3000));
    int in_time = 0, answered = 0;
    long long fastest = -1, slowest = -1;
    for (const auto& p : pending) {
      if (!p.response) continue;
      ++answered;
      CHECK(is_late_answer(*p.response));
      in_time += p.elapsed_ms >= 1000 && p.elapsed_ms <= 1800;
      fastest = fastest < 0 ? p.elapsed_ms : std::min(fastest, p.elapsed_ms);
      slowest = std::max(slowest, p.elapsed_ms);
    }
    INFO("answered " << answered << " of 64 within 3 s; after " << fastest << " to " << slowest << " ms");
    CHECK(answered == 64);
    CHECK(in_time == 64);
  }
  SECTION("--max-latency-ms 200 caps a 5000 ms rule") {
    auto rt = start({}, {{"--max-latency-ms", "200"}});
    int port = rt->port();
    std::string request = inject_slow(port, delayed_session(port, 5000));
    RawSocket c(port);
    auto t0 = Clock::now();
    REQUIRE(c.send_all(request));
    auto r = c.read_response(2000);
    long long ms = ms_since(t0);
    INFO("answered after " << ms << " ms");
    REQUIRE(r);
    CHECK(is_late_answer(*r));
    CHECK(ms >= 200);
    CHECK(ms < 1000);
  }
}

TEST_CASE("front end: past --max-connections 8 a connection gets 503 and is closed; freed slots serve again",
          "[front-end]") {
  auto rt = start({"--keep-alive-timeout", "30s"}, {{"--max-connections", "8"}});
  int port = rt->port();
  std::vector<RawSocket> held;
  for (int i = 0; i < 8; ++i) {
    held.emplace_back(port);
    REQUIRE(held.back().send_all(get(port, "/health")));
    auto r = held.back().read_response(2000);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  RawSocket ninth(port);
  ninth.send_all(get(port, "/health"), 1000);  // may fail: the answer can come first
  auto r = ninth.read_response(2000);
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(ninth.wait_closed(2000));

  held.erase(held.begin() + 5, held.end());  // three closed
  int status = 0;
  for (auto t0 = Clock::now(); status != 200 && ms_since(t0) < 2000;) {  // the runtime notices the closes soon after
    auto again = runtime_test::exchange(port, get(port, "/health"), 1000);
    status = again ? again->status : 0;
  }
  CHECK(status == 200);
  for (auto& h : held) {  // the held ones were never disturbed
    REQUIRE(h.send_all(get(port, "/health")));
    auto answer = h.read_response(2000);
    REQUIRE(answer);
    CHECK(answer->status == 200);
  }
}

TEST_CASE("front end: SIGTERM delivers a delayed mock in flight and flushes a capture session", "[front-end]") {
  TempDir dir;
  auto rt = start({}, {}, {{"SOFTPROBE_CAPTURE_CASE_PATH", dir.file("shutdown.case.json")}});
  int port = rt->port();
  std::string capture = create_session(port, R"({"mode":"capture"})");
  for (const char* path : {"/a", "/b"})
    control(port, post_json(port, "/v1/traces",
                            otlp_test::to_json({otlp_test::extract_span(capture, "api.example.com", path, 200, "x")})));
  std::string replay = delayed_session(port, 1000);

  RawSocket c(port);
  auto t0 = Clock::now();
  REQUIRE(c.send_all(inject_slow(port, replay)));
  // In flight once decided (the decision is counted before the delay).
  bool decided = false;
  while (!decided && ms_since(t0) < 900)
    decided = control(port, get(port, "/v1/sessions/" + replay + "/stats"))["stats"]["injectedSpans"] == 1;
  REQUIRE(decided);
  REQUIRE(::kill(rt->pid(), SIGTERM) == 0);

  auto r = c.read_response(3000);
  long long ms = ms_since(t0);
  INFO("answered after " << ms << " ms");
  REQUIRE(r);
  CHECK(is_late_answer(*r));
  CHECK(ms >= 1000);
  CHECK(rt->stop(0, std::chrono::seconds(5)) == 0);  // signal 0: only wait for the exit already under way

  std::vector<std::string> cases;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().string().ends_with(".case.json")) cases.push_back(e.path().string());
  REQUIRE(cases.size() == 1);
  std::ifstream in(cases.front());
  json doc = json::parse(in);
  std::size_t spans = 0;
  for (const auto& t : doc["traces"])
    for (const auto& rs : t["resourceSpans"])
      for (const auto& ss : rs["scopeSpans"]) spans += ss["spans"].size();
  CHECK(spans == 2);
}

TEST_CASE("front end: SIGTERM closes what is still in flight when --shutdown-grace ends, and flushes captures",
          "[front-end]") {
  TempDir dir;
  auto rt = start({}, {{"--shutdown-grace", "1s"}}, {{"SOFTPROBE_CAPTURE_CASE_PATH", dir.file("grace.case.json")}});
  int port = rt->port();
  std::string capture = create_session(port, R"({"mode":"capture"})");
  control(port,
          post_json(port, "/v1/traces",
                    otlp_test::to_json({otlp_test::extract_span(capture, "api.example.com", "/kept", 200, "x")})));
  std::string replay = delayed_session(port, 10000);  // due long after the grace period

  RawSocket c(port);
  REQUIRE(c.send_all(inject_slow(port, replay)));
  bool decided = false;
  for (auto t0 = Clock::now(); !decided && ms_since(t0) < 2000;)
    decided = control(port, get(port, "/v1/sessions/" + replay + "/stats"))["stats"]["injectedSpans"] == 1;
  REQUIRE(decided);
  auto t0 = Clock::now();
  REQUIRE(::kill(rt->pid(), SIGTERM) == 0);
  int code = rt->stop(0, std::chrono::seconds(4));  // signal 0: only wait for the exit under way
  long long ms = ms_since(t0);
  INFO("exit code " << code << " after " << ms << " ms (-1: still running after 4 s)");
  CHECK(code == 0);
  CHECK(ms >= 900);  // the grace period was given
  CHECK(ms < 3000);  // and not the mock's 10 s
  CHECK(c.wait_closed(1000));
  std::ifstream in(dir.file("grace.case.json"));
  REQUIRE(in);
  json doc = json::parse(in);
  CHECK(doc["traces"].dump().find("/kept") != std::string::npos);
}
