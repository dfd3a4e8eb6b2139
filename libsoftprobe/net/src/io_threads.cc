#include "softprobe/net/io_threads.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <mutex>
#include <thread>
#include <vector>

namespace softprobe::net {

namespace {

using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

// The loop the calling thread runs (set once by each loop's thread).
thread_local boost::asio::io_context* tls_loop = nullptr;

// An io_context whose services can be shut down before any context is
// destroyed (execution_context::shutdown is protected).
struct Context : boost::asio::io_context {
  // Concurrency hint 1: one thread runs this context (other threads may still post to it).
  Context() : boost::asio::io_context(1) {}
  void shut_down() { shutdown(); }
};

// One io_context and the one thread that runs it.
struct Loop {
  Loop() : guard(boost::asio::make_work_guard(io)) {}
  Context io;
  Guard guard;
  std::thread thread;
};

}  // namespace

struct IoThreads::Impl {
  // Handlers still queued on one loop may hold objects of another (a
  // connection on loop 2 held by a server's handler on loop 1). Shutting every
  // loop's services down first destroys those handlers while every context
  // still exists; only then are the contexts destroyed (as one io_context
  // does for its own services).
  ~Impl() {
    for (auto& loop : loops) loop->io.shut_down();
  }
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<std::size_t> next{0};
  std::mutex stop_mu;
};

IoThreads::IoThreads(unsigned threads) : impl_(std::make_unique<Impl>()) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  impl_->loops.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) impl_->loops.push_back(std::make_unique<Loop>());
  for (auto& loop : impl_->loops)
    loop->thread = std::thread([io = &loop->io] {
      tls_loop = io;
      // A handler that throws must not end the thread: run again (Asio allows it).
      for (;;) {
        try {
          io->run();
          return;
        } catch (...) {
        }
      }
    });
}

IoThreads::~IoThreads() { stop(); }

unsigned IoThreads::size() const noexcept { return unsigned(impl_->loops.size()); }

boost::asio::io_context& IoThreads::context() noexcept { return impl_->loops.front()->io; }

boost::asio::io_context& IoThreads::next_context() noexcept {
  std::size_t i = impl_->next.fetch_add(1, std::memory_order_relaxed) % impl_->loops.size();
  return impl_->loops[i]->io;
}

boost::asio::io_context* IoThreads::current_context() const noexcept {
  for (auto& loop : impl_->loops)
    if (&loop->io == tls_loop) return tls_loop;
  return nullptr;  // another thread, or a loop of another IoThreads
}

void IoThreads::stop() {
  std::lock_guard lock(impl_->stop_mu);
  for (auto& loop : impl_->loops) {
    loop->guard.reset();
    loop->io.stop();
  }
  for (auto& loop : impl_->loops)
    if (loop->thread.joinable()) loop->thread.join();
}

}  // namespace softprobe::net
