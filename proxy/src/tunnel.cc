#include "tunnel.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <vector>

#include "support/log.hpp"

namespace softprobe::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using core::log;
using core::LogLevel;

class Tunnel : public std::enable_shared_from_this<Tunnel> {
 public:
  Tunnel(net::HandOff h, TunnelPlan plan, std::shared_ptr<Tunnels> tunnels)
      : client_(std::move(h.socket)),
        upstream_(client_.get_executor()),
        resolver_(client_.get_executor()),
        timer_(client_.get_executor()),
        slot_(std::move(h.slot)),
        plan_(std::move(plan)),
        tunnels_(std::move(tunnels)) {
    plan_.to_upstream_first += h.buffered;
  }

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(plan_.connect_timeout);
    timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec && !self->connected_) {
        self->timed_out_ = true;
        self->resolver_.cancel();
        boost::system::error_code ignored;
        self->upstream_.close(ignored);
      }
    });
    resolver_.async_resolve(plan_.host, std::to_string(plan_.port),
                            [self](boost::system::error_code ec, tcp::resolver::results_type results) {
                              if (ec) {
                                self->fail(!self->timed_out_,
                                           self->timed_out_
                                               ? "connect to " + self->where() + " timed out"
                                               : "DNS resolution failed for " + self->plan_.host + ": " + ec.message());
                                return;
                              }
                              self->connect(std::move(results));
                            });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    report(0);
    boost::system::error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    client_.close(ignored);
    upstream_.close(ignored);
    slot_.reset();
    tunnels_->remove(this);
  }

  asio::any_io_executor executor() { return client_.get_executor(); }

 private:
  void report(int status) {
    if (!plan_.on_status) return;
    auto f = std::move(plan_.on_status);
    plan_.on_status = nullptr;
    f(status);
  }

  // "HTTP/1.1 101 ..." -> 101; 0 when the bytes are not a status line.
  static int status_of(const char* data, std::size_t n) {
    std::string_view line(data, n);
    if (line.size() < 12 || line.substr(0, 5) != "HTTP/") return 0;
    auto sp = line.find(' ');
    if (sp == std::string_view::npos || sp + 4 > line.size()) return 0;
    int status = 0;
    for (std::size_t i = sp + 1; i < sp + 4; ++i) {
      if (line[i] < '0' || line[i] > '9') return 0;
      status = status * 10 + (line[i] - '0');
    }
    return status;
  }

  std::string where() const { return plan_.host + ":" + std::to_string(plan_.port); }

  void connect(tcp::resolver::results_type results) {
    auto self = shared_from_this();
    asio::async_connect(upstream_, results, [self](boost::system::error_code ec, const tcp::endpoint&) {
      if (ec) {
        self->fail(false, self->timed_out_ ? "connect to " + self->where() + " timed out"
                          : ec == asio::error::connection_refused
                              ? "connection to " + self->where() + " refused"
                              : "connect to " + self->where() + ": " + ec.message());
        return;
      }
      self->connected_ = true;
      self->timer_.cancel();
      boost::system::error_code ignored;
      self->upstream_.set_option(tcp::no_delay(true), ignored);
      self->up_ = std::make_unique<std::array<char, kBuffer>>();
      self->down_ = std::make_unique<std::array<char, kBuffer>>();
      if (!self->plan_.to_client_first.empty()) self->report(200);  // CONNECT: established
      self->greet();
    });
  }

  // The first bytes each way, then the splice.
  void greet() {
    auto self = shared_from_this();
    auto start_down = [self] {
      if (self->plan_.to_client_first.empty()) return self->pump(self->upstream_, self->client_, *self->down_);
      asio::async_write(self->client_, asio::buffer(self->plan_.to_client_first),
                        [self](boost::system::error_code ec, std::size_t) {
                          if (ec) return self->close();
                          self->pump(self->upstream_, self->client_, *self->down_);
                        });
    };
    if (plan_.to_upstream_first.empty()) {
      pump(client_, upstream_, *up_);
      start_down();
      return;
    }
    asio::async_write(upstream_, asio::buffer(plan_.to_upstream_first),
                      [self, start_down](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->plan_.to_upstream_first.clear();
                        self->pump(self->client_, self->upstream_, *self->up_);
                        start_down();
                      });
  }

  static constexpr std::size_t kBuffer = 16 * 1024;

  // from -> to, one buffer at a time, until either side ends; then both close.
  void pump(tcp::socket& from, tcp::socket& to, std::array<char, kBuffer>& buf) {
    auto self = shared_from_this();
    from.async_read_some(asio::buffer(buf), [self, &from, &to, &buf](boost::system::error_code ec, std::size_t n) {
      if (ec) return self->close();  // EOF or error on one side ends the tunnel (EC-004, EC-005)
      if (&from == &self->upstream_) self->report(status_of(buf.data(), n));  // an upgrade's answer
      asio::async_write(to, asio::buffer(buf.data(), n),
                        [self, &from, &to, &buf](boost::system::error_code ec2, std::size_t) {
                          if (ec2) return self->close();
                          self->pump(from, to, buf);
                        });
    });
  }

  void fail(bool dns, const std::string& why) {
    if (closed_) return;
    log(LogLevel::warn, "upstream unreachable", {{"upstream", where()}, {"error", why}});
    report(timed_out_ ? 504 : 502);
    auto self = shared_from_this();
    failure_ = plan_.failure_response ? plan_.failure_response(dns, why) : std::string();
    if (failure_.empty()) return close();
    asio::async_write(client_, asio::buffer(failure_), [self](boost::system::error_code, std::size_t) {
      boost::system::error_code ignored;
      self->client_.shutdown(tcp::socket::shutdown_send, ignored);
      self->close();
    });
  }

  tcp::socket client_;
  tcp::socket upstream_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::shared_ptr<void> slot_;
  TunnelPlan plan_;
  std::shared_ptr<Tunnels> tunnels_;
  std::unique_ptr<std::array<char, kBuffer>> up_, down_;
  std::string failure_;
  bool connected_ = false, timed_out_ = false, closed_ = false;
};

std::size_t Tunnels::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_.size();
}

void Tunnels::add(const std::shared_ptr<Tunnel>& t) {
  std::lock_guard<std::mutex> lock(mu_);
  open_[t.get()] = t;
}

void Tunnels::remove(const Tunnel* t) {
  std::lock_guard<std::mutex> lock(mu_);
  open_.erase(t);
}

std::size_t Tunnels::close_all() {
  std::vector<std::shared_ptr<Tunnel>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, weak] : open_)
      if (auto t = weak.lock()) all.push_back(std::move(t));
  }
  for (auto& t : all) asio::post(t->executor(), [t] { t->close(); });
  return all.size();
}

void open_tunnel(net::HandOff handoff, TunnelPlan plan, std::shared_ptr<Tunnels> tunnels) {
  auto t = std::make_shared<Tunnel>(std::move(handoff), std::move(plan), tunnels);
  tunnels->add(t);
  t->start();
}

}  // namespace softprobe::proxy
