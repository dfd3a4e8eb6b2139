// Turning an observed request/response pair into an HttpExchange for a
// capture session: url.host form, trace context from `traceparent`, fresh
// span ids, timings.
#pragma once

#include <cstdint>
#include <string_view>

#include "request/http_exchange.hpp"
#include "request/request.hpp"

namespace softprobe::core {

struct ResponseView {
  int status = 0;
  const HeaderView* headers = nullptr;
  std::size_t header_count = 0;
  std::string_view body;
};

struct ExchangeTiming {
  std::uint64_t start_unix_nano = 0;  // 0: unknown
  std::uint64_t end_unix_nano = 0;
};

// Builds the exchange. When the request carries a W3C `traceparent`, the
// span joins that trace as its child; otherwise it starts a new trace.
HttpExchange exchange_from_views(const RequestView& request, const ResponseView* response, const ExchangeTiming& timing,
                                 std::string_view session_id);

std::uint64_t now_unix_nano() noexcept;

}  // namespace softprobe::core
