#include "body_decoder.hpp"

#include <brotli/decode.h>
#include <zlib.h>

#include <algorithm>

namespace softprobe::net::detail {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr std::size_t kChunk = 16 * 1024;

}  // namespace

std::optional<Coding> coding_of(std::string_view v) noexcept {
  v = trim(v);
  if (v.empty() || iequals(v, "identity")) return Coding::identity;
  if (iequals(v, "gzip") || iequals(v, "x-gzip")) return Coding::gzip;
  if (iequals(v, "deflate")) return Coding::deflate;
  if (iequals(v, "br")) return Coding::br;
  return std::nullopt;
}

struct BodyDecoder::Zlib {
  z_stream s{};
  bool init = false;
  ~Zlib() {
    if (init) inflateEnd(&s);
  }
};

struct BodyDecoder::Brotli {
  BrotliDecoderState* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  ~Brotli() {
    if (s) BrotliDecoderDestroyInstance(s);
  }
};

BodyStatus BodyDecoder::feed_brotli(const char* data, std::size_t n, bool finish) {
  if (!b_) b_ = std::make_unique<Brotli>();
  if (!b_->s) return BodyStatus::bad_encoding;
  const auto* in = reinterpret_cast<const std::uint8_t*>(data);
  std::size_t avail_in = n;
  char buf[kChunk];
  for (;;) {
    std::size_t room = limit_ - std::min(limit_, total_);
    std::size_t want = std::min(kChunk, room + 1);
    auto* out = reinterpret_cast<std::uint8_t*>(buf);
    std::size_t avail_out = want;
    auto rc = BrotliDecoderDecompressStream(b_->s, &avail_in, &in, &avail_out, &out, nullptr);
    std::size_t produced = want - avail_out;
    if (produced > room) return BodyStatus::too_large;
    out_.append(buf, produced);
    total_ += produced;
    switch (rc) {
      case BROTLI_DECODER_RESULT_SUCCESS:
        ended_ = true;
        return avail_in == 0 ? BodyStatus::ok : BodyStatus::bad_encoding;
      case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
        return finish ? BodyStatus::bad_encoding : BodyStatus::ok;  // truncated at the end
      case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: continue;
      case BROTLI_DECODER_RESULT_ERROR: return BodyStatus::bad_encoding;
    }
    return BodyStatus::bad_encoding;
  }
}

BodyDecoder::BodyDecoder(Coding coding, std::size_t limit, std::string& out)
    : coding_(coding), limit_(limit), out_(out) {}

BodyDecoder::~BodyDecoder() = default;

BodyStatus BodyDecoder::feed(const char* data, std::size_t n) {
  if (n == 0) return BodyStatus::ok;
  if (coding_ == Coding::identity) {
    if (n > limit_ - std::min(limit_, total_)) return BodyStatus::too_large;
    out_.append(data, n);
    total_ += n;
    return BodyStatus::ok;
  }
  if (ended_) return BodyStatus::bad_encoding;  // bytes after the end of the stream
  if (coding_ == Coding::br) {
    started_ = true;
    return feed_brotli(data, n, false);
  }
  if (!started_) {
    started_ = true;
    z_ = std::make_unique<Zlib>();
    int window = 15 + 16;  // gzip
    if (coding_ == Coding::deflate) {
      // "deflate" is the zlib format (RFC 9110 8.4.1.2), but some senders use
      // raw deflate: a zlib stream starts with a CMF/FLG pair divisible by 31.
      auto b0 = static_cast<unsigned char>(data[0]);
      bool zlib_header = (b0 & 0x0f) == 8 && (n < 2 || ((b0 << 8) | static_cast<unsigned char>(data[1])) % 31 == 0);
      window = zlib_header ? 15 : -15;
    }
    if (inflateInit2(&z_->s, window) != Z_OK) return BodyStatus::bad_encoding;
    z_->init = true;
  }
  z_stream& s = z_->s;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  s.avail_in = static_cast<uInt>(n);
  char buf[kChunk];
  while (s.avail_in > 0) {
    // Ask for at most one byte past the limit: enough to know it is passed.
    std::size_t room = limit_ - std::min(limit_, total_);
    std::size_t want = std::min(kChunk, room + 1);
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = static_cast<uInt>(want);
    int rc = inflate(&s, Z_NO_FLUSH);
    std::size_t produced = want - s.avail_out;
    if (produced > room) return BodyStatus::too_large;
    out_.append(buf, produced);
    total_ += produced;
    if (rc == Z_STREAM_END) {
      ended_ = true;
      return s.avail_in == 0 ? BodyStatus::ok : BodyStatus::bad_encoding;
    }
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && produced == 0 && s.avail_in == 0)) return BodyStatus::bad_encoding;
    if (rc == Z_BUF_ERROR) break;
  }
  return BodyStatus::ok;
}

BodyStatus BodyDecoder::finish() {
  if (coding_ == Coding::identity) return BodyStatus::ok;
  if (!started_) return BodyStatus::ok;  // an empty body is an empty body
  if (ended_) return BodyStatus::ok;
  if (coding_ == Coding::br) return feed_brotli(nullptr, 0, true);
  // Output may still be pending for input already consumed.
  z_stream& s = z_->s;
  char buf[kChunk];
  for (;;) {
    std::size_t room = limit_ - std::min(limit_, total_);
    std::size_t want = std::min(kChunk, room + 1);
    s.next_in = nullptr;
    s.avail_in = 0;
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = static_cast<uInt>(want);
    int rc = inflate(&s, Z_FINISH);
    std::size_t produced = want - s.avail_out;
    if (produced > room) return BodyStatus::too_large;
    out_.append(buf, produced);
    total_ += produced;
    if (rc == Z_STREAM_END) return BodyStatus::ok;
    if (produced == 0) return BodyStatus::bad_encoding;  // truncated stream
  }
}

}  // namespace softprobe::net::detail
