#include "softprobe/net/io_threads.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <mutex>
#include <thread>
#include <vector>

namespace softprobe::net {

struct IoThreads::Impl {
  // The concurrency hint tells Asio that several threads run the context.
  explicit Impl(unsigned n) : io(int(n)), guard(boost::asio::make_work_guard(io)) {}
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::vector<std::thread> threads;
  std::mutex stop_mu;
};

IoThreads::IoThreads(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  impl_ = std::make_unique<Impl>(threads);
  impl_->threads.reserve(threads);
  for (unsigned i = 0; i < threads; ++i)
    impl_->threads.emplace_back([io = &impl_->io] {
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

unsigned IoThreads::size() const noexcept { return unsigned(impl_->threads.size()); }

boost::asio::io_context& IoThreads::context() noexcept { return impl_->io; }

void IoThreads::stop() {
  std::lock_guard lock(impl_->stop_mu);
  impl_->guard.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

}  // namespace softprobe::net
