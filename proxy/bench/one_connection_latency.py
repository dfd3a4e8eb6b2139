#!/usr/bin/env python3
"""Latency of one request at a time over one keep-alive connection, with a
pause between requests: no queue, so what is left is the path's own cost and
the machine's wake-up tail.

usage: one_connection_latency.py PORT UPSTREAM_PORT [COUNT [PAUSE_S]]
  PORT            where to connect: a forward proxy, or the upstream itself
  UPSTREAM_PORT   the upstream on 127.0.0.1 (runtime-server/bench/floor_server.c,
                  which answers any request line with a 2-byte body "{}")
Sends "GET http://127.0.0.1:UPSTREAM_PORT/x HTTP/1.1" (absolute form, as
through a proxy; floor_server answers it too), COUNT times (default 800) with
PAUSE_S seconds between (default 0.005), and prints p50, p90, p99, p99.9 and
the maximum in microseconds, then a histogram by whole milliseconds.
"""
import collections
import socket
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    port, up = int(sys.argv[1]), int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 800
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.005
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = ("GET http://127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (up, up)).encode()
    took = []
    for _ in range(count):
        t0 = time.perf_counter()
        s.sendall(request)
        got = b""
        while not (b"\r\n\r\n" in got and got.endswith(b"{}")):
            piece = s.recv(4096)
            if not piece:
                sys.exit("the connection closed after %d requests: %r" % (len(took), got))
            got += piece
        took.append((time.perf_counter() - t0) * 1e6)
        time.sleep(pause)
    took.sort()
    at = lambda q: took[min(len(took) - 1, int(len(took) * q))]
    print("n=%d p50=%.0f p90=%.0f p99=%.0f p99.9=%.0f max=%.0f us" %
          (count, at(0.5), at(0.9), at(0.99), at(0.999), took[-1]))
    print("by ms:", sorted(collections.Counter(int(t // 1000) for t in took).items()))


if __name__ == "__main__":
    main()
