// Decodes a request body as it arrives (Content-Encoding identity, gzip,
// deflate or br) into a string, never producing more than its limit: a gzip bomb
// costs at most `limit` bytes of output and the CPU to inflate them.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "softprobe/net/server.hpp"

namespace softprobe::net::detail {

enum class Coding { identity, gzip, deflate, br };

// The coding named by a Content-Encoding header value ("gzip", "x-gzip",
// "deflate", "br", "identity", any case, surrounding spaces ignored); nullopt for
// anything else, including lists of codings.
std::optional<Coding> coding_of(std::string_view content_encoding) noexcept;

class BodyDecoder {
 public:
  // Appends decoded bytes to `out`, at most `limit` of them in total (also
  // when the caller empties `out` between feeds, as a streamed body does).
  BodyDecoder(Coding coding, std::size_t limit, std::string& out);
  ~BodyDecoder();
  BodyDecoder(const BodyDecoder&) = delete;
  BodyDecoder& operator=(const BodyDecoder&) = delete;

  // Decodes `n` more raw bytes. ok, too_large (output would pass the limit)
  // or bad_encoding; after anything but ok, feed no more.
  BodyStatus feed(const char* data, std::size_t n);
  // The raw body ended: ok only if a compressed stream was complete.
  BodyStatus finish();

 private:
  struct Zlib;
  struct Brotli;
  BodyStatus feed_brotli(const char* data, std::size_t n, bool finish);
  Coding coding_;
  std::size_t limit_;
  std::string& out_;
  std::unique_ptr<Zlib> z_;
  std::unique_ptr<Brotli> b_;
  std::size_t total_ = 0;  // decoded bytes so far
  bool ended_ = false;     // the compressed stream's end was seen
  bool started_ = false;
};

}  // namespace softprobe::net::detail
