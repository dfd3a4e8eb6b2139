// Prometheus metrics: counters and a latency histogram updated with relaxed
// atomics on the request path, rendered as text on GET /metrics. Besides our
// own families it emits the reference runtime's (softprobe_sessions_total
// {mode}, softprobe_inject_requests_total{result}, softprobe_inject_latency_seconds,
// softprobe_extract_spans_total) so its dashboards work unchanged.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "routes.hpp"
#include "softprobe.h"

namespace softprobe::runtime {

// A Prometheus histogram with fixed buckets (seconds).
class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  void observe(std::uint64_t nanos) noexcept;
  // Appends the _bucket/_sum/_count lines with `labels` ("route=\"inject\"", or "" for none).
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};  // non-cumulative; last = +Inf
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> count_{0};
};

enum class InjectLabel : int { hit = 0, miss, strict_miss, unknown_session, invalid, count_ };
enum class CloseReason : int { api = 0, idle, shutdown, count_ };
enum class SessionModeLabel : int { capture = 0, replay, generate, count_ };
// "capture" -> capture, ...; an unknown name is counted as replay (the default mode).
SessionModeLabel session_mode_label(std::string_view mode) noexcept;

class Metrics {
 public:
  void observe_request(RouteId route, int status, std::uint64_t nanos) noexcept;
  void inject(InjectLabel outcome) noexcept;
  // `received`: the payload's extract spans (recorded, rejected, or sent to a replay session).
  void extract(std::size_t recorded, std::size_t rejected, std::size_t ignored, std::size_t received) noexcept;
  void session_created(SessionModeLabel mode) noexcept;
  void sessions_closed(CloseReason reason, std::size_t n) noexcept;

  // The Prometheus text exposition; live sessions are counted from `store`.
  std::string render(const sp_store* store) const;

 private:
  static constexpr std::array<int, 9> kCodes = {200, 400, 401, 403, 404, 405, 413, 500, 0};  // 0: any other
  static std::size_t code_index(int status) noexcept;

  static constexpr std::size_t kRoutes = std::size_t(RouteId::count_);
  std::array<Histogram, kRoutes> latency_{};
  std::array<std::array<std::atomic<std::uint64_t>, kCodes.size()>, kRoutes> responses_{};
  std::array<std::atomic<std::uint64_t>, std::size_t(InjectLabel::count_)> injects_{};
  Histogram inject_latency_;  // the reference's softprobe_inject_latency_seconds (route inject only)
  std::atomic<std::uint64_t> extracted_{0}, extract_rejected_{0}, extract_ignored_{0}, extract_received_{0};
  std::array<std::atomic<std::uint64_t>, std::size_t(SessionModeLabel::count_)> sessions_created_{};
  std::array<std::atomic<std::uint64_t>, std::size_t(CloseReason::count_)> sessions_closed_{};
};

}  // namespace softprobe::runtime
