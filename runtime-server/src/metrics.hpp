// Prometheus metrics: counters and a latency histogram updated with relaxed
// atomics on the request path, rendered as text on GET /metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "routes.hpp"
#include "softprobe.h"

namespace softprobe::runtime {

// A Prometheus histogram with fixed buckets (seconds).
class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
  void observe(std::uint64_t nanos) noexcept;
  // Appends the _bucket/_sum/_count lines with `labels` ("route=\"inject\"").
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};  // non-cumulative; last = +Inf
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> count_{0};
};

enum class InjectLabel : int { hit = 0, miss, strict_miss, unknown_session, invalid, count_ };
enum class CloseReason : int { api = 0, idle, shutdown, count_ };

class Metrics {
 public:
  void observe_request(RouteId route, int status, std::uint64_t nanos) noexcept;
  void inject(InjectLabel outcome) noexcept;
  void extract(std::size_t recorded, std::size_t rejected, std::size_t ignored) noexcept;
  void session_created() noexcept;
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
  std::atomic<std::uint64_t> extracted_{0}, extract_rejected_{0}, extract_ignored_{0};
  std::atomic<std::uint64_t> sessions_created_{0};
  std::array<std::atomic<std::uint64_t>, std::size_t(CloseReason::count_)> sessions_closed_{};
};

}  // namespace softprobe::runtime
