// The threads that run the net layer: one Asio io_context shared by N
// threads. Servers and clients built on the same IoThreads share them.
#pragma once

namespace boost::asio {
class io_context;
}

#include <memory>

namespace softprobe::net {

class IoThreads {
 public:
  // Starts `threads` threads (0: one per core, as std::thread::hardware_concurrency
  // reports, at least 1) running one shared io_context. They run until stop().
  explicit IoThreads(unsigned threads = 0);
  ~IoThreads();  // stop()
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  unsigned size() const noexcept;
  // The io_context (for code that uses Asio itself, e.g. a tunnel).
  boost::asio::io_context& context() noexcept;
  // Stops the io_context (pending handlers are dropped) and joins the
  // threads. Idempotent. Must not be called from one of the threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace softprobe::net
