#include "metrics.hpp"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

namespace softprobe::runtime {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

const char* inject_label(InjectLabel l) {
  switch (l) {
    case InjectLabel::hit: return "hit";
    case InjectLabel::miss: return "miss";
    case InjectLabel::strict_miss: return "strict_miss";
    case InjectLabel::unknown_session: return "unknown_session";
    case InjectLabel::invalid: return "invalid";
    case InjectLabel::count_: break;
  }
  return "?";
}

// The reference's result label of softprobe_inject_requests_total: hit,
// miss, or error (a strict miss, an unknown session, a bad payload).
const char* inject_result_label(InjectLabel l) {
  switch (l) {
    case InjectLabel::hit: return "hit";
    case InjectLabel::miss: return "miss";
    default: return "error";
  }
}

const char* mode_label(SessionModeLabel m) {
  switch (m) {
    case SessionModeLabel::capture: return "capture";
    case SessionModeLabel::replay: return "replay";
    case SessionModeLabel::generate: return "generate";
    case SessionModeLabel::count_: break;
  }
  return "?";
}

const char* close_label(CloseReason r) {
  switch (r) {
    case CloseReason::api: return "api";
    case CloseReason::idle: return "idle";
    case CloseReason::shutdown: return "shutdown";
    case CloseReason::count_: break;
  }
  return "?";
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", s);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const std::string& name, const std::string& labels, std::uint64_t value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

}  // namespace

void Histogram::observe(std::uint64_t nanos) noexcept {
  double s = double(nanos) / 1e9;
  std::size_t i = 0;
  while (i < kBounds.size() && s > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, kRelaxed);
  sum_ns_.fetch_add(nanos, kRelaxed);
  count_.fetch_add(1, kRelaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(kRelaxed);
    std::string le = i < kBounds.size() ? seconds(kBounds[i]) : "+Inf";
    sample(out, name + "_bucket", (labels.empty() ? "" : labels + ",") + "le=\"" + le + "\"", cumulative);
  }
  out += name + "_sum" + (labels.empty() ? "" : "{" + labels + "}") + " " +
         seconds(double(sum_ns_.load(kRelaxed)) / 1e9) + "\n";
  sample(out, name + "_count", labels, count_.load(kRelaxed));
}

SessionModeLabel session_mode_label(std::string_view mode) noexcept {
  if (mode == "capture") return SessionModeLabel::capture;
  if (mode == "generate") return SessionModeLabel::generate;
  return SessionModeLabel::replay;
}

std::size_t Metrics::code_index(int status) noexcept {
  for (std::size_t i = 0; i + 1 < kCodes.size(); ++i)
    if (kCodes[i] == status) return i;
  return kCodes.size() - 1;
}

void Metrics::observe_request(RouteId route, int status, std::uint64_t nanos) noexcept {
  auto r = std::size_t(route);
  if (r >= kRoutes) r = std::size_t(RouteId::unmatched);
  latency_[r].observe(nanos);
  if (route == RouteId::inject) inject_latency_.observe(nanos);
  responses_[r][code_index(status)].fetch_add(1, kRelaxed);
}

void Metrics::inject(InjectLabel outcome) noexcept { injects_[std::size_t(outcome)].fetch_add(1, kRelaxed); }

void Metrics::extract(std::size_t recorded, std::size_t rejected, std::size_t ignored, std::size_t received) noexcept {
  extract_received_.fetch_add(received, kRelaxed);
  extracted_.fetch_add(recorded, kRelaxed);
  extract_rejected_.fetch_add(rejected, kRelaxed);
  extract_ignored_.fetch_add(ignored, kRelaxed);
}

void Metrics::session_created(SessionModeLabel mode) noexcept {
  sessions_created_[std::size_t(mode)].fetch_add(1, kRelaxed);
}

void Metrics::sessions_closed(CloseReason reason, std::size_t n) noexcept {
  sessions_closed_[std::size_t(reason)].fetch_add(n, kRelaxed);
}

std::string Metrics::render(const sp_store* store) const {
  std::string out;
  out.reserve(16 * 1024);

  std::map<std::string, std::uint64_t> by_mode = {{"capture", 0}, {"replay", 0}, {"generate", 0}};
  char* list = nullptr;
  if (sp_store_list_sessions(&list, store) == SP_OK) {
    auto doc = nlohmann::json::parse(list, nullptr, false);
    sp_string_free(list);
    if (doc.is_object() && doc["sessions"].is_array())
      for (const auto& s : doc["sessions"])
        if (s.contains("mode") && s["mode"].is_string()) ++by_mode[s["mode"].get<std::string>()];
  }
  header(out, "softprobe_sessions", "gauge", "Open sessions by mode.");
  for (const auto& [mode, n] : by_mode) sample(out, "softprobe_sessions", "mode=\"" + mode + "\"", n);

  std::uint64_t created = 0;
  for (const auto& n : sessions_created_) created += n.load(kRelaxed);
  header(out, "softprobe_sessions_created_total", "counter", "Sessions created.");
  sample(out, "softprobe_sessions_created_total", "", created);
  header(out, "softprobe_sessions_total", "counter", "Sessions created, by mode (the reference runtime's name).");
  for (std::size_t i = 0; i < sessions_created_.size(); ++i)
    sample(out, "softprobe_sessions_total", std::string("mode=\"") + mode_label(SessionModeLabel(i)) + "\"",
           sessions_created_[i].load(kRelaxed));
  header(out, "softprobe_sessions_closed_total", "counter", "Sessions closed, by reason (api, idle TTL, shutdown).");
  for (std::size_t i = 0; i < sessions_closed_.size(); ++i)
    sample(out, "softprobe_sessions_closed_total", std::string("reason=\"") + close_label(CloseReason(i)) + "\"",
           sessions_closed_[i].load(kRelaxed));

  header(out, "softprobe_inject_requests_total", "counter",
         "POST /v1/inject by outcome: hit (mocked), miss (forward), strict_miss (blocked by strict policy), "
         "unknown_session, invalid (bad payload); result is the reference runtime's label (hit, miss, error).");
  for (std::size_t i = 0; i < injects_.size(); ++i)
    sample(out, "softprobe_inject_requests_total",
           std::string("outcome=\"") + inject_label(InjectLabel(i)) + "\",result=\"" +
               inject_result_label(InjectLabel(i)) + "\"",
           injects_[i].load(kRelaxed));
  header(out, "softprobe_inject_latency_seconds", "histogram",
         "POST /v1/inject latency, headers read to response written (the reference runtime's name).");
  inject_latency_.render(out, "softprobe_inject_latency_seconds", "");
  header(out, "softprobe_strict_misses_total", "counter", "Inject requests blocked by a strict policy (status 599).");
  sample(out, "softprobe_strict_misses_total", "", injects_[std::size_t(InjectLabel::strict_miss)].load(kRelaxed));

  header(out, "softprobe_extracted_spans_total", "counter", "Extract spans recorded into sessions (POST /v1/traces).");
  sample(out, "softprobe_extracted_spans_total", "", extracted_.load(kRelaxed));
  header(out, "softprobe_extract_spans_total", "counter",
         "Extract spans received on POST /v1/traces: recorded, rejected or sent to a replay session (the reference "
         "runtime's name).");
  sample(out, "softprobe_extract_spans_total", "", extract_received_.load(kRelaxed));
  header(out, "softprobe_extract_rejected_spans_total", "counter", "Extract spans for unknown or closed sessions.");
  sample(out, "softprobe_extract_rejected_spans_total", "", extract_rejected_.load(kRelaxed));
  header(out, "softprobe_extract_ignored_spans_total", "counter", "Spans in /v1/traces that are not extract spans.");
  sample(out, "softprobe_extract_ignored_spans_total", "", extract_ignored_.load(kRelaxed));

  header(out, "softprobe_http_responses_total", "counter", "HTTP responses by route and status code.");
  for (std::size_t r = 0; r < kRoutes; ++r)
    for (std::size_t c = 0; c < kCodes.size(); ++c) {
      std::uint64_t n = responses_[r][c].load(kRelaxed);
      if (!n) continue;
      std::string code = kCodes[c] ? std::to_string(kCodes[c]) : "other";
      sample(out, "softprobe_http_responses_total",
             std::string("route=\"") + route_label(RouteId(r)) + "\",code=\"" + code + "\"", n);
    }

  header(out, "softprobe_http_request_duration_seconds", "histogram",
         "Time from the start of routing (headers read) to the response written, by route.");
  for (std::size_t r = 0; r < kRoutes; ++r)
    latency_[r].render(out, "softprobe_http_request_duration_seconds",
                       std::string("route=\"") + route_label(RouteId(r)) + "\"");

  header(out, "softprobe_build_info", "gauge", "Version of the runtime and of the core it embeds.");
  sample(out, "softprobe_build_info",
         std::string("version=\"") + sp_version_string() + "\",spec=\"" SOFTPROBE_SPEC_VERSION "\"", 1);
  return out;
}

}  // namespace softprobe::runtime
