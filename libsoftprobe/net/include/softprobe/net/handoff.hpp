// A connection's socket, taken over from the server (Exchange::hand_off) for
// a CONNECT tunnel or a WebSocket upgrade. Includes Asio: only the code that
// tunnels needs it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

namespace softprobe::net {

struct HandOff {
  // The client's socket; its executor is a strand of the server's io_context.
  boost::asio::ip::tcp::socket socket;
  // Bytes the client sent after the request head that the server had already
  // read (e.g. the first bytes of a TLS ClientHello): forward them first.
  std::string buffered;
  // Holds the connection's place under max_connections: keep it as long as
  // the socket is open and drop it when the tunnel ends.
  std::shared_ptr<void> slot;
};

}  // namespace softprobe::net
