// The request and response structs of the C ABI read into the core's views:
// the one adapter every per-request entry point uses (decide, record, the
// OTLP client encoders, sp_canonical_request), so all see the same canonical
// form. Neither may be copied: the views point into the adapter itself.
#pragma once

#include <vector>

#include "capture/capture.hpp"
#include "request/canonical_request.hpp"
#include "request/request.hpp"
#include "softprobe.h"

namespace softprobe::core::capi {

// The request as the caller sent it, made canonical once (canonical_request.hpp).
// Throws Error(invalid_argument) naming the field for a malformed struct,
// and what canonical_request throws for a malformed URL or header.
struct RequestAdapter {
  RequestView v;
  CanonicalRequest canonical;
  HeaderView header_buf[32];
  std::vector<HeaderView> header_heap;
  TagView tag_buf[16];
  std::vector<TagView> tag_heap;

  explicit RequestAdapter(const sp_request* r);
  RequestAdapter(const RequestAdapter&) = delete;
  RequestAdapter& operator=(const RequestAdapter&) = delete;
};

// An sp_response (may be NULL: no response) as a ResponseView. Throws
// Error(invalid_argument) naming the field for a malformed struct.
class ResponseAdapter {
 public:
  explicit ResponseAdapter(const sp_response* r);
  ResponseAdapter(const ResponseAdapter&) = delete;
  ResponseAdapter& operator=(const ResponseAdapter&) = delete;
  // nullptr when no response was given.
  const ResponseView* get() const noexcept { return given_ ? &view_ : nullptr; }

 private:
  bool given_ = false;
  std::vector<HeaderView> headers_;
  ResponseView view_;
};

}  // namespace softprobe::core::capi
