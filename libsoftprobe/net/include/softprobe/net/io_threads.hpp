// The threads that run the net layer: N threads, each running its own Asio
// io_context (an event loop). A server spreads its connections over them
// round-robin; everything one connection does then runs on one thread, in
// order, with no lock and no cross-thread wake-up. Servers and clients built
// on the same IoThreads share them. Other threads may post to any loop.
#pragma once

namespace boost::asio {
class io_context;
}

#include <memory>

namespace softprobe::net {

class IoThreads {
 public:
  // Starts `threads` threads (0: one per core, as std::thread::hardware_concurrency
  // reports, at least 1), one io_context each. They run until stop().
  explicit IoThreads(unsigned threads = 0);
  ~IoThreads();  // stop()
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  unsigned size() const noexcept;
  // The first loop's io_context (for code that uses Asio itself and needs
  // one fixed context, e.g. a server's accept loop).
  boost::asio::io_context& context() noexcept;
  // The next loop's io_context, round-robin over the threads (thread-safe):
  // where a new connection or tunnel should live.
  boost::asio::io_context& next_context() noexcept;
  // The io_context of the loop running the calling thread, or nullptr when
  // called from a thread that is not one of these loops. Lets a client keep
  // an exchange on the loop of the connection that asked for it.
  boost::asio::io_context* current_context() const noexcept;
  // Stops every io_context (pending handlers are dropped) and joins the
  // threads. Idempotent. Must not be called from one of the threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace softprobe::net
