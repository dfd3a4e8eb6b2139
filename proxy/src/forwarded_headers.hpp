// Which header lines a forward proxy passes on (RFC 9110 7.6.1): hop-by-hop
// fields (Connection, the fields it names, Proxy-Connection, Keep-Alive, TE,
// Trailer, Transfer-Encoding, Upgrade, Proxy-Authorization,
// Proxy-Authenticate) are for one connection only and are dropped, and so is
// x-softprobe-session-id, which never reaches a real upstream.
#pragma once

#include <string_view>

#include "softprobe/net/http.hpp"

namespace softprobe::proxy {

inline constexpr std::string_view kSessionHeader = "x-softprobe-session-id";

// `headers` without the hop-by-hop lines and the session header. With
// `keep_upgrade`, Connection: upgrade and Upgrade stay (a WebSocket handshake
// forwarded as it is, contract EC-014).
net::Headers forwarded_headers(const net::Headers& headers, bool keep_upgrade = false);

// Also drops Content-Length and Content-Encoding: for a request whose body
// was read decoded (the net layer inflates gzip/deflate/br) and is sent again
// with a length of its own.
net::Headers forwarded_request_headers(const net::Headers& headers);

}  // namespace softprobe::proxy
